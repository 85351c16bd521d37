#include "cli/common_options.h"

#include <cstdio>
#include <ostream>

#include "model/runtime.h"
#include "serve/model_loading.h"
#include "train/run_config.h"
#include "util/error.h"
#include "util/input_budget.h"

namespace raddiag::cli {

void add_device_options(CLI::App& sub, DeviceOptions& o) {
  sub.add_option("--device", o.device, "cpu, cuda or cuda:N");
  sub.add_flag("--tf32", o.tf32, "CUDA: allow TF32 convolutions and matrix products (faster, ~1e-4 off fp32)");
  sub.add_option("--threads", o.threads, "intra-op threads (0 = all cores)");
  sub.add_option("--precision", o.precision,
                 "slice encoder arithmetic: fp32 (exact) or bf16 (CPU with avx512_bf16/AMX; faster, logits differ, "
                 "see docs/performance.md)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  sub.add_option("--tta", o.tta,
                 "test-time augmentation: none, or flip (also score the left-right mirror image and average the "
                 "logits; twice the model time; measured in docs/real-data.md)")
      ->check(CLI::IsMember(infer::test_time_augmentation_names()))
      ->capture_default_str();
  sub.add_option("--draws", o.draws,
                 "score each case this many times with different draws of its random preprocessing choices (which "
                 "frame of an ultrasound clip, official: one at random) and average the logits; cases without such "
                 "a choice are scored once (measured in docs/real-data.md)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  sub.add_option("--ensemble", o.ensemble,
                 "another model file scored on the same cases, its logits averaged with --model's (repeatable; same "
                 "preprocessing, classes matched by name; measured in docs/real-data.md)")
      ->check(CLI::ExistingFile);
}

void apply_device_options(const DeviceOptions& o) {
  model::configure_threads(o.threads);
  model::set_cuda_tf32(o.tf32);
}

infer::InferenceOptions inference_options(const DeviceOptions& o) {
  infer::InferenceOptions i;
  i.fold_batchnorm = true;  // inference only: these commands never train the model they load
  i.precision = model::parse_precision(o.precision);
  i.tta = infer::parse_test_time_augmentation(o.tta);
  i.draws = o.draws;
  // Refused before the model file is read (infer::Predictor checks again).
  model::require_precision_support(i.precision, model::resolve_device(o.device));
  return i;
}

void add_prefetch_option(CLI::App& sub, int& workers) {
  sub.add_option("--prefetch", workers,
                 "worker threads reading and preprocessing the next cases while the model runs (0 = read in turn "
                 "on the model's thread); results do not depend on it")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
}

std::string describe_timing(const infer::PredictTiming& t) {
  char line[200];
  std::snprintf(line, sizeof line, "predict: %lld cases run in %.1f s; model %.1f s (%.1f %%), waiting for input %.1f s",
                static_cast<long long>(t.cases_run), t.wall_s, t.model_s, 100.0 * t.model_share(), t.input_wait_s);
  return line;
}

void add_case_source_options(CLI::App& sub, data::CaseSourceOptions& o) {
  sub.add_option("--data-root", o.data_root, "root for relative image paths of the JSON");
  sub.add_option("--prefix", o.prefixes, "rewrite an image path prefix, FROM=TO (repeatable)");
  sub.add_option("--modality", o.modality, "modality of folder-dataset files that do not say");
}

void add_classes_option(CLI::App& sub, std::string& classes, const std::string& what) {
  sub.add_option("--classes", classes,
                 what + " (a file, one per line, or a comma-separated list; LABEL=TEXT maps a label onto a model class "
                        "or a new name): a knowledge-head model scores any name (zero-shot)");
}

model::ModelBundle load_model_logged(const std::string& model_path, const std::string& classes, std::ostream& log,
                                     const std::string& label) {
  std::string summary;
  model::ModelBundle bundle = serve::load_model_with_classes(model_path, classes, &summary);
  if (!classes.empty()) log << label << ": " << summary << "\n";
  return bundle;
}

void add_train_overrides(CLI::App& sub, TrainOverrides& o) {
  sub.add_option("--steps", o.steps, "override: optimiser steps of the whole run");
  sub.add_option("--lr", o.lr, "override: base learning rate (layerwise fine-tuning: the head's)");
  sub.add_option("--batch", o.batch, "override: cases per batch (per process)");
  sub.add_option("--workers", o.workers, "override: loader threads");
  sub.add_option("--device", o.device, "override: cpu, cuda or cuda:N");
  sub.add_option("--seed", o.seed, "override: run seed (split, subset, initialisation, order)");
  sub.add_option("--fold", o.fold, "override: data.fold, the validation part of a data.folds cross-validation split");
  sub.add_option("--init-from", o.init_from, "override: starting weights (a raddiag model file or torchvision ResNet .pth)");
  sub.add_option("--nproc", o.nproc, "data-parallel processes on this machine (one GPU each with cuda)")->capture_default_str();
  sub.add_option("--dist-backend", o.dist_backend, "override: c10d backend of data-parallel runs: auto, gloo or nccl");
  sub.add_flag("-q,--quiet", o.quiet, "no progress lines");
}

void apply_train_overrides(const TrainOverrides& o, train::RunConfig& cfg) {
  if (o.steps >= 0) cfg.steps = o.steps;
  if (o.lr >= 0) cfg.optim.lr = o.lr;
  if (o.batch >= 0) cfg.batch_size = o.batch;
  if (o.workers >= 0) cfg.workers = o.workers;
  if (!o.device.empty()) cfg.device = o.device;
  if (!o.dist_backend.empty()) cfg.dist_backend = o.dist_backend;
  if (o.seed >= 0) cfg.seed = static_cast<uint64_t>(o.seed);
  if (o.fold >= 0) cfg.data.fold = o.fold;
  if (!o.init_from.empty()) cfg.init_from = o.init_from;
}

std::vector<std::string> train_override_args(const TrainOverrides& o) {
  std::vector<std::string> args;
  auto add = [&](const std::string& k, const std::string& v) { args.push_back(k), args.push_back(v); };
  if (o.steps >= 0) add("--steps", std::to_string(o.steps));
  if (o.lr >= 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", o.lr);  // every rank must read back the same double
    add("--lr", buf);
  }
  if (o.batch >= 0) add("--batch", std::to_string(o.batch));
  if (o.workers >= 0) add("--workers", std::to_string(o.workers));
  if (!o.device.empty()) add("--device", o.device);
  if (!o.dist_backend.empty()) add("--dist-backend", o.dist_backend);
  if (o.seed >= 0) add("--seed", std::to_string(o.seed));
  if (o.fold >= 0) add("--fold", std::to_string(o.fold));
  if (!o.init_from.empty()) add("--init-from", o.init_from);
  if (o.quiet) args.push_back("--quiet");
  return args;
}

void add_max_input_bytes_option(CLI::App& sub, io::ReadOptions& o) {
  sub.add_option_function<std::string>("--max-input-bytes", [&o](const std::string& v) {
    try {
      o.max_voxel_bytes = parse_byte_size(v);
    } catch (const Error& e) {
      throw CLI::ValidationError("--max-input-bytes", e.reason());
    }
  },
                                       "per-input memory budget, e.g. 512M or 8G (default 4G or $RADDIAG_MAX_INPUT_BYTES)");
}

}  // namespace raddiag::cli
