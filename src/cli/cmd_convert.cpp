// raddiag convert INPUT OUT.npy: one decoded scan as float32 .npy, Fortran order, shape = Scan::dims
// (NIfTI: x, y, z as nibabel's get_fdata, only the chosen volume of a 4D file; DICOM and images:
// rows, columns, slices).
#include <iostream>

#include "cli/command.h"
#include "cli/common_options.h"
#include "io/npy_scan.h"
#include "io/read_scans.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::cli {
namespace {
Registrar register_convert({"convert", "decode one scan (file or DICOM series folder) to a float32 Fortran-order .npy", [](CLI::App& sub) {
  auto input = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto options = std::make_shared<io::ReadOptions>();
  auto index = std::make_shared<int>(-1);
  sub.add_option("input", *input, "file or directory")->required();
  sub.add_option("output", *output, "output .npy")->required();
  sub.add_option("--volume", options->volume, "NIfTI 4D: volume index (default 0); only that volume is written");
  add_max_input_bytes_option(sub, *options);
  sub.add_option("--scan", *index, "which scan when the input holds several (see inspect)");
  return std::function<int()>([=] {
    refuse_to_overwrite_inputs(*output, {*input});
    io::ReadReport report = io::read_path(*input, *options);
    for (const auto& s : report.skipped) std::cerr << "raddiag: skipped " << s.path << ": " << s.reason << "\n";
    if (report.scans.empty()) throw Error(*input, "no scan could be read");
    if (*index < 0 && report.scans.size() > 1)
      throw Error(*input, "holds " + std::to_string(report.scans.size()) + " scans; choose one with --scan N");
    const std::size_t k = *index < 0 ? 0 : static_cast<std::size_t>(*index);
    if (k >= report.scans.size()) throw Error(*input, "--scan " + std::to_string(k) + " out of range");
    const io::Scan& s = report.scans[k];
    refuse_to_overwrite_inputs(*output, s.source.files);  // a file of the DICOM series folder
    io::write_scan_npy(s, *output);
    std::cout << "wrote " << *output << " (" << s.dims[0] << ", " << s.dims[1] << ", " << s.dims[2] << ") float32";
    if (s.source.format == "nifti" && !s.source.frames.empty())
      std::cout << ", volume " << s.source.frames.front() << " of a 4D NIfTI only";
    std::cout << "\n";
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
