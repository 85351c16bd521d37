// The official loader's own outputs (shared/data/official-parity, produced by RadNet_Dataset_early)
// must be reproduced bit for bit from the same case JSON, label dictionary and arrays.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "data/preprocess.h"
#include "data/rp3d_manifest.h"
#include "test_support.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/npy.h"

using namespace raddiag;
using namespace raddiag::data;

namespace {

std::string parity_dir() { return test::shared_data() + "/official-parity"; }

PreprocessOptions parity_options() {
  PreprocessOptions o;
  o.size = 64;
  o.depth = 8;
  o.n_image = 4;
  return o;
}

struct Expected {
  std::vector<float> images;
  std::vector<int64_t> mods, marks, keys;
  std::vector<float> labels;
};

Expected load_expected(const std::string& dir) {
  Expected e;
  e.images = npy::read(dir + "/expected_inputs_images.npy").to_float32();
  e.mods = npy::read(dir + "/expected_inputs_mods.npy").to_int64();
  e.marks = npy::read(dir + "/expected_inputs_marks.npy").to_int64();
  e.keys = npy::read(dir + "/expected_inputs_keys.npy").to_int64();
  e.labels = npy::read(dir + "/expected_inputs_labels.npy").to_float32();
  return e;
}

void expect_case_equal(const CaseTensors& t, const Expected& e, std::size_t i, int64_t n_classes) {
  const int64_t N = 4, S = 64, D = 8;
  ASSERT_EQ(t.images.sizes(), (std::vector<int64_t>{N, 1, S, S, D}));
  const float* got = t.images.data_ptr<float>();
  const float* want = e.images.data() + i * N * S * S * D;
  int64_t mismatches = 0;
  float worst = 0;
  for (int64_t k = 0; k < N * S * S * D; ++k)
    if (got[k] != want[k]) {
      ++mismatches;
      worst = std::max(worst, std::abs(got[k] - want[k]));
    }
  EXPECT_EQ(mismatches, 0) << "case " << i << ": " << mismatches << " pixels differ, worst " << worst;
  for (int64_t n = 0; n < N; ++n) {
    EXPECT_EQ(t.mods[n].item<int64_t>(), e.mods[i * N + n]) << "case " << i << " slot " << n;
    EXPECT_EQ(t.keys[n].item<int64_t>(), e.keys[i * N + n]) << "case " << i << " slot " << n;
    for (int64_t k = 0; k < D; ++k) EXPECT_EQ(t.marks[n][k].item<int64_t>(), e.marks[(i * N + n) * D + k]);
  }
  ASSERT_EQ(t.labels.numel(), n_classes);
  const float* lab = t.labels.data_ptr<float>();
  for (int64_t c = 0; c < n_classes; ++c) ASSERT_EQ(lab[c], e.labels[i * n_classes + c]) << "case " << i << " class " << c;
}

}  // namespace

TEST(PreprocessParity, RecordedVisitOrderReproducesOfficialInputsExactly) {
  const auto cases = load_rp3d_cases(parity_dir() + "/cases.json");
  const auto vocab = LabelVocabulary::load_json(parity_dir() + "/label_dict.json");
  ASSERT_EQ(cases.size(), 6u);
  ASSERT_EQ(vocab.size(), 1000u);
  const auto manifest = nlohmann::json::parse(read_file_bytes(parity_dir() + "/manifest.json"));
  const Expected e = load_expected(parity_dir());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].id);
    ASSERT_EQ(manifest["cases"][i]["link"].get<std::string>(), cases[i].id);
    const auto order = manifest["cases"][i]["visit_order"].get<std::vector<std::size_t>>();
    std::mt19937_64 rng(42);
    PreprocessReport report;
    const auto t = make_case_tensors(cases[i], &vocab, parity_options(), rng, default_image_loader, &order, &report);
    EXPECT_EQ(report.visit_order, order);
    expect_case_equal(t, e, i, 1000);
  }
}

