#include "model/slice_aggregator.h"

namespace raddiag::model {

SliceAggregatorImpl::SliceAggregatorImpl(const SliceAggregatorOptions& o) {
  cls_token = register_parameter("cls_token", torch::randn({1, 1, o.hidden}));
  pos_emb = register_parameter("pos_emb", torch::randn({o.depth + 1, o.hidden}));
  auto t = o.transformer;
  t.hidden = o.hidden;
  encoder = register_module("encoder", TransformerEncoder(t));
}

SliceAggregation SliceAggregatorImpl::forward(const torch::Tensor& features, const torch::Tensor& marks) {
  const int64_t M = features.size(0), D = features.size(1);
  TORCH_CHECK(D + 1 == pos_emb.size(0), "slice aggregator built for depth ", pos_emb.size(0) - 1, ", got ", D,
              " slices");
  auto x = torch::cat({cls_token.expand({M, 1, features.size(2)}), features}, 1) + pos_emb;
  auto mask = torch::cat({torch::ones({M, 1}, marks.options()), marks}, 1);
  auto r = encoder(x, mask);
  using torch::indexing::Slice;
  return {r.out.select(1, 0), r.probs.mean(1).select(1, 0), r.scores.mean(1).select(1, 0)};
}

}  // namespace raddiag::model
