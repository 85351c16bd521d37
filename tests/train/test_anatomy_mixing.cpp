// Anatomy-aware case mixing (reference 1.8): slot layout, label union, determinism, the probability of
// mixing and the anatomy choice over many draws, groups and fallbacks, config parsing, and a short
// `raddiag train` run with mixing on a real folder dataset.
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "data/case_loader.h"
#include "data/folder_dataset.h"
#include "data/samplers.h"
#include "test_support.h"
#include "train/anatomy_mixing.h"
#include "train/run_config.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::train;

namespace anatomy_mixing_test {  // named: unity builds put several test files in one unit

constexpr int64_t kSide = 8, kDepth = 4, kSlots = 2;

// Every image is an 8 x 8 x 2 scan whose values depend on its path, so each case looks different.
io::Scan mixing_fake_scan(const data::ImageRef& ref) {
  io::Scan s;
  s.dims = {kSide, kSide, 2};
  const std::size_t h = std::hash<std::string>{}(ref.path);
  for (int64_t i = 0; i < s.numel(); ++i) s.voxels.push_back(static_cast<float>((static_cast<std::size_t>(i) * 7 + h) % 23));
  return s;
}

// One CT sample (one image) per case, labelled with `label`, in the given anatomy.
data::Case mixing_case(int i, const std::string& anatomy, const std::string& label) {
  data::Case c;
  c.id = "case" + std::to_string(i);
  c.anatomy = anatomy;
  data::Sample s;
  s.modality = "CT";
  s.images.push_back({"case" + std::to_string(i) + "/img", "", 0, ""});
  s.articles = {label};
  c.samples.push_back(s);
  data::collect_case_labels(c);
  return c;
}

std::shared_ptr<data::CaseDataset> mixing_dataset(std::vector<data::Case> cases) {
  data::PreprocessOptions o;
  o.size = kSide;
  o.depth = kDepth;
  o.n_image = kSlots;
  auto vocab = data::LabelVocabulary::build_from_cases(cases, data::LabelLevel::kArticles);
  return std::make_shared<data::CaseDataset>(std::move(cases), vocab, o, 1, mixing_fake_scan);
}

// Three anatomy groups: Chest (cases 0-3), Spine (4-9), Head and Neck (10-11); labels by group.
std::shared_ptr<data::CaseDataset> three_groups() {
  std::vector<data::Case> cases;
  for (int i = 0; i < 12; ++i) {
    const std::string a = i < 4 ? "Chest" : i < 10 ? "Spine" : "Head and Neck";
    cases.push_back(mixing_case(i, a, a + " finding " + std::to_string(i % 2)));
  }
  return mixing_dataset(cases);
}

MixingOptions mix2() {
  MixingOptions o;
  o.n_aug = 2;
  o.prob = 0.7;
  return o;
}

}  // namespace anatomy_mixing_test
using namespace anatomy_mixing_test;

