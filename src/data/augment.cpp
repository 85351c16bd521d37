#include "data/augment.h"

#include <cmath>

#include "util/error.h"
#include "util/json_keys.h"

namespace raddiag::data {

namespace F = torch::nn::functional;

namespace {
constexpr double kPi = 3.14159265358979323846;

// 2x3 output->input matrix in normalised coordinates from a pixel-space 2x2 matrix m (about the image
// centre) and a pixel translation: normalised = diag(2/W, 2/H) * pixel for centred coordinates.
torch::Tensor normalised_theta(const double m[2][2], double tx, double ty, int64_t h, int64_t w) {
  const double nx = 2.0 / static_cast<double>(w), ny = 2.0 / static_cast<double>(h);
  auto t = torch::empty({2, 3}, torch::kDouble);
  auto a = t.accessor<double, 2>();
  a[0][0] = m[0][0];
  a[0][1] = m[0][1] * nx / ny;
  a[1][0] = m[1][0] * ny / nx;
  a[1][1] = m[1][1];
  a[0][2] = tx * nx;
  a[1][2] = ty * ny;
  return t.to(torch::kFloat);
}

torch::Tensor gaussian_kernel1d(double sigma) {
  const int64_t radius = static_cast<int64_t>(std::ceil(3.0 * sigma));
  auto x = torch::arange(-radius, radius + 1, torch::kDouble);
  auto k = torch::exp(-0.5 * (x / sigma).pow(2));
  return (k / k.sum()).to(torch::kFloat);
}

// One draw of U(-1,1) offsets on the in-plane grid, smoothed separably, in pixels. [1, H, W, 2] (x, y).
torch::Tensor elastic_displacement(int64_t h, int64_t w, double sigma, double magnitude, CaseRng& rng) {
  auto noise = torch::rand({2, 1, h, w}, rng.generator(), torch::kFloat) * 2.0 - 1.0;
  auto k = gaussian_kernel1d(sigma);
  const int64_t r = (k.size(0) - 1) / 2;
  auto smoothed = F::conv2d(noise, k.view({1, 1, 1, -1}), F::Conv2dFuncOptions().padding({0, r}));
  smoothed = F::conv2d(smoothed, k.view({1, 1, -1, 1}), F::Conv2dFuncOptions().padding({r, 0}));
  return (smoothed * magnitude).squeeze(1).permute({1, 2, 0}).unsqueeze(0);  // [1, H, W, 2]
}

void check_range(bool ok, const std::string& key, const std::string& what) {
  if (!ok) throw Error("augment option " + key, what);
}
}  // namespace

torch::Tensor affine_theta(const AugmentDraw& d, int64_t h, int64_t w) {
  // M = R * Shear * Scale (pixel space, x = column, y = row).
  const double c = std::cos(d.rotate_rad), s = std::sin(d.rotate_rad);
  const double sh[2][2] = {{1.0, d.shear_x}, {d.shear_y, 1.0}};
  const double sc[2][2] = {{d.scale_x, 0.0}, {0.0, d.scale_y}};
  double shsc[2][2], m[2][2];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) shsc[i][j] = sh[i][0] * sc[0][j] + sh[i][1] * sc[1][j];
  const double rot[2][2] = {{c, -s}, {s, c}};
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) m[i][j] = rot[i][0] * shsc[0][j] + rot[i][1] * shsc[1][j];
  return normalised_theta(m, d.translate_x, d.translate_y, h, w);
}

AugmentDraw draw_augmentation(const AugmentOptions& o, CaseRng& rng) {
  AugmentDraw d;
  // Every parameter is drawn whether or not its transform fires, so the stream stays aligned.
  d.affine = rng.bernoulli(o.affine_p);
  d.rotate_rad = rng.uniform(-o.rotate_deg, o.rotate_deg) * kPi / 180.0;
  d.translate_x = rng.uniform(-o.translate_px, o.translate_px);
  d.translate_y = rng.uniform(-o.translate_px, o.translate_px);
  d.scale_x = 1.0 + rng.uniform(-o.scale, o.scale);
  d.scale_y = 1.0 + rng.uniform(-o.scale, o.scale);
  d.shear_x = rng.uniform(-o.shear, o.shear);
  d.shear_y = rng.uniform(-o.shear, o.shear);
  d.elastic = rng.bernoulli(o.elastic_p);
  d.sigma = rng.uniform(o.elastic_sigma_min, o.elastic_sigma_max);
  d.magnitude = rng.uniform(o.elastic_magnitude_min, o.elastic_magnitude_max);
  d.elastic_scale = 1.0 + rng.uniform(-o.elastic_scale, o.elastic_scale);
  d.noise = rng.bernoulli(o.noise_p);
  d.noise_std = rng.uniform(0.0, o.noise_std_max);
  d.contrast = rng.bernoulli(o.contrast_p);
  d.gamma = rng.uniform(o.gamma_min, o.gamma_max);
  if (o.flip_p > 0) d.flip = rng.bernoulli(o.flip_p);
  if (o.rot90_p > 0 && rng.bernoulli(o.rot90_p)) d.rot90 = 1 + static_cast<int>(rng.below(3));
  if (o.depth_flip_p > 0) d.depth_flip = rng.bernoulli(o.depth_flip_p);
  return d;
}

