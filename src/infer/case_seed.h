#pragma once
// The seed of one case's random preprocessing choices at inference (which ultrasound frame, which image
// of a sample the official pipeline draws at random). It comes from the run's seed and the case's id, not
// from the case's row, so a case scores the same wherever it sits in a manifest and whichever other
// cases share the run; `draw` numbers the extra draws of InferenceOptions::draws.
#include <cstdint>
#include <string>

namespace raddiag::infer {

uint64_t case_seed(uint64_t run_seed, const std::string& case_id, int64_t draw = 0);

}  // namespace raddiag::infer
