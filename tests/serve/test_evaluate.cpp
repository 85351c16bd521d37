// `raddiag evaluate` end to end on a real folder dataset with a freshly initialised tiny model: the four
// report files are written, metrics.json's macro AUC equals `raddiag metrics` run on `raddiag predict`'s
// output with labels built here from labels.csv (an independent path), and --store-thresholds puts the
// thresholds of thresholds.json into the model file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "data/folder_dataset.h"
#include "model/model_file.h"
#include "test_support.h"
#include "train/train_job.h"
#include "train/trainer.h"
#include "util/npy.h"

using namespace raddiag;
namespace fs = std::filesystem;

namespace evaluate_test {  // named: unity builds put several test files in one unit

std::string eval_brain() { return test::shared_data() + "/real/brain_tumor_mri"; }

nlohmann::json eval_read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// A freshly initialised tiny model with these classes, saved to `path` (seeded: the same weights every run).
void save_tiny_eval_model(const std::string& path, const std::vector<std::string>& classes, uint64_t seed) {
  train::seed_everything(seed);
  model::ModelBundle b;
  b.config = train::resolve_model_config("tiny", static_cast<int64_t>(classes.size()));
  b.classes = classes;
  b.preprocess = {{"size", b.config.size}, {"depth", b.config.depth}, {"n_image", b.config.n_image}};
  b.model = model::build_model(b.config);
  model::save_model_file(path, b);
}

}  // namespace evaluate_test
using namespace evaluate_test;

TEST(Evaluate, WritesReportsMatchingMetricsAndStoresThresholds) {
  const std::string dir = test::scratch_dir("evaluate");
  // A tiny model over the brain set's classes (names from labels.csv, in first-appearance order).
  std::vector<std::string> classes;
  const auto rows = data::read_labels_csv(eval_brain() + "/labels.csv");
  for (const auto& [id, labels] : rows)
    for (const auto& l : labels)
      if (std::find(classes.begin(), classes.end(), l) == classes.end()) classes.push_back(l);
  ASSERT_EQ(classes.size(), 4u);
  train::seed_everything(11);
  model::ModelBundle b;
  b.config = train::resolve_model_config("tiny", 4);
  b.classes = classes;
  b.preprocess = {{"size", b.config.size}, {"depth", b.config.depth}, {"n_image", b.config.n_image}};
  b.card = {{"training_data", {{"class_counts", {10, 10, 10, 10}}}}};
  b.model = model::build_model(b.config);
  const std::string model_path = dir + "/m.raddiag";
  model::save_model_file(model_path, b);

  const std::string cli = test::shell_quote(test::cli_path());
  std::string log;
  ASSERT_EQ(test::run_command(cli + " evaluate --quiet --bootstrap 20 --store-thresholds --model " + model_path +
                                  " --manifest " + eval_brain() + " --out " + dir + "/eval",
                              &log),
            0)
      << log;
  for (const char* f : {"metrics.json", "per_class.csv", "thresholds.json", "report.html"})
    EXPECT_TRUE(fs::exists(dir + "/eval/" + f)) << f;
  const auto metrics = eval_read_json(dir + "/eval/metrics.json");
  EXPECT_EQ(metrics.at("n_cases").get<int64_t>(), 40);
  EXPECT_EQ(metrics.at("n_classes").get<int64_t>(), 4);
  // auto groups: the card's training counts (10 each: every class is a tail class, fewer than 30 cases).
  EXPECT_EQ(metrics.at("groups").size(), 3u) << metrics.at("groups").dump();
  EXPECT_EQ(metrics.at("groups").at("tail").at("n_classes").get<int64_t>(), 4) << metrics.at("groups").dump();
  // --groups none: no group table; rp3d on a 4-class model is refused with the reason.
  ASSERT_EQ(test::run_command(cli + " evaluate --quiet --bootstrap 0 --groups none --model " + model_path + " --manifest " +
                                  eval_brain() + " --out " + dir + "/eval-nogroups",
                              &log),
            0)
      << log;
  EXPECT_TRUE(eval_read_json(dir + "/eval-nogroups/metrics.json").at("groups").empty());
  EXPECT_NE(test::run_command(cli + " evaluate --quiet --bootstrap 0 --groups rp3d --model " + model_path + " --manifest " +
                                  eval_brain() + " --out " + dir + "/eval-rp3d",
                              &log),
            0);
  EXPECT_NE(log.find("rp3d"), std::string::npos) << log;

  // Independent path: predict -> logits .npy; labels from labels.csv here; metrics on both.
  ASSERT_EQ(test::run_command(cli + " predict --quiet --model " + model_path + " --manifest " + eval_brain() + " --out " +
                                  dir + "/logits.npy",
                              &log),
            0)
      << log;
  std::vector<float> labels;
  for (const auto& [id, ls] : rows)  // predict keeps manifest (labels.csv) case order
    for (const auto& c : classes) labels.push_back(std::find(ls.begin(), ls.end(), c) != ls.end() ? 1.f : 0.f);
  npy::write(dir + "/labels.npy", npy::make_float32({static_cast<int64_t>(rows.size()), 4}, labels.data()));
  ASSERT_EQ(test::run_command(cli + " metrics --logits --json --bootstrap 0 --groups none --scores " + dir +
                                  "/logits.npy --labels " + dir + "/labels.npy --out " + dir + "/m.json",
                              &log),
            0)
      << log;
  const auto independent = eval_read_json(dir + "/m.json");
  EXPECT_NEAR(metrics["macro"]["auc"].get<double>(), independent["macro"]["auc"].get<double>(), 1e-9);
  EXPECT_NEAR(metrics["macro"]["ap"].get<double>(), independent["macro"]["ap"].get<double>(), 1e-9);

  // Thresholds stored in the model file are those of thresholds.json (chosen on the test set here).
  const auto stored = model::load_model_file(model_path).thresholds;
  const auto tj = eval_read_json(dir + "/eval/thresholds.json").at("classes");
  ASSERT_EQ(stored.size(), 4u);
  ASSERT_EQ(tj.size(), 4u);
  for (std::size_t c = 0; c < 4; ++c) {
    const double expect = tj[c]["threshold"].is_null() ? 0.5 : tj[c]["threshold"].get<double>();
    EXPECT_NEAR(stored[c], expect, 1e-6) << c;
  }

  // A missing test set fails clearly.
  EXPECT_NE(test::run_command(cli + " evaluate --quiet --model " + model_path + " --manifest " + dir +
                                  "/nothing --out " + dir + "/eval2",
                              &log),
            0);
  EXPECT_NE(log.find("nothing"), std::string::npos) << log;
}

