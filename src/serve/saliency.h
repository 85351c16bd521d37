#pragma once
// Grad-CAM explanations of a diagnosis (Selvaraju et al. 2017) on the ResNet slice encoder's last
// stage: the case's valid slices go through the whole model with gradients enabled (the same fast
// path and numerics as inference); for a class c, the weights are the spatial means of d logit_c /
// d A over the last-stage activation A of each slice, the map is ReLU(sum_k w_k A_k), bilinearly
// upsampled to the original slice size and min-max normalised to [0, 1] (a constant map: ones when
// positive, zeros when there is no positive evidence).
// Rendered as PNG overlays (the slice's own intensities as gray background, a jet colour map blended
// in proportion to the map) of the most attended slice of each scan, plus the slice-attention curve
// of each scan as CSV and SVG.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/diagnosis.h"

namespace raddiag::serve {

// Grad-CAM at the model's input resolution: for each class, [slots N, depth D, S, S]; rows of slices
// that were not encoded (padding, empty slots) are zero. Throws for a non-ResNet backbone.
// `signed_maps` (optional) receives the same maps before the ReLU: positive where a region raises the
// class logit, negative where it lowers it (Grad-CAM's "counterfactual" map is the negative part).
std::vector<torch::Tensor> grad_cam(infer::Predictor& predictor, const data::CaseTensors& tensors,
                                    const std::vector<int64_t>& classes, torch::Tensor* logits = nullptr,
                                    std::vector<torch::Tensor>* signed_maps = nullptr);

// A [S, S] model-resolution map brought to an original slice of h x w: bilinear, then min-max to [0, 1].
torch::Tensor cam_to_slice(const torch::Tensor& cam, int64_t h, int64_t w);

struct SaliencyOptions {
  std::string out_dir;
  std::vector<int64_t> classes;   // class indices to explain; empty = the top finding
  float alpha = 0.5f;             // overlay opacity at map value 1
};

// Writes the files and returns their description (the "saliency" member of the diagnosis JSON):
//   <dir>/class<index>_<name>/scan<i>_slice<k>.png   overlay (8-bit RGB, the slice's size)
//   <dir>/class<index>_<name>/scan<i>_slice<k>.npy   the map, float32 [rows, columns] in [0, 1]
//   <dir>/attention_scan<i>.csv / .svg               slice attention of each scan in the model
nlohmann::ordered_json write_saliency(infer::Predictor& predictor, const Study& study, const Diagnosis& diagnosis,
                                      const SaliencyOptions& options);

// The overlay of write_saliency as 8-bit RGB rows (rows x columns x 3) for one original slice of `scan`:
// gray = the slice's intensities min-max scaled, jet colour of `map` ([rows, columns] in [0, 1]) blended
// with opacity alpha x map value. Used by the DICOM Secondary Capture output.
std::vector<uint8_t> overlay_rgb(const io::Scan& scan, int64_t slice, const torch::Tensor& map, float alpha = 0.5f);

}  // namespace raddiag::serve
