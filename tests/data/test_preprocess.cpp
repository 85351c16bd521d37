// Preprocessing rules beyond the parity fixture: caps, ids by position, random choices under a seed,
// key re-draws, constant blocks, opt-in normalisations, the single-image path and option round trips.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "data/preprocess.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::data;

namespace {

// Scans made up from their path: "name:H:W:D:base[:const]" -> voxel (h, w, k) = base + h + 2w + 3k.
io::Scan fake_scan(const ImageRef& ref) {
  std::vector<std::string> f;
  std::string cur;
  for (char ch : ref.path + ":") {
    if (ch == ':') { f.push_back(cur); cur.clear(); } else cur.push_back(ch);
  }
  io::Scan s;
  s.dims = {std::stoll(f[1]), std::stoll(f[2]), std::stoll(f[3])};
  const float base = std::stof(f[4]);
  const bool constant = f.size() > 5 && f[5] == "const";
  s.voxels.resize(static_cast<std::size_t>(s.numel()));
  for (int64_t k = 0; k < s.dims[2]; ++k)
    for (int64_t w = 0; w < s.dims[1]; ++w)
      for (int64_t h = 0; h < s.dims[0]; ++h)
        s.voxels[static_cast<std::size_t>(h + s.dims[0] * (w + s.dims[1] * k))] = constant ? base : base + h + 2 * w + 3 * k;
  s.source.path = ref.path;
  return s;
}

Sample sample(const std::string& modality, const std::vector<std::string>& paths, std::vector<std::string> labels = {}) {
  Sample s;
  s.modality = modality;
  for (const auto& p : paths) s.images.push_back({p, "", 0, ""});
  s.articles = std::move(labels);
  return s;
}

PreprocessOptions small() {
  PreprocessOptions o;
  o.size = 8;
  o.depth = 4;
  o.n_image = 4;
  return o;
}

std::vector<int64_t> vec(const torch::Tensor& t) {
  auto c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

}  // namespace

TEST(Preprocess, CapsAndIdsByPosition) {
  Case c;
  c.id = "caps";
  c.samples.push_back(sample("CT", {"a:8:8:2:0", "b:8:8:2:0", "c:8:8:2:0", "d:8:8:2:0", "e:8:8:2:0"}));
  c.samples.push_back(sample("X-ray", {"f:8:8:3:0", "g:8:8:3:0", "h:8:8:3:0"}));
  auto o = small();
  o.n_image = 6;
  std::mt19937_64 rng(1);
  PreprocessReport r;
  const auto t = make_case_tensors(c, nullptr, o, rng, fake_scan, nullptr, &r);
  EXPECT_EQ(vec(t.mods), (std::vector<int64_t>{1, 2, 3, 7, 8, 0}));
  EXPECT_EQ(vec(t.keys), (std::vector<int64_t>{0, 0, 0, 0, 0, -1}));
  EXPECT_EQ(vec(t.marks.sum(1)), (std::vector<int64_t>{2, 2, 2, 3, 3, 0}));
  EXPECT_FALSE(t.labels.defined());
  // n_image = 4 truncates the second sample to one slot.
  o.n_image = 4;
  const auto t4 = make_case_tensors(c, nullptr, o, rng, fake_scan);
  EXPECT_EQ(vec(t4.mods), (std::vector<int64_t>{1, 2, 3, 7}));
}

TEST(Preprocess, UnknownModalityNamesTheCase) {
  Case c;
  c.id = "https://example/case-x";
  c.samples.push_back(sample("CT", {"a:8:8:2:0"}));
  c.samples.push_back(sample("Thermography", {"b:8:8:2:0"}));
  std::mt19937_64 rng(1);
  try {
    make_case_tensors(c, nullptr, small(), rng, fake_scan);
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("case-x"), std::string::npos) << m;
    EXPECT_NE(m.find("Thermography"), std::string::npos) << m;
  }
  // Common aliases are understood.
  c.samples[1].modality = "US";
  const auto t = make_case_tensors(c, nullptr, small(), rng, fake_scan);
  EXPECT_EQ(vec(t.mods), (std::vector<int64_t>{1, 9, 0, 0}));
}

