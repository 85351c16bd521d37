#pragma once
// Scan-geometry embedding: a scan's physical extent in mm -> a vector, added to its scan embedding before
// the case fusion (ModelConfig::scan_geometry, an MLP) or, one score per class, to the logits
// (ModelConfig::scan_geometry_logits, a linear map). Every scan is resized to one S x S x D canvas, so without it
// the model cannot see how large the imaged region is: on region-of-interest crops (LIDC nodule patches,
// whose field and slice count follow the nodule) that size is the strongest single finding.
//
// Features per scan: log(1 + mm / 10) for each axis (sizes span 1-500 mm; the log makes a 10 % change
// look alike at every scale) and a known flag; scans without geometry give (0, 0, 0, 0). Two linear layers
// with a GELU (width > 0) or one linear map (width 0: a logistic regression on the extent, which cannot
// memorise single cases by their exact size); the last one starts at zero, so a new model starts exactly
// as one without the embedding.
#include <torch/torch.h>

namespace raddiag::model {

class ScanGeometryEmbeddingImpl : public torch::nn::Module {
 public:
  ScanGeometryEmbeddingImpl(int64_t width, int64_t hidden);
  // width 0: one linear map. extent [M, 3] mm (0 = unknown) -> [M, hidden].
  torch::Tensor forward(const torch::Tensor& extent);
  // The [M, 4] input features of `extent` [M, 3] (exposed for tests).
  static torch::Tensor features(const torch::Tensor& extent);

 private:
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};   // width 0: fc2 only
};
TORCH_MODULE(ScanGeometryEmbedding);

}  // namespace raddiag::model