TEST(AnatomyMixing, SlotsAppendedAndLabelsUnited) {
  auto ds = three_groups();
  AnatomyMixingSource mix(ds, mix2());
  EXPECT_EQ(mix.slots(), kSlots * 2);
  int mixed = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    data::CaseRng rng(seed), replay(seed);
    const data::CaseTensors t = mix.get(1, rng);
    // Replay the item's draws: the plan, then one generator per mixed case, in order.
    const auto plan = mix.mix_plan(1, replay);
    ASSERT_EQ(plan.front(), 1);
    mixed += plan.size() > 1 ? 1 : 0;
    ASSERT_EQ(t.images.size(0), kSlots * 2);
    torch::Tensor want_labels = torch::zeros_like(t.labels);
    int64_t cnt = 0;
    for (int64_t ci : plan) {
      std::mt19937_64 engine(replay.bits());
      data::PreprocessReport rep;
      const auto one = ds->build(static_cast<std::size_t>(ci), engine, &rep);
      const int64_t k = static_cast<int64_t>(rep.slots.size());
      ASSERT_EQ(k, 1);  // one image per case
      EXPECT_TRUE(torch::equal(t.images.narrow(0, cnt, k), one.images.narrow(0, 0, k)));
      EXPECT_TRUE(torch::equal(t.mods.narrow(0, cnt, k), one.mods.narrow(0, 0, k)));
      EXPECT_TRUE(torch::equal(t.marks.narrow(0, cnt, k), one.marks.narrow(0, 0, k)));
      EXPECT_TRUE(torch::equal(t.keys.narrow(0, cnt, k), one.keys.narrow(0, 0, k)));
      want_labels = torch::maximum(want_labels, one.labels);
      cnt += k;
    }
    // After the appended slots: empty (mod 0, key -1, no marks, zero pixels).
    const int64_t rest = mix.slots() - cnt;
    EXPECT_EQ(t.mods.narrow(0, cnt, rest).abs().sum().item<int64_t>(), 0);
    EXPECT_EQ(t.marks.narrow(0, cnt, rest).sum().item<int64_t>(), 0);
    EXPECT_TRUE((t.keys.narrow(0, cnt, rest) == -1).all().item<bool>());
    EXPECT_EQ(t.images.narrow(0, cnt, rest).abs().sum().item<float>(), 0.f);
    EXPECT_TRUE(torch::equal(t.labels, want_labels));
    if (plan.size() > 1) {
      // A Chest case's partner is never from the Chest group, and its label joins the Chest label.
      EXPECT_GE(plan[1], 4);
      EXPECT_EQ(t.labels.sum().item<float>(), 2.f);
    }
  }
  EXPECT_GT(mixed, 0);
  EXPECT_LT(mixed, 40);
}

