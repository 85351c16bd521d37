#include "serve/finetune_report.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "model/model_file.h"
#include "serve/evaluate.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::serve {

nlohmann::json write_finetune_report(const train::RunConfig& cfg, const FinetuneReportOptions& o, std::string* table) {
  const std::string model = o.run_dir + "/model.raddiag";
  if (!std::filesystem::exists(model)) throw Error(o.run_dir, "no model.raddiag: the run did not finish");
  const nlohmann::json card = model::read_model_file_info(model).value("card", nlohmann::json::object());
  nlohmann::json summary = {{"model", model}, {"finetune", card.value("finetune", nlohmann::json())},
                            {"validation", card.value("validation", nlohmann::json())}, {"evaluations", nlohmann::json::object()}};

  struct Set {
    std::string name, path, val;
  };
  std::vector<Set> sets;
  const auto& vals = cfg.data.val;
  const auto& tests = cfg.finetune.test;
  for (std::size_t i = 0; i < vals.size(); ++i) sets.push_back({vals.size() == 1 ? "val" : "val-" + std::to_string(i + 1), vals[i], ""});
  for (std::size_t i = 0; i < tests.size(); ++i)
    sets.push_back({tests.size() == 1 ? "test" : "test-" + std::to_string(i + 1), tests[i], vals.empty() ? "" : vals.front()});
  for (const auto& s : sets) {
    serve::EvaluateOptions eo;
    eo.model = model;
    eo.manifest = s.path;
    eo.val = s.val;
    eo.out = o.run_dir + "/eval-" + s.name;
    eo.source.data_root = cfg.data.data_root;
    eo.source.prefixes = cfg.data.prefixes;
    eo.source.modality = cfg.data.modality;
    eo.source.layout = cfg.data.layout;
    eo.device = cfg.device;
    eo.bootstrap = cfg.finetune.bootstrap;
    eo.seed = cfg.seed;
    eo.batch = cfg.batch_size;
    eo.threads = cfg.threads;
    eo.progress = o.progress;
    const serve::EvaluateResult r = serve::run_evaluate(eo);
    const nlohmann::json& m = r.metrics;
    nlohmann::json e = {{"set", s.path}, {"report", eo.out + "/report.html"},
                        {"thresholds", s.val.empty() ? "chosen on this set (max F1)" : "chosen on " + s.val},
                        {"n_cases", m.value("n_cases", nlohmann::json())},
                        {"n_defined", m.value("n_defined", nlohmann::json())},
                        {"macro_auc", m.contains("macro") ? m["macro"].value("auc", nlohmann::json()) : nlohmann::json()},
                        {"macro_auc_ci", m.contains("ci") ? m["ci"]["macro"].value("auc", nlohmann::json()) : nlohmann::json()},
                        {"failures", r.failures}};
    summary["evaluations"][s.name] = e;
    if (table) *table += "== " + s.name + " (" + s.path + ")\n" + r.table;
  }
  write_bytes_atomically(o.run_dir + "/finetune_summary.json", summary.dump(2) + "\n");
  return summary;
}

}  // namespace raddiag::serve
