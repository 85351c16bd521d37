// raddiag finetune: transfer a raddiag model to a new label set and new data (train/finetune.h), then
// the evaluation report on --val and --test. A thin layer over run_train_job: the flags fill the run
// config's "finetune" and "data" sections (on top of --config when given).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common_options.h"
#include "train/distributed.h"
#include "serve/finetune_report.h"
#include "train/train_job.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::cli {
namespace {
Registrar register_finetune({"finetune", "fine-tune a raddiag model on a new dataset and label set (new head), then evaluate",
                             [](CLI::App& sub) {
  struct Args {
    std::string from, config, out, resume, mode, head, fusion, modality, layout, init;
    std::vector<std::string> train, val, test;
    double fraction = -1, layer_decay = -1;
    int64_t shots = -1, epochs = -1;
    int bootstrap = -1;
    bool scratch = false;
    TrainOverrides overrides;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("--from", a->from, "source raddiag model file (ours, or imported with import-official)");
  sub.add_option("--train", a->train, "training set: folder (manifest, case folders, class folders), label CSV or RP3D JSON (repeatable)");
  sub.add_option("--val", a->val, "validation set: best checkpoint, thresholds stored in the model, report in RUN_DIR/eval-val");
  sub.add_option("--test", a->test, "test set: report in RUN_DIR/eval-test (thresholds from --val)");
  sub.add_option("--config", a->config, "run config JSON (optimiser, steps, augmentation, ...; see docs/finetune.md)");
  sub.add_option("--out", a->out, "run folder to create");
  sub.add_option("--resume", a->resume, "continue the fine-tuning run in this folder");
  sub.add_option("--mode", a->mode, "full | frozen (head only, encoder in eval mode) | layerwise (lr x decay per stage)");
  sub.add_option("--layer-decay", a->layer_decay, "layerwise: lr factor per stage counted back from the head (default 0.65)");
  sub.add_option("--fraction", a->fraction, "use this share of the training cases (seeded, label-stratified)");
  sub.add_option("--shots", a->shots, "use K training cases per class (seeded)");
  sub.add_option("--head", a->head, "mlp (fresh MLP head) | knowledge (needs a model with a text encoder)");
  sub.add_option("--fusion", a->fusion, "auto (late for single-scan datasets) | early | late");
  sub.add_flag("--scratch", a->scratch, "the source's architecture with fresh weights (baseline)");
  sub.add_option("--init", a->init,
                 "with --scratch: start from these weights, e.g. torchvision's ImageNet resnet50-0676ba61.pth (the paper's "
                 "Scratch baseline; docs/imagenet-init.md) or a raddiag model file");
  sub.add_option("--epochs", a->epochs, "epochs over the training subset (when --steps is not given)");
  add_train_overrides(sub, a->overrides);
  sub.add_option("--bootstrap", a->bootstrap, "bootstrap rounds of the final evaluation (default 1000)");
  sub.add_option("--modality", a->modality, "modality of images that do not say (class folders, label CSV, plain folders)");
  sub.add_option("--layout", a->layout, "folder layout: auto | cases | classes");
  return std::function<int()>([a] {
    const TrainOverrides& ov = a->overrides;
    const bool resume = !a->resume.empty();
    if (resume && (!a->out.empty() || !a->config.empty() || !a->from.empty() || !a->train.empty()))
      throw Error("finetune", "--resume RUN_DIR continues a run with its stored settings: give no --from/--train/--config/--out");
    if (!resume && (a->from.empty() || a->train.empty() || a->out.empty()))
      throw Error("finetune", "give --from MODEL --train DATASET --val DATASET --out RUN_DIR (or --resume RUN_DIR)");
    if (ov.nproc < 1) throw Error("--nproc", "must be >= 1");
    if (a->fraction >= 0 && a->shots >= 0) throw Error("finetune", "give --fraction or --shots, not both");
    const std::string run_dir = resume ? a->resume : a->out;

    train::RunConfig cfg;
    if (resume) {
      cfg = train::read_run_config(run_dir);
    } else {
      // The config file may leave out the data and the source: the flags fill them in before checking.
      nlohmann::json j = nlohmann::json::object();
      if (!a->config.empty()) {
        try {
          j = nlohmann::json::parse(read_file_bytes(a->config));
        } catch (const nlohmann::json::exception& e) {
          throw Error(a->config, std::string("not valid JSON: ") + e.what());
        }
        if (!j.is_object()) throw Error(a->config, "expected a JSON object");
      }
      j["data"]["train"] = a->train;
      if (!a->val.empty()) j["data"]["val"] = a->val;
      j["finetune"]["from"] = a->from;
      if (!a->test.empty()) j["finetune"]["test"] = a->test;
      try {
        cfg = train::RunConfig::from_json(j);
      } catch (const Error& e) {
        throw Error(a->config.empty() ? "finetune" : a->config, e.what());
      }
      if (cfg.data.val.empty()) throw Error("--val", "fine-tuning needs a validation set (best checkpoint, thresholds, report)");
    }
    if (!a->mode.empty()) cfg.finetune.mode = a->mode;
    if (a->layer_decay >= 0) cfg.finetune.layer_decay = a->layer_decay;
    if (a->fraction >= 0) cfg.finetune.fraction = a->fraction, cfg.finetune.shots = 0;
    if (a->shots >= 0) cfg.finetune.shots = a->shots, cfg.finetune.fraction = 1.0;
    if (!a->head.empty()) cfg.finetune.head = train::parse_finetune_head(a->head);
    if (!a->fusion.empty()) cfg.finetune.fusion = train::parse_finetune_fusion(a->fusion);
    if (a->scratch) cfg.finetune.scratch = true;
    if (!a->init.empty()) cfg.finetune.init = a->init;
    if (a->bootstrap >= 0) cfg.finetune.bootstrap = a->bootstrap;
    if (!a->modality.empty()) cfg.data.modality = a->modality;
    if (!a->layout.empty()) cfg.data.layout = a->layout;
    apply_train_overrides(ov, cfg);
    if (a->epochs >= 0) cfg.epochs = a->epochs, cfg.steps = ov.steps >= 0 ? ov.steps : 0;
    cfg.make_paths_absolute();
    cfg.validate();

    train::TrainJobOptions jo;
    jo.resume = resume;
    jo.run_dir = run_dir;
    jo.progress = !ov.quiet;
    if (ov.nproc > 1 && !train::DistEnv::from_environment().distributed()) {
      // N ranks of `raddiag train` on the merged config; this process then writes the report.
      std::filesystem::create_directories(run_dir);
      const std::string merged = run_dir + "/finetune_config.json";
      write_bytes_atomically(merged, cfg.to_json().dump(2) + "\n");
      std::vector<std::string> argv{train::current_executable(), "train"};
      if (resume) argv.insert(argv.end(), {"--resume", run_dir});
      else argv.insert(argv.end(), {"--config", merged, "--out", run_dir});
      if (ov.steps >= 0) argv.insert(argv.end(), {"--steps", std::to_string(cfg.steps)});
      if (ov.quiet) argv.push_back("--quiet");
      const int rc = train::launch_local(ov.nproc, argv);
      if (rc != 0) return rc;
    } else {
      const auto r = train::run_train_job(cfg, jo);
      if (r.model_path.empty()) return r.interrupted ? 130 : 0;
      std::cout << "steps " << r.steps << ", " << r.n_train << " train / " << r.n_val << " val cases, " << r.n_classes
                << " classes\n";
      for (const auto& c : r.absent_classes) std::cout << "warning: class '" << c << "' has no training case\n";
      if (!std::isnan(r.val_macro_auc)) std::cout << "validation macro AUC " << r.val_macro_auc << "\n";
      std::cout << "wall time " << r.seconds << " s\nmodel " << r.model_path << "\n";
    }
    serve::FinetuneReportOptions ro;
    ro.run_dir = run_dir;
    ro.progress = !ov.quiet;
    std::string table;
    serve::write_finetune_report(cfg, ro, &table);
    std::cout << table << "summary " << run_dir << "/finetune_summary.json\n";
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
