#include "serve/evaluate.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "eval/metrics_run.h"
#include "eval/multilabel_metrics.h"
#include "model/model_file.h"
#include "serve/class_selection.h"
#include "serve/model_loading.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/npy.h"

namespace raddiag::serve {

namespace {

void write_npy_matrix(const std::string& path, const infer::Predictions& p, bool labels) {
  torch::Tensor t = (labels ? p.labels : p.logits).to(torch::kFloat).contiguous();
  npy::write(path, npy::make_float32({t.size(0), t.size(1)}, t.data_ptr<float>()));
}

// Drops the rows of failed cases, so the eval layer sees only finite scores.
infer::Predictions kept_rows(const infer::Predictions& p) {
  torch::Tensor ok = torch::isfinite(p.logits).all(1);
  infer::Predictions out;
  out.logits = p.logits.index({ok});
  out.labels = p.labels.index({ok});
  out.failures = p.failures;
  return out;
}

}  // namespace

EvaluateResult run_evaluate(const EvaluateOptions& o) {
  if (o.out.empty()) throw Error("--out", "an output folder is required");
  namespace fs = std::filesystem;
  fs::create_directories(o.out);
  if (o.store_thresholds && !o.ensemble.empty())
    throw Error("--store-thresholds", "cannot be combined with --ensemble (the thresholds are the ensemble's, not " + o.model + "'s)");
  model::ModelBundle bundle = model::load_model_file(o.model);
  std::string selection_summary;
  if (!o.classes.empty()) {
    if (o.store_thresholds)
      throw Error("--store-thresholds", "cannot be combined with --classes (the thresholds would be of other classes)");
    ClassSelectionReport rep;
    bundle = select_classes(std::move(bundle), parse_class_list(o.classes), &rep);
    selection_summary = rep.summary();
    spdlog::info("--classes: {}", selection_summary);
  }
  const nlohmann::json card = bundle.card;
  const nlohmann::json icd_mapping = bundle.icd_mapping;
  infer::Predictor predictor(bundle, o.device, o.inference);
  add_ensemble_members(predictor, o.ensemble, o.classes);
  infer::PredictOptions po;
  po.batch_size = o.batch;
  po.progress = o.progress;
  po.prefetch_workers = o.prefetch;

  EvaluateResult result;
  const auto test_cases = data::load_cases(o.manifest, o.source);
  infer::Predictions test = predictor.predict(test_cases, po);
  result.failures = static_cast<int64_t>(test.failures.size());
  result.timing = test.timing;
  if (!test_cases.empty() && test.failures.size() == test_cases.size())
    throw Error(o.manifest, "no case of the test set could be read");
  // The dataset of every kept row: with several, metrics are also computed within each dataset. The
  // same for the asked breakdowns (modality, anatomy).
  std::string row_datasets;
  std::string row_cases;  // each kept row's case id, so scores of several models can be joined by case
  std::set<std::string> datasets;
  std::map<std::string, std::string> row_breakdowns;
  std::string row_anatomies;  // for the negative analysis: one per row, empty = unknown
  {
    torch::Tensor ok = torch::isfinite(test.logits).all(1);
    for (std::size_t i = 0; i < test_cases.size(); ++i)
      if (ok[static_cast<int64_t>(i)].item<bool>()) {
        const data::Case& c = test_cases[i];
        row_datasets += c.dataset + "\n";
        std::string id = c.id;
        std::replace(id.begin(), id.end(), '\n', ' ');
        row_cases += id + "\n";
        datasets.insert(c.dataset);
        std::string anatomy = o.anatomy_from == "dataset" ? c.dataset : c.anatomy;
        if (anatomy == "Unknown") anatomy.clear();  // RP3D's value for a case of unknown anatomy
        std::replace(anatomy.begin(), anatomy.end(), ',', ';');
        std::replace(anatomy.begin(), anatomy.end(), '\n', ' ');
        row_anatomies += anatomy + "\n";
        for (const auto& what : o.by) {
          if (what == "modality") {
            std::set<std::string> mods;
            for (const auto& s : c.samples) mods.insert(s.modality.empty() ? "unknown" : s.modality);
            std::string key;
            for (const auto& m : mods) key += (key.empty() ? "" : "+") + m;
            std::replace(key.begin(), key.end(), ',', ';');  // the row file is one name per line, never CSV
            row_breakdowns[what] += key + "\n";
          } else if (what == "anatomy") {
            std::string key = c.anatomy.empty() ? std::string("Unknown") : c.anatomy;
            std::replace(key.begin(), key.end(), ',', ';');
            row_breakdowns[what] += key + "\n";
          }
        }
      }
  }
  test = kept_rows(test);
  write_npy_matrix(o.out + "/scores.npy", test, false);
  write_npy_matrix(o.out + "/labels.npy", test, true);
  write_bytes_atomically(o.out + "/row_cases.txt", row_cases);
  // Always written (one dataset too), so evaluations of several folds or sets can be pooled by dataset.
  write_bytes_atomically(o.out + "/row_datasets.txt", row_datasets);

  eval::MetricsRunOptions mo;
  mo.scores = o.out + "/scores.npy";
  mo.labels = o.out + "/labels.npy";
  mo.score_kind = eval::ScoreKind::kLogits;
  mo.bootstrap = o.bootstrap;
  mo.seed = o.seed;
  mo.threads = o.threads;
  mo.report_dir = o.out;
  if (datasets.size() > 1) mo.row_groups = o.out + "/row_datasets.txt";
  for (const auto& [what, rows] : row_breakdowns) {
    const std::string file = o.out + "/row_" + what + ".txt";
    write_bytes_atomically(file, rows);
    mo.breakdowns.emplace_back(what, file);
  }

  if ((o.anatomy_from == "case" || o.anatomy_from == "dataset") && !row_anatomies.empty()) {
    write_bytes_atomically(o.out + "/row_anatomies.txt", row_anatomies);
    mo.row_anatomies = o.out + "/row_anatomies.txt";
    mo.anatomy_source = o.anatomy_from == "case"
                            ? "each case's Anatomy (RP3D `Anatomy`, folder `anatomy` column)"
                            : "each case's dataset stands in for its anatomy (--anatomy-from dataset)";
  } else if (o.anatomy_from != "none") {
    throw Error("--anatomy-from", "unknown value \"" + o.anatomy_from + "\" (case, dataset, none)");
  }

  std::string threshold_source = "test set (no validation set given)";
  infer::Predictions val;
  if (!o.val.empty()) {
    const auto val_cases = data::load_cases(o.val, o.source);
    val = kept_rows(predictor.predict(val_cases, po));
    write_npy_matrix(o.out + "/val_scores.npy", val, false);
    write_npy_matrix(o.out + "/val_labels.npy", val, true);
    mo.val_scores = o.out + "/val_scores.npy";
    mo.val_labels = o.out + "/val_labels.npy";
    threshold_source = "validation set";
  }

  // Class names, training-count groups, ICD level.
  const auto& classes = bundle.classes;
  nlohmann::ordered_json dict = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < classes.size(); ++i) dict[classes[i]] = i;
  write_bytes_atomically(o.out + "/label_dict.json", dict.dump(2) + "\n");
  mo.label_dict = o.out + "/label_dict.json";
  const int64_t C = static_cast<int64_t>(classes.size());
  // Training counts of the model card (for "counts" groups), when it has one per class.
  std::vector<int64_t> counts;
  if (card.is_object() && card.contains("training_data") && card["training_data"].is_object() &&
      card["training_data"].contains("class_counts"))
    counts = card["training_data"]["class_counts"].get<std::vector<int64_t>>();
  const bool have_counts = static_cast<int64_t>(counts.size()) == C;
  if (have_counts) {
    npy::write(o.out + "/train_counts.npy", npy::make_int64({C}, counts.data()));
    mo.train_counts = o.out + "/train_counts.npy";
  }
  if (o.groups == "auto") {
    mo.groups = C == 5569 ? "rp3d" : have_counts ? "counts" : "none";
  } else {
    if (o.groups == "counts" && !have_counts)
      throw Error(o.model, "--groups counts: the model card holds no training count per class");
    mo.groups = o.groups;
  }
  if (!icd_mapping.is_null()) {
    write_bytes_atomically(o.out + "/icd_mapping.json", icd_mapping.dump() + "\n");
    mo.icd_map = o.out + "/icd_mapping.json";
  }

