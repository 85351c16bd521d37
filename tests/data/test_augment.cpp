#include <gtest/gtest.h>

#include <cmath>

#include "../train/train_test_support.h"
#include "data/augment.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::data;

namespace {
CaseTensors make_case(int64_t size = 16, int64_t depth = 5) {
  test::RandomCaseSource src;
  src.side = size;
  src.depth = depth;
  src.use_rng = false;
  CaseRng rng(1);
  return src.get(3, rng);
}
AugmentOptions only(const std::string& which) {
  AugmentOptions o;
  o.affine_p = which == "affine";
  o.elastic_p = which == "elastic";
  o.noise_p = which == "noise";
  o.contrast_p = which == "contrast";
  return o;
}
}  // namespace

TEST(Augment, OptionsRoundTripAndValidate) {
  AugmentOptions o;
  EXPECT_DOUBLE_EQ(o.affine_p, 0.15);
  EXPECT_DOUBLE_EQ(o.noise_std_max, 0.07);
  o.rotate_deg = 7;
  o.draw_per_scan = true;
  const auto back = AugmentOptions::from_json(nlohmann::json::parse(o.to_json().dump()));
  EXPECT_EQ(back.to_json(), o.to_json());
  EXPECT_DOUBLE_EQ(AugmentOptions::from_json({{"gamma_max", 2.0}}).gamma_max, 2.0);
  EXPECT_THROW(AugmentOptions::from_json({{"rotation", 3}}), Error);
  EXPECT_THROW(AugmentOptions::from_json({{"noise_p", 1.5}}), Error);
  EXPECT_THROW(AugmentOptions::from_json({{"gamma_min", 2.0}, {"gamma_max", 1.0}}), Error);
  EXPECT_THROW(AugmentOptions::from_json({{"enabled", 1}}), Error);
}

TEST(Augment, NothingFiresMeansIdentity) {
  auto c = make_case();
  auto before = c.images.clone();
  AugmentOptions o = only("");
  CaseRng rng(5);
  augment_case(c, o, rng);
  EXPECT_TRUE(torch::equal(c.images, before));
}

TEST(Augment, PaddingAndEmptySlotsStayZero) {
  for (const char* which : {"affine", "elastic", "noise", "contrast"}) {
    auto c = make_case();
    auto before = c.images.clone();
    AugmentOptions o = only(which);
    o.gamma_min = o.gamma_max = 2.0;
    CaseRng rng(11);
    augment_case(c, o, rng);
    using torch::indexing::Slice;
    // Slot 0 has slices [0, 4) valid and slice 4 padding; slot 1 is empty.
    EXPECT_EQ(c.images.index({0, Slice(), Slice(), Slice(), 4}).abs().max().item<float>(), 0.f) << which;
    EXPECT_EQ(c.images[1].abs().max().item<float>(), 0.f) << which;
    EXPECT_FALSE(torch::equal(c.images, before)) << which;
  }
}

TEST(Augment, AffineTranslationShiftsPixels) {
  const int64_t s = 12;
  auto img = torch::rand({2, 1, s, s});
  AugmentDraw d;
  d.affine = true;
  d.translate_x = 3;  // output(x) = input(x + 3): the output->input map adds the translation
  d.translate_y = -2;
  CaseRng rng(1);
  auto out = apply_augmentation(img, d, rng);
  for (int64_t y = 0; y < s; ++y)
    for (int64_t x = 0; x < s; ++x) {
      const int64_t xi = x + 3, yi = y - 2;
      const float expect = (xi >= 0 && xi < s && yi >= 0 && yi < s) ? img[1][0][yi][xi].item<float>() : 0.f;
      ASSERT_NEAR(out[1][0][y][x].item<float>(), expect, 1e-5) << y << "," << x;
    }
}

TEST(Augment, AffineRotationByQuarterTurnAboutTheCentre) {
  const int64_t s = 9;
  auto img = torch::rand({1, 1, s, s});
  AugmentDraw d;
  d.affine = true;
  d.rotate_rad = M_PI / 2;
  CaseRng rng(1);
  auto out = apply_augmentation(img, d, rng);
  // Centred pixel coordinates, input = R(90°) * output: xi = -yo, yi = xo.
  const double c = (s - 1) / 2.0;
  for (int64_t yo = 0; yo < s; ++yo)
    for (int64_t xo = 0; xo < s; ++xo) {
      const int64_t xi = std::lround(c - (yo - c)), yi = std::lround(c + (xo - c));
      ASSERT_NEAR(out[0][0][yo][xo].item<float>(), img[0][0][yi][xi].item<float>(), 1e-5);
    }
}