// --by modality (the paper's per-modality analysis) on the real chest X-ray/CT set: each modality's
// macro AUC/AP equals `raddiag metrics --row-groups` on the same scores (itself checked against
// scikit-learn per group, tests/cli/test_cmd_metrics_row_groups.cpp), and the report shows the table.
TEST(Evaluate, ByModalityBreaksDownWithinEachModality) {
  const std::string dir = test::scratch_dir("evaluate-by");
  const std::string covid = test::shared_data() + "/real/covid_cxr_ct";
  std::vector<std::string> classes;
  for (const auto& [id, labels] : data::read_labels_csv(covid + "/labels.csv"))
    for (const auto& l : labels)
      if (std::find(classes.begin(), classes.end(), l) == classes.end()) classes.push_back(l);
  const std::string model_path = dir + "/m.raddiag";
  save_tiny_eval_model(model_path, classes, 5);
  const std::string cli = test::shell_quote(test::cli_path());
  std::string log;
  ASSERT_EQ(test::run_command(cli + " evaluate --quiet --bootstrap 0 --by modality --by anatomy --model " + model_path +
                                  " --manifest " + covid + " --out " + dir + "/eval",
                              &log),
            0)
      << log;
  const auto m = eval_read_json(dir + "/eval/metrics.json");
  ASSERT_TRUE(m.contains("by_modality")) << m.dump().substr(0, 400);
  EXPECT_FALSE(m.contains("by_anatomy"));   // the folder has no anatomy column: one group, no table
  std::set<std::string> names;
  for (const auto& g : m["by_modality"]["datasets"]) names.insert(g["name"].get<std::string>());
  EXPECT_TRUE(names.count("X-ray")) << m["by_modality"].dump();
  ASSERT_EQ(test::run_command(cli + " metrics --logits --json --bootstrap 0 --groups none --scores " + dir +
                                  "/eval/scores.npy --labels " + dir + "/eval/labels.npy --row-groups " + dir +
                                  "/eval/row_modality.txt --out " + dir + "/m.json",
                              &log),
            0)
      << log;
  const auto ref = eval_read_json(dir + "/m.json");
  ASSERT_EQ(ref["by_dataset"]["datasets"].size(), m["by_modality"]["datasets"].size());
  for (std::size_t i = 0; i < ref["by_dataset"]["datasets"].size(); ++i) {
    const auto& a = m["by_modality"]["datasets"][i];
    const auto& e = ref["by_dataset"]["datasets"][i];
    EXPECT_EQ(a["name"], e["name"]);
    EXPECT_EQ(a["n_cases"], e["n_cases"]);
    for (const char* k : {"auc", "ap"})
      if (e["macro"][k].is_number()) EXPECT_NEAR(a["macro"][k].get<double>(), e["macro"][k].get<double>(), 1e-12) << k;
  }
  std::ifstream html(dir + "/eval/report.html");
  const std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("By modality"), std::string::npos);
}

