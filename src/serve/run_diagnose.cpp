#include "serve/run_diagnose.h"

#include <algorithm>

#include "serve/saliency.h"
#include "util/error.h"
#include "util/utf8.h"

namespace raddiag::serve {

int64_t class_index_of(const std::vector<std::string>& classes, const std::string& name_or_index,
                       const std::string& option) {
  auto it = std::find(classes.begin(), classes.end(), name_or_index);
  if (it != classes.end()) return it - classes.begin();
  try {
    std::size_t used = 0;
    const long long idx = std::stoll(name_or_index, &used);
    if (used == name_or_index.size() && idx >= 0 && idx < static_cast<long long>(classes.size())) return idx;
  } catch (const std::exception&) {
  }
  throw Error(option + " '" + name_or_index + "'", "not a class name or index of this model");
}

DiagnoseResult run_diagnose(infer::Predictor& predictor, const std::string& model_path, const DiagnoseRequest& request) {
  if (request.top_k < 1) throw Error("--top-k", "must be at least 1");
  // Every class to explain is resolved before any work, so a typo costs nothing.
  SaliencyOptions saliency;
  saliency.out_dir = request.saliency_dir;
  for (const auto& c : request.saliency_classes)
    saliency.classes.push_back(class_index_of(predictor.bundle().classes, c, "--saliency-class"));
  const StudyModelInfo info{predictor.preprocess().modality_ids, card_training_modalities(predictor.bundle().card)};
  DiagnoseResult r;
  r.study = build_study(request.inputs, request.study, info);
  check_result_outputs(predictor, r.study, request.outputs);
  DiagnoseOptions dopt;
  dopt.top_k = request.top_k;
  dopt.seed = request.seed;
  r.diagnosis = diagnose(predictor, r.study, dopt);
  r.report = diagnosis_json(model_path, predictor, request.inputs, r.study, r.diagnosis);
  if (!saliency.out_dir.empty()) r.report["saliency"] = write_saliency(predictor, r.study, r.diagnosis, saliency);
  backslashreplace_json_strings(r.report);  // file names and labels are bytes; the JSON must serialise
  r.written = write_result_outputs(predictor, r.study, r.diagnosis, r.report, request.outputs);
  return r;
}

}  // namespace raddiag::serve
