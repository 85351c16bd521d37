// The intra-/inter-anatomy negative analysis (eval/negative_score_distribution.h): a small input where every
// count, mean, median, bin and AUC is worked out by hand; numpy/scikit-learn on a larger one
// (tests/py/eval_negative_scores_reference.py); numpy.histogram's bin rule at the edges; the edge cases (no
// anatomy at all, a class without positives, positives only without anatomy, no inter-anatomy negative, NaN
// scores, a row count that differs); the JSON/HTML outputs and `run_metrics --row-anatomies`.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "eval/metrics_run.h"
#include "eval/negative_score_distribution.h"
#include "eval/negative_score_report.h"
#include "test_support.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/npy.h"

using namespace raddiag;
using namespace raddiag::eval;

namespace negative_scores_test {

ScoreMatrix row_major_scores(int64_t n, int64_t C, std::vector<float> v) {
  ScoreMatrix m;
  m.n_cases = n, m.n_classes = C, m.values = std::move(v);
  return m;
}
LabelMatrix row_major_labels(int64_t n, int64_t C, std::vector<uint8_t> v) {
  LabelMatrix m;
  m.n_cases = n, m.n_classes = C, m.values = std::move(v);
  return m;
}

const ClassNegativeScores& class_of(const NegativeScoreAnalysis& a, int64_t c) {
  for (const auto& k : a.classes)
    if (k.index == c) return k;
  throw std::runtime_error("class " + std::to_string(c) + " not analysed");
}

int bin_of(const ScoreGroupSummary& g) {  // the one non-empty bin of a one-value group
  for (std::size_t b = 0; b < g.histogram.size(); ++b)
    if (g.histogram[b]) return static_cast<int>(b);
  return -1;
}

// 8 cases x 4 classes. Values are binary fractions, so sums and bins are exact.
//   row anatomy  class0        class1      class2  class3
//   0   Chest    1  0.875      0 0.3125    0 0.1   1 0.875
//   1   Chest    1  0.625      0 0.3125    0 0.1   ? 0.5
//   2   Chest    0  0.6875     0 0.3125    0 0.1   0 0.5
//   3   Chest    0  0.1875     0 0.3125    0 0.1   0 0.5
//   4   Head     0  0.125      1 0.5       0 0.1   0 0.5
//   5   Head     0  0.0625     0 0.5       0 0.1   0 0.5
//   6   (none)   0  0.9375     0 0.3125    0 0.1   0 0.5
//   7   (none)   1  0.375      0 0.3125    0 0.1   0 0.5
struct Small {
  ScoreMatrix p;
  LabelMatrix y;
  std::vector<std::string> anatomy{"Chest", "Chest", "Chest", "Chest", "Head", "Head", "", ""};
  Small() {
    const uint8_t U = LabelMatrix::kUnknown;
    p = row_major_scores(8, 4, {0.875f, 0.3125f, 0.1f, 0.875f,   0.625f, 0.3125f, 0.1f, 0.5f,
                                0.6875f, 0.3125f, 0.1f, 0.5f,    0.1875f, 0.3125f, 0.1f, 0.5f,
                                0.125f, 0.5f, 0.1f, 0.5f,        0.0625f, 0.5f, 0.1f, 0.5f,
                                0.9375f, 0.3125f, 0.1f, 0.5f,    0.375f, 0.3125f, 0.1f, 0.5f});
    y = row_major_labels(8, 4, {1, 0, 0, 1,  1, 0, 0, U,  0, 0, 0, 0,  0, 0, 0, 0,
                                0, 1, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  1, 0, 0, 0});
  }
};

}  // namespace negative_scores_test
using namespace negative_scores_test;

