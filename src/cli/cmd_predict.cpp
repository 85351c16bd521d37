// raddiag predict: logits (or probabilities) for every case of a manifest, in manifest order.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/command.h"
#include "cli/common_options.h"
#include "data/case_sources.h"
#include "serve/predictor.h"
#include "util/atomic_file.h"
#include "util/csv.h"
#include "util/npy.h"

namespace raddiag::cli {
namespace {

// logits.npy -> logits.cases.csv, beside the scores.
std::string cases_status_path(const std::string& out) {
  const std::string ext = ".npy";
  const bool has_ext = out.size() > ext.size() && out.compare(out.size() - ext.size(), ext.size(), ext) == 0;
  return (has_ext ? out.substr(0, out.size() - ext.size()) : out) + ".cases.csv";
}

// One line per row of the score matrix: row, case_id, status (ok | skipped), reason.
std::string cases_status_csv(const std::vector<data::Case>& cases, const std::vector<serve::CaseFailure>& failures) {
  std::string csv = "row,case_id,status,reason\n";
  std::size_t f = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const bool skipped = f < failures.size() && failures[f].index == i;
    csv += std::to_string(i) + "," + csv::quote_field(cases[i].id) + "," + (skipped ? "skipped," : "ok,") +
           (skipped ? csv::quote_field(failures[f].reason) : "") + "\n";
    if (skipped) ++f;
  }
  return csv;
}
Registrar register_predict({"predict", "run a model on every case of a manifest and write [cases x classes] scores as .npy", [](CLI::App& sub) {
  struct Args {
    std::string model, manifest, out, classes;
    data::CaseSourceOptions source;
    DeviceOptions runtime;
    bool probs = false, quiet = false, strict = false;
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
  sub.add_flag("--strict", a->strict, "exit 1 when any case is skipped (default: only when every case is)");
  return std::function<int()>([a] {
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
    // Which rows hold scores, explicitly: a skipped case's row is NaN, but NaN is never the only marker.
    const std::string status_path = cases_status_path(a->out);
    write_bytes_atomically(status_path, cases_status_csv(cases, result.failures));
    std::cerr << "wrote " << a->out << " [" << out.size(0) << " x " << out.size(1) << "]"
              << (a->probs ? " probabilities" : " logits") << " and " << status_path << "\n";
    for (const auto& f : result.failures)
      std::cerr << "skipped case " << f.index << " (" << f.case_id << "): " << f.reason << " (status 'skipped', row is NaN)\n";
    if (!cases.empty() && result.failures.size() == cases.size()) {
      std::cerr << "raddiag: error: no case could be read\n";
      return 1;
    }
    if (a->strict && !result.failures.empty()) {
      std::cerr << "raddiag: error: " << result.failures.size() << " of " << cases.size() << " cases skipped (--strict)\n";
      return 1;
    }
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
