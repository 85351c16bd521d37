#pragma once
// Small, fast stand-ins for the real dataset and model, shared by the data and train tests: a case
// source over random tensors (deterministic per case index) and a conv + MLP multi-label model.
#include <torch/torch.h>

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "data/case_tensor_source.h"
#include "util/error.h"

namespace raddiag::test {

struct RandomCaseSource : data::CaseTensorSource {
  int64_t n = 16, slots = 2, side = 8, depth = 4, classes = 3;
  std::set<int64_t> failing;         // these indices throw
  bool use_rng = true;               // add a rng-dependent offset (checks per-item generators)
  mutable std::atomic<int64_t> built{0};

  int64_t size() const override { return n; }
  std::vector<int64_t> labels_of(int64_t i) const override {
    std::vector<int64_t> l;
    for (int64_t c = 0; c < classes; ++c)
      if ((i >> c) & 1) l.push_back(c);
    return l;
  }
  std::string case_id(int64_t i) const override { return "case-" + std::to_string(i); }
  data::CaseTensors get(int64_t i, data::CaseRng& rng) const override {
    if (failing.count(i)) throw Error(case_id(i), "unreadable test case");
    ++built;
    auto gen = at::detail::createCPUGenerator(1000 + static_cast<uint64_t>(i));
    data::CaseTensors c;
    c.images = torch::zeros({slots, 1, side, side, depth});
    c.marks = torch::zeros({slots, depth}, torch::kLong);
    c.mods = torch::zeros({slots}, torch::kLong);
    c.keys = torch::full({slots}, -1, torch::kLong);
    // Slot 0: a scan with depth-1 valid slices; the other slots are empty (tests padding handling).
    const int64_t valid = depth - 1;
    c.images.index_put_({0, 0, torch::indexing::Slice(), torch::indexing::Slice(), torch::indexing::Slice(0, valid)},
                        torch::rand({side, side, valid}, gen));
    c.marks.index_put_({0, torch::indexing::Slice(0, valid)}, 1);
    c.mods[0] = 1;
    c.keys[0] = 0;
    if (use_rng) c.images.index_put_({0, 0, 0, 0, 0}, static_cast<float>(rng.uniform01()));
    c.labels = torch::zeros({classes});
    for (int64_t l : labels_of(i)) c.labels[l] = 1.0f;
    return c;
  }
};

// Conv over every slice + MLP head, mean over slots; dropout makes the global generator matter.
struct TinyNetImpl : torch::nn::Module {
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::Dropout drop{nullptr};
  explicit TinyNetImpl(int64_t classes, double dropout = 0.2) {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).padding(1)));
    fc1 = register_module("fc1", torch::nn::Linear(4, 8));
    fc2 = register_module("fc2", torch::nn::Linear(8, classes));
    drop = register_module("drop", torch::nn::Dropout(dropout));
  }
  torch::Tensor forward(const torch::Tensor& images) {  // [B, N, 1, S, S, D] -> [B, C]
    const auto b = images.size(0), n = images.size(1), s = images.size(3), d = images.size(5);
    auto x = images.permute({0, 1, 5, 2, 3, 4}).reshape({b * n * d, 1, s, s});
    x = torch::relu(conv(x)).mean({2, 3}).view({b, n * d, 4}).mean(1);
    x = drop(torch::relu(fc1(x)));
    return fc2(x);
  }
};
TORCH_MODULE(TinyNet);

inline float max_param_diff(torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.parameters(), pb = b.parameters();
  float m = 0;
  for (size_t i = 0; i < pa.size(); ++i) m = std::max(m, (pa[i] - pb[i]).abs().max().item<float>());
  return m;
}

}  // namespace raddiag::test
