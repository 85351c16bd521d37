// raddiag evaluate: a model file on a labelled test set -> metrics.json, per_class.csv, thresholds.json,
// report.html (src/serve/evaluate.h).
#include <iostream>

#include "cli/command.h"
#include "cli/common_options.h"
#include "serve/evaluate.h"
#include "util/atomic_file.h"

namespace raddiag::cli {
namespace {
Registrar register_evaluate({"evaluate", "evaluate a model on a labelled test set: metrics.json, per_class.csv, thresholds.json, report.html",
               [](CLI::App& sub) {
  auto o = std::make_shared<serve::EvaluateOptions>();
  auto json_out = std::make_shared<bool>(false);
  auto quiet = std::make_shared<bool>(false);
  auto runtime = std::make_shared<DeviceOptions>();
  sub.add_option("--model", o->model, "raddiag model file")->required();
  sub.add_option("--manifest", o->manifest, "test set: RP3D case JSON or dataset folder")->required();
  sub.add_option("--val", o->val, "validation set: per-class thresholds are chosen there (max F1)");
  sub.add_option("--out", o->out, "output folder")->required();
  add_case_source_options(sub, o->source);
  add_classes_option(sub, o->classes, "evaluate these classes (zero-shot protocol of reference 6.5)");
  sub.add_option("--groups", o->groups,
                 "class groups: auto (RP3D ranges for 5569 classes, else training counts of the model card), rp3d, "
                 "rp3d-icd (the reference's ICD-level ranges), counts or none")
      ->check(CLI::IsMember({"auto", "rp3d", "rp3d-icd", "counts", "none"}))
      ->capture_default_str();
  sub.add_option("--by", o->by,
                 "also report within each modality / anatomy / dataset (repeatable; datasets are always broken "
                 "down when the cases come from several)")
      ->check(CLI::IsMember({"modality", "anatomy", "dataset"}));
  sub.add_option("--anatomy-from", o->anatomy_from,
                 "anatomy of each case for the intra-/inter-anatomy negative score distributions: case (its Anatomy), "
                 "dataset (its dataset stands in, for data without anatomy) or none")
      ->check(CLI::IsMember({"case", "dataset", "none"}))
      ->capture_default_str();
  sub.add_option("--bootstrap", o->bootstrap, "bootstrap rounds over cases for CIs (0 = none)")->capture_default_str();
  sub.add_option("--seed", o->seed, "bootstrap seed")->capture_default_str();
  sub.add_option("--batch", o->batch, "cases per forward pass")->capture_default_str();
  add_prefetch_option(sub, o->prefetch);
  add_device_options(sub, *runtime);
  sub.add_flag("--store-thresholds", o->store_thresholds, "write the chosen thresholds into the model file");
  sub.add_flag("--json", *json_out, "print metrics.json instead of the table");
  sub.add_flag("-q,--quiet", *quiet, "no progress line");
  return std::function<int()>([=] {
    std::vector<std::string> inputs{o->model, o->manifest, o->val};
    inputs.insert(inputs.end(), runtime->ensemble.begin(), runtime->ensemble.end());
    refuse_to_overwrite_inputs(o->out, inputs);
    apply_device_options(*runtime);
    o->ensemble = runtime->ensemble;
    o->device = runtime->device;
    o->inference = inference_options(*runtime);
    o->threads = runtime->threads;
    o->progress = !*quiet;
    const auto r = serve::run_evaluate(*o);
    std::cout << (*json_out ? r.metrics.dump(2) + "\n" : r.table);
    if (!*quiet) std::cerr << describe_timing(r.timing) << "\n";
    std::cerr << "wrote " << o->out << "/{metrics.json,per_class.csv,thresholds.json,report.html}"
              << (o->store_thresholds ? "; thresholds stored in " + o->model : "") << "\n";
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
