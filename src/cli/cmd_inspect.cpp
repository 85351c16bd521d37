// raddiag inspect FILE_OR_DIR: what the readers make of a file or folder, as JSON.
#include <iostream>

#include "cli/command.h"
#include "cli/common_options.h"
#include "io/read_scans.h"
#include "io/scan_json.h"
#include "util/error.h"

namespace raddiag::cli {
namespace {
Registrar register_inspect({"inspect", "decode a scan file or folder (DICOM series, NIfTI, PNG/JPEG, npy) and print JSON per scan", [](CLI::App& sub) {
  auto path = std::make_shared<std::string>();
  auto options = std::make_shared<io::ReadOptions>();
  sub.add_option("path", *path, "file or directory")->required();
  sub.add_option("--volume", options->volume, "NIfTI 4D: volume index (default 0)");
  add_max_input_bytes_option(sub, *options);
  sub.add_option("--modality", options->modality, "modality for formats without one (NIfTI, images, npy)");
  return std::function<int()>([=] {
    io::ReadReport report = io::read_path(*path, *options);
    std::cout << io::describe_report(report).dump(2) << "\n";
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