TEST(PreprocessParity, JsonOrderReproducesOfficialJsonOrderInputs) {
  const auto cases = load_rp3d_cases(parity_dir() + "/cases.json");
  const auto vocab = LabelVocabulary::load_json(parity_dir() + "/label_dict.json");
  const Expected e = load_expected(parity_dir() + "/json_order");
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].id);
    std::mt19937_64 rng(42);
    const auto t = make_case_tensors(cases[i], &vocab, parity_options(), rng);
    expect_case_equal(t, e, i, 1000);
  }
}

TEST(PreprocessParity, DroppedLabelsAreCountedNotSilent) {
  // Case 0 lists "Not a listed disorder"; case 3 lists "Deafness" (index 5568, outside the 1000 here).
  const auto cases = load_rp3d_cases(parity_dir() + "/cases.json");
  const auto vocab = LabelVocabulary::load_json(parity_dir() + "/label_dict.json");
  DroppedLabels all;
  for (const auto& c : cases) {
    std::mt19937_64 rng(1);
    PreprocessReport r;
    make_case_tensors(c, &vocab, parity_options(), rng, default_image_loader, nullptr, &r);
    all.merge(r.dropped);
  }
  EXPECT_EQ(all.by_name.count("Not a listed disorder"), 1u);
  EXPECT_EQ(all.by_name.count("Deafness"), 1u);
  EXPECT_EQ(all.total, 2);
  EXPECT_NE(all.summary().find("Deafness"), std::string::npos);
}

TEST(PreprocessParity, RejectedDeepVolumeIsRejectedOrResampled) {
  const auto cases = load_rp3d_cases(parity_dir() + "/rejected/cases.json");
  ASSERT_EQ(cases.size(), 1u);
  auto o = parity_options();
  o.resample_nonconforming = false;
  std::mt19937_64 rng(3);
  try {
    make_case_tensors(cases[0], nullptr, o, rng);
    FAIL() << "a 12-slice volume must be rejected with resample_nonconforming=false";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("64x64x12"), std::string::npos) << err.what();
  }
  o.resample_nonconforming = true;
  PreprocessReport r;
  const auto t = make_case_tensors(cases[0], nullptr, o, rng, default_image_loader, nullptr, &r);
  ASSERT_EQ(r.slots.size(), 1u);
  EXPECT_TRUE(r.slots[0].resampled);
  EXPECT_EQ(r.slots[0].slices, 8);
  EXPECT_EQ(t.marks[0].sum().item<int64_t>(), 8);
  EXPECT_EQ(t.mods[0].item<int64_t>(), 1);
  // Key 6 of 12 slices; kept slices floor(arange(0, 12, 1.5)) = 0 1 3 4 6 7 9 10 -> slot 4.
  EXPECT_EQ(t.keys[0].item<int64_t>(), 4);
  // Slice j of the slot is raw slice idx[j], min-max normalised jointly with the padding (none here).
  const auto raw = npy::read(test::shared_data() + "/official-parity/rejected/data/long.npy");
  const auto v = raw.to_float32_column_major();
  const int64_t idx[8] = {0, 1, 3, 4, 6, 7, 9, 10};
  float mn = 1e30f, mx = -1e30f;
  for (int j = 0; j < 8; ++j)
    for (int64_t p = 0; p < 64 * 64; ++p) {
      mn = std::min(mn, v[p + 4096 * idx[j]]);
      mx = std::max(mx, v[p + 4096 * idx[j]]);
    }
  const auto img = t.images[0][0];
  for (int j = 0; j < 8; ++j)
    for (int64_t h = 0; h < 64; h += 7)
      for (int64_t w = 0; w < 64; w += 5) {
        const float want = (v[h + 64 * w + 4096 * idx[j]] - mn) / (mx - mn);
        ASSERT_EQ(img[h][w][j].item<float>(), want);
      }
}
