#pragma once
// NIfTI-1 and NIfTI-2 (.nii, .nii.gz, .hdr/.img pairs), with nibabel's semantics:
// voxels are get_fdata() of the file (x, y, z) axes, scl_slope/scl_inter applied unless the slope is 0
// or not finite, the affine is the sform when sform_code > 0, else the qform when qform_code > 0, else
// nibabel's fallback (pixdim diagonal, x flipped, centred). 4D files give one volume (options.volume);
// 5D and higher are refused. RGB24/RGBA32 become gray with luma 0.299 R + 0.587 G + 0.114 B.
// The header is parsed and validated by our own code (io/nifti_header.h) before anything else sees it;
// nifticlib only does the qform/sform arithmetic on the validated header. The voxels are read here,
// streamed, byte-swapped and scaled without touching their values otherwise (NaN stays NaN, as in
// nibabel; nifticlib's loader would turn it into 0). A file that cannot hold what its header
// declares, or a volume over options.max_voxel_bytes, is refused before anything is allocated.
#include <string>

#include "io/read_options.h"
#include "io/scan.h"

namespace raddiag::io {

Scan read_nifti(const std::string& path, const ReadOptions& options = {});

}  // namespace raddiag::io
