#include "infer/predictor.h"

#include <algorithm>
#include <chrono>
#include <map>

#include <spdlog/spdlog.h>

#include "infer/case_seed.h"
#include "infer/ensemble.h"
#include "infer/model_input.h"
#include "infer/preprocess_for.h"
#include "model/runtime.h"
#include "util/ordered_prefetch.h"
#include "util/error.h"
#include "util/progress.h"

namespace raddiag::infer {

Predictor::Predictor(model::ModelBundle bundle, const std::string& device, const InferenceOptions& inference)
    : bundle_(std::move(bundle)),
      // The model's geometry wins over whatever the preprocessing JSON says.
      preprocess_(preprocess_for(bundle_.config, data::PreprocessOptions::from_json(bundle_.preprocess))),
      vocab_(bundle_.classes),
      device_(model::resolve_device(device)),
      inference_(inference),
      tta_(inference.tta),
      thresholds_(bundle_.thresholds) {
  model::require_precision_support(inference.precision, model::resolve_device(device));
  bundle_.model->to(device_);
  bundle_.model->eval();
  // After the move to the device, so that the folded weights are where the model runs.
  if (inference.fold_batchnorm) bundle_.model->slice_encoder()->set_batchnorm_folding(true);
  bundle_.model->set_backbone_precision(inference.precision);
}

void Predictor::add_ensemble_member(model::ModelBundle member, const std::string& name) {
  const auto member_preprocess =
      preprocess_for(member.config, data::PreprocessOptions::from_json(member.preprocess));
  const std::string first_name = bundle_.card.is_object() && bundle_.card.contains("name") && bundle_.card["name"].is_string()
                                     ? bundle_.card["name"].get<std::string>()
                                     : std::string("--model");
  require_same_inputs(bundle_.config, preprocess_, first_name, member.config, member_preprocess, name);
  // A member with a card naming its training modalities may score only some classes (a specialist,
  // trusted on the cases of those modalities only); any other member must score every class.
  const auto modalities = card_training_modalities(member.card);
  auto columns = ensemble_class_columns(bundle_.classes, member.classes, name, !modalities.empty());
  const bool specialist = (columns < 0).any().item<bool>();
  torch::Tensor domain;
  if (specialist) domain = modality_ids_for(modalities, preprocess_.modality_ids, name);
  // Thresholds: per class, the mean over the models that score it.
  if (member.thresholds.size() != member.classes.size()) thresholds_.clear();
  if (scored_by_.empty()) scored_by_.assign(bundle_.classes.size(), 1);
  const auto cols = columns.to(torch::kCPU);
  for (std::size_t c = 0; c < scored_by_.size(); ++c) {
    const int64_t col = cols[static_cast<int64_t>(c)].item<int64_t>();
    if (col < 0) continue;
    if (c < thresholds_.size()) {
      const double k = static_cast<double>(scored_by_[c]);
      thresholds_[c] = static_cast<float>((thresholds_[c] * k + member.thresholds[static_cast<std::size_t>(col)]) / (k + 1));
    }
    ++scored_by_[c];
  }
  if (specialist) {
    std::string where;
    for (const auto& m : modalities) where += (where.empty() ? "" : " or ") + m;
    spdlog::info("{} joins the ensemble as a specialist: {} of {} classes, on cases whose scans are all {}", name,
                 (cols >= 0).sum().item<int64_t>(), cols.numel(), where);
  }
  member.model->to(device_);
  member.model->eval();
  if (inference_.fold_batchnorm) member.model->slice_encoder()->set_batchnorm_folding(true);
  member.model->set_backbone_precision(inference_.precision);
  members_.push_back(std::move(member));
  member_columns_.push_back(columns.to(device_));
  member_domains_.push_back(domain.defined() ? domain.to(device_) : domain);
  member_names_.push_back(name);
}

data::CaseTensors Predictor::tensors_from(const data::Case& c, std::mt19937_64& rng, data::PreprocessReport* report,
                                          const data::ImageLoader& loader) const {
  if (bundle_.config.fusion.mode == model::FusionMode::kLate)
    return data::make_single_image_tensors(c, &vocab_, preprocess_, rng, loader, report);
  return data::make_case_tensors(c, &vocab_, preprocess_, rng, loader, nullptr, report);
}

data::CaseTensors Predictor::case_tensors(const data::Case& c, uint64_t seed, data::PreprocessReport* report,
                                          const data::ImageLoader& loader) const {
  std::mt19937_64 rng(seed);
  return tensors_from(c, rng, report, loader);
}

std::vector<data::CaseTensors> Predictor::case_draws(const data::Case& c, uint64_t run_seed, int64_t draws,
                                                     const data::ImageLoader& loader) const {
  if (draws < 1) throw Error("predict", "draws must be at least 1, not " + std::to_string(draws));
  std::vector<data::CaseTensors> out;
  for (int64_t k = 0; k < draws; ++k) {
    const std::mt19937_64 fresh(case_seed(run_seed, c.id, k));
    std::mt19937_64 rng = fresh;
    out.push_back(tensors_from(c, rng, nullptr, loader));
    if (k == 0 && rng == fresh) break;  // no random choice in this case's preprocessing
  }
  return out;
}

model::ModelOutput Predictor::run(const data::CaseBatch& batch) {
  torch::NoGradGuard no_grad;
  data::CaseBatch b = batch;
  b.images = b.images.to(device_);
  b.mods = b.mods.to(device_);
  b.marks = b.marks.to(device_);
  b.keys = b.keys.to(device_);
  if (b.extent.defined()) b.extent = b.extent.to(device_);
  b.labels = torch::Tensor();  // losses are not needed at inference
  b.known = torch::Tensor();
  const auto views = test_time_views(b.images, tta_);
  b.images = views.front();
  auto out = bundle_.model->forward(model_input(b), model::ForwardPath::kFast);
  if (views.size() == 1 && members_.empty()) return out;
  // Per class and case, the sum of the logits of the models that score it and how many do: every
  // full member always, a specialist for its classes on the cases of its modalities only.
  auto sum = out.logits.to(torch::kFloat).clone();
  auto count = torch::ones_like(sum);
  std::vector<torch::Tensor> weights(members_.size());
  for (std::size_t m = 0; m < members_.size(); ++m)
    if (member_domains_[m].defined())
      weights[m] = cases_within_modalities(b.mods, member_domains_[m]).unsqueeze(1).logical_and(member_columns_[m].ge(0).unsqueeze(0))
                       .to(torch::kFloat);
  for (std::size_t v = 0; v < views.size(); ++v) {
    b.images = views[v];
    const auto input = model_input(b);
    if (v > 0) {
      sum += bundle_.model->forward(input, model::ForwardPath::kFast).logits.to(torch::kFloat);
      count += 1;
    }
    for (std::size_t m = 0; m < members_.size(); ++m) {
      const auto logits = members_[m].model->forward(input, model::ForwardPath::kFast).logits.to(torch::kFloat);
      if (!weights[m].defined()) {
        sum += logits.index_select(1, member_columns_[m]);
        count += 1;
      } else {
        sum += logits.index_select(1, member_columns_[m].clamp_min(0)) * weights[m];
        count += weights[m];
      }
    }
  }
  out.logits = sum / count;
  return out;
}

Predictions Predictor::predict(const std::vector<data::Case>& cases, const PredictOptions& options) {
  using Clock = std::chrono::steady_clock;
  const auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  const auto started = Clock::now();
  const int64_t n = static_cast<int64_t>(cases.size());
  const int64_t C = bundle_.config.head.num_classes;
  Predictions out;
  out.logits = torch::full({n, C}, std::numeric_limits<float>::quiet_NaN());
  out.labels = torch::zeros({n, C});
  if (options.shard_count < 1 || options.shard_index < 0 || options.shard_index >= options.shard_count)
    throw Error("predict", "shard " + std::to_string(options.shard_index) + " of " + std::to_string(options.shard_count) + " does not exist");
  ProgressLine progress("predict", n, "cases", options.progress);
  std::vector<data::CaseTensors> pending;
  std::vector<int64_t> rows;
  auto fail = [&](int64_t i, const std::string& why) {
    const auto& c = cases[static_cast<std::size_t>(i)];
    out.failures.push_back({static_cast<std::size_t>(i), c.id, why});
    spdlog::warn("case {} ({}) skipped: {}", i, c.id, why);
  };
  // A case's draws may span batches: its logits are summed until the last one is in. Only cases in
  // flight are held (a batch or two), not a second [cases x classes] matrix.
  struct InFlight {
    torch::Tensor sum;
    int64_t left = 0, finite = 0;
    bool failed = false;
  };
  std::map<int64_t, InFlight> in_flight;
  auto flush = [&] {
    if (pending.empty()) return;
    const auto model_started = Clock::now();
    auto result = run(data::collate(pending));
    auto logits = result.logits.to(torch::kCPU, torch::kFloat);
    out.timing.model_s += seconds_since(model_started);
    auto finite = torch::isfinite(logits).all(1);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const int64_t r = static_cast<int64_t>(i), ci = rows[i];
      InFlight& f = in_flight.at(ci);
      if (finite[r].item<bool>()) {
        f.sum = f.finite++ == 0 ? logits[r].clone() : f.sum + logits[r];
      } else if (!f.failed) {
        // NaN/inf weights or an input the model cannot handle: never a row of scores that reads as "negative".
        f.failed = true;
        const auto bad = (~torch::isfinite(logits[r])).sum().item<int64_t>();
        fail(ci, "the model's output is not finite (" + std::to_string(bad) + " of " + std::to_string(logits.size(1)) +
                     " logits are NaN/inf): check the model's weights and this case's input");
      }
      if (--f.left > 0) continue;
      if (!f.failed) out.logits[ci].copy_(f.sum / static_cast<double>(f.finite));
      in_flight.erase(ci);
      ++out.timing.cases_run;
      progress.advance(1);
    }
    pending.clear();
    rows.clear();
  };

