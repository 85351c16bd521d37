#pragma once
// The typed configuration of one training run (`raddiag train --config RUN.json`). Every field has a
// default; unknown keys are errors, so a typo never silently trains something else. Relative paths are
// taken relative to the working directory and made absolute before the run starts, so the copy saved
// in the run folder (and used by --resume) works from anywhere.
//
// {
//   "data": {"train": ["../shared/data/real/brain_tumor_mri"], "val": [], "val_fraction": 0.25,
//            "data_root": "", "prefixes": [], "modality": "", "level": "articles",
//            "vocabulary": "", "min_cases": 1, "layout": "auto", "unknown_by_dataset": "auto", "datasets": []},
//   "model": "tiny" | "released" | {ModelConfig JSON} | {"preset": "tiny", "size": 128, ...},
//            head.num_classes follows the vocabulary
//   "preprocess": {PreprocessOptions JSON},                  size/depth/n_image follow the model
//   "augment": {AugmentOptions JSON},
//   "mixing": {"n_aug": 1, "prob": 0.7, "anatomy_weights": {...}, "fallback": "any"},   anatomy-aware
//            case mixing of the training items (reference 1.8; the released recipe uses n_aug 2)
//   "loss": {"kind": "bce" | "bce_pos_weight" | "focal" | "asymmetric", "attention_weight": null, ...},
//   "optim": {OptimOptions JSON}, "freeze": ["backbone."],
//   "sampler": {"kind": "shuffled"}, "workers": 2, "batch_size": 8,
//   "steps": 0, "epochs": 1,          steps > 0 wins; else epochs over the training set
//   "log_every": 1, "checkpoint_every": 0, "keep_last": 2, "validate_every": 0,   steps, or "N epochs"
//   "best_metric": "auto",            the validation number that picks the saved model: auto (within-dataset
//                                     mean AUC with several datasets, else macro AUC), eval_loss (lower is
//                                     better, the official Trainer's choice), macro_auc, macro_ap, macro_f1,
//                                     within_dataset_macro_auc|ap|f1
//   "require": ["init_from"],          fields this config cannot run without (a recipe's ImageNet weights)
//   "seed": 42, "device": "cpu", "threads": 0, "init_from": "",
//   "dist_backend": "auto" | "gloo" | "nccl",   c10d backend of data-parallel runs (auto: NCCL on CUDA
//                                               when built with it, else Gloo; train/distributed.h)
//   "dist_overlap": "auto" | true | false,       all-reduce gradient buckets during backward (auto: with
//                                               NCCL only; on CPU Gloo it measured no gain and costs memory)
//   "ema": {"decay": 0},              > 0: exponential moving average of the weights (train/weight_average.h),
//                                     used by validation, the best-checkpoint choice and the saved model
//   "knowledge": {"text_encoder": "", "store_text_encoder": true, "embed_batch_size": 256},
//   "finetune": {"from": "", ...}     FinetuneConfig (train/finetune.h); with "from" set, the model comes
//                                     from that file ("model" is not used) and the label set from the data
// }
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/augment.h"
#include "model/losses.h"
#include "train/anatomy_mixing.h"
#include "train/finetune.h"
#include "train/optim.h"
#include "train/step_interval.h"

