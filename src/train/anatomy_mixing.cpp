#include "train/anatomy_mixing.h"

#include <cmath>

#include <spdlog/spdlog.h>

#include "util/error.h"
#include "util/json_keys.h"

namespace raddiag::train {

namespace {
constexpr const char* kUnknownAnatomy = "Unknown";
const char* kMixingSubject = "mixing options";
}  // namespace

nlohmann::json MixingOptions::to_json() const {
  return {{"n_aug", n_aug}, {"prob", prob}, {"anatomy_weights", anatomy_weights}, {"fallback", fallback}};
}

MixingOptions MixingOptions::from_json(const nlohmann::json& j) {
  MixingOptions o;
  const JsonOptionsReader r(j, kMixingSubject, "", "MixingOptions", {"n_aug", "prob", "anatomy_weights", "fallback"});
  r.read("n_aug", o.n_aug);
  r.read("prob", o.prob);
  r.read("anatomy_weights", o.anatomy_weights);
  r.read("fallback", o.fallback);
  o.validate();
  return o;
}

void MixingOptions::validate() const {
  if (n_aug < 1) throw Error(kMixingSubject, "n_aug must be >= 1 (1 = no mixing)");
  if (!(prob >= 0 && prob <= 1)) throw Error(kMixingSubject, "prob must be in [0, 1]");
  if (n_aug > 1 && prob == 1) spdlog::debug("mixing: prob 1 never mixes");
  for (const auto& [name, w] : anatomy_weights)
    if (!(w >= 0) || !std::isfinite(w)) throw Error(kMixingSubject, "anatomy weight of '" + name + "' must be a finite number >= 0");
  if (fallback != "any" && fallback != "none") throw Error(kMixingSubject, "fallback must be 'any' or 'none' (got '" + fallback + "')");
}

std::string anatomy_group(const data::Case& c, const MixingOptions& o) {
  return o.anatomy_weights.count(c.anatomy) ? c.anatomy : kUnknownAnatomy;
}

AnatomyMixingSource::AnatomyMixingSource(std::shared_ptr<const data::CaseDataset> base, MixingOptions options)
    : base_(std::move(base)), options_(std::move(options)) {
  if (!base_) throw Error("anatomy mixing", "no dataset");
  options_.validate();
  for (int64_t i = 0; i < base_->size(); ++i) {
    group_of_.push_back(anatomy_group(base_->case_at(static_cast<std::size_t>(i)), options_));
    members_[group_of_.back()].push_back(i);
  }
}

std::string AnatomyMixingSource::describe() const {
  std::string s = "n_aug " + std::to_string(options_.n_aug) + ", prob " + std::to_string(options_.prob) + ", groups:";
  for (const auto& [name, m] : members_) s += " " + name + " " + std::to_string(m.size());
  if (members_.size() < 2) s += " (one group: partners " + std::string(options_.fallback == "any" ? "from any other case" : "never drawn") + ")";
  return s;
}

std::vector<int64_t> AnatomyMixingSource::mix_plan(int64_t index, data::CaseRng& rng) const {
  std::vector<int64_t> plan{index};
  if (!options_.enabled()) return plan;
  // m = 1 with probability prob, else uniform over 2..n_aug (the reference's weights [prob, (1-prob)/(n_aug-1), ...]).
  const double u = rng.uniform01();
  int64_t m = 1;
  if (u >= options_.prob) {
    const double rest = (u - options_.prob) / (1.0 - options_.prob);
    m = 2 + std::min<int64_t>(options_.n_aug - 2, static_cast<int64_t>(rest * (options_.n_aug - 1)));
  }
  const std::string& own = group_of_.at(static_cast<std::size_t>(index));
  // The candidate groups: every other non-empty group with a positive weight.
  std::vector<const std::vector<int64_t>*> groups;
  std::vector<double> cumulative;
  double total = 0;
  for (const auto& [name, members] : members_) {
    auto w = options_.anatomy_weights.find(name);
    if (name == own || w == options_.anatomy_weights.end() || w->second <= 0) continue;
    total += w->second;
    groups.push_back(&members);
    cumulative.push_back(total);
  }
  for (int64_t j = 1; j < m; ++j) {
    if (!groups.empty()) {
      const double x = rng.uniform01() * total;
      std::size_t g = 0;
      while (g + 1 < cumulative.size() && x >= cumulative[g]) ++g;
      const auto& members = *groups[g];
      plan.push_back(members[static_cast<std::size_t>(rng.below(static_cast<int64_t>(members.size())))]);
    } else if (options_.fallback == "any" && size() > 1) {
      int64_t other = rng.below(size() - 1);  // uniform over the other cases
      if (other >= index) ++other;
      plan.push_back(other);
    }
  }
  return plan;
}

data::CaseTensors AnatomyMixingSource::get(int64_t index, data::CaseRng& rng) const {
  const std::vector<int64_t> plan = mix_plan(index, rng);
  const data::PreprocessOptions& o = base_->options();
  const int64_t N = o.n_image, S = o.size, D = o.depth;
  data::CaseTensors out;
  out.images = torch::zeros({slots(), 1, S, S, D}, torch::kFloat32);
  out.mods = torch::zeros({slots()}, torch::kInt64);
  out.marks = torch::zeros({slots(), D}, torch::kInt64);
  out.keys = torch::full({slots()}, -1, torch::kInt64);
  out.extent = torch::zeros({slots(), 3}, torch::kFloat32);
  const data::LabelVocabulary* vocab = base_->vocabulary();
  if (vocab) out.labels = torch::zeros({static_cast<int64_t>(vocab->size())}, torch::kFloat32);
  int64_t cnt = 0;
  for (std::size_t j = 0; j < plan.size(); ++j) {
    const auto ci = static_cast<std::size_t>(plan[j]);
    std::mt19937_64 engine(rng.bits());
    data::PreprocessReport report;
    data::CaseTensors t;
    try {
      t = base_->build(ci, engine, &report);
    } catch (const std::exception& e) {
      if (j == 0) throw;  // the indexed case itself: the loader skips the item
      spdlog::warn("anatomy mixing: partner {} of {} dropped: {}", base_->case_id(plan[j]), base_->case_id(index), e.what());
      continue;
    }
    const int64_t k = static_cast<int64_t>(report.slots.size());  // filled slots, contiguous from 0
    if (k > 0) {
      out.images.narrow(0, cnt, k).copy_(t.images.narrow(0, 0, k));
      out.mods.narrow(0, cnt, k).copy_(t.mods.narrow(0, 0, k));
      out.marks.narrow(0, cnt, k).copy_(t.marks.narrow(0, 0, k));
      out.keys.narrow(0, cnt, k).copy_(t.keys.narrow(0, 0, k));
      if (t.extent.defined()) out.extent.narrow(0, cnt, k).copy_(t.extent.narrow(0, 0, k));
    }
    cnt += k;
    if (!vocab) continue;
    // Labels: every sample visited while this case filled its N slots (1.6 stops once N are filled).
    const data::Case& c = base_->case_at(ci);
    int64_t filled = 0;
    for (std::size_t si : report.visit_order) {
      if (filled >= N) break;
      for (int64_t l : vocab->encode(c.samples[si].labels(o.level))) out.labels[l] = 1.f;
      for (const auto& s : report.slots) filled += s.sample == si ? 1 : 0;
    }
  }
  return out;
}

}  // namespace raddiag::train
