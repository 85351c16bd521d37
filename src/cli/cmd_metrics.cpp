// raddiag metrics: evaluate saved scores against labels (.npy): per-class and macro AUC/AP/F1/MCC/ACC/
// R@FPR, head/medium/tail groups, bootstrap CIs, optional ICD-10 level and report files.
#include <fstream>
#include <iostream>

#include "cli/command.h"
#include "eval/metrics_run.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::cli {
namespace {
Registrar register_metrics({"metrics", "evaluate scores against labels (.npy): macro/per-class metrics, groups, bootstrap CIs",
               [](CLI::App& sub) {
  auto o = std::make_shared<eval::MetricsRunOptions>();
  auto json_out = std::make_shared<bool>(false);
  auto logits = std::make_shared<bool>(false);
  auto probs = std::make_shared<bool>(false);
  auto no_per_class = std::make_shared<bool>(false);
  auto out = std::make_shared<std::string>();
  sub.add_option("--scores", o->scores, "scores .npy (cases x classes), float32/float64")->required();
  sub.add_option("--labels", o->labels, "labels .npy (cases x classes), 0/1")->required();
  sub.add_option("--val-scores", o->val_scores, "validation scores: thresholds are chosen there (max F1)");
  sub.add_option("--val-labels", o->val_labels, "validation labels");
  sub.add_option("--train-counts", o->train_counts, "training case counts per class (.npy, 1-D) for count groups");
  sub.add_option("--groups", o->groups,
                 "auto (counts if given, else RP3D ranges for 5569 classes, else none) | rp3d | rp3d-icd | counts | none")
      ->capture_default_str();
  sub.add_option("--head-above", o->cutoffs.head_above, "count groups: head = more than this many training cases")->capture_default_str();
  sub.add_option("--tail-below", o->cutoffs.tail_below, "count groups: tail = fewer than this many training cases")->capture_default_str();
  sub.add_option("--bootstrap", o->bootstrap, "bootstrap rounds over cases for CIs (0 = none)")->capture_default_str();
  sub.add_option("--seed", o->seed, "bootstrap seed")->capture_default_str();
  sub.add_option("--ci-level", o->ci_level, "CI level")->capture_default_str();
  sub.add_option("--threads", o->threads, "worker threads (0 = all cores)")->capture_default_str();
  sub.add_flag("--logits", *logits, "scores are logits: clip to +-60, then sigmoid (default: auto-detect)");
  sub.add_flag("--probabilities", *probs, "scores are probabilities (default: auto-detect)");
  sub.add_option("--label-dict", o->label_dict, "label dict JSON (name -> index) for class names");
  sub.add_option("--icd-map", o->icd_map, "disorder -> ICD-10 mapping JSON: also evaluate at code level");
  sub.add_option("--report-dir", o->report_dir, "write report.html, per_class.csv and thresholds.json here");
  sub.add_option("--row-groups", o->row_groups,
                 "dataset of each score row (one name per line, or a CSV with a 'dataset' column such as predict's "
                 ".cases.csv): with several, metrics also within each dataset and their mean");
  sub.add_option("--row-anatomies", o->row_anatomies,
                 "anatomy of each score row's case (one per line, empty = unknown): adds the intra-/inter-anatomy "
                 "negative score distributions (negative_scores)");
  sub.add_flag("--no-per-class", *no_per_class, "leave per-class entries out of the JSON");
  sub.add_flag("--json", *json_out, "print JSON instead of a table");
  sub.add_option("--out", *out, "write the output to this file instead of stdout");
  return std::function<int()>([=] {
    if (*logits && *probs) throw raddiag::Error("--logits/--probabilities", "give at most one");
    o->score_kind = *logits ? eval::ScoreKind::kLogits : *probs ? eval::ScoreKind::kProbabilities : eval::ScoreKind::kAuto;
    o->per_class = !*no_per_class;
    const eval::MetricsRunResult r = eval::run_metrics(*o);
    const std::string text = *json_out ? r.json.dump(2) + "\n" : r.table;
    if (out->empty()) {
      std::cout << text;
    } else {
      refuse_to_overwrite_inputs(*out, {o->scores, o->labels, o->val_scores, o->val_labels, o->train_counts,
                                        o->label_dict, o->icd_map, o->row_groups});
      write_bytes_atomically(*out, text);
    }
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
