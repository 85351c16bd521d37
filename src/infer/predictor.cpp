#include "infer/predictor.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "infer/model_input.h"
#include "infer/preprocess_for.h"
#include "model/runtime.h"
#include "util/error.h"
#include "util/progress.h"

namespace raddiag::infer {

Predictor::Predictor(model::ModelBundle bundle, const std::string& device, const InferenceOptions& inference)
    : bundle_(std::move(bundle)),
      // The model's geometry wins over whatever the preprocessing JSON says.
      preprocess_(preprocess_for(bundle_.config, data::PreprocessOptions::from_json(bundle_.preprocess))),
      vocab_(bundle_.classes),
      device_(model::resolve_device(device)) {
  model::require_precision_support(inference.precision, model::resolve_device(device));
  bundle_.model->to(device_);
  bundle_.model->eval();
  // After the move to the device, so that the folded weights are where the model runs.
  if (inference.fold_batchnorm) bundle_.model->slice_encoder()->set_batchnorm_folding(true);
  bundle_.model->set_backbone_precision(inference.precision);
}

data::CaseTensors Predictor::case_tensors(const data::Case& c, uint64_t seed, data::PreprocessReport* report,
                                          const data::ImageLoader& loader) const {
  std::mt19937_64 rng(seed);
  if (bundle_.config.fusion.mode == model::FusionMode::kLate)
    return data::make_single_image_tensors(c, &vocab_, preprocess_, rng, loader, report);
  return data::make_case_tensors(c, &vocab_, preprocess_, rng, loader, nullptr, report);
}

model::ModelOutput Predictor::run(const data::CaseBatch& batch) {
  torch::NoGradGuard no_grad;
  data::CaseBatch b = batch;
  b.images = b.images.to(device_);
  b.mods = b.mods.to(device_);
  b.marks = b.marks.to(device_);
  b.keys = b.keys.to(device_);
  b.labels = torch::Tensor();  // losses are not needed at inference
  b.known = torch::Tensor();
  return bundle_.model->forward(model_input(b), model::ForwardPath::kFast);
}

Predictions Predictor::predict(const std::vector<data::Case>& cases, const PredictOptions& options) {
  const int64_t n = static_cast<int64_t>(cases.size());
  const int64_t C = bundle_.config.head.num_classes;
  Predictions out;
  out.logits = torch::full({n, C}, std::numeric_limits<float>::quiet_NaN());
  out.labels = torch::zeros({n, C});
  ProgressLine progress("predict", n, "cases", options.progress);
  std::vector<data::CaseTensors> pending;
  std::vector<int64_t> rows;
  auto flush = [&] {
    if (pending.empty()) return;
    auto result = run(data::collate(pending));
    auto logits = result.logits.to(torch::kCPU, torch::kFloat);
    auto finite = torch::isfinite(logits).all(1);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const int64_t r = static_cast<int64_t>(i);
      if (finite[r].item<bool>()) {
        out.logits[rows[i]].copy_(logits[r]);
        continue;
      }
      // NaN/inf weights or an input the model cannot handle: never a row of scores that reads as "negative".
      const auto bad = (~torch::isfinite(logits[r])).sum().item<int64_t>();
      const auto& c = cases[static_cast<std::size_t>(rows[i])];
      const std::string why = "the model's output is not finite (" + std::to_string(bad) + " of " +
                              std::to_string(logits.size(1)) + " logits are NaN/inf): check the model's weights and this case's input";
      out.failures.push_back({static_cast<std::size_t>(rows[i]), c.id, why});
      spdlog::warn("case {} ({}) skipped: {}", rows[i], c.id, why);
    }
    progress.advance(static_cast<int64_t>(rows.size()));
    pending.clear();
    rows.clear();
  };
  if (options.shard_count < 1 || options.shard_index < 0 || options.shard_index >= options.shard_count)
    throw Error("predict", "shard " + std::to_string(options.shard_index) + " of " + std::to_string(options.shard_count) + " does not exist");
  for (int64_t i = 0; i < n; ++i) {
    if (i % options.shard_count != options.shard_index) {
      progress.advance(1);
      continue;
    }
    const auto& c = cases[static_cast<std::size_t>(i)];
    try {
      auto t = case_tensors(c, options.seed + static_cast<uint64_t>(i));
      if (t.labels.defined()) out.labels[i].copy_(t.labels);
      if (t.labels.defined() && t.known.defined()) out.labels[i].masked_fill_(t.known == 0, -1.f);
      if (!(t.mods != 0).any().item<bool>() && bundle_.config.fusion.mode == model::FusionMode::kEarly)
        throw Error(c.id, "no usable scan in this case");
      pending.push_back(std::move(t));
      rows.push_back(i);
    } catch (const std::exception& e) {
      out.failures.push_back({static_cast<std::size_t>(i), c.id, e.what()});
      spdlog::warn("case {} ({}) skipped: {}", i, c.id, e.what());
      progress.advance(1);
    }
    if (static_cast<int64_t>(pending.size()) >= options.batch_size) flush();
  }
  flush();
  progress.finish();
  std::sort(out.failures.begin(), out.failures.end(),
            [](const CaseFailure& a, const CaseFailure& b) { return a.index < b.index; });
  return out;
}

}  // namespace raddiag::infer