TEST(Preprocess, OtherModalityPickIsSeededOrDeterministic) {
  Case c;
  c.id = "us";
  c.samples.push_back(sample("Ultrasound", {"a:8:8:1:0", "b:8:8:1:100", "c:8:8:1:200", "d:8:8:1:300"}));
  auto o = small();
  o.normalization = Normalization::kPerScan;
  std::set<std::string> picked;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    std::mt19937_64 r1(seed), r2(seed);
    PreprocessReport a, b;
    make_case_tensors(c, nullptr, o, r1, fake_scan, nullptr, &a);
    make_case_tensors(c, nullptr, o, r2, fake_scan, nullptr, &b);
    ASSERT_EQ(a.slots.size(), 1u);
    EXPECT_EQ(a.slots[0].path, b.slots[0].path);   // same seed, same pick
    picked.insert(a.slots[0].path);
  }
  EXPECT_EQ(picked.size(), 4u);   // every image can be drawn
  o.other_pick = ImagePick::kFirst;
  std::mt19937_64 rng(9);
  PreprocessReport r;
  const auto t = make_case_tensors(c, nullptr, o, rng, fake_scan, nullptr, &r);
  EXPECT_EQ(r.slots[0].path, "a:8:8:1:0");
  EXPECT_EQ(vec(t.mods), (std::vector<int64_t>{9, 0, 0, 0}));
  EXPECT_EQ(t.marks[0].sum().item<int64_t>(), 3);   // 2D replicated to 3 slices like RP3D's 2D arrays
}

TEST(Preprocess, ShuffleIsSeededAndLabelsComeFromFirstVisitedSample) {
  Case c;
  c.id = "shuffle";
  c.samples.push_back(sample("CT", {"a:8:8:2:0"}, {"A"}));
  c.samples.push_back(sample("MRI", {"b:8:8:2:0"}, {"B"}));
  c.samples.push_back(sample("X-ray", {"c:8:8:3:0"}, {"C", "unknown"}));
  LabelVocabulary vocab({"A", "B", "C"});
  auto o = small();
  o.visit_order = VisitOrder::kShuffle;
  std::set<std::vector<std::size_t>> orders;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    std::mt19937_64 r1(seed), r2(seed);
    PreprocessReport a, b;
    const auto t = make_case_tensors(c, &vocab, o, r1, fake_scan, nullptr, &a);
    make_case_tensors(c, &vocab, o, r2, fake_scan, nullptr, &b);
    EXPECT_EQ(a.visit_order, b.visit_order);
    orders.insert(a.visit_order);
    // Official: labels of the first visited sample only.
    const std::size_t first = a.visit_order[0];
    for (int64_t k = 0; k < 3; ++k) EXPECT_EQ(t.labels[k].item<float>(), k == static_cast<int64_t>(first) ? 1.f : 0.f);
    EXPECT_EQ(a.dropped.total, first == 2 ? 1 : 0);
  }
  EXPECT_EQ(orders.size(), 6u);
}

TEST(Preprocess, KeyOutsideArrayIsRedrawnUnderTheSeed) {
  Case c;
  c.id = "key";
  c.samples.push_back(sample("CT", {"a:8:8:3:0"}));
  c.samples[0].images[0].key = 10;
  std::set<int64_t> keys;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    std::mt19937_64 r1(seed), r2(seed);
    PreprocessReport rep;
    const auto t1 = make_case_tensors(c, nullptr, small(), r1, fake_scan, nullptr, &rep);
    const auto t2 = make_case_tensors(c, nullptr, small(), r2, fake_scan);
    EXPECT_TRUE(rep.slots[0].key_redrawn);
    const int64_t k = t1.keys[0].item<int64_t>();
    EXPECT_EQ(k, t2.keys[0].item<int64_t>());
    EXPECT_GE(k, 0);
    EXPECT_LT(k, 3);
    keys.insert(k);
  }
  EXPECT_EQ(keys.size(), 3u);
}

