#pragma once
// Slice aggregator (official Attention1D, reference 2.4): prepends a CLS token to the slice features of
// one scan, adds learned positions (depth + 1 rows, row 0 for CLS), runs the transformer with the slice
// marks as key mask and returns the CLS row.
#include <torch/torch.h>

#include "model/transformer_encoder.h"

namespace raddiag::model {

struct SliceAggregatorOptions {
  int64_t hidden = 2048;
  int64_t depth = 32;
  TransformerEncoderOptions transformer{2048, 1, 1, 2048};
};

struct SliceAggregation {
  torch::Tensor embedding;  // [M, H] CLS output
  torch::Tensor attention;  // [M, D+1] head-mean attention of the CLS query (column 0 = CLS itself)
  torch::Tensor scores;     // [M, D+1] head-mean masked pre-softmax scores of the CLS query
};

class SliceAggregatorImpl : public torch::nn::Module {
 public:
  explicit SliceAggregatorImpl(const SliceAggregatorOptions& o);
  // features [M, D, H], marks [M, D] (1 = valid slice).
  SliceAggregation forward(const torch::Tensor& features, const torch::Tensor& marks);
  torch::Tensor cls_token, pos_emb;

 private:
  TransformerEncoder encoder{nullptr};
};
TORCH_MODULE(SliceAggregator);

}  // namespace raddiag::model
