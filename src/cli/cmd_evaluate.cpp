// raddiag evaluate: a model file on a labelled test set -> metrics.json, per_class.csv, thresholds.json,
// report.html (src/serve/evaluate.h).
#include <iostream>

#include "cli/command.h"
#include "model/runtime.h"
#include "serve/evaluate.h"

namespace raddiag::cli {
namespace {
Registrar register_evaluate({"evaluate", "evaluate a model on a labelled test set: metrics.json, per_class.csv, thresholds.json, report.html",
               [](CLI::App& sub) {
  auto o = std::make_shared<serve::EvaluateOptions>();
  auto json_out = std::make_shared<bool>(false);
  auto quiet = std::make_shared<bool>(false);
  auto tf32 = std::make_shared<bool>(false);
  sub.add_option("--model", o->model, "raddiag model file")->required();
  sub.add_option("--manifest", o->manifest, "test set: RP3D case JSON or dataset folder")->required();
  sub.add_option("--val", o->val, "validation set: per-class thresholds are chosen there (max F1)");
  sub.add_option("--out", o->out, "output folder")->required();
  sub.add_option("--data-root", o->source.data_root, "root for relative image paths of the JSON");
  sub.add_option("--prefix", o->source.prefixes, "rewrite an image path prefix, FROM=TO (repeatable)");
  sub.add_option("--modality", o->source.modality, "modality of folder-dataset files that do not say");
  sub.add_option("--classes", o->classes,
                 "evaluate these classes (a file, one per line, or a comma-separated list; LABEL=TEXT maps a test-set "
                 "label onto a model class or a new name, reference 6.5): a knowledge-head model scores any name");
  sub.add_option("--bootstrap", o->bootstrap, "bootstrap rounds over cases for CIs (0 = none)")->capture_default_str();
  sub.add_option("--seed", o->seed, "bootstrap seed")->capture_default_str();
  sub.add_option("--batch", o->batch, "cases per forward pass")->capture_default_str();
  sub.add_option("--device", o->device, "cpu, cuda or cuda:N");
  sub.add_flag("--tf32", *tf32, "CUDA: allow TF32 convolutions and matrix products (faster, ~1e-4 off fp32)");
  sub.add_option("--threads", o->threads, "threads (0 = all cores)");
  sub.add_flag("--store-thresholds", o->store_thresholds, "write the chosen thresholds into the model file");
  sub.add_flag("--json", *json_out, "print metrics.json instead of the table");
  sub.add_flag("-q,--quiet", *quiet, "no progress line");
  return std::function<int()>([=] {
    model::configure_threads(o->threads);
    model::set_cuda_tf32(*tf32);
    o->progress = !*quiet;
    const auto r = serve::run_evaluate(*o);
    std::cout << (*json_out ? r.metrics.dump(2) + "\n" : r.table);
    std::cerr << "wrote " << o->out << "/{metrics.json,per_class.csv,thresholds.json,report.html}"
              << (o->store_thresholds ? "; thresholds stored in " + o->model : "") << "\n";
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
