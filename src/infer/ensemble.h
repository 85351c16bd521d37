#pragma once
// Ensembles: several model files scored on the same cases, their logits averaged. Seeds of one recipe
// differ by more than most of its levers (docs/real-data.md), and the mean of their logits is steadier
// than any one of them. A member must see the cases exactly as the first model does (the same
// preprocessing and fusion, so one set of input tensors serves all) and score every class of the first
// model; its classes may come in another order (a vocabulary is ordered by training counts, which
// differ between seeds) and are matched by name.
// A specialist member scores only some of the first model's classes (it was trained on one dataset, e.g.
// brain MRI only). It joins only when its model card names the modalities it was trained on
// (training_data.modalities, written by `raddiag train`), and it is trusted only there: a class's logit
// is the mean over the models that score that class, counting a specialist only for the cases whose
// every scan is of its modalities. A brain-MRI specialist thus never scores a chest X-ray.
#include <string>
#include <vector>

#include <torch/torch.h>

#include "data/preprocess.h"
#include "model/model_file.h"

namespace raddiag::infer {

// For every class of `reference`, its column in `member` (an index tensor for index_select). Throws
// raddiag::Error naming `member_name` and the missing classes when the member lacks any.
// With allow_missing, a class the member lacks gets column -1 instead (a specialist); it still throws
// when the member scores none of them.
torch::Tensor ensemble_class_columns(const std::vector<std::string>& reference, const std::vector<std::string>& member,
                                     const std::string& member_name, bool allow_missing = false);

// The card's training_data.modalities (empty when the card has none: a model trained before it existed).
std::vector<std::string> card_training_modalities(const nlohmann::json& card);

// The slot modality ids (data::PreprocessOptions::modality_ids) of the named modalities, as an int64
// tensor. Throws raddiag::Error naming `member_name` for a name the table lacks.
torch::Tensor modality_ids_for(const std::vector<std::string>& names, const std::vector<data::ModalityIds>& table,
                               const std::string& member_name);

// [B] bool from mods [B, N] (0 = empty slot): true where the case has a scan and every scan's id is
// one of `ids`.
torch::Tensor cases_within_modalities(const torch::Tensor& mods, const torch::Tensor& ids);

// Throws raddiag::Error naming both files and the differing settings when the member would need other
// input tensors than the first model: fusion mode, or any preprocessing setting (geometry, windows,
// image slots, modality keys).
void require_same_inputs(const model::ModelConfig& first, const data::PreprocessOptions& first_preprocess,
                         const std::string& first_name, const model::ModelConfig& member,
                         const data::PreprocessOptions& member_preprocess, const std::string& member_name);

}  // namespace raddiag::infer
