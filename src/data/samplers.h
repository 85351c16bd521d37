#pragma once
// Samplers decide which case comes next. Each one is a pure function (seed, epoch) -> the order of
// one epoch, so a position (epoch, offset) is all a checkpoint needs to resume the exact same stream.
//  * ShuffledSampler: a fresh permutation of all cases every epoch (sequential when shuffle=false).
//  * ClassBalancedSampler: draw a class with probability proportional to n_c^q, then a case of it
//    uniformly: q=0 is class-aware sampling (every class equally likely), q=0.5 square-root-frequency
//    re-sampling, q=1 approximately instance-balanced. Cases without any positive class form one
//    extra pseudo-class ("no finding") so they are still seen.
//  * DistributedSampler: shards another sampler's epoch across ranks with equal lengths: the order is
//    padded by wrapping around to a multiple of the world size, then rank r takes items r, r+W, ...
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace raddiag::data {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // Number of indices in one epoch (for this rank).
  virtual int64_t epoch_size() const = 0;
  // The indices of epoch `epoch`, deterministic for the sampler's seed.
  virtual std::vector<int64_t> epoch_order(int64_t epoch) const = 0;
  virtual std::string name() const = 0;
};

class ShuffledSampler : public Sampler {
 public:
  ShuffledSampler(int64_t num_cases, uint64_t seed, bool shuffle = true);
  int64_t epoch_size() const override { return n_; }
  std::vector<int64_t> epoch_order(int64_t epoch) const override;
  std::string name() const override { return shuffle_ ? "shuffled" : "sequential"; }

 private:
  int64_t n_;
  uint64_t seed_;
  bool shuffle_;
};

class ClassBalancedSampler : public Sampler {
 public:
  // labels[i] = positive classes of case i. epoch_size <= 0 means "as many draws as cases".
  ClassBalancedSampler(const std::vector<std::vector<int64_t>>& labels, double exponent, uint64_t seed,
                       int64_t epoch_size = 0);
  int64_t epoch_size() const override { return epoch_size_; }
  std::vector<int64_t> epoch_order(int64_t epoch) const override;
  std::string name() const override;
  // Probability of drawing each (pseudo-)class; the last entry is the "no finding" pseudo-class when
  // some case has no label. Exposed for tests and logs.
  const std::vector<double>& class_probabilities() const { return class_p_; }
  const std::vector<std::vector<int64_t>>& class_members() const { return members_; }

 private:
  double exponent_;
  uint64_t seed_;
  int64_t epoch_size_;
  std::vector<std::vector<int64_t>> members_;  // per (pseudo-)class: the cases that have it
  std::vector<double> class_p_;
  std::vector<double> cumulative_;
};

class DistributedSampler : public Sampler {
 public:
  DistributedSampler(std::shared_ptr<const Sampler> base, int rank, int world_size);
  int64_t epoch_size() const override;
  std::vector<int64_t> epoch_order(int64_t epoch) const override;
  std::string name() const override;

 private:
  std::shared_ptr<const Sampler> base_;
  int rank_;
  int world_;
};

// Where a sampler stream stands: the next item is epoch_order(epoch)[offset].
struct SamplerPosition {
  int64_t epoch = 0;
  int64_t offset = 0;
  nlohmann::json to_json() const { return {{"epoch", epoch}, {"offset", offset}}; }
  static SamplerPosition from_json(const nlohmann::json& j);
  bool operator==(const SamplerPosition& o) const { return epoch == o.epoch && offset == o.offset; }
};

// One item of the stream: which case, and where it sits (for deriving its random generator).
struct SampledItem {
  int64_t epoch = 0;
  int64_t offset = 0;
  int64_t index = 0;
};

// Walks a sampler across epochs; caches the current epoch's order.
class SamplerCursor {
 public:
  explicit SamplerCursor(std::shared_ptr<const Sampler> sampler, SamplerPosition start = {});
  SampledItem next();
  SamplerPosition position() const { return pos_; }
  void seek(SamplerPosition p);
  const Sampler& sampler() const { return *sampler_; }

 private:
  std::shared_ptr<const Sampler> sampler_;
  SamplerPosition pos_;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> order_;
};

// Builds a sampler from a small JSON description:
// {"kind": "shuffled"|"sequential"|"class_aware"|"sqrt_frequency"|"class_balanced", "exponent": q,
//  "epoch_size": n}. `labels` is needed by the class-based kinds.
std::shared_ptr<Sampler> make_sampler(const nlohmann::json& spec, int64_t num_cases,
                                      const std::vector<std::vector<int64_t>>& labels, uint64_t seed);

}  // namespace raddiag::data
