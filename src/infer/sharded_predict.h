#pragma once
// Validation across data-parallel ranks without duplicated work: each rank runs the inference path
// (infer::Predictor) on its share of the cases, case i on rank i % world with the seed it has in a
// single-process run, then logits and labels are gathered from every rank and every rank gets the
// predictions of all cases in their order: the same as one process running Predictor::predict on every
// case, so metrics (and the best-checkpoint choice) agree on every rank.
// A collective: every rank must call it with the same cases.
#include <cstdint>
#include <functional>
#include <vector>

#include "data/case.h"
#include "infer/predictor.h"

namespace raddiag::infer {

// The ranks to share the work with. The inference layer does not know the process group; training
// hands its all-gather in (train::ProcessGroup::all_gather_tensor).
struct ShardGroup {
  int64_t rank = 0, world = 1;
  // Same-shaped tensor from every rank -> [world, ...shape] in rank order.
  std::function<torch::Tensor(const torch::Tensor&)> all_gather;
};

// With world 1 this is predictor.predict(cases, options). Failures are the ones of this rank's shard
// (their rows are NaN on every rank).
Predictions predict_sharded(Predictor& predictor, const std::vector<data::Case>& cases, PredictOptions options,
                            const ShardGroup& group);

}  // namespace raddiag::infer
