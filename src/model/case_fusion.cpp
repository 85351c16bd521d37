#include "model/case_fusion.h"

#include "util/error.h"

namespace raddiag::model {

CaseFusionImpl::CaseFusionImpl(const CaseFusionOptions& o) {
  mod_embed = register_parameter("mod_embed", torch::randn({o.n_mod, o.hidden}));
  cls_token = register_parameter("cls_token", torch::randn({1, 1, o.hidden}));
  auto t = o.transformer;
  t.hidden = o.hidden;
  encoder = register_module("encoder", TransformerEncoder(t));
}

torch::Tensor CaseFusionImpl::forward(const torch::Tensor& slots, const torch::Tensor& mods) {
  const int64_t B = slots.size(0), H = slots.size(2);
  if (mods.numel() > 0 && (mods.min().item<int64_t>() < 0 || mods.max().item<int64_t>() >= mod_embed.size(0)))
    throw Error("modality ids", "must lie in [0, " + std::to_string(mod_embed.size(0)) + ")");
  // The official code adds mod_embed[0] to empty slots too; they are masked out, so it is harmless.
  auto x = slots + mod_embed.index_select(0, mods.flatten()).view(slots.sizes());
  x = torch::cat({cls_token.expand({B, 1, H}), x}, 1);
  auto mask = torch::cat({torch::ones({B, 1}, mods.options()), (mods != 0).to(mods.scalar_type())}, 1);
  return encoder(x, mask).out.select(1, 0);
}

}  // namespace raddiag::model
