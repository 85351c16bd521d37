// raddiag predict: logits (or probabilities) for every case of a manifest, in manifest order.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/command.h"
#include "cli/common_options.h"
#include "serve/run_predict.h"

namespace raddiag::cli {
namespace {

Registrar register_predict({"predict", "run a model on every case of a manifest and write [cases x classes] scores as .npy", [](CLI::App& sub) {
  struct Args {
    serve::PredictRequest request;
    DeviceOptions runtime;
    bool quiet = false, strict = false;
  };
  auto a = std::make_shared<Args>();
  serve::PredictRequest& r = a->request;
  sub.add_option("--model", r.model, "raddiag model file")->required();
  sub.add_option("--manifest", r.manifest, "RP3D case JSON, or a dataset folder (manifest.csv/labels.csv)")->required();
  add_case_source_options(sub, r.source);
  sub.add_option("--out", r.out, "output .npy (float32 [cases x classes])")->required();
  add_classes_option(sub, r.classes, "score these classes");
  sub.add_flag("--probs", r.probabilities, "write sigmoid probabilities instead of logits");
  add_device_options(sub, a->runtime);
  sub.add_option("--batch", r.batch, "cases per forward pass");
  add_prefetch_option(sub, r.prefetch);
  sub.add_option("--seed", r.seed, "seed of the preprocessing's random choices");
  sub.add_flag("-q,--quiet", a->quiet, "no progress line");
  sub.add_flag("--strict", a->strict, "exit 1 when any case is skipped (default: only when every case is)");
  return std::function<int()>([a] {
    apply_device_options(a->runtime);
    a->request.device = a->runtime.device;
    a->request.inference = inference_options(a->runtime);
    a->request.ensemble = a->runtime.ensemble;
    a->request.progress = !a->quiet;
    const serve::PredictResult res = serve::run_predict(a->request);
    if (!a->request.classes.empty()) std::cerr << "columns: " << res.class_selection << "\n";
    std::cerr << "wrote " << res.scores_path << " [" << res.rows << " x " << res.columns << "]"
              << (a->request.probabilities ? " probabilities" : " logits") << " and " << res.status_path << "\n";
    if (!a->quiet) std::cerr << describe_timing(res.timing) << "\n";
    for (const auto& f : res.failures)
      std::cerr << "skipped case " << f.index << " (" << f.case_id << "): " << f.reason << " (status 'skipped', row is NaN)\n";
    if (res.cases > 0 && res.failures.size() == res.cases) {
      std::cerr << "raddiag: error: no case could be read\n";
      return 1;
    }
    if (a->strict && !res.failures.empty()) {
      std::cerr << "raddiag: error: " << res.failures.size() << " of " << res.cases << " cases skipped (--strict)\n";
      return 1;
    }
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
