# System dependencies, all from Debian (scripts/install-deps.sh installs them).
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
target_link_libraries(raddiag_deps_core INTERFACE
  ${NIFTI2_LIBRARY} ${NIFTI1_LIBRARY} ${ZNZ_LIBRARY} gdcmMSFF gdcmDSED gdcmCommon
  PNG::PNG JPEG::JPEG ZLIB::ZLIB nlohmann_json::nlohmann_json fmt::fmt spdlog::spdlog Threads::Threads)

# libtorch from Debian (/usr/share/cmake/Torch) or from a PyTorch install (set Torch_DIR).
find_package(Torch REQUIRED)
add_library(raddiag_torch INTERFACE)
add_library(raddiag::torch ALIAS raddiag_torch)
target_link_libraries(raddiag_torch INTERFACE ${TORCH_LIBRARIES})
target_compile_options(raddiag_torch INTERFACE -Wno-unused-parameter)

add_library(raddiag_deps_cli INTERFACE)
add_library(raddiag::deps_cli ALIAS raddiag_deps_cli)
target_link_libraries(raddiag_deps_cli INTERFACE CLI11::CLI11)