TEST(Augment, AffineThetaComposesRotationShearScale) {
  AugmentDraw d;
  d.rotate_rad = 0.3;
  d.scale_x = 1.1;
  d.scale_y = 0.9;
  d.shear_x = 0.2;
  d.shear_y = -0.1;
  d.translate_x = 4;
  d.translate_y = 2;
  auto t = affine_theta(d, 20, 20);
  // Independent: R * [[1, shx], [shy, 1]] * diag(sx, sy); translation 2*t/S.
  auto R = torch::tensor({{std::cos(0.3), -std::sin(0.3)}, {std::sin(0.3), std::cos(0.3)}}, torch::kDouble);
  auto Sh = torch::tensor({{1.0, 0.2}, {-0.1, 1.0}}, torch::kDouble);
  auto Sc = torch::tensor({{1.1, 0.0}, {0.0, 0.9}}, torch::kDouble);
  auto M = R.matmul(Sh).matmul(Sc).to(torch::kFloat);
  EXPECT_TRUE(torch::allclose(t.slice(1, 0, 2), M, 1e-6, 1e-6));
  EXPECT_NEAR(t[0][2].item<float>(), 0.4f, 1e-6);
  EXPECT_NEAR(t[1][2].item<float>(), 0.2f, 1e-6);
}

TEST(Augment, ElasticWithoutMagnitudeIsIdentityAndOtherwiseSmooth) {
  auto img = torch::rand({3, 1, 32, 32});
  AugmentDraw d;
  d.elastic = true;
  d.sigma = 5;
  d.magnitude = 0;
  CaseRng rng(2);
  EXPECT_TRUE(torch::allclose(apply_augmentation(img, d, rng), img, 1e-5, 1e-5));
  // On a ramp along x the output is x + dx(x, y): the displacement itself. U(-1, 1) offsets (std
  // 1/sqrt(3)) smoothed by a normalised 2D Gaussian have std sqrt(1/3) * sum(k1d^2) ~= 0.577 / (2 sqrt(pi)
  // sigma); times the magnitude. Checked away from the borders (zero padding of the smoothing).
  const int64_t s = 96;
  auto ramp = torch::arange(s, torch::kFloat).view({1, 1, 1, s}).expand({3, 1, s, s}).contiguous();
  d.sigma = 5;
  d.magnitude = 30;
  auto out = apply_augmentation(ramp, d, rng);
  EXPECT_TRUE(torch::allclose(out[0], out[2]));  // one field for every slice of the scan
  using torch::indexing::Slice;
  auto dx = (out - ramp).index({0, 0, Slice(24, 72), Slice(24, 72)});
  const double expect_std = std::sqrt(1.0 / 3.0) / (2.0 * std::sqrt(M_PI) * 5.0) * 30.0;  // ~0.98 px
  EXPECT_GT(dx.std().item<double>(), 0.4 * expect_std);
  EXPECT_LT(dx.std().item<double>(), 2.0 * expect_std);
  // Smooth: neighbouring displacements differ far less than the displacement itself.
  auto step = (dx.slice(1, 1) - dx.slice(1, 0, -1)).abs().mean().item<double>();
  EXPECT_LT(step, 0.3 * dx.abs().mean().item<double>());
}

TEST(Augment, NoiseHasTheDrawnStandardDeviation) {
  auto img = torch::zeros({4, 1, 64, 64});
  AugmentDraw d;
  d.noise = true;
  d.noise_std = 0.05;
  CaseRng rng(3);
  auto out = apply_augmentation(img, d, rng);
  EXPECT_NEAR(out.std().item<double>(), 0.05, 0.002);
  EXPECT_NEAR(out.mean().item<double>(), 0.0, 0.002);
}

TEST(Augment, ContrastFollowsTheReferenceFormulaOverValidVoxels) {
  auto c = make_case();
  auto before = c.images.clone();
  AugmentOptions o = only("contrast");
  o.gamma_min = o.gamma_max = 1.7;
  CaseRng rng(4);
  augment_case(c, o, rng);
  using torch::indexing::Slice;
  auto valid = before.index({0, 0, Slice(), Slice(), Slice(0, 4)});
  const double mn = valid.min().item<double>(), mx = valid.max().item<double>();
  auto expect = ((valid.to(torch::kDouble) - mn) / (mx - mn + 1e-7)).pow(1.7) * (mx - mn) + mn;
  EXPECT_TRUE(torch::allclose(c.images.index({0, 0, Slice(), Slice(), Slice(0, 4)}).to(torch::kDouble), expect, 1e-5, 1e-6));
}

