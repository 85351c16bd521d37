// libFuzzer target: the NIfTI-1/2 header path through the project's own validation. Every input is
// parsed by io::parse_nifti_header (both versions, both byte orders); inputs it accepts are then read
// whole by io::read_nifti from a file (gzip-compressed when the input starts with the gzip magic),
// which hands the validated header to nifticlib for the affine and streams the voxels under a small
// memory budget. Only raddiag::Error may escape; a crash, an ASan report or a bad_alloc is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "io/nifti_header.h"
#include "io/nifti_reader.h"
#include "util/error.h"

namespace {
// One file per process in a RAM-backed folder, rewritten for each input.
std::string scratch(bool gz) {
  const char* base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  return std::string(base) + "/fuzz_nifti_" + std::to_string(::getpid()) + (gz ? ".nii.gz" : ".nii");
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const bool gz = size >= 2 && data[0] == 0x1F && data[1] == 0x8B;
  if (!gz) {
    try {
      raddiag::io::parse_nifti_header(data, size, "fuzz.nii");
    } catch (const raddiag::Error&) {
      return 0;  // refused by our validation: nifticlib never sees it
    }
  }
  const std::string path = scratch(gz);
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  } else {
    return 0;
  }
  raddiag::io::ReadOptions options;
  options.max_voxel_bytes = std::size_t(64) << 20;
  try {
    const auto scan = raddiag::io::read_nifti(path, options);
    if (scan.voxels.size() != static_cast<std::size_t>(scan.numel())) __builtin_trap();
  } catch (const raddiag::Error&) {
  }
  return 0;
}
