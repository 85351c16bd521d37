// raddiag prepare: own data (manifest.csv/labels.csv or one folder per case) -> RP3D-style dataset.
#include <iostream>

#include "cli/command.h"
#include "data/prepare.h"
#include "util/atomic_file.h"

namespace raddiag::cli {
namespace {
Registrar register_prepare({"prepare", "convert a folder dataset into RP3D-style .npy arrays, key files and a case JSON", [](CLI::App& sub) {
  auto o = std::make_shared<data::PrepareOptions>();
  auto quiet = std::make_shared<bool>(false);
  sub.add_option("input", o->input, "dataset folder: manifest.csv (+ labels.csv), or one sub-folder per case")->required();
  sub.add_option("-o,--output", o->output, "output folder")->required();
  sub.add_option("--size", o->size, "in-plane size of the stored arrays");
  sub.add_option("--depth", o->depth, "maximum slices per stored array (deeper volumes are subsampled uniformly)");
  sub.add_option("--replicate-2d", o->replicate_2d, "store 2D images as this many identical slices (RP3D: 3)");
  sub.add_option("--slice-mm", o->spacing.slice_mm,
                 "opt-in: bring NIfTI/DICOM volumes to this slice spacing (linear) before the depth limit");
  sub.add_flag("--keep-aspect", o->spacing.keep_aspect,
               "opt-in: keep the physical aspect ratio in-plane (pad the short side) instead of stretching");
  sub.add_option("-j,--jobs", o->jobs, "parallel conversions");
  sub.add_option("--modality", o->folder.modality, "modality of files that have none (plain layout)");
  sub.add_option("--manifest-name", o->folder.manifest_name, "manifest file name inside the dataset folder");
  sub.add_option("--labels-name", o->folder.labels_name, "labels file name inside the dataset folder");
  sub.add_flag("--quiet", *quiet, "no progress line");
  return std::function<int()>([o, quiet] {
    refuse_to_overwrite_inputs(o->output, {o->input});
    o->progress = !*quiet;
    const auto r = data::prepare_dataset(*o);
    std::cout << "prepared " << r.cases_out << "/" << r.cases_in << " cases: " << r.images_written << " scans written, "
              << r.images_reused << " reused, " << r.images_failed << " failed, in " << r.seconds << " s -> " << o->output
              << "/cases.json\n";
    for (const auto& e : r.errors) std::cout << "  skipped: " << e << "\n";
    return r.cases_out > 0 ? 0 : 1;
  });
}});
}  // namespace
}  // namespace raddiag::cli
