#pragma once
// Train-time image augmentation as tensor operations on one case's images [N, 1, S, S, D].
// Defaults follow the reference (section 1.10): each of four transforms is applied independently with
// probability 0.15, in this order:
//   1. in-plane affine: rotation U(-15°, 15°), translation U(-10, 10) px on both axes, scale 1+U(-0.1, 0.1)
//      on both axes, shear U(-0.2, 0.2) on both off-diagonals; bilinear, zero padding;
//   2. elastic: per-pixel offsets U(-1, 1) smoothed by a Gaussian with sigma U(5, 7) (truncated at 3 sigma),
//      times a magnitude U(10, 20) px, plus a scale 1+U(-0.1, 0.1); bilinear, border padding;
//   3. Gaussian noise: std U(0, 0.07), i.i.d. N(0, std) per voxel;
//   4. contrast: gamma U(0.5, 1.5); x = ((x-mn)/(mx-mn+1e-7))^gamma * (mx-mn) + mn.
// Our addition, off by default (flip_p = 0), applied first: a left-right mirror (the width axis, the one
// `--tta flip` mirrors). Its draw is taken only when flip_p > 0, so runs without it keep the same stream.
// Likewise off by default, for inputs without a canonical orientation (nodule crops, ultrasound): rot90_p
// rotates every slice in-plane by k * 90 degrees (k uniform in 1..3; with the flip this spans all eight
// symmetries of the square), and depth_flip_p reverses the order of a volume's valid slices. Their draws
// follow the flip's, each taken only when its probability is > 0.
// Documented improvements over the reference (whose single MONAI draw per forward is shared by every
// slice of every case of the batch and treats the repeated RGB axis as a third spatial axis):
//   * parameters are drawn per case (or per scan, draw_per_scan=true), one 2D transform is applied to
//     every slice of a scan, so a volume stays geometrically coherent;
//   * only valid slices of occupied slots are touched: the zero padding of short scans and empty slots
//     stays zero (no noise added to padding), and contrast min/max are taken over valid voxels only.
#include <nlohmann/json.hpp>

#include "data/case_rng.h"
#include "data/case_tensors.h"

namespace raddiag::data {

struct AugmentOptions {
  bool enabled = true;
  bool draw_per_scan = false;  // false: one draw per case shared by its scans

  double affine_p = 0.15;
  double rotate_deg = 15.0;
  double translate_px = 10.0;
  double scale = 0.1;
  double shear = 0.2;

  double elastic_p = 0.15;
  double elastic_sigma_min = 5.0;
  double elastic_sigma_max = 7.0;
  double elastic_magnitude_min = 10.0;
  double elastic_magnitude_max = 20.0;
  double elastic_scale = 0.1;

  double noise_p = 0.15;
  double noise_std_max = 0.07;

  double contrast_p = 0.15;
  double gamma_min = 0.5;
  double gamma_max = 1.5;

  double flip_p = 0.0;
  double rot90_p = 0.0;
  double depth_flip_p = 0.0;

  // Not a tensor transform: capped modalities (e.g. "X-ray") whose images the training loader draws as a
  // random subset of each sample's images instead of its first k (PreprocessOptions::random_subsets), so a
  // study's third and later films are trained on. Inference keeps the first k. Empty: off.
  std::vector<std::string> random_subsets;

  nlohmann::json to_json() const;
  // Missing keys keep their defaults; unknown keys or out-of-range values throw raddiag::Error.
  static AugmentOptions from_json(const nlohmann::json& j);
  void validate() const;
};

// The parameters drawn for one case (or scan); exposed so tests can check the transforms exactly.
struct AugmentDraw {
  bool affine = false, elastic = false, noise = false, contrast = false, flip = false, depth_flip = false;
  int rot90 = 0;  // quarter turns, 0..3
  double rotate_rad = 0, translate_x = 0, translate_y = 0, scale_x = 1, scale_y = 1, shear_x = 0, shear_y = 0;
  double sigma = 0, magnitude = 0, elastic_scale = 1;
  double noise_std = 0;
  double gamma = 1;
};

AugmentDraw draw_augmentation(const AugmentOptions& o, CaseRng& rng);

// Applies `d` to one scan's valid slices, given as [V, 1, S, S] (V slices). Noise and the elastic field
// draw from rng's tensor generator.
torch::Tensor apply_augmentation(const torch::Tensor& slices, const AugmentDraw& d, CaseRng& rng);

// The 2x3 affine matrix (normalised coordinates, output -> input, as torch affine_grid expects) of a draw
// for H x W slices: pixel-space M = R(rotation) * Shear * Scale about the centre, translation in pixels.
torch::Tensor affine_theta(const AugmentDraw& d, int64_t h, int64_t w);

// Augments a case in place (images only; marks/keys/mods/labels unchanged).
void augment_case(CaseTensors& c, const AugmentOptions& o, CaseRng& rng);

}  // namespace raddiag::data
