# System dependencies, all from Debian (scripts/install-deps.sh installs them).
# RADDIAG_DEPS_PREFIX: an extra prefix searched first for the non-torch dependencies, e.g. the usr/ of a
# folder filled by scripts/pack-deps-prefix.sh on a machine without a package manager (see docs/cuda.md).
# libtorch itself is found through CMAKE_PREFIX_PATH or Torch_DIR (a PyTorch install: the folder
# `python3 -c 'import torch; print(torch.utils.cmake_prefix_path)'` prints).
set(RADDIAG_DEPS_PREFIX "" CACHE PATH "extra prefix searched first for the non-torch dependencies")
if(RADDIAG_DEPS_PREFIX)
  list(PREPEND CMAKE_PREFIX_PATH "${RADDIAG_DEPS_PREFIX}")
endif()
find_package(Threads REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PNG REQUIRED)
find_package(JPEG REQUIRED)
find_package(GDCM REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 CONFIG REQUIRED)

# nifticlib (libnifti2-dev): libnifti2 reads NIfTI-1 and NIfTI-2.
find_path(NIFTI2_INCLUDE_DIR nifti2_io.h PATH_SUFFIXES nifti)
find_library(NIFTI2_LIBRARY NAMES nifti2)
find_library(NIFTI1_LIBRARY NAMES niftiio)
find_library(ZNZ_LIBRARY NAMES znz)
if(NOT NIFTI2_INCLUDE_DIR OR NOT NIFTI2_LIBRARY)
  message(FATAL_ERROR "nifticlib 2 not found: run scripts/install-deps.sh")
endif()

add_library(raddiag_deps_core INTERFACE)
add_library(raddiag::deps_core ALIAS raddiag_deps_core)
target_include_directories(raddiag_deps_core INTERFACE ${NIFTI2_INCLUDE_DIR} ${GDCM_INCLUDE_DIRS})
# Debian keeps some headers in the multiarch folder (libjpeg's jconfig.h); on Debian it is a system include
# folder, in a deps prefix it must be named or the target's own (other version) would be found.
if(RADDIAG_DEPS_PREFIX AND CMAKE_LIBRARY_ARCHITECTURE AND EXISTS "${RADDIAG_DEPS_PREFIX}/include/${CMAKE_LIBRARY_ARCHITECTURE}")
  target_include_directories(raddiag_deps_core BEFORE INTERFACE "${RADDIAG_DEPS_PREFIX}/include/${CMAKE_LIBRARY_ARCHITECTURE}")
endif()
target_link_libraries(raddiag_deps_core INTERFACE
  ${NIFTI2_LIBRARY} ${NIFTI1_LIBRARY} ${ZNZ_LIBRARY} gdcmMSFF gdcmDSED gdcmCommon
  PNG::PNG JPEG::JPEG ZLIB::ZLIB nlohmann_json::nlohmann_json fmt::fmt spdlog::spdlog Threads::Threads)

# libtorch from Debian (/usr/share/cmake/Torch) or from a PyTorch install (set Torch_DIR).
# A CUDA libtorch's CMake package links torch::nvtoolsext -> CUDA::nvToolsExt when it does not find the
# NVTX3 headers it was built with; CUDA 12.9+ dropped that library (NVTX3 is header-only), so such a
# configure fails. Offer the header-only target under the old name. (No effect without a CUDA toolkit.)
if(NOT TARGET CUDA::nvToolsExt AND NOT CMAKE_VERSION VERSION_LESS 3.25)
  find_package(CUDAToolkit QUIET)
  if(TARGET CUDA::nvtx3 AND NOT TARGET CUDA::nvToolsExt)
    add_library(CUDA::nvToolsExt INTERFACE IMPORTED)
    target_link_libraries(CUDA::nvToolsExt INTERFACE CUDA::nvtx3)
  endif()
endif()
find_package(Torch REQUIRED)
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(RADDIAG_TORCH_CUDA ON)
else()
  set(RADDIAG_TORCH_CUDA OFF)