TEST(Preprocess, ConstantBlockZerosByDefaultRandnOptIn) {
  Case c;
  c.id = "const";
  c.samples.push_back(sample("CT", {"a:8:8:4:5:const"}));
  std::mt19937_64 rng(1);
  PreprocessReport r;
  auto t = make_case_tensors(c, nullptr, small(), rng, fake_scan, nullptr, &r);
  EXPECT_EQ(t.images.abs().sum().item<float>(), 0.f);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("constant"), std::string::npos);
  auto o = small();
  o.constant_block = ConstantBlock::kRandn;
  std::mt19937_64 r1(3), r2(3);
  const auto a = make_case_tensors(c, nullptr, o, r1, fake_scan);
  const auto b = make_case_tensors(c, nullptr, o, r2, fake_scan);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_FLOAT_EQ(a.images[0].min().item<float>(), 0.f);
  EXPECT_FLOAT_EQ(a.images[0].max().item<float>(), 1.f);
}

TEST(Preprocess, PerScanAndCtWindowNormalisation) {
  Case c;
  c.id = "norm";
  c.samples.push_back(sample("CT", {"a:8:8:2:-1000", "b:8:8:4:500"}));
  auto o = small();
  o.normalization = Normalization::kPerScan;
  std::mt19937_64 rng(1);
  auto t = make_case_tensors(c, nullptr, o, rng, fake_scan);
  for (int n = 0; n < 2; ++n) {
    const int64_t d = n == 0 ? 2 : 4;
    auto valid = t.images[n][0].narrow(2, 0, d);
    EXPECT_FLOAT_EQ(valid.min().item<float>(), 0.f);
    EXPECT_FLOAT_EQ(valid.max().item<float>(), 1.f);
  }
  EXPECT_EQ(t.images[0][0].narrow(2, 2, 2).abs().sum().item<float>(), 0.f);   // padding stays 0
  // Lung window -600/1500: [-1350, 150] -> [0, 1]. Voxel (0,0,0) of a = -1000 -> 350/1500.
  o.ct_window = "lung";
  t = make_case_tensors(c, nullptr, o, rng, fake_scan);
  EXPECT_FLOAT_EQ(t.images[0][0][0][0][0].item<float>(), 350.f / 1500.f);
  EXPECT_FLOAT_EQ(t.images[1][0][0][0][0].item<float>(), 1.f);   // 500 HU clipped at the top
  EXPECT_EQ(parse_ct_window("40/400").width, 400);
  EXPECT_THROW(parse_ct_window("liver"), Error);
  // A JPEG export of a CT slice holds display values (already windowed): min-max, not the window.
  const auto jpeg_scan = [](const ImageRef& ref) {
    io::Scan s = fake_scan(ref);
    s.source.format = "jpeg";
    return s;
  };
  Case j;
  j.id = "jpeg-ct";
  j.samples.push_back(sample("CT", {"a:8:8:1:10"}));
  t = make_case_tensors(j, nullptr, o, rng, jpeg_scan);
  EXPECT_FLOAT_EQ(t.images[0][0][0][0][0].item<float>(), 0.f);
  EXPECT_FLOAT_EQ(t.images[0][0][7][7][0].item<float>(), 1.f);
  const auto single = preprocess_single_scan(jpeg_scan({"a:8:8:1:10", "", 0, ""}), 0, false, o, rng);
  EXPECT_FLOAT_EQ(single.image[0][7][7][0].item<float>(), 1.f);
  EXPECT_FLOAT_EQ(single.image[0][0][0][0].item<float>(), 0.f);
}

TEST(Preprocess, OptionsRoundTripThroughJson) {
  PreprocessOptions o;
  o.size = 128;
  o.depth = 16;
  o.n_image = 6;
  o.level = LabelLevel::kIcd10s;
  o.visit_order = VisitOrder::kShuffle;
  o.normalization = Normalization::kPerScan;
  o.ct_window = "bone";
  o.other_pick = ImagePick::kFirst;
  o.constant_block = ConstantBlock::kRandn;
  o.resample_nonconforming = false;
  o.caps["X-ray"] = 1;
  const auto back = PreprocessOptions::from_json(o.to_json());
  EXPECT_EQ(back.to_json(), o.to_json());
  EXPECT_EQ(back.caps.at("X-ray"), 1);
  EXPECT_EQ(PreprocessOptions::from_json(nlohmann::json::object()).to_json(), PreprocessOptions().to_json());
  EXPECT_THROW(PreprocessOptions::from_json({{"normalization", "zscore"}}), Error);
  EXPECT_THROW(PreprocessOptions::from_json({{"caps", {{"CT", 4}}}}), Error);   // CT has 3 ids
}

