#pragma once
// Inference over cases with a model file: the one code path behind `predict`, `evaluate` and
// `diagnose`. Cases are preprocessed exactly as the model's stored preprocessing settings say,
// batched, and run through the fast inference path (valid slices of non-empty slots only).
#include <random>
#include <string>
#include <vector>

#include "data/case.h"
#include "data/case_tensors.h"
#include "data/label_vocabulary.h"
#include "data/preprocess.h"
#include "model/model_file.h"
#include "model/precision.h"
#include "infer/test_time_augmentation.h"

namespace raddiag::infer {

struct CaseFailure {
  std::size_t index = 0;
  std::string case_id;
  std::string reason;
};

struct PredictOptions {
  int64_t batch_size = 4;
  bool progress = true;
  uint64_t seed = 42;  // seeds the preprocessing's random choices with the case id (infer/case_seed.h)
  // Sharding (distributed validation): only cases i with i % shard_count == shard_index are run; the
  // other rows stay NaN. A case's seed comes from its id, so the shards together equal one unsharded run.
  int64_t shard_index = 0, shard_count = 1;
  // Cases are read and preprocessed on this many worker threads while the model runs on the previous
  // batch (0 = on the model's thread, in turn). Each case keeps its seed, so the numbers do not depend on it.
  int prefetch_workers = 1;
  // How many prepared cases may wait ahead of the model (bounds memory); 0 = two batches.
  int prefetch_cases = 0;
};

// Where predict's wall time went: running the model (forward, logits back to the host) or waiting for
// the next case to be read and preprocessed.
struct PredictTiming {
  double wall_s = 0, model_s = 0, input_wait_s = 0;
  int64_t cases_run = 0;
  double model_share() const { return wall_s > 0 ? model_s / wall_s : 0.0; }
};

struct Predictions {
  torch::Tensor logits;   // [cases, C] float32; rows of failed cases are NaN
  torch::Tensor labels;   // [cases, C] float32 multi-hot from the cases' labels (vocabulary of the model),
                          // -1 where a label is unknown (ignored by the metrics)
  std::vector<CaseFailure> failures;
  PredictTiming timing;
};

// How the model computes, set when a Predictor is made. The defaults leave the model as it is, for
// callers that share it with training (validation during a run).
struct InferenceOptions {
  // BatchNorm folded into the convolutions (model/batchnorm_folding.h): exact to float rounding, the
  // parameters (and so any model file saved later) unchanged. The inference commands turn it on.
  bool fold_batchnorm = false;
  // The slice encoder's arithmetic (model/precision.h); bf16 is refused where it is not native.
  model::Precision precision = model::Precision::kFp32;
  // Views each case is scored on, logits averaged (infer/test_time_augmentation.h).
  TestTimeAugmentation tta = TestTimeAugmentation::kNone;
  // Draws of each case's random preprocessing choices scored, logits averaged: a modality outside the
  // CT/MRI/X-ray caps contributes one image of its sample drawn at random (official), e.g. one frame of
  // a lung ultrasound clip. A case whose preprocessing draws nothing is scored once whatever this is.
  int64_t draws = 1;
};

// The draws the inference commands and training validation use (`--draws`): averaging 8 draws of a lung
// ultrasound case's frame was measured against one in docs/real-data.md (sixth round). 1 stays the
// library default, the official single draw.
constexpr int64_t kProductDraws = 8;

class Predictor {
 public:
  Predictor(model::ModelBundle bundle, const std::string& device = "cpu", const InferenceOptions& inference = {});

  const model::ModelBundle& bundle() const { return bundle_; }
  const data::PreprocessOptions& preprocess() const { return preprocess_; }
  const data::LabelVocabulary& vocabulary() const { return vocab_; }
  torch::Device device() const { return device_; }
  const InferenceOptions& inference() const { return inference_; }

  // The model tensors of one case (early or late path, as the model's fusion mode requires).
  // `loader` replaces the file reader (e.g. scans already decoded by `diagnose`).
  data::CaseTensors case_tensors(const data::Case& c, uint64_t seed, data::PreprocessReport* report = nullptr,
                                 const data::ImageLoader& loader = data::default_image_loader) const;
  // The tensors predict() scores for a case: draw k seeded with case_seed(run_seed, id, k), k < `draws`,
  // stopping after the first when its preprocessing drew no random number (every draw would be equal).
  std::vector<data::CaseTensors> case_draws(const data::Case& c, uint64_t run_seed, int64_t draws,
                                            const data::ImageLoader& loader = data::default_image_loader) const;
  // Forward pass without gradients on a batch (moved to the model's device). With test-time
  // augmentation and/or an ensemble the logits are the mean over the views and the members that score
  // the class for the case (infer/ensemble.h: specialists); the other outputs are those of the first
  // model on the unchanged images.
  model::ModelOutput run(const data::CaseBatch& batch);
  // Adds a model whose logits are averaged with this one's (infer/ensemble.h): it runs on the same device
  // with the same InferenceOptions, and its classes are matched to this model's by name. `name` (its
  // file) names it in errors and reports. Throws raddiag::Error when its inputs or classes do not fit.
  void add_ensemble_member(model::ModelBundle member, const std::string& name);
  // The files of the added members (empty without an ensemble); bundle() stays the first model.
  const std::vector<std::string>& ensemble_members() const { return member_names_; }
  // Per-class decision thresholds of what run() scores: the model's stored ones, or with an ensemble the
  // mean of the members' that score the class (each chosen on its own validation), empty when any member
  // stores none.
  const std::vector<float>& thresholds() const { return thresholds_; }
  // Every case, in order. A case that cannot be read or preprocessed is reported in `failures` and
  // gets a NaN row; the others go on. Reading overlaps the model (PredictOptions::prefetch_workers).
  Predictions predict(const std::vector<data::Case>& cases, const PredictOptions& options = {});

 private:
  data::CaseTensors tensors_from(const data::Case& c, std::mt19937_64& rng, data::PreprocessReport* report = nullptr,
                                 const data::ImageLoader& loader = data::default_image_loader) const;

  model::ModelBundle bundle_;
  data::PreprocessOptions preprocess_;
  data::LabelVocabulary vocab_;
  torch::Device device_;
  InferenceOptions inference_;
  TestTimeAugmentation tta_ = TestTimeAugmentation::kNone;
  // Ensemble members after the first model, and for each the columns of its logits that give this
  // model's class order (-1: a class a specialist does not score) and, for a specialist, the slot
  // modality ids it is trusted on (undefined for a full member).
  std::vector<model::ModelBundle> members_;
  std::vector<torch::Tensor> member_columns_;
  std::vector<torch::Tensor> member_domains_;
  std::vector<int64_t> scored_by_;  // per class: how many models of the ensemble score it
  std::vector<std::string> member_names_;
  std::vector<float> thresholds_;
};

}  // namespace raddiag::infer