endif()
# NCCL data parallelism. A CUDA libtorch has ProcessGroupNCCL in libtorch_cuda, but its header needs
# nccl.h and USE_C10D_NCCL, which libtorch's CMake package provides neither of. Take the nccl.h of the
# NCCL that libtorch runs with (a PyTorch install has it in site-packages/nvidia/...): NCCLUtils.hpp
# chooses features by its version. With a CPU libtorch and a CUDA toolkit that has nccl.h, the NCCL
# code path is still compiled (not linked) as the target raddiag_nccl_compile_check, so it cannot rot.
set(RADDIAG_NCCL AUTO CACHE STRING "NCCL process group in CUDA builds: AUTO (when nccl.h is found), ON or OFF")
set(RADDIAG_NCCL_ENABLED OFF)
set(RADDIAG_NCCL_COMPILE_CHECK OFF)
if(NOT RADDIAG_NCCL STREQUAL "OFF")
  find_package(CUDAToolkit QUIET)
  get_filename_component(_raddiag_site_packages "${Torch_DIR}/../../../.." ABSOLUTE)
  find_path(RADDIAG_NCCL_INCLUDE_DIR nccl.h
    HINTS ENV NCCL_INCLUDE_DIR ENV NCCL_ROOT ENV NCCL_HOME
          "${_raddiag_site_packages}/nvidia/nccl" "${_raddiag_site_packages}/nvidia/cu13"
          "${_raddiag_site_packages}/nvidia/cu12" ${CUDAToolkit_INCLUDE_DIRS}
    PATH_SUFFIXES include)
  if(RADDIAG_TORCH_CUDA AND RADDIAG_NCCL_INCLUDE_DIR)
    set(RADDIAG_NCCL_ENABLED ON)
  elseif(RADDIAG_TORCH_CUDA AND RADDIAG_NCCL STREQUAL "ON")
    message(FATAL_ERROR "RADDIAG_NCCL=ON but no nccl.h found: set NCCL_INCLUDE_DIR (or NCCL_ROOT) to the NCCL libtorch uses")
  elseif(NOT RADDIAG_TORCH_CUDA AND RADDIAG_NCCL_INCLUDE_DIR AND CUDAToolkit_FOUND)
    set(RADDIAG_NCCL_COMPILE_CHECK ON)
  endif()
endif()
if(RADDIAG_NCCL_ENABLED)
  message(STATUS "raddiag: NCCL process group ON (nccl.h from ${RADDIAG_NCCL_INCLUDE_DIR})")
elseif(RADDIAG_NCCL_COMPILE_CHECK)
  message(STATUS "raddiag: NCCL process group OFF (CPU libtorch); its code is compile-checked against ${RADDIAG_NCCL_INCLUDE_DIR}")
else()
  message(STATUS "raddiag: NCCL process group OFF")
endif()

# Newer libtorch headers refuse anything below C++20 (announced for 2.12/2.13).
if(Torch_VERSION VERSION_GREATER_EQUAL 2.12 AND CMAKE_CXX_STANDARD LESS 20)
  set(CMAKE_CXX_STANDARD 20)
endif()
message(STATUS "raddiag: libtorch ${Torch_VERSION} from ${Torch_DIR} (CUDA: ${RADDIAG_TORCH_CUDA}), C++${CMAKE_CXX_STANDARD}")
add_library(raddiag_torch INTERFACE)
add_library(raddiag::torch ALIAS raddiag_torch)
target_link_libraries(raddiag_torch INTERFACE ${TORCH_LIBRARIES})
target_compile_options(raddiag_torch INTERFACE -Wno-unused-parameter)

add_library(raddiag_deps_cli INTERFACE)
add_library(raddiag::deps_cli ALIAS raddiag_deps_cli)
target_link_libraries(raddiag_deps_cli INTERFACE CLI11::CLI11)
