#pragma once
// Step 5 of a training run: one optimisation step's losses from a batch. The classification loss comes
// from the model layer's factory (model::make_classification_loss), plus the attention loss the model
// computes for early fusion; unknown labels are left out of every loss.
#include <cstdint>
#include <vector>

#include "model/raddiag_model.h"
#include "train/run_config.h"
#include "train/trainer.h"

namespace raddiag::train {

// `class_counts` / `n_items` weight the positives of bce_pos_weight. `frozen_encoder` (linear probe):
// the slice encoder runs in eval mode, so BatchNorm neither normalises with batch statistics nor updates
// its running statistics; the trainer puts the model in training mode, so this is re-applied every step.
StepFn make_step_function(model::RadDiagModel net, const LossConfig& loss, const std::vector<int64_t>& class_counts,
                          int64_t n_items, const torch::Device& device, bool frozen_encoder);

}  // namespace raddiag::train
