// One-off class-name embeddings.
#include "text/class_embeddings.h"

#include <algorithm>

#include "util/error.h"

namespace raddiag::text {

torch::Tensor compute_class_embeddings(SentenceEncoder& encoder, const std::vector<std::string>& names,
                                       int64_t batch_size) {
  if (names.empty()) throw Error("class embeddings", "no class names");
  if (batch_size < 1) throw Error("class embeddings", "batch_size must be positive");
  const bool was_training = encoder.model().is_training();
  encoder.model().eval();
  torch::NoGradGuard ng;
  auto out = torch::empty({static_cast<int64_t>(names.size()), encoder.dim()}, torch::kFloat32);
  // Sorting by length keeps the padding (wasted compute) small; rows go back to their index.
  std::vector<int64_t> order(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return names[x].size() < names[y].size(); });
  for (std::size_t i = 0; i < order.size(); i += static_cast<std::size_t>(batch_size)) {
    const std::size_t end = std::min(order.size(), i + static_cast<std::size_t>(batch_size));
    std::vector<std::string> chunk;
    std::vector<int64_t> rows;
    for (std::size_t k = i; k < end; ++k) {
      chunk.push_back(names[order[k]]);
      rows.push_back(order[k]);
    }
    auto e = encoder.embed(chunk).to(torch::kCPU, torch::kFloat32);
    out.index_copy_(0, torch::tensor(rows, torch::kInt64), e);
  }
  encoder.model().train(was_training);
  return out;
}

}  // namespace raddiag::text