// The intra-/inter-anatomy negative score distributions (the paper's Fig. 4a) in `raddiag evaluate`: a folder
// dataset of real brain MRI (anatomy "Head and neck") and chest X-ray/CT cases ("Chest", the manifest's
// `anatomy` column). Each class's positives / intra / inter counts in metrics.json equal the split worked out
// here from the cases; the report draws the section; --anatomy-from dataset gives the same split when the
// datasets coincide with the anatomies; without anatomy the section says it is not available; none drops it.
TEST(Evaluate, NegativeScoresSplitByAnatomy) {
  const std::string dir = test::scratch_dir("evaluate-negatives");
  const std::string covid = test::shared_data() + "/real/covid_cxr_ct";
  // 12 brain and 12 chest cases, written as one folder dataset with absolute file paths.
  struct Picked {
    data::Case c;
    std::string anatomy;
  };
  std::vector<Picked> picked;
  for (const auto& [src, anatomy] : {std::pair{eval_brain(), std::string("Head and neck")}, std::pair{covid, std::string("Chest")}}) {
    const auto cases = data::load_folder_dataset(src);
    for (std::size_t i = 0; i < cases.size() && i < 12; ++i) picked.push_back({cases[i * (cases.size() / 12)], anatomy});
  }
  fs::create_directories(dir + "/set");
  std::ofstream manifest(dir + "/set/manifest.csv"), labels_csv(dir + "/set/labels.csv");
  manifest << "case_id,file,modality,anatomy,dataset\n";
  labels_csv << "case_id,labels\n";
  std::vector<std::string> classes;
  for (const auto& p : picked) {
    for (const auto& s : p.c.samples)
      for (const auto& im : s.images)
        manifest << p.c.id << "," << im.path << "," << s.modality << "," << p.anatomy << ","
                 << (p.anatomy == "Chest" ? "chest_set" : "brain_set") << "\n";
    std::string joined;
    for (const auto& l : p.c.articles) {
      joined += (joined.empty() ? "" : ";") + l;
      if (std::find(classes.begin(), classes.end(), l) == classes.end()) classes.push_back(l);
    }
    labels_csv << p.c.id << "," << joined << "\n";
  }
  manifest.close();
  labels_csv.close();
  train::seed_everything(3);
  model::ModelBundle b;
  b.config = train::resolve_model_config("tiny", static_cast<int64_t>(classes.size()));
  b.classes = classes;
  b.preprocess = {{"size", b.config.size}, {"depth", b.config.depth}, {"n_image", b.config.n_image}};
  b.model = model::build_model(b.config);
  const std::string model_path = dir + "/m.raddiag";
  model::save_model_file(model_path, b);
  const std::string cli = test::shell_quote(test::cli_path());
  const std::string common = cli + " evaluate --quiet --bootstrap 0 --model " + model_path + " --manifest ";
  std::string log;
  ASSERT_EQ(test::run_command(common + dir + "/set --out " + dir + "/eval", &log), 0) << log;
  const auto m = eval_read_json(dir + "/eval/metrics.json");
  ASSERT_TRUE(m.contains("negative_scores")) << log;
  const auto& n = m["negative_scores"];
  ASSERT_TRUE(n["available"].get<bool>()) << n.dump();
  ASSERT_EQ(m["n_cases"].get<int64_t>(), 24);  // every case was read
  std::size_t checked = 0;
  for (const auto& k : n["classes"]) {
    const std::string name = k["name"].get<std::string>();
    SCOPED_TRACE(name);
    std::set<std::string> anatomies;
    for (const auto& p : picked)
      if (std::count(p.c.articles.begin(), p.c.articles.end(), name)) anatomies.insert(p.anatomy);
    int64_t pos = 0, intra = 0, inter = 0;
    for (const auto& p : picked) {
      if (std::count(p.c.articles.begin(), p.c.articles.end(), name)) ++pos;
      else if (anatomies.count(p.anatomy)) ++intra;
      else ++inter;
    }
    EXPECT_EQ(k["anatomies"].get<std::set<std::string>>(), anatomies);
    EXPECT_EQ(k["n_pos"].get<int64_t>(), pos);
    EXPECT_EQ(k["n_intra"].get<int64_t>(), intra);
    EXPECT_EQ(k["n_inter"].get<int64_t>(), inter);
    ++checked;
  }
  EXPECT_EQ(checked, classes.size());  // every class has a positive with an anatomy
  EXPECT_EQ(n["n_rows_unknown_anatomy"].get<int64_t>(), 0);
  EXPECT_TRUE(n["pooled"]["paired"]["n_classes"].get<int64_t>() > 0) << n["pooled"].dump();
  EXPECT_NE(n["anatomy_source"].get<std::string>().find("Anatomy"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir + "/eval/row_anatomies.txt"));
  std::ifstream html(dir + "/eval/report.html");
  const std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  const auto at = page.find("Intra- vs inter-anatomy negatives");
  ASSERT_NE(at, std::string::npos);
  EXPECT_NE(page.find("<svg", at), std::string::npos);
  EXPECT_EQ(page.find("Not available", at), std::string::npos);

  // --anatomy-from dataset: here the datasets coincide with the anatomies, so the split is the same.
  ASSERT_EQ(test::run_command(common + dir + "/set --anatomy-from dataset --out " + dir + "/eval-ds", &log), 0) << log;
  const auto d = eval_read_json(dir + "/eval-ds/metrics.json")["negative_scores"];
  EXPECT_NE(d["anatomy_source"].get<std::string>().find("dataset"), std::string::npos);
  ASSERT_EQ(d["classes"].size(), n["classes"].size());
  for (std::size_t i = 0; i < d["classes"].size(); ++i)
    for (const char* key : {"n_pos", "n_intra", "n_inter", "auc_pos_vs_intra", "auc_pos_vs_inter"})
      EXPECT_EQ(d["classes"][i][key], n["classes"][i][key]) << key;

  // The brain folder has no anatomy column: the section says why; --anatomy-from none leaves it out.
  ASSERT_EQ(test::run_command(common + eval_brain() + " --out " + dir + "/eval-brain", &log), 0) << log;
  const auto nb = eval_read_json(dir + "/eval-brain/metrics.json")["negative_scores"];
  EXPECT_FALSE(nb["available"].get<bool>());
  EXPECT_NE(nb["reason"].get<std::string>().find("anatomy"), std::string::npos) << nb.dump();
  std::ifstream html2(dir + "/eval-brain/report.html");
  const std::string page2((std::istreambuf_iterator<char>(html2)), std::istreambuf_iterator<char>());
  EXPECT_NE(page2.find("Not available"), std::string::npos);
  ASSERT_EQ(test::run_command(common + eval_brain() + " --anatomy-from none --out " + dir + "/eval-none", &log), 0) << log;
  EXPECT_FALSE(eval_read_json(dir + "/eval-none/metrics.json").contains("negative_scores"));
}

