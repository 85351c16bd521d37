// The official RP3D demo JSON (absolute author paths, prefix-remapped) and the reference's numbers for
// demo case 2 (Segond fracture; reference 1.6), plus path handling of the manifest reader.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <tuple>

#include "data/preprocess.h"
#include "data/rp3d_manifest.h"
#include "test_support.h"
#include "util/atomic_file.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::data;

namespace {
std::string demo_dir() { return test::shared_data() + "/rp3d-demo/RP3D_Demo/DataPath"; }
ManifestOptions demo_options() {
  ManifestOptions o;
  o.rewrites.push_back({kOfficialDemoPrefix, demo_dir() + "/"});
  return o;
}
}  // namespace

TEST(Rp3dManifest, DemoJsonLoadsInOrderWithRemappedPaths) {
  const auto cases = load_rp3d_cases(demo_dir() + "/demoData.json", demo_options());
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_NE(cases[0].id.find("perforated-saccular-abdominal-aortic-aneurysm-1"), std::string::npos);
  EXPECT_NE(cases[1].id.find("hip-dislocation-inferior-1"), std::string::npos);
  EXPECT_NE(cases[2].id.find("segond-fracture-5"), std::string::npos);
  const Case& c = cases[2];
  ASSERT_EQ(c.samples.size(), 2u);
  EXPECT_EQ(c.samples[0].modality, "X-ray");
  EXPECT_EQ(c.samples[1].modality, "MRI");
  EXPECT_EQ(c.anatomy, "Lower Limb");
  ASSERT_EQ(c.samples[1].images.size(), 2u);
  EXPECT_EQ(c.samples[1].images[1].path, demo_dir() + "/DemoData/data/149464.npy");
  EXPECT_EQ(c.samples[1].images[1].key_path, demo_dir() + "/DemoData/key/149464.npy");
  EXPECT_EQ(c.samples[1].images[0].plane, "Sagittal");
  EXPECT_EQ(c.articles, (std::vector<std::string>{"Anterior cruciate ligament tear", "Segond fracture"}));
  EXPECT_EQ(c.icd10s, (std::vector<std::string>{"S82", "S83"}));
}

TEST(Rp3dManifest, MissingDemoFilesAreReportedPerCase) {
  const auto cases = load_rp3d_cases(demo_dir() + "/demoData.json", demo_options());
  const auto missing = find_missing_files(cases);
  // README: 123742 and 123743 (case 0), 127782 and 127783 (case 1) are missing; all key files exist.
  std::vector<std::pair<std::size_t, std::string>> got;
  for (const auto& m : missing) {
    EXPECT_EQ(m.kind, "image");
    got.emplace_back(m.case_index, std::filesystem::path(m.path).filename().string());
  }
  EXPECT_EQ(got, (std::vector<std::pair<std::size_t, std::string>>{
                     {0, "123742.npy"}, {0, "123743.npy"}, {1, "127782.npy"}, {1, "127783.npy"}}));
  EXPECT_NE(describe(missing[0]).find("case 0"), std::string::npos);
  EXPECT_NE(describe(missing[0]).find("123742.npy"), std::string::npos);
  // Preprocessing a case with a missing file fails with an error naming that file.
  std::mt19937_64 rng(42);
  PreprocessOptions o;
  try {
    make_case_tensors(cases[1], nullptr, o, rng);
    FAIL() << "case 1 lacks its CT volumes";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("127782.npy"), std::string::npos) << e.what();
  }
}

TEST(Rp3dManifest, WithoutRewriteTheAuthorsPathsAreMissing) {
  const auto cases = load_rp3d_cases(demo_dir() + "/demoData.json");
  EXPECT_EQ(find_missing_files(cases).size(), 16u);  // 8 images + 8 keys under /home/qiaoyuzheng
}

TEST(Rp3dManifest, SegondCaseReproducesReferenceNumbers) {
  const auto cases = load_rp3d_cases(demo_dir() + "/demoData.json", demo_options());
  const auto vocab = LabelVocabulary::load_json(demo_dir() + "/disorder_label_dict.json");
  ASSERT_EQ(vocab.size(), 5569u);
  for (auto order : {std::vector<std::size_t>{0, 1}, std::vector<std::size_t>{1, 0}}) {
    std::mt19937_64 rng(7);
    PreprocessOptions o;  // 256 / 32 / 4, official normalisation
    const auto t = make_case_tensors(cases[2], &vocab, o, rng, default_image_loader, &order);
    ASSERT_EQ(t.images.sizes(), (std::vector<int64_t>{4, 1, 256, 256, 32}));
    // (modality id, key, marks, sum over valid slices, max) per slot, compared order-independently.
    std::vector<std::tuple<int64_t, int64_t, int64_t, double, double>> slots;
    for (int64_t n = 0; n < 4; ++n) {
      const int64_t m = t.marks[n].sum().item<int64_t>();
      const auto valid = t.images[n][0].narrow(2, 0, std::max<int64_t>(m, 1)).to(torch::kFloat64);
      slots.emplace_back(t.mods[n].item<int64_t>(), t.keys[n].item<int64_t>(), m, m ? valid.sum().item<double>() : 0.0,
                         m ? valid.max().item<double>() : 0.0);
    }
    std::sort(slots.begin(), slots.end());
    const std::vector<std::tuple<int64_t, int64_t, int64_t, double, double>> want = {
        {0, -1, 0, 0.0, 0.0}, {4, 0, 3, 50160.356456, 0.982580}, {5, 0, 3, 49799.912733, 1.0}, {7, 0, 3, 51275.014981, 1.0}};
    for (std::size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(std::get<0>(slots[i]), std::get<0>(want[i]));
      EXPECT_EQ(std::get<1>(slots[i]), std::get<1>(want[i]));
      EXPECT_EQ(std::get<2>(slots[i]), std::get<2>(want[i]));
      EXPECT_NEAR(std::get<3>(slots[i]), std::get<3>(want[i]), 2e-3) << "slot with id " << std::get<0>(slots[i]);
      EXPECT_NEAR(std::get<4>(slots[i]), std::get<4>(want[i]), 1e-6);
    }
    std::vector<int64_t> labels;
    for (int64_t c = 0; c < 5569; ++c)
      if (t.labels[c].item<float>() != 0.f) labels.push_back(c);
    EXPECT_EQ(labels, (std::vector<int64_t>{35, 356}));
  }
}