TEST(AnatomyMixing, LabelsAreTheUnionOverVisitedSamples) {
  // Two samples with different labels, both visited (2 slots): the early path labels the case from its
  // first sample only; the mixing path (earlyAna) takes the union.
  data::Case c = mixing_case(0, "Chest", "a");
  data::Sample s2 = c.samples[0];
  s2.images[0].path = "case0/img2";
  s2.articles = {"b"};
  c.samples.push_back(s2);
  data::collect_case_labels(c);
  auto ds = mixing_dataset({c, mixing_case(1, "Spine", "c")});
  MixingOptions o = mix2();
  o.prob = 1.0;  // never mix: only the union rule is tested here
  AnatomyMixingSource mix(ds, o);
  data::CaseRng r1(3), r2(3);
  const auto early = ds->get(0, r1);
  const auto mixed = mix.get(0, r2);
  const auto& names = ds->vocabulary()->names();
  auto labelled = [&](const torch::Tensor& l) {
    std::set<std::string> out;
    for (int64_t i = 0; i < l.size(0); ++i)
      if (l[i].item<float>() > 0) out.insert(names[static_cast<std::size_t>(i)]);
    return out;
  };
  EXPECT_EQ(labelled(early.labels), (std::set<std::string>{"a"}));
  EXPECT_EQ(labelled(mixed.labels), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ((mixed.mods != 0).sum().item<int64_t>(), 2);
}

TEST(AnatomyMixing, ProbabilityAndAnatomyWeightsOverManyDraws) {
  auto ds = three_groups();
  // n_aug 2, prob 0.7: P(mix) = 0.3. 20000 draws: sd = sqrt(0.21 / 20000) = 0.0032; tolerance 0.015 (4.6 sd).
  AnatomyMixingSource mix(ds, mix2());
  constexpr int kDraws = 20000;
  int mixed = 0, spine = 0, head = 0;
  for (int k = 0; k < kDraws; ++k) {
    data::CaseRng rng(data::derive_seed(11, static_cast<uint64_t>(k)));
    const auto plan = mix.mix_plan(0, rng);  // a Chest case
    ASSERT_LE(plan.size(), 2u);
    if (plan.size() == 1) continue;
    ++mixed;
    ASSERT_GE(plan[1], 4) << "a partner from the case's own anatomy";
    (plan[1] < 10 ? spine : head) += 1;
  }
  EXPECT_NEAR(mixed / double(kDraws), 0.3, 0.015);
  // Partner anatomy: Spine 6 vs Head and Neck 2 -> P(Spine) = 0.75; ~6000 mixed draws, sd 0.0056,
  // tolerance 0.025 (4.5 sd).
  EXPECT_NEAR(spine / double(mixed), 0.75, 0.025);
  // n_aug 3: P(m = 1) = 0.7, P(m = 2) = P(m = 3) = 0.15 (sd 0.0025 each; tolerance 0.012).
  MixingOptions o3 = mix2();
  o3.n_aug = 3;
  AnatomyMixingSource mix3(ds, o3);
  std::array<int, 4> m{};
  for (int k = 0; k < kDraws; ++k) {
    data::CaseRng rng(data::derive_seed(12, static_cast<uint64_t>(k)));
    ++m[mix3.mix_plan(5, rng).size()];
  }
  EXPECT_NEAR(m[1] / double(kDraws), 0.7, 0.015);
  EXPECT_NEAR(m[2] / double(kDraws), 0.15, 0.012);
  EXPECT_NEAR(m[3] / double(kDraws), 0.15, 0.012);
}

TEST(AnatomyMixing, DeterministicPerSeedAndWorkerCount) {
  auto mix = std::make_shared<AnatomyMixingSource>(three_groups(), mix2());
  data::CaseRng a(77), b(77);
  const auto ta = mix->get(3, a), tb = mix->get(3, b);
  EXPECT_TRUE(torch::equal(ta.images, tb.images));
  EXPECT_TRUE(torch::equal(ta.labels, tb.labels));
  // The threaded loader gives the same batches with 0 and 3 workers.
  auto batches = [&](int workers) {
    data::LoaderOptions lo;
    lo.workers = workers;
    lo.batch_size = 4;
    lo.seed = 5;
    data::CaseLoader loader(mix, std::make_shared<data::ShuffledSampler>(mix->size(), 5), lo);
    std::vector<data::CaseBatch> out;
    for (int i = 0; i < 6; ++i) out.push_back(loader.next().batch);
    return out;
  };
  const auto b0 = batches(0), b3 = batches(3);
  int64_t mixed_items = 0;
  for (std::size_t i = 0; i < b0.size(); ++i) {
    EXPECT_TRUE(torch::equal(b0[i].images, b3[i].images)) << i;
    EXPECT_TRUE(torch::equal(b0[i].mods, b3[i].mods)) << i;
    EXPECT_TRUE(torch::equal(b0[i].labels, b3[i].labels)) << i;
    EXPECT_EQ(b0[i].images.size(1), kSlots * 2);
    mixed_items += ((b0[i].mods != 0).sum(1) > 1).sum().item<int64_t>();
  }
  EXPECT_GT(mixed_items, 0);
}

TEST(AnatomyMixing, GroupsAndFallbacks) {
  // A missing or unlisted anatomy goes to "Unknown" (the reference raises KeyError).
  std::vector<data::Case> cases = {mixing_case(0, "", "x"), mixing_case(1, "Pelvis", "y"), mixing_case(2, "", "x")};
  auto ds = mixing_dataset(cases);
  MixingOptions o = mix2();
  o.prob = 0.0;  // always mix
  AnatomyMixingSource any(ds, o);
  ASSERT_EQ(any.groups().size(), 1u);
  EXPECT_EQ(any.groups().begin()->first, "Unknown");
  EXPECT_EQ(any.groups().begin()->second.size(), 3u);
  // One group only: "any" takes a partner from the other cases, never the case itself.
  std::set<int64_t> partners;
  for (uint64_t s = 0; s < 200; ++s) {
    data::CaseRng rng(s);
    const auto plan = any.mix_plan(1, rng);
    ASSERT_EQ(plan.size(), 2u);
    partners.insert(plan[1]);
  }
  EXPECT_EQ(partners, (std::set<int64_t>{0, 2}));
  o.fallback = "none";
  AnatomyMixingSource none(ds, o);
  data::CaseRng rng(1);
  EXPECT_EQ(none.mix_plan(1, rng).size(), 1u);
  // n_aug 1 is off: one case, n_image slots... of the base times 1.
  AnatomyMixingSource off(ds, MixingOptions{});
  EXPECT_EQ(off.slots(), kSlots);
  data::CaseRng r2(1);
  EXPECT_EQ(off.mix_plan(2, r2), (std::vector<int64_t>{2}));
}

TEST(AnatomyMixing, ManifestAnatomyColumn) {
  // Folder datasets may name the anatomy per file; the case takes its first non-empty value.
  const std::string dir = test::scratch_dir("mixing_manifest");
  std::ofstream(dir + "/manifest.csv") << "case_id,file,modality,anatomy\n"
                                          "a,a1.png,X-ray,\na,a2.png,X-ray,Chest\nb,b1.png,CT,Spine\nc,c1.png,CT,\n";
  const auto cases = data::load_folder_dataset(dir);
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[0].anatomy, "Chest");
  EXPECT_EQ(cases[1].anatomy, "Spine");
  EXPECT_EQ(cases[2].anatomy, "");
  EXPECT_EQ(anatomy_group(cases[2], MixingOptions{}), "Unknown");
}

