#include "eval/metrics_run.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "eval/curve_bands.h"
#include "eval/icd_mapping.h"
#include "eval/metrics_json.h"
#include "eval/multilabel_metrics.h"
#include "eval/negative_score_report.h"
#include "eval/report.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/csv.h"
#include "util/npy.h"

namespace raddiag::eval {

namespace {

ClassGroups make_groups(const std::string& how, int64_t C, const std::vector<int64_t>& counts, const CountCutoffs& cut,
                        bool icd_level) {
  if (how == "none") return no_groups(C);
  if (how == "rp3d") return icd_level ? rp3d_icd_groups(C) : rp3d_disorder_groups(C);
  if (how == "rp3d-icd") return rp3d_icd_groups(C);
  if (how == "counts") {
    if (counts.empty()) throw Error("--groups counts", "needs training counts (--train-counts)");
    if (static_cast<int64_t>(counts.size()) != C)
      throw Error("--train-counts", "has " + std::to_string(counts.size()) + " entries, scores have " + std::to_string(C) + " classes");
    return groups_from_counts(counts, cut);
  }
  if (how == "auto") {
    if (!counts.empty() && static_cast<int64_t>(counts.size()) == C) return groups_from_counts(counts, cut);
    if (!icd_level && C == 5569) return rp3d_disorder_groups(C);
    return no_groups(C);
  }
  throw Error("--groups", "unknown value \"" + how + "\" (auto, rp3d, rp3d-icd, counts, none)");
}

std::vector<int64_t> read_counts(const std::string& path) {
  const npy::Array a = npy::read(path);
  if (a.shape.size() != 1) throw Error(path, "training counts must be a 1-D array (classes,)");
  if (a.dtype == npy::DType::kFloat32 || a.dtype == npy::DType::kFloat64) {
    for (float v : a.to_float32())
      if (v != std::floor(v) || v < 0) throw Error(path, "training counts must be non-negative integers");
  }
  std::vector<int64_t> c = a.to_int64();
  for (int64_t v : c)
    if (v < 0) throw Error(path, "training counts must be non-negative");
  return c;
}

}  // namespace

std::vector<std::string> read_row_groups(const std::string& path) {
  const std::string text = read_file_bytes(path);
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
    start = end + 1;
  }
  if (lines.empty()) throw Error(path, "row groups: the file is empty");
  if (lines.front().find(',') == std::string::npos) return lines;  // one name per line
  const csv::Table t = csv::read(path);
  int col = t.column("dataset");
  if (col < 0) col = t.column("group");
  if (col < 0) throw Error(path, "row groups: a CSV needs a 'dataset' or 'group' column (or give one name per line)");
  std::vector<std::string> out;
  for (const auto& row : t.rows) out.push_back(csv::trim(row[static_cast<std::size_t>(col)]));
  return out;
}