// --tta flip through the CLI: metrics.json says how the model ran, the scores change (the model is not
// mirror-symmetric) and stay finite; an unknown augmentation is refused before any work, naming the known ones.
TEST(Evaluate, EnsembleScoresAreTheMeanOfTheMembersAndAreRecorded) {
  const std::string dir = test::scratch_dir("evaluate-ensemble");
  const std::string brain = eval_brain();
  const std::string first = dir + "/first.raddiag", second = dir + "/second.raddiag";
  save_tiny_eval_model(first, {"glioma", "meningioma", "pituitary tumor", "no tumor"}, 8);
  // Another seed whose vocabulary came out in another order.
  save_tiny_eval_model(second, {"no tumor", "glioma", "pituitary tumor", "meningioma"}, 9);
  const std::string cli = test::shell_quote(test::cli_path());
  std::string log;
  const std::string common = " evaluate --quiet --bootstrap 0 --manifest " + brain;
  ASSERT_EQ(test::run_command(cli + common + " --model " + first + " --out " + dir + "/a", &log), 0) << log;
  ASSERT_EQ(test::run_command(cli + common + " --model " + second + " --out " + dir + "/b", &log), 0) << log;
  ASSERT_EQ(test::run_command(cli + common + " --model " + first + " --ensemble " + second + " --out " + dir + "/ab", &log), 0)
      << log;
  const auto metrics = eval_read_json(dir + "/ab/metrics.json");
  EXPECT_EQ(metrics["inference"]["ensemble"], nlohmann::json::array({first, second})) << metrics["inference"].dump();
  const auto column_of = [&](const std::string& run) {
    std::map<std::string, int64_t> col;
    const auto label_dict = eval_read_json(dir + "/" + run + "/label_dict.json");
    for (const auto& [name, index] : label_dict.items()) col[name] = index.get<int64_t>();
    return col;
  };
  const auto ca = column_of("a"), cb = column_of("b"), cab = column_of("ab");
  EXPECT_EQ(ca, cab);  // the ensemble reports in the first model's class order
  const auto a = npy::read(dir + "/a/scores.npy"), b = npy::read(dir + "/b/scores.npy"), ab = npy::read(dir + "/ab/scores.npy");
  ASSERT_EQ(a.shape, ab.shape);
  const auto va = a.to_float32(), vb = b.to_float32(), vab = ab.to_float32();
  const int64_t rows = a.shape.at(0), C = a.shape.at(1);
  ASSERT_GT(rows, 0);
  double largest_change = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (const auto& [name, c] : ca) {
      const double expected = (va[static_cast<std::size_t>(r * C + c)] + vb[static_cast<std::size_t>(r * C + cb.at(name))]) / 2;
      EXPECT_NEAR(vab[static_cast<std::size_t>(r * C + c)], expected, 1e-4) << "row " << r << " " << name;
      largest_change = std::max(largest_change, std::abs(expected - va[static_cast<std::size_t>(r * C + c)]));
    }
  EXPECT_GT(largest_change, 1e-4);
  // Thresholds chosen for the ensemble are not the first model's: storing them there is refused.
  EXPECT_NE(test::run_command(cli + common + " --model " + first + " --ensemble " + second + " --store-thresholds --out " + dir + "/st",
                              &log),
            0);
  EXPECT_NE(log.find("--ensemble"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(dir + "/st/metrics.json"));
}

TEST(Evaluate, TestTimeFlipIsRecordedAndChangesTheScores) {
  const std::string dir = test::scratch_dir("evaluate-tta");
  const std::string brain = eval_brain();
  const std::string model_path = dir + "/m.raddiag";
  save_tiny_eval_model(model_path, {"glioma", "meningioma", "pituitary tumor", "no tumor"}, 8);
  const std::string cli = test::shell_quote(test::cli_path());
  std::string log;
  for (const char* tta : {"none", "flip"})
    ASSERT_EQ(test::run_command(cli + " evaluate --quiet --bootstrap 0 --tta " + tta + " --model " + model_path +
                                    " --manifest " + brain + " --out " + dir + "/" + tta,
                                &log),
              0)
        << log;
  const auto plain = eval_read_json(dir + "/none/metrics.json"), flipped = eval_read_json(dir + "/flip/metrics.json");
  EXPECT_EQ(plain["inference"]["tta"], "none");
  EXPECT_EQ(flipped["inference"]["tta"], "flip");
  EXPECT_EQ(flipped["inference"]["precision"], "fp32");
  const auto a = npy::read(dir + "/none/scores.npy").to_float32(), f = npy::read(dir + "/flip/scores.npy").to_float32();
  ASSERT_EQ(a.size(), f.size());
  ASSERT_GT(a.size(), 0u);
  double largest = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(std::isfinite(f[i])) << i;
    largest = std::max(largest, static_cast<double>(std::abs(a[i] - f[i])));
  }
  EXPECT_GT(largest, 1e-4);
  EXPECT_NE(test::run_command(cli + " evaluate --quiet --tta rotate --model " + model_path + " --manifest " + brain +
                                  " --out " + dir + "/bad",
                              &log),
            0);
  EXPECT_NE(log.find("flip"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad/metrics.json"));
}
