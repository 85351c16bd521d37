// raddiag predict: logits (or probabilities) for every case of a manifest, in manifest order.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/command.h"
#include "cli/common_options.h"
#include "data/case_sources.h"
#include "serve/predictor.h"
#include "util/npy.h"
#include "util/atomic_file.h"

namespace raddiag::cli {
namespace {
Registrar register_predict({"predict", "run a model on every case of a manifest and write [cases x classes] scores as .npy", [](CLI::App& sub) {
  struct Args {
    std::string model, manifest, out, classes;
    data::CaseSourceOptions source;
    DeviceOptions runtime;
    bool probs = false, quiet = false;
    int64_t batch = 4;
    uint64_t seed = 42;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("--model", a->model, "raddiag model file")->required();
  sub.add_option("--manifest", a->manifest, "RP3D case JSON, or a dataset folder (manifest.csv/labels.csv)")->required();
  add_case_source_options(sub, a->source);
  sub.add_option("--out", a->out, "output .npy (float32 [cases x classes])")->required();
  add_classes_option(sub, a->classes, "score these classes");
  sub.add_flag("--probs", a->probs, "write sigmoid probabilities instead of logits");
  add_device_options(sub, a->runtime);
  sub.add_option("--batch", a->batch, "cases per forward pass");
  sub.add_option("--seed", a->seed, "seed of the preprocessing's random choices");
  sub.add_flag("-q,--quiet", a->quiet, "no progress line");
  return std::function<int()>([a] {
    refuse_to_overwrite_inputs(a->out, {a->model, a->manifest});
    apply_device_options(a->runtime);
    auto cases = data::load_cases(a->manifest, a->source);
    serve::Predictor predictor(load_model_with_classes(a->model, a->classes, std::cerr, "columns"), a->runtime.device);
    serve::PredictOptions po;
    po.batch_size = a->batch;
    po.progress = !a->quiet;
    po.seed = a->seed;
    auto result = predictor.predict(cases, po);
    torch::Tensor out = a->probs ? torch::sigmoid(result.logits) : result.logits;
    out = out.contiguous();
    npy::write(a->out, npy::make_float32({out.size(0), out.size(1)}, out.data_ptr<float>()));
    std::cerr << "wrote " << a->out << " [" << out.size(0) << " x " << out.size(1) << "]"
              << (a->probs ? " probabilities" : " logits") << "\n";
    for (const auto& f : result.failures)
      std::cerr << "skipped case " << f.index << " (" << f.case_id << "): " << f.reason << " (row is NaN)\n";
    if (!cases.empty() && result.failures.size() == cases.size()) {
      std::cerr << "raddiag: error: no case could be read\n";
      return 1;
    }
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