MetricsRunResult run_metrics(const MetricsRunOptions& opt) {
  if (opt.val_scores.empty() != opt.val_labels.empty())
    throw Error("--val-scores/--val-labels", "give both or neither");
  if (!opt.icd_map.empty() && opt.label_dict.empty())
    throw Error("--icd-map", "needs --label-dict (the disorder names of the score columns)");
  ScoreMatrix scores = scores_from_npy(npy::read(opt.scores), opt.scores);
  const LabelMatrix labels = labels_from_npy(npy::read(opt.labels), opt.labels);
  check_same_shape(scores, labels, opt.scores, opt.labels);

  std::string kind_source;
  bool logits = false;
  if (opt.score_kind == ScoreKind::kAuto) {
    logits = looks_like_logits(scores);
    kind_source = logits ? "auto-detected (values outside [0,1])" : "auto-detected (all values in [0,1])";
  } else {
    logits = opt.score_kind == ScoreKind::kLogits;
    kind_source = "flag";
  }
  if (logits) logits_to_probabilities(scores);

  EvaluationOptions eo;
  eo.threads = opt.threads;
  eo.bootstrap_rounds = opt.bootstrap;
  eo.seed = opt.seed;
  eo.ci_level = opt.ci_level;
  eo.curve_grid = opt.report_dir.empty() ? 0 : 101;
  if (!opt.val_scores.empty()) {
    ScoreMatrix vs = scores_from_npy(npy::read(opt.val_scores), opt.val_scores);
    const LabelMatrix vl = labels_from_npy(npy::read(opt.val_labels), opt.val_labels);
    check_same_shape(vs, vl, opt.val_scores, opt.val_labels);
    if (vs.n_classes != scores.n_classes)
      throw Error(opt.val_scores, "has " + std::to_string(vs.n_classes) + " classes, the scores have " + std::to_string(scores.n_classes));
    if (logits) logits_to_probabilities(vs);
    eo.thresholds = select_thresholds(vs, vl, opt.threads);
  }
  const std::vector<int64_t> counts = opt.train_counts.empty() ? std::vector<int64_t>() : read_counts(opt.train_counts);
  const ClassGroups groups = make_groups(opt.groups, scores.n_classes, counts, opt.cutoffs, false);

  std::vector<std::string> names;
  if (!opt.label_dict.empty()) {
    names = label_names_from_dict(nlohmann::json::parse(read_file_bytes(opt.label_dict)), opt.label_dict);
    if (static_cast<int64_t>(names.size()) != scores.n_classes)
      throw Error(opt.label_dict, "has " + std::to_string(names.size()) + " classes, the scores have " + std::to_string(scores.n_classes));
  }

  std::vector<std::string> row_groups;
  if (!opt.row_groups.empty()) {
    row_groups = read_row_groups(opt.row_groups);
    if (static_cast<int64_t>(row_groups.size()) != scores.n_cases)
      throw Error(opt.row_groups, "has " + std::to_string(row_groups.size()) + " group names, " + opt.scores + " has " +
                                      std::to_string(scores.n_cases) + " score rows (one name per row, in row order)");
  }
  const bool by_dataset = distinct_groups(row_groups) > 1;

  spdlog::info("metrics: {} cases x {} classes, {} bootstrap rounds", scores.n_cases, scores.n_classes, opt.bootstrap);
  const EvaluationResult r = evaluate(scores, labels, groups, eo);
  GroupedEvaluation grouped;
  if (by_dataset) grouped = evaluate_by_group(scores, labels, row_groups, eo);
  MetricsJsonOptions jo;
  jo.per_class = opt.per_class;
  jo.class_names = names.empty() ? nullptr : &names;
  MetricsRunResult out;
  out.json = metrics_to_json(r, jo);
  out.json["score_kind"] = logits ? "logits" : "probabilities";
  out.json["score_kind_source"] = kind_source;
  out.table = metrics_table(r, by_dataset ? "pooled" : "all");
  if (by_dataset) {
    out.json["by_dataset"] = grouped_to_json(grouped, names.empty() ? nullptr : &names);
    out.json["scope"] = "macro, groups, ci and per_class are pooled over all datasets; by_dataset holds the within-dataset numbers";
    out.table = grouped_table(grouped) + "\nPooled over all datasets (also rewards telling the datasets apart):\n" + out.table;
  }

  // Further breakdowns (by modality, anatomy, ...), each within its groups like the dataset table.
  std::vector<std::pair<std::string, GroupedEvaluation>> breakdowns;
  for (const auto& [what, file] : opt.breakdowns) {
    const auto rows = read_row_groups(file);
    if (static_cast<int64_t>(rows.size()) != scores.n_cases)
      throw Error(file, "has " + std::to_string(rows.size()) + " group names, " + opt.scores + " has " +
                            std::to_string(scores.n_cases) + " score rows");
    if (distinct_groups(rows) < 2) continue;
    breakdowns.emplace_back(what, evaluate_by_group(scores, labels, rows, eo));
    out.json["by_" + what] = grouped_to_json(breakdowns.back().second, names.empty() ? nullptr : &names);
    out.table += "\n" + grouped_table(breakdowns.back().second, what);
  }

  // Intra-/inter-anatomy negatives (the paper's Fig. 4a), on the probabilities.
  NegativeScoreAnalysis negatives;
  if (!opt.row_anatomies.empty()) {
    negatives = analyse_negative_scores(scores, labels, read_row_groups(opt.row_anatomies), opt.row_anatomies);
    negatives.anatomy_source = opt.anatomy_source;
    out.json["negative_scores"] = negative_scores_to_json(negatives, names.empty() ? nullptr : &names);
    out.table += "\n" + negative_scores_summary(negatives);
  }

  // ICD-10 level: aggregate the disorder columns to codes, evaluate with the same options.
  EvaluationResult icd;
  CodeLevelData code_level;
  if (!opt.icd_map.empty()) {
    const IcdMapping mapping = read_icd_mapping(opt.icd_map);
    code_level = aggregate_to_codes(scores, labels, names, mapping);
    if (code_level.codes.empty()) throw Error(opt.icd_map, "no disorder of the label dict maps to a code");
    std::vector<int64_t> code_counts;
    if (!mapping.code_case_counts.empty())
      for (const auto& code : code_level.codes)
        code_counts.push_back(mapping.code_case_counts[std::find(mapping.codes.begin(), mapping.codes.end(), code) - mapping.codes.begin()]);
    const int64_t K = static_cast<int64_t>(code_level.codes.size());
    const std::string how = opt.groups == "rp3d" ? "rp3d" : opt.groups == "none" ? "none" : (code_counts.empty() ? "none" : "counts");
    const ClassGroups icd_groups = make_groups(how, K, code_counts, opt.cutoffs, true);
    EvaluationOptions io = eo;
    io.thresholds.clear();  // validation thresholds are per disorder; code thresholds are chosen on the data
    icd = evaluate(code_level.scores, code_level.labels, icd_groups, io);
    MetricsJsonOptions ijo;
    ijo.per_class = opt.per_class;
    ijo.class_names = &code_level.codes;
    nlohmann::json ij = metrics_to_json(icd, ijo);
    ij["mapping"] = opt.icd_map;
    ij["unmapped_disorders"] = code_level.unmapped_disorders;
    out.json["icd"] = ij;
    out.table += "\nICD-10-CM level (" + std::to_string(K) + " codes; score = max over disorders, label = any):\n" + metrics_table(icd);
  }

  if (!opt.report_dir.empty()) {
    std::filesystem::create_directories(opt.report_dir);
    const ReportCurves curves = class_resampled_bands(r, 1000, 10, opt.seed);
    std::vector<ReportSection> sections{{"Disorders", &r, &curves, names.empty() ? nullptr : &names}};
    ReportCurves icd_curves;
    if (!opt.icd_map.empty()) {
      icd_curves = class_resampled_bands(icd, 1000, 10, opt.seed);
      sections.push_back({"ICD-10-CM", &icd, &icd_curves, &code_level.codes});
    }
    ReportOptions ro;
    ro.by_dataset = by_dataset ? &grouped : nullptr;
    for (const auto& [what, g] : breakdowns) ro.breakdowns.emplace_back(what, &g);
    if (!opt.row_anatomies.empty()) ro.negative_scores = &negatives;
    write_report(sections, opt.report_dir + "/report.html", ro);
    write_curves_json(curves, opt.report_dir + "/curves.json");
    write_per_class_csv(r, opt.report_dir + "/per_class.csv", names.empty() ? nullptr : &names);
    write_thresholds_json(r, opt.report_dir + "/thresholds.json", names.empty() ? nullptr : &names);
  }
  return out;
}

}  // namespace raddiag::eval