TEST(NegativeScoreDistribution, SmallInputEqualsHandCount) {
  const Small s;
  const NegativeScoreAnalysis a = analyse_negative_scores(s.p, s.y, s.anatomy, "small");
  ASSERT_TRUE(a.available) << a.reason;
  EXPECT_EQ(a.n_rows, 8);
  EXPECT_EQ(a.n_rows_unknown_anatomy, 2);
  ASSERT_EQ(a.classes.size(), 3u);  // class 2 has no positive
  EXPECT_EQ(a.skipped.at("no positive case"), 1);

  // Class 0: positives 0.875, 0.625 (Chest) and 0.375 (no anatomy: a positive, but adds no anatomy).
  const auto& k0 = class_of(a, 0);
  EXPECT_EQ(k0.anatomies, std::vector<std::string>{"Chest"});
  EXPECT_EQ(k0.positives.n, 3);
  EXPECT_EQ(k0.intra.n, 2);  // Chest negatives 0.6875, 0.1875
  EXPECT_EQ(k0.inter.n, 2);  // Head negatives 0.125, 0.0625
  EXPECT_EQ(k0.n_neg_unknown_anatomy, 1);  // row 6
  EXPECT_DOUBLE_EQ(k0.positives.mean, 0.625);
  EXPECT_DOUBLE_EQ(k0.positives.median, 0.625);
  EXPECT_DOUBLE_EQ(k0.intra.mean, 0.4375);
  EXPECT_DOUBLE_EQ(k0.intra.median, 0.4375);  // even count: mean of the two middle values
  EXPECT_DOUBLE_EQ(k0.inter.mean, 0.09375);
  // 20 bins of width 0.05: 0.875 -> 17, 0.625 -> 12, 0.375 -> 7; 0.6875 -> 13, 0.1875 -> 3; 0.125 -> 2, 0.0625 -> 1.
  ASSERT_EQ(k0.positives.histogram.size(), 20u);
  std::vector<int64_t> want(20, 0);
  want[17] = want[12] = want[7] = 1;
  EXPECT_EQ(k0.positives.histogram, want);
  want.assign(20, 0);
  want[13] = want[3] = 1;
  EXPECT_EQ(k0.intra.histogram, want);
  want.assign(20, 0);
  want[2] = want[1] = 1;
  EXPECT_EQ(k0.inter.histogram, want);
  // Pairs won vs intra: 0.875 beats both, 0.625 and 0.375 beat 0.1875 only: 4 of 6. Inter: all 6.
  EXPECT_DOUBLE_EQ(k0.auc_vs_intra, 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(k0.auc_vs_inter, 1.0);

  // Class 1: one Head positive at 0.5, the other Head case ties it (AUC 0.5); Chest negatives are inter.
  const auto& k1 = class_of(a, 1);
  EXPECT_EQ(k1.anatomies, std::vector<std::string>{"Head"});
  EXPECT_EQ(k1.intra.n, 1);
  EXPECT_EQ(k1.inter.n, 4);
  EXPECT_EQ(k1.n_neg_unknown_anatomy, 2);
  EXPECT_DOUBLE_EQ(k1.auc_vs_intra, 0.5);
  EXPECT_DOUBLE_EQ(k1.auc_vs_inter, 1.0);
  EXPECT_EQ(bin_of(k1.positives), 10);  // 0.5 lies on an edge: the upper bin, as numpy

  // Class 3: the unknown label of row 1 is in no group.
  const auto& k3 = class_of(a, 3);
  EXPECT_EQ(k3.n_unknown_label, 1);
  EXPECT_EQ(k3.positives.n, 1);
  EXPECT_EQ(k3.intra.n, 2);
  EXPECT_EQ(k3.inter.n, 2);
  EXPECT_EQ(k3.n_neg_unknown_anatomy, 2);

  const PooledNegativeScores& p = a.pooled;
  EXPECT_EQ(p.n_auc_vs_intra, 3);
  EXPECT_DOUBLE_EQ(p.mean_auc_vs_intra, (4.0 / 6.0 + 0.5 + 1.0) / 3);
  EXPECT_DOUBLE_EQ(p.mean_auc_vs_inter, 1.0);
  EXPECT_EQ(p.n_paired, 3);
  EXPECT_EQ(p.n_paired_intra_below_inter, 2);
  EXPECT_DOUBLE_EQ(p.mean_prob_positives, (0.625 + 0.5 + 0.875) / 3);
  ASSERT_EQ(p.mean_share_inter.size(), 20u);
  // Inter shares: class 0 half in bins 1 and 2; class 1 all four at 0.3125 (bin 6); class 3 both at 0.5 (bin 10).
  EXPECT_DOUBLE_EQ(p.mean_share_inter[1], 0.5 / 3);
  EXPECT_DOUBLE_EQ(p.mean_share_inter[6], 1.0 / 3);
  EXPECT_DOUBLE_EQ(p.mean_share_inter[10], 1.0 / 3);
}

TEST(NegativeScoreDistribution, HistogramFollowsNumpyAtTheEdges) {
  const std::vector<double> e = histogram_edges(20);
  ASSERT_EQ(e.size(), 21u);
  EXPECT_EQ(e.front(), 0.0);
  EXPECT_EQ(e.back(), 1.0);
  // 0 -> first bin, 1 -> last bin (closed), 0.05f (just above the double 0.05) -> bin 1, 0.35f (just below the
  // double 0.35) -> bin 6, values outside [0, 1] are not counted.
  const auto h = fixed_bin_histogram({0.f, 1.f, 0.05f, 0.35f, 0.5f, -0.1f, 1.5f}, e);
  std::vector<int64_t> want(20, 0);
  want[0] = want[19] = want[1] = want[6] = want[10] = 1;
  EXPECT_EQ(h, want);
  EXPECT_THROW(histogram_edges(0), Error);
  const ScoreGroupSummary empty = summarise_scores({}, e);
  EXPECT_EQ(empty.n, 0);
  EXPECT_TRUE(std::isnan(empty.mean));
  EXPECT_TRUE(std::isnan(empty.median));
  EXPECT_EQ(empty.histogram, std::vector<int64_t>(20, 0));
}

TEST(NegativeScoreDistribution, EqualsNumpyAndSklearn) {
  const std::string dir = test::scratch_dir("negative_scores_ref");
  test::run_python_script("eval_negative_scores_reference.py", {dir});
  const ScoreMatrix p = scores_from_npy(npy::read(dir + "/probabilities.npy"), "probabilities");
  const LabelMatrix y = labels_from_npy(npy::read(dir + "/labels.npy"), "labels");
  const auto anatomies = read_row_groups(dir + "/anatomies.txt");
  const auto want = nlohmann::json::parse(read_file_bytes(dir + "/expected.json"));
  const NegativeScoreAnalysis a = analyse_negative_scores(p, y, anatomies, "reference");
  ASSERT_TRUE(a.available);
  EXPECT_EQ(a.n_rows_unknown_anatomy, want["n_rows_unknown_anatomy"].get<int64_t>());
  EXPECT_EQ(a.edges, want["edges"].get<std::vector<double>>());
  for (const auto& [why, n] : want["skipped"].items()) EXPECT_EQ(a.skipped.at(why), n.get<int64_t>()) << why;
  EXPECT_EQ(a.skipped.size(), want["skipped"].size());
  ASSERT_EQ(a.classes.size(), want["classes"].size());
  auto near_or_null = [](double got, const nlohmann::json& w, const std::string& what) {
    if (w.is_null()) EXPECT_TRUE(std::isnan(got)) << what;
    else EXPECT_NEAR(got, w.get<double>(), 1e-12) << what;
  };
  for (std::size_t i = 0; i < a.classes.size(); ++i) {
    const ClassNegativeScores& k = a.classes[i];
    const auto& w = want["classes"][i];
    SCOPED_TRACE("class " + std::to_string(k.index));
    EXPECT_EQ(k.index, w["index"].get<int64_t>());
    EXPECT_EQ(k.anatomies, w["anatomies"].get<std::vector<std::string>>());
    EXPECT_EQ(k.n_neg_unknown_anatomy, w["n_neg_unknown_anatomy"].get<int64_t>());
    EXPECT_EQ(k.n_unknown_label, w["n_unknown_label"].get<int64_t>());
    for (const char* g : {"positives", "intra", "inter"}) {
      const ScoreGroupSummary& s = std::string(g) == "positives" ? k.positives : std::string(g) == "intra" ? k.intra : k.inter;
      EXPECT_EQ(s.n, w[g]["n"].get<int64_t>()) << g;
      near_or_null(s.mean, w[g]["mean"], std::string(g) + " mean");
      near_or_null(s.median, w[g]["median"], std::string(g) + " median");
      EXPECT_EQ(s.histogram, w[g]["histogram"].get<std::vector<int64_t>>()) << g;
    }
    near_or_null(k.auc_vs_intra, w["auc_pos_vs_intra"], "auc intra");
    near_or_null(k.auc_vs_inter, w["auc_pos_vs_inter"], "auc inter");
  }
  const auto& wp = want["pooled"];
  const PooledNegativeScores& pp = a.pooled;
  EXPECT_EQ(pp.n_auc_vs_intra, wp["n_auc_vs_intra"].get<int64_t>());
  EXPECT_EQ(pp.n_auc_vs_inter, wp["n_auc_vs_inter"].get<int64_t>());
  EXPECT_NEAR(pp.mean_auc_vs_intra, wp["mean_auc_vs_intra"].get<double>(), 1e-12);
  EXPECT_NEAR(pp.mean_auc_vs_inter, wp["mean_auc_vs_inter"].get<double>(), 1e-12);
  EXPECT_EQ(pp.n_paired, wp["n_paired"].get<int64_t>());
  EXPECT_NEAR(pp.paired_mean_auc_vs_intra, wp["paired_mean_auc_vs_intra"].get<double>(), 1e-12);
  EXPECT_NEAR(pp.paired_mean_auc_vs_inter, wp["paired_mean_auc_vs_inter"].get<double>(), 1e-12);
  EXPECT_EQ(pp.n_paired_intra_below_inter, wp["n_paired_intra_below_inter"].get<int64_t>());
  EXPECT_NEAR(pp.mean_prob_positives, wp["mean_prob_positives"].get<double>(), 1e-12);
  EXPECT_NEAR(pp.mean_prob_intra, wp["mean_prob_intra"].get<double>(), 1e-12);
  EXPECT_NEAR(pp.mean_prob_inter, wp["mean_prob_inter"].get<double>(), 1e-12);
  for (const char* g : {"positives", "intra", "inter"}) {
    const auto& got = std::string(g) == "positives" ? pp.mean_share_positives
                      : std::string(g) == "intra"   ? pp.mean_share_intra
                                                    : pp.mean_share_inter;
    const auto w = wp[std::string("mean_share_") + g].get<std::vector<double>>();
    ASSERT_EQ(got.size(), w.size()) << g;
    for (std::size_t b = 0; b < w.size(); ++b) EXPECT_NEAR(got[b], w[b], 1e-12) << g << " bin " << b;
  }
}

TEST(NegativeScoreDistribution, EdgeCasesAreExplainedOrRefused) {
  Small s;
  // No anatomy anywhere: not available, with the reason; the JSON and the report section say so.
  const NegativeScoreAnalysis none = analyse_negative_scores(s.p, s.y, std::vector<std::string>(8), "none");
  EXPECT_FALSE(none.available);
  EXPECT_NE(none.reason.find("anatomy"), std::string::npos) << none.reason;
  const auto j = negative_scores_to_json(none);
  EXPECT_FALSE(j["available"].get<bool>());
  EXPECT_FALSE(j.contains("classes"));
  EXPECT_NE(j["reason"].get<std::string>().find("anatomy"), std::string::npos);
  EXPECT_NE(negative_scores_html(none).find("Not available"), std::string::npos);

  // Positives only in cases without anatomy: the class is skipped with that reason (rows 0 and 1 lose theirs:
  // classes 0 and 3 are left with none; class 1's Head positive keeps it).
  std::vector<std::string> only_unknown_pos = s.anatomy;
  only_unknown_pos[0] = only_unknown_pos[1] = "";
  const NegativeScoreAnalysis a = analyse_negative_scores(s.p, s.y, only_unknown_pos, "x");
  EXPECT_EQ(a.skipped.at("no positive case with a known anatomy"), 2);
  ASSERT_EQ(a.classes.size(), 1u);
  EXPECT_EQ(a.classes[0].index, 1);
  EXPECT_EQ(a.classes[0].n_neg_unknown_anatomy, 4);
  // Every negative in one group (one anatomy): the other group is empty and its AUC undefined, not 0.5.
  const NegativeScoreAnalysis one = analyse_negative_scores(s.p, s.y, std::vector<std::string>(8, "Chest"), "one");
  const auto& k0 = class_of(one, 0);
  EXPECT_EQ(k0.inter.n, 0);
  EXPECT_EQ(k0.intra.n, 5);
  EXPECT_TRUE(std::isnan(k0.auc_vs_inter));
  EXPECT_TRUE(std::isnan(k0.inter.mean));
  EXPECT_EQ(one.pooled.n_auc_vs_inter, 0);
  EXPECT_TRUE(std::isnan(one.pooled.mean_auc_vs_inter));
  EXPECT_TRUE(negative_scores_to_json(one)["classes"][0]["auc_pos_vs_inter"].is_null());

  // NaN or a value outside [0, 1] (logits): an error naming the source, row and class.
  s.p.values[4 * 2 + 1] = std::nanf("");
  try {
    analyse_negative_scores(s.p, s.y, s.anatomy, "scores.npy");
    FAIL() << "NaN accepted";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("scores.npy"), std::string::npos) << m;
    EXPECT_NE(m.find("row 2, class 1"), std::string::npos) << m;
  }
  s.p.values[4 * 2 + 1] = 3.5f;
  EXPECT_THROW(analyse_negative_scores(s.p, s.y, s.anatomy, "logits"), Error);
  // One anatomy per row.
  EXPECT_THROW(analyse_negative_scores(Small().p, Small().y, {"Chest"}, "rows"), Error);
}