TEST(Rp3dManifest, PathRewritesAndRoots) {
  EXPECT_EQ(resolve_manifest_path("/old/root/a/b.npy", {{"/old/root/", "/new/"}}, "/ignored"), "/new/a/b.npy");
  EXPECT_EQ(resolve_manifest_path("data/x.npy", {}, "/base"), "/base/data/x.npy");
  EXPECT_EQ(resolve_manifest_path("/abs/x.npy", {}, "/base"), "/abs/x.npy");
  // A rewrite to a relative target is then resolved against the root.
  EXPECT_EQ(resolve_manifest_path("/old/x.npy", {{"/old/", "rel/"}}, "/base"), "/base/rel/x.npy");
  const auto r = parse_path_rewrite("/a/=/b/");
  EXPECT_EQ(r.from, "/a/");
  EXPECT_EQ(r.to, "/b/");
  EXPECT_THROW(parse_path_rewrite("nonsense"), Error);
}

TEST(Rp3dManifest, MalformedJsonGivesClearErrors) {
  EXPECT_THROW(parse_rp3d_cases("[1,2]", "x.json", "/"), Error);
  EXPECT_THROW(parse_rp3d_cases("{\"c\": {\"Modalities\": [\"CT\"], \"Samples\": []}}", "x.json", "/"), Error);
  try {
    parse_rp3d_cases("{\"c\": {\"Modalities\": [\"CT\"], \"Samples\": [{\"image_data_path\": [\"a\", \"b\"], "
                     "\"image_key_path\": [\"k\"]}]}}", "x.json", "/");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("case 'c'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_rp3d_cases("{not json", "x.json", "/"), Error);
}

TEST(Rp3dManifest, SaveAndReloadRoundTrips) {
  const auto cases = load_rp3d_cases(demo_dir() + "/demoData.json", demo_options());
  const std::string dir = test::scratch_dir("rp3d_roundtrip");
  save_rp3d_cases(dir + "/cases.json", cases, demo_dir());
  const auto again = load_rp3d_cases(dir + "/cases.json", {{}, demo_dir()});
  ASSERT_EQ(again.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(again[i].id, cases[i].id);
    ASSERT_EQ(again[i].samples.size(), cases[i].samples.size());
    for (std::size_t s = 0; s < cases[i].samples.size(); ++s) {
      EXPECT_EQ(again[i].samples[s].modality, cases[i].samples[s].modality);
      EXPECT_EQ(again[i].samples[s].articles, cases[i].samples[s].articles);
      ASSERT_EQ(again[i].samples[s].images.size(), cases[i].samples[s].images.size());
      for (std::size_t k = 0; k < cases[i].samples[s].images.size(); ++k)
        EXPECT_EQ(again[i].samples[s].images[k].path, cases[i].samples[s].images[k].path);
    }
  }
}

// Cases come in file order (the official loader's row order), not sorted by link; nested objects and
// keys named like cases at deeper levels do not disturb it.
TEST(Rp3dManifest, CasesKeepFileOrderAtScale) {
  auto one = [](const std::string& id, int k) {
    return "\"" + id + "\": {\"Modalities\": [\"CT\"], \"key_slice\": [{\"image_0\": " + std::to_string(k) +
           "}], \"Samples\": [{\"image_data_path\": [\"x" + std::to_string(k) + ".npy\"], \"articles\": [\"A\"], "
           "\"zz\": {\"a\": 1}}]}";
  };
  std::string text = "{";
  std::vector<std::string> ids;
  for (int i = 0; i < 3000; ++i) {
    ids.push_back("case-" + std::to_string((i * 7919) % 3000));  // a permutation, far from sorted
    text += (i ? ", " : "") + one(ids.back(), i);
  }
  text += ", \"Samples\": " + one("inner", 0).substr(9) + "}";  // a case whose link is a field name
  ids.push_back("Samples");
  const auto cases = parse_rp3d_cases(text, "big.json", "/data");
  ASSERT_EQ(cases.size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(cases[i].id, ids[i]) << i;
  EXPECT_EQ(cases[5].samples[0].images[0].path, "/data/x5.npy");
  // Written back (as train does with its split) and read again: the same cases in the same order.
  const std::string dir = test::scratch_dir("rp3d_order");
  save_rp3d_cases(dir + "/cases.json", cases, "/data");
  std::ifstream in(dir + "/cases.json");
  const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NO_THROW((void)nlohmann::json::parse(written));
  const auto again = parse_rp3d_cases(written, "cases.json", "/data");
  ASSERT_EQ(again.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    ASSERT_EQ(again[i].id, cases[i].id) << i;
    ASSERT_EQ(again[i].samples[0].images[0].path, cases[i].samples[0].images[0].path) << i;
  }
  save_rp3d_cases(dir + "/none.json", {}, "/data");
  EXPECT_TRUE(parse_rp3d_cases(read_file_bytes(dir + "/none.json"), "none.json", "/").empty());
}