torch::Tensor apply_augmentation(const torch::Tensor& slices, const AugmentDraw& d, CaseRng& rng) {
  TORCH_CHECK(slices.dim() == 4 && slices.size(1) == 1, "apply_augmentation expects [V, 1, H, W]");
  torch::NoGradGuard no_grad;
  const int64_t v = slices.size(0), h = slices.size(2), w = slices.size(3);
  auto x = slices.to(torch::kFloat);
  if (!d.flip && d.rot90 == 0 && !d.depth_flip && !d.affine && !d.elastic && !(d.noise && d.noise_std > 0)) return x;
  if (d.flip) x = x.flip({3});
  if (d.rot90 != 0) {
    TORCH_CHECK(h == w, "apply_augmentation: rot90 needs square slices, got ", h, "x", w);
    x = torch::rot90(x, d.rot90, {2, 3});
  }
  if (d.depth_flip) x = x.flip({0});
  if (d.affine) {
    auto theta = affine_theta(d, h, w).unsqueeze(0).expand({v, 2, 3});
    auto grid = F::affine_grid(theta, {v, 1, h, w}, /*align_corners=*/false);
    x = F::grid_sample(x, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false));
  }
  if (d.elastic) {
    auto eye = torch::tensor({{d.elastic_scale, 0.0, 0.0}, {0.0, d.elastic_scale, 0.0}}, torch::kFloat).unsqueeze(0);
    auto grid = F::affine_grid(eye, {1, 1, h, w}, false);
    auto disp = elastic_displacement(h, w, d.sigma, d.magnitude, rng);
    auto scale = torch::tensor({2.0 / static_cast<double>(w), 2.0 / static_cast<double>(h)}, torch::kFloat);
    grid = (grid + disp * scale).expand({v, h, w, 2});
    x = F::grid_sample(x, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
  }
  if (d.noise && d.noise_std > 0) x = x + torch::randn(x.sizes(), rng.generator(), torch::kFloat) * d.noise_std;
  return x;
}

namespace {
torch::Tensor adjust_contrast(const torch::Tensor& x, double gamma, double mn, double mx) {
  const double range = mx - mn;
  return ((x - mn) / (range + 1e-7)).clamp_min(0).pow(gamma) * range + mn;
}
}  // namespace

void augment_case(CaseTensors& c, const AugmentOptions& o, CaseRng& rng) {
  if (!o.enabled) return;
  TORCH_CHECK(c.images.dim() == 5 && c.images.size(1) == 1, "augment_case expects images [N, 1, S, S, D]");
  TORCH_CHECK(c.marks.dim() == 2 && c.marks.size(0) == c.images.size(0) && c.marks.size(1) == c.images.size(4),
              "augment_case: marks must be [N, D]");
  torch::NoGradGuard no_grad;
  const int64_t n = c.images.size(0);
  auto marks = c.marks.to(torch::kCPU);
  auto fires = [](const AugmentDraw& d) {
    return d.flip || d.rot90 != 0 || d.depth_flip || d.affine || d.elastic || d.noise || d.contrast;
  };
  // Draw first (the stream order is fixed: the case draw, then one per occupied slot when per scan);
  // most cases draw nothing (0.85^4 = 52% with the defaults) and are returned without any copy.
  const AugmentDraw case_draw = draw_augmentation(o, rng);
  struct Scan {
    int64_t slot;
    torch::Tensor idx;      // valid slice positions
    torch::Tensor slices;   // [V, 1, S, S]
    AugmentDraw draw;
  };
  std::vector<Scan> scans;
  bool any = !o.draw_per_scan && fires(case_draw);
  for (int64_t s = 0; s < n; ++s) {
    auto idx = torch::nonzero(marks[s] != 0).view({-1});
    if (idx.numel() == 0) continue;
    AugmentDraw d = o.draw_per_scan ? draw_augmentation(o, rng) : case_draw;
    if (!fires(d)) continue;
    any = true;
    scans.push_back({s, idx, {}, d});
  }
  if (!any || scans.empty()) return;
  auto images = c.images.clone();  // the source may share its tensors (caches): never write into them
  for (auto& sc : scans) {
    auto slices = images[sc.slot][0].index_select(2, sc.idx).permute({2, 0, 1}).unsqueeze(1);  // [V, 1, S, S]
    sc.slices = apply_augmentation(slices, sc.draw, rng);
  }
  // Contrast: min/max over the valid voxels of what was drawn together (the case, or each scan).
  if (o.draw_per_scan) {
    for (auto& sc : scans)
      if (sc.draw.contrast)
        sc.slices = adjust_contrast(sc.slices, sc.draw.gamma, sc.slices.min().item<double>(), sc.slices.max().item<double>());
  } else if (case_draw.contrast) {
    double mn = INFINITY, mx = -INFINITY;
    for (auto& sc : scans) {
      mn = std::min(mn, sc.slices.min().item<double>());
      mx = std::max(mx, sc.slices.max().item<double>());
    }
    for (auto& sc : scans) sc.slices = adjust_contrast(sc.slices, case_draw.gamma, mn, mx);
  }
  for (auto& sc : scans) {
    auto vol = images[sc.slot][0];
    vol.index_copy_(2, sc.idx, sc.slices.squeeze(1).permute({1, 2, 0}).to(vol.dtype()));
  }
  c.images = images;
}

