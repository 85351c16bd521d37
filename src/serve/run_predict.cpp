#include "serve/run_predict.h"

#include "serve/model_loading.h"
#include "util/atomic_file.h"
#include "util/csv.h"
#include "util/npy.h"

namespace raddiag::serve {
namespace {

// One line per row of the score matrix: row, case_id, status (ok | skipped), reason, dataset (the
// case's data source, which `raddiag metrics --row-groups` reads to score within each dataset).
std::string cases_status_csv(const std::vector<data::Case>& cases, const std::vector<infer::CaseFailure>& failures) {
  std::string csv = "row,case_id,status,reason,dataset\n";
  std::size_t f = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const bool skipped = f < failures.size() && failures[f].index == i;
    csv += std::to_string(i) + "," + csv::quote_field(cases[i].id) + "," + (skipped ? "skipped," : "ok,") +
           (skipped ? csv::quote_field(failures[f].reason) : "") + "," + csv::quote_field(cases[i].dataset) + "\n";
    if (skipped) ++f;
  }
  return csv;
}

}  // namespace

std::string cases_status_path(const std::string& out) {
  const std::string ext = ".npy";
  const bool has_ext = out.size() > ext.size() && out.compare(out.size() - ext.size(), ext.size(), ext) == 0;
  return (has_ext ? out.substr(0, out.size() - ext.size()) : out) + ".cases.csv";
}

PredictResult run_predict(const PredictRequest& request) {
  std::vector<std::string> inputs{request.model, request.manifest};
  inputs.insert(inputs.end(), request.ensemble.begin(), request.ensemble.end());
  refuse_to_overwrite_inputs(request.out, inputs);
  PredictResult r;
  const auto cases = data::load_cases(request.manifest, request.source);
  infer::Predictor predictor(load_model_with_classes(request.model, request.classes, &r.class_selection), request.device,
                             request.inference);
  add_ensemble_members(predictor, request.ensemble, request.classes);
  infer::PredictOptions po;
  po.batch_size = request.batch;
  po.progress = request.progress;
  po.seed = request.seed;
  po.prefetch_workers = request.prefetch;
  auto p = predictor.predict(cases, po);
  torch::Tensor out = (request.probabilities ? torch::sigmoid(p.logits) : p.logits).contiguous();
  npy::write(request.out, npy::make_float32({out.size(0), out.size(1)}, out.data_ptr<float>()));
  // Which rows hold scores, explicitly: a skipped case's row is NaN, but NaN is never the only marker.
  r.scores_path = request.out;
  r.status_path = cases_status_path(request.out);
  write_bytes_atomically(r.status_path, cases_status_csv(cases, p.failures));
  r.rows = out.size(0);
  r.columns = out.size(1);
  r.cases = cases.size();
  r.failures = std::move(p.failures);
  r.timing = p.timing;
  return r;
}

}  // namespace raddiag::serve
