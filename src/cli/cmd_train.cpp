// raddiag train: one training run from a JSON run config (src/train/run_config.h), or --resume of a run.
#include <cmath>
#include <iostream>

#include "cli/command.h"
#include "cli/common_options.h"
#include "train/distributed.h"
#include "train/train_job.h"
#include "util/error.h"

namespace raddiag::cli {
namespace {
Registrar register_train({"train", "train a model from a run config (JSON); --resume continues a run folder", [](CLI::App& sub) {
  struct Args {
    std::string config, out, resume;
    TrainOverrides overrides;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("--config", a->config, "run config JSON (see docs/training.md)");
  sub.add_option("--out", a->out, "run folder to create (checkpoints, log.jsonl, model.raddiag)");
  sub.add_option("--resume", a->resume, "continue the run in this folder from its newest checkpoint");
  add_train_overrides(sub, a->overrides);
  return std::function<int()>([a] {
    const TrainOverrides& ov = a->overrides;
    if (a->config.empty() == a->resume.empty()) throw Error("train", "give either --config (with --out) or --resume RUN_DIR");
    if (!a->config.empty() && a->out.empty()) throw Error("--out", "a new run needs a run folder");
    if (ov.nproc < 1) throw Error("--nproc", "must be >= 1");
    if (ov.nproc > 1 && !train::DistEnv::from_environment().distributed()) {
      // Re-run this command as N ranks (everything but --nproc).
      std::vector<std::string> argv{train::current_executable(), "train"};
      if (!a->config.empty()) argv.insert(argv.end(), {"--config", a->config});
      if (!a->out.empty()) argv.insert(argv.end(), {"--out", a->out});
      if (!a->resume.empty()) argv.insert(argv.end(), {"--resume", a->resume});
      for (auto& arg : train_override_args(ov)) argv.push_back(arg);
      return train::launch_local(ov.nproc, argv);
    }
    train::TrainJobOptions jo;
    jo.resume = !a->resume.empty();
    jo.run_dir = jo.resume ? a->resume : a->out;
    jo.progress = !ov.quiet;
    train::RunConfig cfg = jo.resume ? train::read_run_config(jo.run_dir) : train::RunConfig::load(a->config);
    apply_train_overrides(ov, cfg);
    cfg.validate();
    const auto r = train::run_train_job(cfg, jo);
    if (r.model_path.empty()) return r.interrupted ? 130 : 0;
    std::cout << "steps " << r.steps << ", " << r.n_train << " train / " << r.n_val << " val cases, " << r.n_classes
              << " classes\n";
    if (!std::isnan(r.val_macro_auc)) std::cout << "validation macro AUC " << r.val_macro_auc << "\n";
    std::cout << "wall time " << r.seconds << " s\nmodel " << r.model_path << "\n";
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
