#pragma once
// Step 4 of a training run: what the optimiser is fed. The training cases as a dataset (one image per
// case for late fusion), optionally mixed across anatomies (reference 1.8), the class counts, a sampler
// (split across data-parallel ranks) and the augmenting multi-threaded loader.
#include <cstdint>
#include <memory>
#include <vector>

#include "data/case_loader.h"
#include "data/case_tensor_source.h"
#include "data/preprocess.h"
#include "train/distributed.h"
#include "train/run_config.h"
#include "train/training_data.h"

namespace raddiag::train {

struct TrainingLoader {
  std::shared_ptr<const data::CaseTensorSource> source;
  std::vector<int64_t> class_counts;   // training items per class (the model card's and bce_pos_weight's)
  std::unique_ptr<data::CaseLoader> loader;
};

// The preprocessing of training items: the model's, except that a case's samples are visited in a fresh
// seeded order every epoch (so the n_image and per-modality caps keep different images of multi-image
// cases) unless the run config fixes preprocess.visit_order, and the modalities of augment.random_subsets
// take a random subset of a sample's images. Inference keeps the model's order (JSON) and the first k.
data::PreprocessOptions training_preprocess(const RunConfig& cfg, data::PreprocessOptions pre);

// Throws raddiag::Error when the batch is larger than the training set or mixing meets a late-fusion model.
TrainingLoader make_training_loader(const RunConfig& config, const TrainingData& data, const data::PreprocessOptions& preprocess,
                                    bool late_fusion, ProcessGroup* group, bool log);

}  // namespace raddiag::train
