#include "infer/ensemble.h"

#include <unordered_map>

#include "util/error.h"

namespace raddiag::infer {

torch::Tensor ensemble_class_columns(const std::vector<std::string>& reference, const std::vector<std::string>& member,
                                     const std::string& member_name) {
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
    if (++n_missing <= 5) missing += (missing.empty() ? "" : ", ") + ("'" + name + "'");
  }
  if (n_missing > 0)
    throw Error(member_name, "cannot join the ensemble: it does not score " + std::to_string(n_missing) + " of the first model's " +
                                 std::to_string(reference.size()) + " classes (" + missing + (n_missing > 5 ? ", ..." : "") +
                                 "); members must score every class of --model (--classes selects the same set in all)");
  return torch::tensor(columns, torch::kLong);
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
