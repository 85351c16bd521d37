// raddiag train: one training run from a JSON run config (src/train/run_config.h), or --resume of a run.
#include <cmath>
#include <iostream>
#include <cstdio>

#include "cli/command.h"
#include "train/distributed.h"
#include "train/train_job.h"
#include "util/error.h"

namespace raddiag::cli {
namespace {
Registrar register_train({"train", "train a model from a run config (JSON); --resume continues a run folder", [](CLI::App& sub) {
  struct Args {
    std::string config, out, resume, device, dist_backend;
    // Overrides; negative = not given.
    int64_t steps = -1, seed = -1;
    double lr = -1;
    int batch = -1, workers = -1;
    int nproc = 1;
    bool quiet = false;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("--config", a->config, "run config JSON (see docs/training.md)");
  sub.add_option("--out", a->out, "run folder to create (checkpoints, log.jsonl, model.raddiag)");
  sub.add_option("--resume", a->resume, "continue the run in this folder from its newest checkpoint");
  sub.add_option("--steps", a->steps, "override: optimiser steps of the whole run");
  sub.add_option("--lr", a->lr, "override: base learning rate");
  sub.add_option("--batch", a->batch, "override: cases per batch (per process)");
  sub.add_option("--workers", a->workers, "override: loader threads");
  sub.add_option("--device", a->device, "override: cpu, cuda or cuda:N");
  sub.add_option("--seed", a->seed, "override: run seed");
  sub.add_option("--nproc", a->nproc, "data-parallel processes on this machine (one GPU each with cuda)")->capture_default_str();
  sub.add_option("--dist-backend", a->dist_backend, "override: c10d backend of data-parallel runs: auto, gloo or nccl");
  sub.add_flag("-q,--quiet", a->quiet, "no progress lines");
  return std::function<int()>([a] {
    if (a->config.empty() == a->resume.empty()) throw Error("train", "give either --config (with --out) or --resume RUN_DIR");
    if (!a->config.empty() && a->out.empty()) throw Error("--out", "a new run needs a run folder");
    if (a->nproc < 1) throw Error("--nproc", "must be >= 1");
    if (a->nproc > 1 && !train::DistEnv::from_environment().distributed()) {
      // Re-run this command as N ranks (everything but --nproc).
      std::vector<std::string> argv{train::current_executable(), "train"};
      auto add = [&](const std::string& k, const std::string& v) { argv.push_back(k), argv.push_back(v); };
      if (!a->config.empty()) add("--config", a->config);
      if (!a->out.empty()) add("--out", a->out);
      if (!a->resume.empty()) add("--resume", a->resume);
      if (a->steps >= 0) add("--steps", std::to_string(a->steps));
      if (a->lr >= 0) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", a->lr);
        add("--lr", buf);
      }
      if (a->batch >= 0) add("--batch", std::to_string(a->batch));
      if (a->workers >= 0) add("--workers", std::to_string(a->workers));
      if (!a->device.empty()) add("--device", a->device);
      if (!a->dist_backend.empty()) add("--dist-backend", a->dist_backend);
      if (a->seed >= 0) add("--seed", std::to_string(a->seed));
      if (a->quiet) argv.push_back("--quiet");
      return train::launch_local(a->nproc, argv);
    }
    train::TrainJobOptions jo;
    jo.resume = !a->resume.empty();
    jo.run_dir = jo.resume ? a->resume : a->out;
    jo.progress = !a->quiet;
    train::RunConfig cfg = jo.resume ? train::read_run_config(jo.run_dir) : train::RunConfig::load(a->config);
    if (a->steps >= 0) cfg.steps = a->steps;
    if (a->lr >= 0) cfg.optim.lr = a->lr;
    if (a->batch >= 0) cfg.batch_size = a->batch;
    if (a->workers >= 0) cfg.workers = a->workers;
    if (!a->device.empty()) cfg.device = a->device;
    if (!a->dist_backend.empty()) cfg.dist_backend = a->dist_backend;
    if (a->seed >= 0) cfg.seed = static_cast<uint64_t>(a->seed);
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
