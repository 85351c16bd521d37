// raddiag predict: logits (or probabilities) for every case of a manifest, in manifest order.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/command.h"
#include "data/case_sources.h"
#include "model/runtime.h"
#include "serve/class_selection.h"
#include "serve/predictor.h"
#include "util/npy.h"

namespace raddiag::cli {
namespace {
Registrar register_predict({"predict", "run a model on every case of a manifest and write [cases x classes] scores as .npy", [](CLI::App& sub) {
  struct Args {
    std::string model, manifest, out, classes, device = "cpu";
    data::CaseSourceOptions source;
    bool probs = false, quiet = false, tf32 = false;
    int threads = 0;
    int64_t batch = 4;
    uint64_t seed = 42;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("--model", a->model, "raddiag model file")->required();
  sub.add_option("--manifest", a->manifest, "RP3D case JSON, or a dataset folder (manifest.csv/labels.csv)")->required();
  sub.add_option("--data-root", a->source.data_root, "root for relative image paths of the JSON");
  sub.add_option("--prefix", a->source.prefixes, "rewrite an image path prefix, FROM=TO (repeatable)");
  sub.add_option("--modality", a->source.modality, "modality of folder-dataset files that do not say");
  sub.add_option("--out", a->out, "output .npy (float32 [cases x classes])")->required();
  sub.add_option("--classes", a->classes,
                 "score these classes (a file, one per line, or a comma-separated list; LABEL=TEXT maps a label onto "
                 "a model class or a new name): a knowledge-head model scores any name (zero-shot)");
  sub.add_flag("--probs", a->probs, "write sigmoid probabilities instead of logits");
  sub.add_option("--device", a->device, "cpu, cuda or cuda:N");
  sub.add_flag("--tf32", a->tf32, "CUDA: allow TF32 convolutions and matrix products (faster, ~1e-4 off fp32)");
  sub.add_option("--threads", a->threads, "intra-op threads (0 = all cores)");
  sub.add_option("--batch", a->batch, "cases per forward pass");
  sub.add_option("--seed", a->seed, "seed of the preprocessing's random choices");
  sub.add_flag("-q,--quiet", a->quiet, "no progress line");
  return std::function<int()>([a] {
    model::configure_threads(a->threads);
    auto cases = data::load_cases(a->manifest, a->source);
    model::set_cuda_tf32(a->tf32);
    model::ModelBundle bundle = model::load_model_file(a->model);
    if (!a->classes.empty()) {
      serve::ClassSelectionReport rep;
      bundle = serve::select_classes(std::move(bundle), serve::parse_class_list(a->classes), &rep);
      std::cerr << "columns: " << rep.summary() << "\n";
    }
    serve::Predictor predictor(std::move(bundle), a->device);
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
