#include "infer/ensemble.h"

#include <algorithm>
#include <unordered_map>

#include "util/error.h"

namespace raddiag::infer {

torch::Tensor ensemble_class_columns(const std::vector<std::string>& reference, const std::vector<std::string>& member,
                                     const std::string& member_name, bool allow_missing) {
  std::unordered_map<std::string, int64_t> column;
  for (std::size_t i = 0; i < member.size(); ++i) column.emplace(member[i], static_cast<int64_t>(i));
  std::vector<int64_t> columns;
  std::string missing;
  int64_t n_missing = 0;
  for (const auto& name : reference) {
    const auto it = column.find(name);
    if (it != column.end()) {
      columns.push_back(it->second);
      continue;
    }
    columns.push_back(-1);
    if (++n_missing <= 5) missing += (missing.empty() ? "" : ", ") + ("'" + name + "'");
  }
  if (allow_missing && n_missing == static_cast<int64_t>(reference.size()))
    throw Error(member_name, "cannot join the ensemble: it scores none of the first model's " + std::to_string(reference.size()) +
                                 " classes");
  if (n_missing > 0 && !allow_missing)
    throw Error(member_name, "cannot join the ensemble: it does not score " + std::to_string(n_missing) + " of the first model's " +
                                 std::to_string(reference.size()) + " classes (" + missing + (n_missing > 5 ? ", ..." : "") +
                                 "); members must score every class of --model (--classes selects the same set in all), "
                                 "or be specialists whose model card names their training modalities (models trained "
                                 "by this version of raddiag)");
  return torch::tensor(columns, torch::kLong);
}

std::vector<std::string> card_training_modalities(const nlohmann::json& card) {
  std::vector<std::string> out;
  if (!card.is_object() || !card.contains("training_data")) return out;
  const auto& td = card.at("training_data");
  if (!td.is_object() || !td.contains("modalities") || !td.at("modalities").is_array()) return out;
  for (const auto& m : td.at("modalities"))
    if (m.is_string()) out.push_back(m.get<std::string>());
  return out;
}

torch::Tensor modality_ids_for(const std::vector<std::string>& names, const std::vector<data::ModalityIds>& table,
                               const std::string& member_name) {
  std::vector<int64_t> ids;
  for (const auto& name : names) {
    const auto it = std::find_if(table.begin(), table.end(), [&](const data::ModalityIds& m) { return m.name == name; });
    if (it == table.end())
      throw Error(member_name, "cannot join the ensemble as a specialist: its training modality '" + name +
                                   "' has no slot id in the first model's modality table");
    ids.insert(ids.end(), it->ids.begin(), it->ids.end());
  }
  return torch::tensor(ids, torch::kLong);
}

torch::Tensor cases_within_modalities(const torch::Tensor& mods, const torch::Tensor& ids) {
  const auto occupied = mods != 0;
  const auto allowed = torch::isin(mods, ids.to(mods.device()));
  return occupied.any(1).logical_and((allowed.logical_or(occupied.logical_not())).all(1));
}

void require_same_inputs(const model::ModelConfig& first, const data::PreprocessOptions& first_preprocess,
                         const std::string& first_name, const model::ModelConfig& member,
                         const data::PreprocessOptions& member_preprocess, const std::string& member_name) {
  const auto refuse = [&](const std::string& what) {
    throw Error(member_name, "cannot join the ensemble of " + first_name + ": " + what +
                                 "; members must see the cases exactly as the first model does");
  };
  if (first.fusion.mode != member.fusion.mode)
    refuse(std::string("its fusion is ") + model::fusion_mode_name(member.fusion.mode) + ", the first model's " +
           model::fusion_mode_name(first.fusion.mode));
  const auto a = first_preprocess.to_json(), b = member_preprocess.to_json();
  std::string differing;
  for (auto it = a.begin(); it != a.end(); ++it)
    if (!b.contains(it.key()) || b.at(it.key()) != it.value()) differing += (differing.empty() ? "" : ", ") + it.key();
  for (auto it = b.begin(); it != b.end(); ++it)
    if (!a.contains(it.key())) differing += (differing.empty() ? "" : ", ") + it.key();
  if (!differing.empty()) refuse("its preprocessing differs in " + differing);
}

}  // namespace raddiag::infer