TEST(AnatomyMixing, OptionsFromJson) {
  const auto o = MixingOptions::from_json({{"n_aug", 2}, {"prob", 0.6}, {"anatomy_weights", {{"Chest", 1}, {"Unknown", 2}}}});
  EXPECT_EQ(o.n_aug, 2);
  EXPECT_DOUBLE_EQ(o.prob, 0.6);
  EXPECT_EQ(o.anatomy_weights.size(), 2u);
  EXPECT_EQ(MixingOptions::from_json(o.to_json()).to_json(), o.to_json());
  EXPECT_EQ(MixingOptions{}.anatomy_weights.at("Spine"), 6.0);  // the reference's weights by default
  EXPECT_THROW(MixingOptions::from_json({{"n_augs", 2}}), Error);
  EXPECT_THROW(MixingOptions::from_json({{"n_aug", 0}}), Error);
  EXPECT_THROW(MixingOptions::from_json({{"prob", 1.5}}), Error);
  EXPECT_THROW(MixingOptions::from_json({{"anatomy_weights", {{"Chest", -1}}}}), Error);
  EXPECT_THROW(MixingOptions::from_json({{"fallback", "same"}}), Error);
  // In the run config.
  nlohmann::json rc = {{"data", {{"train", {"x"}}}}, {"mixing", {{"n_aug", 2}}}};
  EXPECT_EQ(RunConfig::from_json(rc).mixing.n_aug, 2);
  EXPECT_EQ(RunConfig::from_json(rc).to_json()["mixing"]["prob"], 0.7);
  rc["mixing"]["bad"] = 1;
  EXPECT_THROW(RunConfig::from_json(rc), Error);
}

TEST(AnatomyMixing, TrainRunWithMixingOnRealData) {
  // The brain MRI set has no anatomy column: every case is "Unknown", partners come from any other case.
  const std::string dir = test::scratch_dir("train_mixing");
  const nlohmann::json cfg = {{"data", {{"train", {test::shared_data() + "/real/brain_tumor_mri"}}, {"val_fraction", 0.25}}},
                              {"model", "tiny"},
                              {"mixing", {{"n_aug", 2}, {"prob", 0.5}}},
                              {"batch_size", 4},
                              {"steps", 2},
                              {"workers", 1},
                              {"seed", 3}};
  std::ofstream(dir + "/run.json") << cfg.dump();
  std::string log;
  ASSERT_EQ(test::run_command(test::shell_quote(test::cli_path()) + " train --quiet --config " + dir + "/run.json --out " +
                                  dir + "/run",
                              &log),
            0)
      << log;
  EXPECT_NE(log.find("anatomy mixing: n_aug 2"), std::string::npos) << log;
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/model.raddiag"));
}