  const eval::MetricsRunResult r = eval::run_metrics(mo);
  result.metrics = r.json;
  result.metrics["model"] = o.model;
  result.metrics["inference"] = {{"precision", model::precision_name(o.inference.precision)},
                                 {"tta", infer::test_time_augmentation_name(o.inference.tta)},
                                 {"draws", o.inference.draws}};
  if (!o.ensemble.empty()) {
    nlohmann::json members = nlohmann::json::array({o.model});
    for (const auto& m : o.ensemble) members.push_back(m);
    result.metrics["inference"]["ensemble"] = members;  // logits averaged over these files
  }
  result.metrics["test_set"] = o.manifest;
  if (!o.val.empty()) result.metrics["val_set"] = o.val;
  result.metrics["threshold_source_set"] = threshold_source;
  result.metrics["failed_cases"] = result.failures;
  if (!o.classes.empty()) {
    result.metrics["class_selection"] = bundle.card["class_selection"];
    result.metrics["class_selection_summary"] = selection_summary;
  }
  result.table = r.table;
  write_bytes_atomically(o.out + "/metrics.json", result.metrics.dump(2) + "\n");

  const infer::ScoredCases chosen_on = infer::scored_cases(o.val.empty() ? test : val);
  result.thresholds = infer::thresholds_for_model(eval::select_thresholds(chosen_on.scores, chosen_on.labels, o.threads));
  if (o.store_thresholds) {
    model::ModelBundle again = model::load_model_file(o.model);
    again.thresholds = result.thresholds;
    if (!again.card.is_object()) again.card = nlohmann::json::object();
    again.card["thresholds"] = {{"rule", "max F1 per class, probability space (sigmoid of the logit); 0.5 where undefined"},
                                {"chosen_on", o.val.empty() ? o.manifest : o.val}};
    model::save_model_file(o.model, again);
    spdlog::info("stored {} thresholds in {}", result.thresholds.size(), o.model);
  }
  return result;
}

}  // namespace raddiag::serve