TEST(NegativeScoreDistribution, JsonAndReportSection) {
  const Small s;
  const NegativeScoreAnalysis a = analyse_negative_scores(s.p, s.y, s.anatomy, "small");
  const std::vector<std::string> names{"pneumonia", "glioma", "never", "nodule <5mm"};
  const auto j = negative_scores_to_json(a, &names);
  ASSERT_TRUE(j["available"].get<bool>());
  EXPECT_EQ(j["classes"].size(), 3u);
  EXPECT_EQ(j["classes"][0]["name"], "pneumonia");
  EXPECT_EQ(j["classes"][0]["n_intra"].get<int64_t>(), 2);
  EXPECT_EQ(j["classes"][0]["positives"]["histogram"].size(), 20u);
  EXPECT_NEAR(j["pooled"]["paired"]["auc_pos_vs_intra"].get<double>(), (4.0 / 6.0 + 0.5 + 1.0) / 3, 1e-15);
  EXPECT_EQ(j["skipped_classes"]["no positive case"].get<int64_t>(), 1);
  EXPECT_EQ(j["histogram"]["edges"].size(), 21u);
  // Plotted: classes with both kinds of negatives, most positives first (class 0 has 3).
  const auto drawn = classes_to_plot(a, 2);
  ASSERT_EQ(drawn.size(), 2u);
  EXPECT_EQ(drawn[0], 0);
  const std::string html = negative_scores_html(a, &names);
  EXPECT_NE(html.find("Intra- vs inter-anatomy negatives"), std::string::npos);
  EXPECT_EQ(html.find("Not available"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("nodule &lt;5mm"), std::string::npos);  // names are escaped
  EXPECT_EQ(html.find("nodule <5mm"), std::string::npos);
  EXPECT_NE(negative_scores_summary(a).find("paired over 3 classes"), std::string::npos) << negative_scores_summary(a);
}

// `raddiag metrics --row-anatomies` as a library call: metrics.json's negative_scores and the report section;
// logits are turned into probabilities first.
TEST(NegativeScoreDistribution, MetricsRunAddsTheSection) {
  const std::string dir = test::scratch_dir("negative_scores_run");
  const Small s;
  std::vector<float> logits;
  for (float v : s.p.values) logits.push_back(std::log(v / (1 - v)));
  std::vector<float> labels;
  for (uint8_t v : s.y.values) labels.push_back(v == LabelMatrix::kUnknown ? -1.f : static_cast<float>(v));
  npy::write(dir + "/logits.npy", npy::make_float32({8, 4}, logits.data()));
  npy::write(dir + "/labels.npy", npy::make_float32({8, 4}, labels.data()));
  std::string rows;
  for (const auto& an : s.anatomy) rows += an + "\n";
  write_bytes_atomically(dir + "/anatomies.txt", rows);
  MetricsRunOptions o;
  o.scores = dir + "/logits.npy";
  o.labels = dir + "/labels.npy";
  o.score_kind = ScoreKind::kLogits;
  o.bootstrap = 0;
  o.groups = "none";
  o.row_anatomies = dir + "/anatomies.txt";
  o.anatomy_source = "test anatomies";
  o.report_dir = dir + "/report";
  const MetricsRunResult r = run_metrics(o);
  ASSERT_TRUE(r.json.contains("negative_scores"));
  const auto& n = r.json["negative_scores"];
  EXPECT_EQ(n["anatomy_source"], "test anatomies");
  EXPECT_NEAR(n["classes"][0]["auc_pos_vs_intra"].get<double>(), 4.0 / 6.0, 1e-12);
  EXPECT_NEAR(n["classes"][0]["positives"]["mean"].get<double>(), 0.625, 1e-6);  // sigmoid(logit) in float32
  EXPECT_NE(r.table.find("Intra-/inter-anatomy negatives"), std::string::npos);
  const std::string html = read_file_bytes(dir + "/report/report.html");
  EXPECT_NE(html.find("Intra- vs inter-anatomy negatives"), std::string::npos);
  // Without --row-anatomies nothing is added.
  o.row_anatomies.clear();
  EXPECT_FALSE(run_metrics(o).json.contains("negative_scores"));
  // A file with another row count: an error naming it.
  write_bytes_atomically(dir + "/short.txt", "Chest\nHead\n");
  o.row_anatomies = dir + "/short.txt";
  try {
    run_metrics(o);
    FAIL() << "short anatomy file accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("short.txt"), std::string::npos) << e.what();
  }
}
