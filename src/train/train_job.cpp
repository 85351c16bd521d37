#include "train/train_job.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>

#include <spdlog/spdlog.h>

#include "data/rp3d_manifest.h"
#include "infer/predictor.h"
#include "infer/quick_metrics.h"
#include "infer/sharded_predict.h"
#include "model/losses.h"
#include "model/precision.h"
#include "model/runtime.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/knowledge_setup.h"
#include "train/model_card.h"
#include "train/run_dir.h"
#include "train/step_function.h"
#include "train/trainer.h"
#include "train/training_loader.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::train {

namespace fs = std::filesystem;

RunConfig read_run_config(const std::string& run_dir) {
  const std::string path = run_dir + "/run_config.json";
  if (!fs::exists(path)) throw Error(run_dir, "not a raddiag run folder (no run_config.json)");
  return RunConfig::load(path);
}

namespace {

// The data-parallel group of this process (none in a single-process run), and the device it trains on:
// ranks on one machine take one GPU each, a plain "cuda" becoming cuda:LOCAL_RANK.
struct Placement {
  std::shared_ptr<ProcessGroup> group;
  std::string device;
  bool main_rank = true;
};

Placement place_this_process(const RunConfig& cfg) {
  Placement p;
  const DistEnv env = DistEnv::from_environment();
  p.device = model::resolve_device(cfg.device);
  if (p.device == "cuda" && env.distributed() && static_cast<size_t>(env.local_rank) < torch::cuda::device_count())
    p.device = "cuda:" + std::to_string(env.local_rank);
  if (env.distributed()) {
    ProcessGroupOptions po;
    po.backend = parse_comm_backend(cfg.dist_backend);
    po.device = torch::Device(p.device);
    p.group = ProcessGroup::create(env, po);
    if (p.group->is_main())
      spdlog::info("data parallel: {} ranks ({} variables) over c10d {}, gradient all-reduce {}", p.group->world_size(),
                   env.launcher, comm_backend_name(p.group->backend()),
                   cfg.overlap_for(comm_backend_name(p.group->backend())) ? "overlapped with backward" : "after backward");
  }
  p.main_rank = !p.group || p.group->is_main();
  return p;
}

// data.unknown_by_dataset: which classes each dataset labels, and how many entries became unknown.
nlohmann::json dataset_label_sets_json(const TrainingData& data) {
  return {{"rule", "a class outside a dataset's label set is unknown (not negative) for that dataset's cases: left out of "
                   "the loss and the validation metrics"},
          {"label_sets", data.dataset_label_sets},
          {"masked_train_entries", data.masked_train_entries},
          {"masked_val_entries", data.masked_val_entries}};
}

// Metric names of the validation record: the pooled macro values, and with several datasets each
// dataset's own ("dataset/<name>/macro_auc", ...) and their mean ("within_dataset_macro_auc", ...).
std::map<std::string, double> validation_record(const infer::QuickMetrics& q, double eval_loss) {
  std::map<std::string, double> m{{"macro_auc", q.macro_auc}, {"macro_ap", q.macro_ap}, {"macro_f1", q.macro_f1},
                                  {"val_defined_classes", double(q.n_defined)}, {"eval_loss", eval_loss}};
  if (q.by_dataset.empty()) return m;
  m["within_dataset_macro_auc"] = q.within_dataset_macro_auc;
  m["within_dataset_macro_ap"] = q.within_dataset_macro_ap;
  m["within_dataset_macro_f1"] = q.within_dataset_macro_f1;
  for (const auto& d : q.by_dataset) {
    m["dataset/" + d.name + "/macro_auc"] = d.macro_auc;
    m["dataset/" + d.name + "/macro_ap"] = d.macro_ap;
    m["dataset/" + d.name + "/macro_f1"] = d.macro_f1;
    m["dataset/" + d.name + "/defined_classes"] = double(d.n_defined);
  }
  return m;
}

// The validation number that picks the saved model. "auto": with several datasets the pooled AUC mostly
// rewards telling them apart, so the within-dataset mean; with one dataset the two are the same number.
std::string resolve_best_metric(const std::string& configured, bool several_datasets) {
  const std::string within = "within_dataset_";
  if (configured == "auto") return several_datasets ? "within_dataset_macro_auc" : "macro_auc";
  if (!several_datasets && configured.rfind(within, 0) == 0) return configured.substr(within.size());
  return configured;
}

// The run folder's inputs as started: config (with the command line's overrides on --resume), vocabulary,
// and the exact split as RP3D case JSON any command reads (evaluate/predict on held-out cases only).
void record_run_inputs(const std::string& run_dir, const RunConfig& cfg, const TrainingData& data) {
  write_bytes_atomically(run_dir + "/run_config.json", cfg.to_json().dump(2) + "\n");
  data.vocab.save_json(run_dir + "/vocabulary.json");
  data::save_rp3d_cases(run_dir + "/train_cases.json", data.train);
  if (!data.val.empty()) data::save_rp3d_cases(run_dir + "/val_cases.json", data.val);
  if (data.unknown_by_dataset) write_bytes_atomically(run_dir + "/dataset_label_sets.json", dataset_label_sets_json(data).dump(2) + "\n");
}

// Optimiser groups: fine-tuning's layer-wise rules and the frozen prefixes before the run's own groups.
OptimOptions optimiser_options(const RunConfig& cfg, model::RadDiagModel& net) {
  OptimOptions oo = cfg.optim;
  if (cfg.finetune.enabled()) {
    auto rules = finetune_param_rules(net, cfg.finetune.mode, cfg.finetune.layer_decay);
    oo.groups.insert(oo.groups.begin(), rules.begin(), rules.end());
  }
  for (const auto& prefix : cfg.freeze) {
    ParamGroupRule r;
    r.prefix = prefix;
    r.frozen = true;
    oo.groups.insert(oo.groups.begin(), r);
  }
  return oo;
}

// Step 6: validation through the inference path (infer::Predictor), so the numbers that pick the best
// checkpoint are the ones `evaluate` would report. During training every rank validates its share of
// the cases and all get the gathered metrics; the final pass (rank 0 only) runs unsharded.
class Validator {
 public:
  Validator(const RunConfig& cfg, const ModelSetup& setup, const TrainingData& data, model::RadDiagModel net,
            std::string device, ProcessGroup* group, model::ClassificationLoss loss)
      : setup_(setup), data_(data), net_(std::move(net)), device_(std::move(device)), group_(group), loss_(std::move(loss)) {
    options_.batch_size = cfg.batch_size;
    options_.progress = false;
    options_.seed = cfg.seed;
    for (const auto& c : data.val) datasets_.push_back(c.dataset);
  }
  // The model as a bundle (config, preprocessing, classes, the network being trained).
  model::ModelBundle bundle() const {
    model::ModelBundle b;
    b.config = setup_.config;
    b.preprocess = setup_.preprocess.to_json();
    b.classes = data_.vocab.names();
    b.model = net_;
    return b;
  }
  struct Result {
    infer::QuickMetrics metrics;
    double eval_loss = std::nan("");
  };
  Result run(bool sharded) const {
    // The network is shared with training: validate in the precision it trains in, which also leaves
    // the setting as it was (a Predictor sets it on the model).
    infer::InferenceOptions inference;
    inference.precision = net_->backbone_precision();
    inference.draws = infer::kProductDraws;   // as `evaluate` scores
    infer::Predictor predictor(bundle(), device_, inference);
    const infer::Predictions p = infer::predict_sharded(predictor, data_.val, options_, shard_group(sharded ? group_ : nullptr));
    return {infer::quick_metrics(p, 1, &datasets_), eval_loss(p)};
  }