namespace raddiag::train {

struct DataConfig {
  std::vector<std::string> train;   // RP3D case JSONs or folder datasets (concatenated)
  std::vector<std::string> val;     // empty: a seeded, label-stratified split of the training set
  double val_fraction = 0.2;
  // Seed of that split; -1 = the run's seed. Fixed, it keeps one validation split across runs that differ
  // in `seed` (initialisation, order, augmentation), so their models can be compared and ensembled there.
  int64_t split_seed = -1;
  // K-fold cross-validation of the same stratified split: folds >= 2 deals every label group's shuffled
  // cases round-robin into `folds` parts and validates on part `fold` (0-based); val_fraction is then
  // unused. Runs of folds 0..K-1 validate on disjoint parts that cover every case once, so their
  // held-out predictions pool into one out-of-fold evaluation of all cases (scripts/cross-validate.sh).
  int64_t folds = 0;
  int64_t fold = 0;
  std::string data_root;            // RP3D JSON: root of relative image paths
  std::vector<std::string> prefixes;  // RP3D JSON: FROM=TO path rewrites
  std::string modality;             // folders: modality of files that do not say
  std::string level = "articles";   // articles | icd10s
  std::string vocabulary;           // {name: index} JSON; empty: built from the training set
  int64_t min_cases = 1;            // built vocabulary: classes with at least this many training cases
  std::string layout = "auto";      // folders: auto | cases | classes (data/case_sources.h)
  // "auto" | "true" | "false": a class that a dataset never labels is unknown (not negative) for that
  // dataset's cases, so it is left out of their loss and of the validation metrics. auto: on when the
  // training cases come from more than one dataset (data::Case::dataset). docs/training.md.
  std::string unknown_by_dataset = "auto";
  // Keep only the cases of these datasets (data::Case::dataset), after the validation split: a specialist
  // of one source trained on the same split as a joint model of all of them, so the two can be compared
  // and ensembled on the same held-out cases (infer/ensemble.h). Empty: every case.
  std::vector<std::string> datasets;
};

// The classification loss (kind and its settings: model::ClassificationLossSpec) and the run's extras.
struct LossConfig : model::ClassificationLossSpec {
  std::optional<double> attention_weight;  // overrides the model's attention_loss_weight
  double pos_weight_max = 100.0;           // bce_pos_weight: weight_c = min(max, n_neg / n_pos)
};

// Knowledge-enhanced head (reference 2.6): a text encoder embeds the class names once (eval mode, no
// dropout) and the head scores z . fcke(E)^T. The encoder stays frozen: fine-tuning it is not supported.
struct KnowledgeConfig {
  // A model folder (HF BERT/MPNet, e.g. BioLORD-2023), the output folder of `raddiag knowledge
  // pretrain`, or a raddiag model file carrying a text encoder. Non-empty selects head.type
  // "knowledge" with head.text_dim = the encoder's width.
  std::string text_encoder;
  // Keep the encoder (weights + tokenizer) in model.raddiag so that `--classes` can score new names.
  bool store_text_encoder = true;
  int64_t embed_batch_size = 256;  // class names per encoder forward
  // Optional text per class embedded instead of the class name (e.g. ICD-10-CM descriptions at ICD level,
  // as the official icd10_desription.json): a JSON object {class: text} or a CSV with columns class,text.
  std::string class_texts;

  bool enabled() const { return !text_encoder.empty(); }
};

struct RunConfig {
  DataConfig data;
  nlohmann::json model = "tiny";
  nlohmann::json preprocess = nlohmann::json::object();
  data::AugmentOptions augment;
  MixingOptions mixing;
  LossConfig loss;
  OptimOptions optim;
  std::vector<std::string> freeze;  // parameter name prefixes left out of training
  nlohmann::json sampler = {{"kind", "shuffled"}};
  int workers = 2;
  int batch_size = 8;
  int64_t steps = 0;
  int64_t epochs = 1;
  int64_t log_every = 1;
  StepInterval checkpoint_every;
  int keep_last = 2;
  StepInterval validate_every;
  std::string best_metric = "auto";
  // Fields that must be set before the run starts (checked by check_required(), after command-line
  // overrides): "init_from", "data.val", "knowledge.text_encoder".
  std::vector<std::string> require;
  uint64_t seed = 42;
  std::string device = "cpu";
  std::string dist_backend = "auto";  // auto | gloo | nccl
  std::string dist_overlap = "auto";  // auto | true | false: gradient all-reduce during backward (gradient_reducer.h)
  // Whether a data-parallel run over `backend` overlaps its gradient all-reduce with backward.
  bool overlap_for(const std::string& backend) const {
    return dist_overlap == "true" || (dist_overlap == "auto" && backend == "nccl");
  }
  int threads = 0;
  std::string init_from;  // a raddiag model file or torchvision ResNet weights (.pth) to start from
  double ema_decay = 0;   // "ema": {"decay": d}; 0 = off
  KnowledgeConfig knowledge;
  FinetuneConfig finetune;

  nlohmann::json to_json() const;
  // Throws raddiag::Error("run config", ...) naming the key for unknown keys, wrong types or bad values.
  static RunConfig from_json(const nlohmann::json& j);
  static RunConfig load(const std::string& path);
  void validate() const;
  // Throws raddiag::Error naming the first field of `require` that is still empty.
  void check_required() const;
  // Makes every relative path absolute (relative to the working directory).
  void make_paths_absolute();
};

}  // namespace raddiag::train
