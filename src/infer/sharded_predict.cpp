#include "infer/sharded_predict.h"

#include <limits>

namespace raddiag::infer {

Predictions predict_sharded(Predictor& predictor, const std::vector<data::Case>& cases, PredictOptions options,
                            const ShardGroup& group) {
  if (group.world <= 1) return predictor.predict(cases, options);
  const int64_t world = group.world, rank = group.rank;
  options.shard_index = rank;
  options.shard_count = world;
  Predictions local = predictor.predict(cases, options);
  const int64_t n = static_cast<int64_t>(cases.size()), C = local.logits.size(1);
  // This rank's rows (rank, rank + W, ...) packed into an equal-sized block: [logits | labels].
  const int64_t rows = (n + world - 1) / world;
  torch::Tensor block = torch::full({rows, 2 * C}, std::numeric_limits<float>::quiet_NaN());
  for (int64_t k = 0, i = rank; i < n; ++k, i += world) {
    block[k].narrow(0, 0, C).copy_(local.logits[i]);
    block[k].narrow(0, C, C).copy_(local.labels[i]);
  }
  const torch::Tensor all = group.all_gather(block);  // [W, rows, 2C]
  Predictions out;
  out.logits = torch::empty({n, C});
  out.labels = torch::empty({n, C});
  for (int64_t i = 0; i < n; ++i) {
    const torch::Tensor row = all[i % world][i / world];
    out.logits[i].copy_(row.narrow(0, 0, C));
    out.labels[i].copy_(row.narrow(0, C, C));
  }
  out.failures = std::move(local.failures);
  return out;
}

}  // namespace raddiag::infer
