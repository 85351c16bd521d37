#pragma once
// Ensembles: several model files scored on the same cases, their logits averaged. Seeds of one recipe
// differ by more than most of its levers (docs/real-data.md), and the mean of their logits is steadier
// than any one of them. A member must see the cases exactly as the first model does (the same
// preprocessing and fusion, so one set of input tensors serves all) and score every class of the first
// model; its classes may come in another order (a vocabulary is ordered by training counts, which
// differ between seeds) and are matched by name.
#include <string>
#include <vector>

#include <torch/torch.h>

#include "data/preprocess.h"
#include "model/model_file.h"

namespace raddiag::infer {

// For every class of `reference`, its column in `member` (an index tensor for index_select). Throws
// raddiag::Error naming `member_name` and the missing classes when the member lacks any.
torch::Tensor ensemble_class_columns(const std::vector<std::string>& reference, const std::vector<std::string>& member,
                                     const std::string& member_name);

// Throws raddiag::Error naming both files and the differing settings when the member would need other
// input tensors than the first model: fusion mode, or any preprocessing setting (geometry, windows,
// image slots, modality keys).
void require_same_inputs(const model::ModelConfig& first, const data::PreprocessOptions& first_preprocess,
                         const std::string& first_name, const model::ModelConfig& member,
                         const data::PreprocessOptions& member_preprocess, const std::string& member_name);

}  // namespace raddiag::infer