  // This shard's cases, read and preprocessed ahead of the model on worker threads.
  std::vector<int64_t> mine;
  for (int64_t i = options.shard_index; i < n; i += options.shard_count) mine.push_back(i);
  progress.advance(n - static_cast<int64_t>(mine.size()));
  const bool early = bundle_.config.fusion.mode == model::FusionMode::kEarly;
  OrderedPrefetch<std::vector<data::CaseTensors>> inputs(
      mine,
      [&](int64_t i) {
        const auto& c = cases[static_cast<std::size_t>(i)];
        auto t = case_draws(c, options.seed, inference_.draws);
        if (early && !(t.front().mods != 0).any().item<bool>()) throw Error(c.id, "no usable scan in this case");
        return t;
      },
      options.prefetch_workers,
      options.prefetch_cases > 0 ? options.prefetch_cases : static_cast<int>(2 * std::max<int64_t>(1, options.batch_size)),
      // The model keeps the cores' OpenMP teams; a decoding thread computes alone.
      [] { model::use_one_intraop_thread_on_this_thread(); });
  while (!inputs.done()) {
    const int64_t i = inputs.next_key();
    const auto wait_started = Clock::now();
    try {
      auto draws = inputs.take();
      out.timing.input_wait_s += seconds_since(wait_started);
      const auto& t = draws.front();
      if (t.labels.defined()) out.labels[i].copy_(t.labels);
      if (t.labels.defined() && t.known.defined()) out.labels[i].masked_fill_(t.known == 0, -1.f);
      in_flight[i].left = static_cast<int64_t>(draws.size());
      for (auto& d : draws) {
        pending.push_back(std::move(d));
        rows.push_back(i);
      }
    } catch (const std::exception& e) {
      out.timing.input_wait_s += seconds_since(wait_started);
      fail(i, e.what());
      progress.advance(1);
    }
    if (static_cast<int64_t>(pending.size()) >= options.batch_size) flush();
  }
  flush();
  progress.finish();
  std::sort(out.failures.begin(), out.failures.end(),
            [](const CaseFailure& a, const CaseFailure& b) { return a.index < b.index; });
  out.timing.wall_s = seconds_since(started);
  return out;
}

}  // namespace raddiag::infer
