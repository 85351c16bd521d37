#pragma once
// The one owner of the preprocessing geometry a model needs: training, inference and import all derive
// the tensor shapes from the model config here, so they cannot drift apart.
#include "data/preprocess.h"
#include "model/model_config.h"

namespace raddiag::infer {

// `options` with the model's slice size and depth, and its image slots: one for a late-fusion model (it
// scores one image per case, reference 1.7), n_image for early fusion. Validated.
data::PreprocessOptions preprocess_for(const model::ModelConfig& config, data::PreprocessOptions options);

}  // namespace raddiag::infer
