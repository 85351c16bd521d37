#include "data/samplers.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "data/case_rng.h"
#include "util/error.h"

namespace raddiag::data {

namespace {
// Fisher-Yates with our own integer draws, so orders are identical across standard libraries.
void shuffle_in_place(std::vector<int64_t>& v, CaseRng& rng) {
  for (int64_t i = static_cast<int64_t>(v.size()) - 1; i > 0; --i) std::swap(v[i], v[rng.below(i + 1)]);
}
constexpr uint64_t kShuffleStream = 0x5348554646ULL;
constexpr uint64_t kBalancedStream = 0x42414c414eULL;
}  // namespace

ShuffledSampler::ShuffledSampler(int64_t num_cases, uint64_t seed, bool shuffle)
    : n_(num_cases), seed_(seed), shuffle_(shuffle) {
  if (num_cases <= 0) throw Error("sampler", "the dataset has no cases");
}

std::vector<int64_t> ShuffledSampler::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(n_);
  for (int64_t i = 0; i < n_; ++i) order[i] = i;
  if (shuffle_) {
    CaseRng rng(derive_seed(seed_, kShuffleStream, static_cast<uint64_t>(epoch)));
    shuffle_in_place(order, rng);
  }
  return order;
}

ClassBalancedSampler::ClassBalancedSampler(const std::vector<std::vector<int64_t>>& labels, double exponent,
                                           uint64_t seed, int64_t epoch_size)
    : exponent_(exponent), seed_(seed), epoch_size_(epoch_size > 0 ? epoch_size : static_cast<int64_t>(labels.size())) {
  if (labels.empty()) throw Error("sampler", "the dataset has no cases");
  if (!(exponent >= 0.0) || !std::isfinite(exponent)) throw Error("sampler", "class exponent must be >= 0");
  std::map<int64_t, std::vector<int64_t>> by_class;
  std::vector<int64_t> unlabelled;
  for (int64_t i = 0; i < static_cast<int64_t>(labels.size()); ++i) {
    std::vector<int64_t> cls = labels[i];
    std::sort(cls.begin(), cls.end());
    cls.erase(std::unique(cls.begin(), cls.end()), cls.end());
    if (cls.empty()) unlabelled.push_back(i);
    for (int64_t c : cls) by_class[c].push_back(i);
  }
  for (auto& [c, m] : by_class) members_.push_back(std::move(m));
  if (!unlabelled.empty()) members_.push_back(std::move(unlabelled));
  double total = 0;
  for (const auto& m : members_) {
    class_p_.push_back(std::pow(static_cast<double>(m.size()), exponent_));
    total += class_p_.back();
  }
  double acc = 0;
  for (auto& p : class_p_) {
    p /= total;
    acc += p;
    cumulative_.push_back(acc);
  }
  cumulative_.back() = 1.0;
}

std::string ClassBalancedSampler::name() const {
  if (exponent_ == 0.0) return "class_aware";
  if (exponent_ == 0.5) return "sqrt_frequency";
  return "class_balanced(q=" + std::to_string(exponent_) + ")";
}

std::vector<int64_t> ClassBalancedSampler::epoch_order(int64_t epoch) const {
  CaseRng rng(derive_seed(seed_, kBalancedStream, static_cast<uint64_t>(epoch)));
  std::vector<int64_t> order(epoch_size_);
  for (auto& o : order) {
    const double u = rng.uniform01();
    const size_t c = std::min<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin(),
                                      members_.size() - 1);
    const auto& m = members_[c];
    o = m[rng.below(static_cast<int64_t>(m.size()))];
  }
  return order;
}

DistributedSampler::DistributedSampler(std::shared_ptr<const Sampler> base, int rank, int world_size)
    : base_(std::move(base)), rank_(rank), world_(world_size) {
  if (!base_) throw Error("sampler", "distributed sampler needs a base sampler");
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw Error("sampler", "rank " + std::to_string(rank) + " outside world of size " + std::to_string(world_size));
}

int64_t DistributedSampler::epoch_size() const { return (base_->epoch_size() + world_ - 1) / world_; }

std::vector<int64_t> DistributedSampler::epoch_order(int64_t epoch) const {
  const std::vector<int64_t> all = base_->epoch_order(epoch);
  const int64_t per_rank = epoch_size();
  std::vector<int64_t> mine(per_rank);
  const int64_t n = static_cast<int64_t>(all.size());
  for (int64_t k = 0; k < per_rank; ++k) mine[k] = all[(k * world_ + rank_) % n];  // wrap-around padding
  return mine;
}

std::string DistributedSampler::name() const {
  return base_->name() + " (rank " + std::to_string(rank_) + "/" + std::to_string(world_) + ")";
}

SamplerPosition SamplerPosition::from_json(const nlohmann::json& j) {
  try {
    SamplerPosition p{j.at("epoch").get<int64_t>(), j.at("offset").get<int64_t>()};
    if (p.epoch < 0 || p.offset < 0) throw Error("sampler position", "negative epoch or offset");
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw Error("sampler position", std::string("malformed: ") + e.what());
  }
}

SamplerCursor::SamplerCursor(std::shared_ptr<const Sampler> sampler, SamplerPosition start)
    : sampler_(std::move(sampler)) {
  if (!sampler_) throw Error("sampler", "no sampler given");
  seek(start);
}

void SamplerCursor::seek(SamplerPosition p) {
  if (p.offset > sampler_->epoch_size())
    throw Error("sampler position", "offset " + std::to_string(p.offset) + " beyond epoch size " +
                                        std::to_string(sampler_->epoch_size()));
  pos_ = p;
}

SampledItem SamplerCursor::next() {
  if (pos_.offset >= sampler_->epoch_size()) pos_ = {pos_.epoch + 1, 0};
  if (cached_epoch_ != pos_.epoch) {
    order_ = sampler_->epoch_order(pos_.epoch);
    cached_epoch_ = pos_.epoch;
  }
  SampledItem item{pos_.epoch, pos_.offset, order_[pos_.offset]};
  ++pos_.offset;
  return item;
}

std::shared_ptr<Sampler> make_sampler(const nlohmann::json& spec, int64_t num_cases,
                                      const std::vector<std::vector<int64_t>>& labels, uint64_t seed) {
  const std::string kind = spec.value("kind", std::string("shuffled"));
  const int64_t epoch_size = spec.value("epoch_size", int64_t{0});
  auto need_labels = [&] {
    if (static_cast<int64_t>(labels.size()) != num_cases)
      throw Error("sampler " + kind, "needs the labels of every case");
  };
  if (kind == "shuffled") return std::make_shared<ShuffledSampler>(num_cases, seed, true);
  if (kind == "sequential") return std::make_shared<ShuffledSampler>(num_cases, seed, false);
  if (kind == "class_aware") return need_labels(), std::make_shared<ClassBalancedSampler>(labels, 0.0, seed, epoch_size);
  if (kind == "sqrt_frequency")
    return need_labels(), std::make_shared<ClassBalancedSampler>(labels, 0.5, seed, epoch_size);
  if (kind == "class_balanced")
    return need_labels(), std::make_shared<ClassBalancedSampler>(labels, spec.value("exponent", 0.0), seed, epoch_size);
  throw Error("sampler", "unknown kind '" + kind + "' (shuffled, sequential, class_aware, sqrt_frequency, class_balanced)");
}

}  // namespace raddiag::data
