#pragma once
// Validation across data-parallel ranks without duplicated work: each rank runs the inference path
// (serve::Predictor) on its share of the cases, case i on rank i % world with the seed it has in a
// single-process run, then logits and labels are gathered through the process group (c10d all-gather)
// and every rank gets the predictions of all cases in their order: the same as one process running
// Predictor::predict on every case, so metrics (and the best-checkpoint choice) agree on every rank.
// A collective: every rank must call it with the same cases.
#include <vector>

#include "data/case.h"
#include "serve/predictor.h"
#include "train/distributed.h"

namespace raddiag::train {

// Without a group (or with world size 1) this is predictor.predict(cases, options). Failures are the
// ones of this rank's shard (their rows are NaN on every rank).
serve::Predictions predict_sharded(serve::Predictor& predictor, const std::vector<data::Case>& cases,
                                   serve::PredictOptions options, ProcessGroup* group);

}  // namespace raddiag::train
