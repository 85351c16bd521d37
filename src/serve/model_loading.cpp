#include "serve/model_loading.h"

#include "serve/class_selection.h"

namespace raddiag::serve {

model::ModelBundle load_model_with_classes(const std::string& model_path, const std::string& classes,
                                           std::string* summary) {
  model::ModelBundle bundle = model::load_model_file(model_path);
  if (summary) summary->clear();
  if (classes.empty()) return bundle;
  ClassSelectionReport rep;
  bundle = select_classes(std::move(bundle), parse_class_list(classes), &rep);
  if (summary) *summary = rep.summary();
  return bundle;
}

void add_ensemble_members(infer::Predictor& predictor, const std::vector<std::string>& members, const std::string& classes) {
  for (const auto& path : members) predictor.add_ensemble_member(load_model_with_classes(path, classes), path);
}

}  // namespace raddiag::serve
