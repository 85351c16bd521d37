#pragma once
// A data-layer batch as the model's input: the same tensors (no copy), so the model layer stays
// independent of the data layer.
#include "data/case_tensors.h"
#include "model/case_input.h"

namespace raddiag::infer {

inline model::CaseInput model_input(const data::CaseBatch& b) {
  return {b.images, b.mods, b.marks, b.keys, b.labels, b.known, b.extent};
}

}  // namespace raddiag::infer