TEST(Augment, DeterministicPerGeneratorAndDrawnPerCase) {
  AugmentOptions o;
  o.affine_p = o.elastic_p = o.noise_p = o.contrast_p = 1.0;
  auto a = make_case(), b = make_case(), c = make_case();
  CaseRng r1(77), r2(77), r3(78);
  augment_case(a, o, r1);
  augment_case(b, o, r2);
  augment_case(c, o, r3);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_FALSE(torch::equal(a.images, c.images));
  // Probabilities: over many draws each transform fires ~15% of the time.
  AugmentOptions def;
  CaseRng r(5);
  int fired = 0;
  for (int i = 0; i < 4000; ++i) fired += draw_augmentation(def, r).affine;
  EXPECT_NEAR(fired / 4000.0, 0.15, 0.02);
}

TEST(Augment, FlipMirrorsTheWidthAxisOfValidSlicesOnly) {
  auto c = make_case();
  auto before = c.images.clone();
  AugmentOptions o = only("");
  o.flip_p = 1.0;
  CaseRng rng(6);
  augment_case(c, o, rng);
  using torch::indexing::Slice;
  // Slot 0: slices [0, 4) mirrored along width (dim 3 of [N, 1, H, W, D]), padding slice 4 and slot 1 zero.
  const auto valid = Slice(0, 4);
  EXPECT_TRUE(torch::equal(c.images.index({0, Slice(), Slice(), Slice(), valid}),
                           before.index({0, Slice(), Slice(), Slice(), valid}).flip({2})));
  EXPECT_EQ(c.images.index({0, Slice(), Slice(), Slice(), 4}).abs().max().item<float>(), 0.f);
  EXPECT_EQ(c.images[1].abs().max().item<float>(), 0.f);
  // Pixel check independent of flip(): column j holds what column W-1-j held.
  const int64_t w = before.size(3);
  for (int64_t j = 0; j < w; ++j)
    EXPECT_TRUE(torch::equal(c.images.index({0, 0, Slice(), j, 1}), before.index({0, 0, Slice(), w - 1 - j, 1})));
}

TEST(Augment, FlipFiresAtItsRateAndLeavesOtherStreamsAlone) {
  AugmentOptions o;
  o.flip_p = 0.5;
  CaseRng rng(7);
  int fired = 0;
  for (int i = 0; i < 2000; ++i) fired += draw_augmentation(o, rng).flip;
  EXPECT_NEAR(fired / 2000.0, 0.5, 0.05);
  // flip_p = 0 takes no draw, and flip_p > 0 takes exactly one, after every other parameter: the number
  // an off run draws next is the one an on run spent on its flip, and the other parameters agree.
  AugmentOptions off, on;
  on.flip_p = 0.3;
  int flips = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    CaseRng r_off(seed), r_on(seed);
    const auto a = draw_augmentation(off, r_off);
    const auto b = draw_augmentation(on, r_on);
    EXPECT_FALSE(a.flip);
    EXPECT_EQ(a.rotate_rad, b.rotate_rad);
    EXPECT_EQ(a.gamma, b.gamma);
    const double next_off = r_off.uniform01();
    EXPECT_EQ(b.flip, next_off < on.flip_p) << seed;
    EXPECT_EQ(r_on.uniform01(), r_off.uniform01()) << seed;  // both streams now stand at the same place
    flips += b.flip;
  }
  EXPECT_GT(flips, 0);
  EXPECT_LT(flips, 200);
  EXPECT_DOUBLE_EQ(AugmentOptions::from_json({{"flip_p", 0.25}}).flip_p, 0.25);
  EXPECT_THROW(AugmentOptions::from_json({{"flip_p", 1.5}}), Error);
  EXPECT_DOUBLE_EQ(AugmentOptions().flip_p, 0.0);
}

TEST(Augment, Rot90TurnsEverySliceByItsQuarterTurnsWithIndexMaps) {
  using torch::indexing::Slice;
  const auto before = make_case().images;
  const int64_t s = before.size(2);
  for (int k = 1; k <= 3; ++k) {
    AugmentDraw d;
    d.rot90 = k;
    CaseRng rng(1);
    // Slot 0's four valid slices as [V, 1, S, S].
    auto slices = before.index({0, 0, Slice(), Slice(), Slice(0, 4)}).permute({2, 0, 1}).unsqueeze(1);
    auto out = apply_augmentation(slices, d, rng);
    ASSERT_EQ(out.sizes(), slices.sizes());
    // Independent pixel maps (row i, column j of an S x S slice): one quarter turn takes (i, j) from
    // (j, S-1-i), two from (S-1-i, S-1-j), three from (S-1-j, i).
    auto in = slices.accessor<float, 4>();
    auto o = out.accessor<float, 4>();
    for (int64_t v = 0; v < 4; ++v)
      for (int64_t i = 0; i < s; ++i)
        for (int64_t j = 0; j < s; ++j) {
          const float want = k == 1 ? in[v][0][j][s - 1 - i] : k == 2 ? in[v][0][s - 1 - i][s - 1 - j] : in[v][0][s - 1 - j][i];
          ASSERT_EQ(o[v][0][i][j], want) << "k=" << k << " v=" << v << " i=" << i << " j=" << j;
        }
  }
}