nlohmann::json AugmentOptions::to_json() const {
  nlohmann::json j = {{"enabled", enabled},
          {"draw_per_scan", draw_per_scan},
          {"affine_p", affine_p},
          {"rotate_deg", rotate_deg},
          {"translate_px", translate_px},
          {"scale", scale},
          {"shear", shear},
          {"elastic_p", elastic_p},
          {"elastic_sigma_min", elastic_sigma_min},
          {"elastic_sigma_max", elastic_sigma_max},
          {"elastic_magnitude_min", elastic_magnitude_min},
          {"elastic_magnitude_max", elastic_magnitude_max},
          {"elastic_scale", elastic_scale},
          {"noise_p", noise_p},
          {"noise_std_max", noise_std_max},
          {"contrast_p", contrast_p},
          {"gamma_min", gamma_min},
          {"gamma_max", gamma_max},
          {"flip_p", flip_p},
          {"rot90_p", rot90_p},
          {"depth_flip_p", depth_flip_p}};
  if (!random_subsets.empty()) j["random_subsets"] = random_subsets;   // absent: files as before the option
  return j;
}

AugmentOptions AugmentOptions::from_json(const nlohmann::json& j) {
  AugmentOptions o;
  const JsonOptionsReader r(j, "augment options", "", "AugmentOptions",
                            {"enabled", "draw_per_scan", "affine_p", "rotate_deg", "translate_px", "scale", "shear",
                             "elastic_p", "elastic_sigma_min", "elastic_sigma_max", "elastic_magnitude_min",
                             "elastic_magnitude_max", "elastic_scale", "noise_p", "noise_std_max", "contrast_p",
                             "gamma_min", "gamma_max", "flip_p", "rot90_p", "depth_flip_p", "random_subsets"});
  r.read("enabled", o.enabled);
  r.read("draw_per_scan", o.draw_per_scan);
  r.read("affine_p", o.affine_p);
  r.read("rotate_deg", o.rotate_deg);
  r.read("translate_px", o.translate_px);
  r.read("scale", o.scale);
  r.read("shear", o.shear);
  r.read("elastic_p", o.elastic_p);
  r.read("elastic_sigma_min", o.elastic_sigma_min);
  r.read("elastic_sigma_max", o.elastic_sigma_max);
  r.read("elastic_magnitude_min", o.elastic_magnitude_min);
  r.read("elastic_magnitude_max", o.elastic_magnitude_max);
  r.read("elastic_scale", o.elastic_scale);
  r.read("noise_p", o.noise_p);
  r.read("noise_std_max", o.noise_std_max);
  r.read("contrast_p", o.contrast_p);
  r.read("gamma_min", o.gamma_min);
  r.read("gamma_max", o.gamma_max);
  r.read("flip_p", o.flip_p);
  r.read("rot90_p", o.rot90_p);
  r.read("depth_flip_p", o.depth_flip_p);
  r.read("random_subsets", o.random_subsets);
  o.validate();
  return o;
}

void AugmentOptions::validate() const {
  for (auto [k, p] : {std::pair<const char*, double>{"affine_p", affine_p}, {"elastic_p", elastic_p}, {"noise_p", noise_p},
                      {"contrast_p", contrast_p}, {"flip_p", flip_p},
                      {"rot90_p", rot90_p}, {"depth_flip_p", depth_flip_p}})
    check_range(p >= 0 && p <= 1, k, "probability must be in [0, 1]");
  check_range(rotate_deg >= 0 && translate_px >= 0 && shear >= 0, "rotate_deg/translate_px/shear", "must be >= 0");
  check_range(scale >= 0 && scale < 1, "scale", "must be in [0, 1)");
  check_range(elastic_scale >= 0 && elastic_scale < 1, "elastic_scale", "must be in [0, 1)");
  check_range(elastic_sigma_min > 0 && elastic_sigma_max >= elastic_sigma_min && elastic_sigma_max <= 64, "elastic_sigma",
              "need 0 < min <= max <= 64");
  check_range(elastic_magnitude_min >= 0 && elastic_magnitude_max >= elastic_magnitude_min, "elastic_magnitude",
              "need 0 <= min <= max");
  check_range(noise_std_max >= 0, "noise_std_max", "must be >= 0");
  check_range(gamma_min > 0 && gamma_max >= gamma_min, "gamma", "need 0 < min <= max");
}

}  // namespace raddiag::data