 private:
  const ModelSetup& setup_;
  const TrainingData& data_;
  model::RadDiagModel net_;
  std::string device_;
  ProcessGroup* group_;
  infer::PredictOptions options_;
  std::vector<std::string> datasets_;  // of each validation case
  model::ClassificationLoss loss_;

  // The training classification loss over the validation cases (rows that could be predicted, known
  // labels only): the official Trainer's eval_loss without its KL attention term, which needs key-slice
  // annotations the inference path does not read.
  double eval_loss(const infer::Predictions& p) const {
    if (!p.logits.defined() || p.logits.size(0) == 0) return std::nan("");
    torch::NoGradGuard no_grad;
    const torch::Tensor ok = p.logits.isfinite().all(1);
    if (ok.sum().item<int64_t>() == 0) return std::nan("");
    const torch::Tensor logits = p.logits.index({ok}).to(torch::kFloat32);
    const torch::Tensor labels = p.labels.index({ok});
    const torch::Tensor known = labels.ge(0).to(torch::kFloat32);
    return loss_(logits, labels.clamp_min(0), known).item<double>();
  }
};

}  // namespace

TrainJobResult run_train_job(RunConfig cfg, const TrainJobOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  if (opt.run_dir.empty()) throw Error("--out", "a run folder is required");
  cfg.check_required();
  cfg.make_paths_absolute();
  cfg.validate();
  model::configure_threads(cfg.threads);
  const Placement place = place_this_process(cfg);
  const bool main_rank = place.main_rank;
  if (!opt.resume && main_rank) {
    RunDir existing(opt.run_dir, false);
    if (fs::exists(opt.run_dir) && !existing.checkpoint_steps().empty())
      throw Error(opt.run_dir, "already holds checkpoints: continue it with --resume, or choose another --out");
  }

  TrainingData data = load_training_data(cfg, main_rank);                                   // 1
  ModelSetup setup = configure_model(cfg, data);                                            // 2
  const bool late = setup.config.fusion.mode == model::FusionMode::kLate;
  const KnowledgeEmbeddings knowledge = embed_class_names(cfg.knowledge, data.vocab.names(), setup.config, main_rank);  // 3
  RunDir run(opt.run_dir, main_rank);
  if (main_rank) record_run_inputs(opt.run_dir, cfg, data);
  seed_everything(cfg.seed);
  model::RadDiagModel net = build_network(cfg, setup, data, opt.run_dir, main_rank);
  if (knowledge.class_text.defined()) net->knowledge_head()->set_class_embeddings(knowledge.class_text);
  net->to(torch::Device(place.device));
  net->train();

  TrainingLoader feed = make_training_loader(cfg, data, setup.preprocess, late, place.group.get(), main_rank);  // 4
  OptimOptions oo = optimiser_options(cfg, net);
  if (cpu_bf16_slice_encoder(oo.precision, torch::Device(place.device))) {
    net->set_backbone_precision(model::Precision::kBf16);
  } else if (oo.precision == "bf16" && place.device == "cpu" && main_rank) {
    spdlog::warn("precision bf16: this CPU has no native bf16 (avx512_bf16 / amx_bf16), so the run trains in fp32");
  }
  OptimizerSetup optim = make_adamw(*net, oo);
  int64_t total = cfg.steps;
  if (total <= 0) total = std::max<int64_t>(1, (feed.loader->batches_per_epoch() * cfg.epochs) / std::max(1, oo.grad_accum_steps));
  const StepFn step = make_step_function(net, cfg.loss, feed.class_counts, feed.source->size(), torch::Device(place.device),
                                         cfg.finetune.enabled() && cfg.finetune.mode == "frozen");  // 5
  torch::Tensor val_pos_weight;
  if (cfg.loss.kind == "bce_pos_weight")
    val_pos_weight = model::positive_class_weights(feed.class_counts, feed.source->size(), cfg.loss.pos_weight_max);
  const Validator validator(cfg, setup, data, net, place.device, place.group.get(),
                            model::make_classification_loss(cfg.loss, val_pos_weight));  // 6

  TrainerOptions to;
  to.total_steps = total;
  to.log_every = cfg.log_every;
  // Epoch-based intervals count optimiser steps of one pass over this rank's share of the training set.
  const int64_t steps_per_epoch = std::max<int64_t>(1, feed.loader->batches_per_epoch() / std::max(1, oo.grad_accum_steps));
  to.checkpoint_every = cfg.checkpoint_every.in_steps(steps_per_epoch);
  to.keep_last = cfg.keep_last;
  to.validate_every = cfg.validate_every.in_steps(steps_per_epoch);
  to.validate_at_end = !data.val.empty();
  to.best_metric = data.val.empty() ? "" : resolve_best_metric(cfg.best_metric, count_datasets(data.val) > 1);
  to.greater_is_better = to.best_metric != "eval_loss";
  to.device = place.device;
  to.weight_average_decay = cfg.ema_decay;
  to.overlap_grad_sync = cfg.overlap_for(place.group ? comm_backend_name(place.group->backend()) : "");
  to.progress = opt.progress;
  Trainer trainer(*net, step, *feed.loader, optim, oo, to, opt.run_dir, cfg.to_json(), place.group);
  if (!data.val.empty())
    trainer.set_validation([&](int64_t) {
      const auto v = validator.run(true);
      return validation_record(v.metrics, v.eval_loss);
    });
  if (main_rank)
    spdlog::info("train: {} train / {} val cases, {} classes, {} steps of {} cases, model {} ({} head) on {}", data.train.size(),
                 data.val.size(), data.vocab.size(), total, cfg.batch_size, cfg.model.is_string() ? cfg.model.get<std::string>() : "custom",
                 model::head_type_name(setup.config.head.type), place.device);
  if (opt.resume && !trainer.resume()) throw Error(opt.run_dir, "--resume: the run folder holds no checkpoint");
  const TrainResult tr = trainer.run();

  TrainJobResult result;
  result.steps = tr.steps;
  result.n_train = static_cast<int64_t>(data.train.size());
  result.n_val = static_cast<int64_t>(data.val.size());
  result.n_classes = static_cast<int64_t>(data.vocab.size());
  result.absent_classes = data.absent_classes;
  result.finetune = data.finetune_summary;
  result.best_step = tr.best_step;
  result.interrupted = tr.interrupted;
  result.val_macro_auc = std::nan("");
  if (!main_rank || tr.interrupted) {
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
  }

  // The saved model: the best checkpoint by validation AUC (else the final weights).            7
  if (tr.best_step && fs::exists(run.checkpoint_path(*tr.best_step))) {
    LoadOptions lopt;
    lopt.optimizer = false;
    lopt.rng = false;
    lopt.averaged_weights = true;
    load_checkpoint(run.checkpoint_path(*tr.best_step), *net, nullptr, lopt);
  } else {
    trainer.use_averaged_weights();
  }
  model::ModelBundle bundle = validator.bundle();
  bundle.text_encoder = knowledge.stored;
  TrainingRecord record;
  if (!data.val.empty()) {
    const auto v = validator.run(false);
    const auto& q = v.metrics;
    bundle.thresholds = infer::thresholds_for_model(q.thresholds);
    result.val_macro_auc = q.macro_auc;
    record.validation = {{"macro_auc", q.macro_auc}, {"macro_ap", q.macro_ap}, {"macro_f1", q.macro_f1}, {"eval_loss", v.eval_loss},
                         {"n_cases", q.n_cases}, {"defined_classes", q.n_defined},
                         {"thresholds", "max F1 per class on the validation set (probability space); 0.5 where undefined"}};
    if (!q.by_dataset.empty()) {
      record.validation["scope"] = "macro_* pool every validation case; by_dataset and within_dataset_* are within each dataset";
      record.validation["within_dataset_macro_auc"] = q.within_dataset_macro_auc;
      record.validation["within_dataset_macro_ap"] = q.within_dataset_macro_ap;
      record.validation["within_dataset_macro_f1"] = q.within_dataset_macro_f1;
      nlohmann::json list = nlohmann::json::array();
      for (const auto& d : q.by_dataset)
        list.push_back({{"name", d.name}, {"n_cases", d.n_cases}, {"defined_classes", d.n_defined},
                        {"macro_auc", d.macro_auc}, {"macro_ap", d.macro_ap}, {"macro_f1", d.macro_f1}});
      record.validation["by_dataset"] = list;
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  record.run_dir = opt.run_dir;
  record.steps = tr.steps;
  record.saved_step = tr.best_step;
  record.seconds = result.seconds;
  record.class_counts = feed.class_counts;
  record.knowledge = knowledge.card;
  bundle.card = training_model_card(cfg, data, record);
  if (tr.best_step) bundle.card["provenance"]["selection"] = "best validation " + to.best_metric;
  if (data.unknown_by_dataset) bundle.card["training_data"]["unknown_by_dataset"] = dataset_label_sets_json(data);
  result.model_path = opt.run_dir + "/model.raddiag";
  model::save_model_file(result.model_path, bundle);
  const bool within = record.validation.is_object() && record.validation.contains("within_dataset_macro_auc");
  spdlog::info("wrote {} (step {}, val macro AUC {:.4f}{}, {:.1f} s)", result.model_path, tr.best_step ? *tr.best_step : tr.steps,
               result.val_macro_auc,
               within ? fmt::format(" pooled, {:.4f} within-dataset mean", record.validation["within_dataset_macro_auc"].is_number()
                                                                               ? record.validation["within_dataset_macro_auc"].get<double>()
                                                                               : std::nan(""))
                      : std::string(),
               result.seconds);
  return result;
}

}  // namespace raddiag::train