TEST(Augment, DepthFlipReversesTheValidSlicesOnlyAndRot90KeepsPaddingZero) {
  using torch::indexing::Slice;
  auto c = make_case();
  const auto before = c.images.clone();
  AugmentOptions o = only("");
  o.depth_flip_p = 1.0;
  CaseRng rng(9);
  augment_case(c, o, rng);
  // Slot 0 has 4 valid slices of 5: slice t now holds what slice 3-t held; the padding slice and slot 1 stay zero.
  for (int64_t t = 0; t < 4; ++t)
    EXPECT_TRUE(torch::equal(c.images.index({0, 0, Slice(), Slice(), t}), before.index({0, 0, Slice(), Slice(), 3 - t})));
  EXPECT_EQ(c.images.index({0, Slice(), Slice(), Slice(), 4}).abs().max().item<float>(), 0.f);
  EXPECT_EQ(c.images[1].abs().max().item<float>(), 0.f);

  auto r = make_case();
  AugmentOptions ro = only("");
  ro.rot90_p = 1.0;
  CaseRng rng2(10);
  augment_case(r, ro, rng2);
  EXPECT_FALSE(torch::equal(r.images, before));
  EXPECT_EQ(r.images.index({0, Slice(), Slice(), Slice(), 4}).abs().max().item<float>(), 0.f);
  EXPECT_EQ(r.images[1].abs().max().item<float>(), 0.f);
  // A turn moves pixels, it does not change them: the valid voxels' sorted values are unchanged.
  auto sorted = [](const torch::Tensor& t) { return std::get<0>(t.flatten().sort()); };
  EXPECT_TRUE(torch::equal(sorted(r.images.index({0, Slice(), Slice(), Slice(), Slice(0, 4)})),
                           sorted(before.index({0, Slice(), Slice(), Slice(), Slice(0, 4)}))));
}

TEST(Augment, Rot90AndDepthFlipDrawOnlyWhenOnAndCoverEveryQuarterTurn) {
  AugmentOptions on;
  on.rot90_p = 0.75;
  on.depth_flip_p = 0.5;
  CaseRng rng(11);
  int turns[4] = {0, 0, 0, 0}, depth = 0;
  for (int i = 0; i < 4000; ++i) {
    const auto d = draw_augmentation(on, rng);
    ASSERT_GE(d.rot90, 0);
    ASSERT_LE(d.rot90, 3);
    ++turns[d.rot90];
    depth += d.depth_flip;
  }
  EXPECT_NEAR(turns[0] / 4000.0, 0.25, 0.03);
  for (int k = 1; k <= 3; ++k) EXPECT_NEAR(turns[k] / 4000.0, 0.25, 0.03) << k;
  EXPECT_NEAR(depth / 4000.0, 0.5, 0.03);
  // Their draws come after every other parameter's: the rest of the draw is the one without them, and
  // the first number an off run draws next is the one an on run spent on its rot90 Bernoulli.
  AugmentOptions off;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    CaseRng a(seed), b(seed);
    const auto da = draw_augmentation(off, a);
    const auto db = draw_augmentation(on, b);
    EXPECT_EQ(da.rot90, 0);
    EXPECT_FALSE(da.depth_flip);
    EXPECT_EQ(da.rotate_rad, db.rotate_rad);
    EXPECT_EQ(da.gamma, db.gamma);
    EXPECT_EQ(a.uniform01() < on.rot90_p, db.rot90 != 0) << seed;
  }
  const auto j = AugmentOptions::from_json({{"rot90_p", 0.5}, {"depth_flip_p", 0.25}});
  EXPECT_DOUBLE_EQ(j.rot90_p, 0.5);
  EXPECT_DOUBLE_EQ(j.depth_flip_p, 0.25);
  EXPECT_THROW(AugmentOptions::from_json({{"rot90_p", -0.1}}), Error);
  EXPECT_THROW(AugmentOptions::from_json({{"depth_flip_p", 2.0}}), Error);
}
