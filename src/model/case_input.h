#pragma once
// What the model's forward takes: a batch of cases as tensors, in the layout of the official early-fusion
// loader (reference section 1.6). The data layer builds data::CaseBatch with the same fields;
// infer/model_input.h hands it over, so the model does not depend on how cases are read.
#include <torch/torch.h>

namespace raddiag::model {

struct CaseInput {
  torch::Tensor images;  // [B, N, 1, S, S, D] float32, slot n holds one scan, slices along the last axis
  torch::Tensor mods;    // [B, N] int64 modality/plane id (0 = empty slot)
  torch::Tensor marks;   // [B, N, D] int64, 1 = valid slice
  torch::Tensor keys;    // [B, N] int64 key slice (-1 = empty slot)
  torch::Tensor labels;  // [B, C] float32 multi-hot; undefined at inference (then no loss)
  torch::Tensor known;   // [B, C] float32 1 = known, 0 = unknown; undefined when every label is known
  // [B, N, 3] float32 physical extent of each slot's scan in mm, zeros where unknown; read only by a model
  // with config.scan_geometry or scan_geometry_logits (undefined = all unknown).
  torch::Tensor extent;
};

}  // namespace raddiag::model
