#pragma once
// Case-level fusion (official vitFuse, reference 2.5): slot embeddings plus a learned modality embedding,
// a CLS token, a transformer masked to the non-empty slots (mod != 0), CLS row out. No positional
// embedding, so the result does not depend on the slot order.
#include <torch/torch.h>

#include "model/transformer_encoder.h"

namespace raddiag::model {

struct CaseFusionOptions {
  int64_t hidden = 2048;
  int64_t n_mod = 16;
  TransformerEncoderOptions transformer{2048, 2, 4, 2048};
};

class CaseFusionImpl : public torch::nn::Module {
 public:
  explicit CaseFusionImpl(const CaseFusionOptions& o);
  // slots [B, N, H], mods [B, N] int64 (0 = empty slot). Returns [B, H].
  torch::Tensor forward(const torch::Tensor& slots, const torch::Tensor& mods);
  torch::Tensor mod_embed, cls_token;

 private:
  TransformerEncoder encoder{nullptr};
};
TORCH_MODULE(CaseFusion);

}  // namespace raddiag::model
