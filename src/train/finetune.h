#pragma once
// Transfer of a raddiag model to a new label set and new data (`raddiag finetune`, reference section 5
// "Finetune"): the pieces run_train_job uses when RunConfig::finetune.from is set.
//  * the target architecture is the source model's, with a fresh head for the new classes and the
//    fusion mode chosen from the data (single-scan datasets: late fusion, as the reference fine-tunes);
//  * every source weight whose name and shape fit is carried over (strict=False loading); the head always
//    starts fresh; what was carried, what starts fresh and what was dropped is reported;
//  * modes: full, frozen (linear probe: only the head trains, and the frozen encoder runs in eval mode
//    so its BatchNorm running statistics stay exactly as pretrained), layerwise (lr x decay^depth per
//    stage counted back from the head);
//  * a deterministic subset of the training cases (fraction, or K shots per class);
//  * the label set covers every class of the training, validation and test sets (and the classes a
//    dataset declares): a class without training cases is kept and reported, never silently dropped.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/case.h"
#include "data/label_vocabulary.h"
#include "model/model_config.h"
#include "model/raddiag_model.h"
#include "train/optim.h"

namespace raddiag::train {

struct FinetuneConfig {
  std::string from;               // source raddiag model file ("" = not a fine-tuning run)
  bool scratch = false;           // the source's architecture with fresh weights (the baseline)
  // With scratch: starting weights instead of the fresh init, e.g. torchvision's ImageNet ResNet-50 (the
  // paper's "Scratch" baseline starts from ImageNet, reference 5); see train::init_weights_from.
  std::string init;
  std::string mode = "full";      // full | frozen | layerwise
  double layer_decay = 0.65;      // layerwise: lr scale per stage counted back from the head
  model::HeadType head = model::HeadType::kMlp;  // JSON "mlp" | "knowledge"
  // JSON "auto" (nullopt: late when every training case has one image, else the source's) | "early" | "late"
  std::optional<model::FusionMode> fusion;
  double fraction = 1.0;          // (0, 1]: seeded, label-stratified share of the training cases
  int64_t shots = 0;              // > 0: K training cases per class (seeded); exclusive with fraction < 1
  std::vector<std::string> test;  // extra sets scored at the end (`raddiag finetune --test`)
  int bootstrap = 1000;           // bootstrap rounds of the final evaluation

  bool enabled() const { return !from.empty(); }
  nlohmann::json to_json() const;
  static FinetuneConfig from_json(const nlohmann::json& j);  // unknown keys are errors
  void validate() const;
};

// The JSON/CLI names of FinetuneConfig::head and ::fusion; raddiag::Error("run config", ...) otherwise.
model::HeadType parse_finetune_head(const std::string& name);
std::optional<model::FusionMode> parse_finetune_fusion(const std::string& name);

// K cases per class: classes in name order, each topped up to K with randomly drawn cases of that class
// (a multi-label case counts for all its classes); or, with fraction < 1, round(fraction * n) cases of
// every group sharing a first label (at least one). Case order is kept. Deterministic per seed.
std::vector<data::Case> select_training_subset(const std::vector<data::Case>& cases, data::LabelLevel level,
                                               double fraction, int64_t shots, uint64_t seed);

// Every class named by `declared` or by a case of the three sets, ordered by training case count
// (descending), then name. `absent` receives the classes without a training case.
data::LabelVocabulary finetune_vocabulary(const std::vector<data::Case>& train, const std::vector<data::Case>& val,
                                          const std::vector<data::Case>& test, const std::vector<std::string>& declared,
                                          data::LabelLevel level, std::vector<std::string>* absent = nullptr);

// The requested mode; for "auto" (nullopt) late when every training case holds exactly one image, else
// the source's mode.
model::FusionMode choose_fusion_mode(std::optional<model::FusionMode> requested, model::FusionMode source_mode,
                                     const std::vector<data::Case>& train);

// The source architecture with `num_classes` outputs, the given fusion mode (late: one image slot) and
// head type. A knowledge head embeds the new class names with the source model's text encoder, so it
// needs `source_has_text_encoder`; otherwise raddiag::Error.
model::ModelConfig finetune_model_config(const model::ModelConfig& source, int64_t num_classes, model::FusionMode fusion,
                                         model::HeadType head, bool source_has_text_encoder = false);

struct WeightTransfer {
  std::vector<std::string> carried;   // copied from the source (same name and shape)
  std::vector<std::string> fresh;     // the target's own initialisation (head, new modules, shape changes)
  std::vector<std::string> dropped;   // source tensors without a place in the target
  nlohmann::json to_json() const;     // the lists, plus counts per top-level module
  std::string summary() const;        // one line per top-level module: carried / fresh / dropped
};

// Copies every source tensor (parameters and buffers) whose name and shape match, except the head.
WeightTransfer transfer_weights(model::RadDiagModel& target, const model::RadDiagModel& source);

// Optimiser rules of a fine-tuning mode: frozen = everything but "head." frozen; layerwise = stages in
// forward order (backbone stem, each depth stage the slice encoder names (SliceEncoderImpl::depth_stage:
// layerN, blocks.N, ...), the backbone parameters between and after them, slice aggregator, fusion, head)
// with lr_scale = decay^(stages between it and the head); full = none.
std::vector<ParamGroupRule> finetune_param_rules(const model::RadDiagModel& model, const std::string& mode, double decay);

// Frozen mode: every top-level module except the head in eval mode (BatchNorm uses and keeps its
// running statistics, dropout off), the head in training mode.
void set_encoder_eval(model::RadDiagModel& model);

}  // namespace raddiag::train
