#pragma once
// The end of `raddiag finetune`: the evaluation issue's report (serve::run_evaluate: metrics.json,
// per_class.csv, thresholds.json, report.html) on every validation set (RUN_DIR/eval-val) and test set
// (RUN_DIR/eval-test, thresholds chosen on the first validation set), and RUN_DIR/finetune_summary.json
// with the run's fine-tuning summary (subset, fusion, weight transfer, absent classes) and the macro
// AUC with its bootstrap CI per set. The thresholds stored in the model are the validation ones
// (written by run_train_job).
#include <string>

#include <nlohmann/json.hpp>

#include "train/run_config.h"

namespace raddiag::serve {

struct FinetuneReportOptions {
  std::string run_dir;
  bool progress = true;
};

// Returns what finetune_summary.json holds; `table` receives the readable per-set summaries.
nlohmann::json write_finetune_report(const train::RunConfig& config, const FinetuneReportOptions& options, std::string* table = nullptr);

}  // namespace raddiag::serve
