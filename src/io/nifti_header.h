#pragma once
// The NIfTI-1 (348-byte) and NIfTI-2 (540-byte) header, parsed and validated by our own code, in
// either byte order, before nifticlib or any allocation sees it: nifticlib trusts dim[0] (a header
// with dim[0] = 1000 or -1 corrupted its stack), turns non-finite scaling into 0 silently and replaces
// NaN voxels by 0. Only a header that passes here is handed on (for the qform/sform arithmetic).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace raddiag::io {

struct NiftiHeader {
  int version = 1;            // 1 or 2
  bool big_endian = false;
  bool single_file = true;    // magic n+1/n+2 (data in the same file); ni1/ni2: .hdr/.img pair
  int ndim = 0;               // dim[0], 1..7
  std::array<int64_t, 8> dim{};   // dim[1..ndim] >= 1; dims above ndim read as 1
  int datatype = 0;           // a supported NIfTI datatype code
  int bytes_per_voxel = 0;
  std::array<double, 8> pixdim{};
  int64_t data_offset = 0;    // byte offset of the voxels in the data file (nibabel's rules applied)
  double scl_slope = 1.0, scl_inter = 0.0;   // nibabel's get_slope_inter(): (1, 0) when unscaled
  int qform_code = 0, sform_code = 0;
  // The header exactly as stored (file byte order), for nifticlib.
  std::array<uint8_t, 540> raw{};
  std::size_t raw_size = 0;

  int64_t volume_voxels() const { return dim[1] * dim[2] * dim[3]; }  // one 3D volume
  int64_t volumes() const { return dim[4]; }
};

// Bytes needed to tell the version: 4 (sizeof_hdr), then 348 or 540.
inline constexpr std::size_t kNiftiMaxHeaderBytes = 540;

// Parses and validates `size` header bytes of `name` (the first bytes of the file, decompressed).
// Throws raddiag::Error naming `name` and the offending field. Checks: sizeof_hdr and magic; dim[0] in
// 1..7; every used dim >= 1 and < 2^31; only 3D/4D data (dims 5..7 must be 1); a supported datatype;
// vox_offset finite, not negative, integral-valued; scl_slope/scl_inter as nibabel (slope 0 or not
// finite: unscaled; a valid slope with a non-finite intercept: refused); pixdim[1..3] finite for the
// dimensions present; quatern/qoffset finite when qform_code > 0, srow finite when sform_code > 0.
// A qfac (pixdim[0]) other than -1 or 1 is set to 1 (nibabel's fix) in the returned copy.
NiftiHeader parse_nifti_header(const uint8_t* bytes, std::size_t size, const std::string& name);

// Name of a supported datatype ("int16", ...), or nullptr.
const char* nifti_datatype_name(int datatype);

}  // namespace raddiag::io