TEST(Preprocess, SingleImagePathKeepsOneChannelAndNormalisesImageOnly) {
  auto o = small();
  std::mt19937_64 rng(1);
  // An RP3D 2D image: 3 identical channels -> 1 slice.
  io::Scan s = fake_scan({"a:8:8:1:10", "", 0, ""});
  s.voxels.resize(64 * 3);
  s.dims[2] = 3;
  for (int k = 1; k < 3; ++k) std::copy(s.voxels.begin(), s.voxels.begin() + 64, s.voxels.begin() + 64 * k);
  auto one = preprocess_single_scan(s, 0, false, o, rng);
  EXPECT_EQ(one.marks.sum().item<int64_t>(), 1);
  EXPECT_FLOAT_EQ(one.image.min().item<float>(), 0.f);   // min over the image only: 10 -> 0
  EXPECT_FLOAT_EQ(one.image[0][0][0][0].item<float>(), 0.f);
  EXPECT_FLOAT_EQ(one.image[0][7][7][0].item<float>(), 1.f);
  // Dim 3D: only the key slice; key becomes 0.
  const io::Scan v = fake_scan({"v:8:8:4:0", "", 0, ""});
  auto ks = preprocess_single_scan(v, 2, true, o, rng);
  EXPECT_EQ(ks.marks.sum().item<int64_t>(), 1);
  EXPECT_EQ(ks.key, 0);
  // Deeper than depth and not at size: resized and subsampled; marks = depth.
  const io::Scan big = fake_scan({"b:16:12:9:0", "", 0, ""});
  auto rs = preprocess_single_scan(big, 8, false, o, rng);
  EXPECT_EQ(rs.image.sizes(), (std::vector<int64_t>{1, 8, 8, 4}));
  EXPECT_EQ(rs.marks.sum().item<int64_t>(), 4);
  EXPECT_GE(rs.key, 0);
  EXPECT_LE(rs.key, 4);   // official: key > d' re-drawn (strict), not remapped
  // The case-level function.
  Case c;
  c.id = "late";
  c.samples.push_back(sample("CT", {"a:8:8:3:0", "b:8:8:3:0"}, {"A"}));
  LabelVocabulary vocab({"A"});
  o.single_pick = ImagePick::kFirst;
  const auto t = make_single_image_tensors(c, &vocab, o, rng, fake_scan);
  EXPECT_EQ(t.images.sizes(), (std::vector<int64_t>{1, 1, 8, 8, 4}));
  EXPECT_EQ(t.mods[0].item<int64_t>(), 0);
  EXPECT_EQ(t.labels[0].item<float>(), 1.f);
}

