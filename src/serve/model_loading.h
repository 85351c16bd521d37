#pragma once
// Loading a model file for a use case: the file, then (optionally) re-targeted to a class list given as
// a file or a comma-separated list (serve/class_selection.h). One function so that predict, evaluate,
// diagnose and the HTTP service select classes the same way.
#include <string>
#include <vector>

#include "infer/predictor.h"
#include "model/model_file.h"

namespace raddiag::serve {

// `summary` (optional) receives the class selection's one-line summary ("" when `classes` is empty).
model::ModelBundle load_model_with_classes(const std::string& model_path, const std::string& classes,
                                           std::string* summary = nullptr);

// --ensemble: loads every file of `members` with the same class selection and adds it to `predictor`
// (infer/ensemble.h: logits averaged, classes matched by name). Throws raddiag::Error naming the file
// that cannot join.
void add_ensemble_members(infer::Predictor& predictor, const std::vector<std::string>& members, const std::string& classes);

}  // namespace raddiag::serve
