#pragma once
// The model's input for one case, exactly the tensors of the official early-fusion loader
// (reference section 1.6), and a batch of them. The data layer produces these; the model consumes them.
#include <torch/torch.h>

namespace raddiag::data {

struct CaseTensors {
  torch::Tensor images;  // [N, 1, S, S, D] float32, slot n holds one scan, slices along the last axis
  torch::Tensor mods;    // [N] int64 modality/plane id (0 = empty slot)
  torch::Tensor marks;   // [N, D] int64, 1 = valid slice
  torch::Tensor keys;    // [N] int64 key slice (-1 = empty slot)
  torch::Tensor labels;  // [C] float32 multi-hot (may be undefined at inference)
  torch::Tensor known;   // [C] float32, 0 where the label is unknown (undefined = every label known)
  // [N, 3] float32 physical extent of each slot's scan in mm (data/scan_extent.h); zeros for empty slots
  // and scans without geometry. Undefined is read as all zeros.
  torch::Tensor extent;
};

// A batch: the same fields with a leading batch dimension B.
struct CaseBatch {
  torch::Tensor images;  // [B, N, 1, S, S, D]
  torch::Tensor mods;    // [B, N]
  torch::Tensor marks;   // [B, N, D]
  torch::Tensor keys;    // [B, N]
  torch::Tensor labels;  // [B, C]
  torch::Tensor known;   // [B, C] float32 1 = known, 0 = unknown; undefined when every label is known
  torch::Tensor extent;  // [B, N, 3] float32 mm, zeros where unknown
};

inline CaseBatch collate(const std::vector<CaseTensors>& cases) {
  std::vector<torch::Tensor> im, mo, ma, ke, la, ex;
  for (const auto& c : cases) {
    im.push_back(c.images);
    mo.push_back(c.mods);
    ma.push_back(c.marks);
    ke.push_back(c.keys);
    ex.push_back(c.extent.defined() ? c.extent : torch::zeros({c.images.size(0), 3}, torch::kFloat32));
    if (c.labels.defined()) la.push_back(c.labels);
  }
  CaseBatch b{torch::stack(im), torch::stack(mo), torch::stack(ma), torch::stack(ke), {}};
  b.extent = torch::stack(ex);
  if (la.size() == cases.size() && !la.empty()) {
    b.labels = torch::stack(la);
    bool any_mask = false;
    for (const auto& c : cases) any_mask |= c.known.defined();
    if (any_mask) {
      std::vector<torch::Tensor> kn;
      for (const auto& c : cases) kn.push_back(c.known.defined() ? c.known : torch::ones_like(c.labels));
      b.known = torch::stack(kn);
    }
  }
  return b;
}

}  // namespace raddiag::data