TEST(Preprocess, DrawOrderedSubsetIsUniformAndOrdered) {
  std::mt19937_64 rng(3);
  std::map<std::vector<int64_t>, int> seen;
  const int rounds = 2000;
  for (int i = 0; i < rounds; ++i) {
    const auto s = draw_ordered_subset(rng, 5, 2);
    ASSERT_EQ(s.size(), 2u);
    ASSERT_LT(s[0], s[1]);
    ASSERT_GE(s[0], 0);
    ASSERT_LT(s[1], 5);
    ++seen[s];
  }
  ASSERT_EQ(seen.size(), 10u);   // 5 choose 2
  for (const auto& [s, n] : seen) {   // expected 200 each; 5 standard deviations is about +-67
    EXPECT_GT(n, 130) << s[0] << "," << s[1];
    EXPECT_LT(n, 270) << s[0] << "," << s[1];
  }
  EXPECT_EQ(draw_ordered_subset(rng, 4, 4), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_TRUE(draw_ordered_subset(rng, 4, 0).empty());
  EXPECT_THROW(draw_ordered_subset(rng, 2, 3), Error);
}

TEST(Preprocess, RandomSubsetsFillTheCappedSlotsWithAnyOrderedSubset) {
  const std::vector<std::string> films = {"pa:8:8:1:0", "lat:8:8:1:40", "ap:8:8:1:80", "late:8:8:1:120"};
  Case c;
  c.id = "films";
  c.samples.push_back(sample("X-ray", films));
  auto o = small();
  o.random_subsets = {"X-ray"};
  std::set<std::vector<std::size_t>> subsets;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    std::mt19937_64 r1(seed), r2(seed);
    PreprocessReport a, b;
    const auto t = make_case_tensors(c, nullptr, o, r1, fake_scan, nullptr, &a);
    make_case_tensors(c, nullptr, o, r2, fake_scan, nullptr, &b);
    ASSERT_EQ(a.slots.size(), 2u);   // the X-ray cap
    const std::vector<std::size_t> picked = {a.slots[0].image, a.slots[1].image};
    EXPECT_EQ(picked, (std::vector<std::size_t>{b.slots[0].image, b.slots[1].image}));   // same seed, same films
    EXPECT_LT(picked[0], picked[1]);   // in the sample's order
    subsets.insert(picked);
    // The drawn films take the positions (ids) of the first two, and the slots hold exactly what the
    // first-two path makes of a sample of those two films.
    EXPECT_EQ(vec(t.mods), (std::vector<int64_t>{7, 8, 0, 0}));
    Case two;
    two.id = "two";
    two.samples.push_back(sample("X-ray", {films[picked[0]], films[picked[1]]}));
    std::mt19937_64 r3(seed);
    const auto expect = make_case_tensors(two, nullptr, small(), r3, fake_scan);
    EXPECT_TRUE(torch::equal(t.images, expect.images)) << "seed " << seed;
  }
  EXPECT_EQ(subsets.size(), 6u);   // every 2 of 4 films is drawn
}

TEST(Preprocess, RandomSubsetsDrawNothingUnlessASampleHasMoreThanItsCap) {
  Case c;
  c.id = "cap";
  c.samples.push_back(sample("X-ray", {"a:8:8:1:0", "b:8:8:1:40", "c:8:8:1:80"}));
  c.samples.push_back(sample("MRI", {"m:8:8:2:0", "n:8:8:2:5"}));
  auto o = small();
  // Without the option the first two films, and no draw from the generator.
  std::mt19937_64 rng(5), fresh(5);
  PreprocessReport r;
  make_case_tensors(c, nullptr, o, rng, fake_scan, nullptr, &r);
  ASSERT_EQ(r.slots.size(), 4u);
  EXPECT_EQ(r.slots[0].image, 0u);
  EXPECT_EQ(r.slots[1].image, 1u);
  EXPECT_EQ(rng(), fresh());
  // MRI listed, but its sample holds 2 images under a cap of 3: taken whole, nothing drawn either.
  o.random_subsets = {"MRI"};
  std::mt19937_64 rng2(5), fresh2(5);
  const auto t = make_case_tensors(c, nullptr, o, rng2, fake_scan);
  EXPECT_EQ(rng2(), fresh2());
  EXPECT_EQ(vec(t.mods), (std::vector<int64_t>{7, 8, 4, 5}));
}

TEST(Preprocess, RandomSubsetsNameCappedModalitiesAndRoundTrip) {
  PreprocessOptions o;
  EXPECT_FALSE(o.to_json().contains("random_subsets"));   // files as before the option
  o.random_subsets = {"X-ray", "MRI"};
  const auto back = PreprocessOptions::from_json(o.to_json());
  EXPECT_EQ(back.random_subsets, o.random_subsets);
  try {
    PreprocessOptions::from_json({{"random_subsets", {"Ultrasound"}}});
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("random_subsets"), std::string::npos) << m;
    EXPECT_NE(m.find("Ultrasound"), std::string::npos) << m;
  }
}
