#pragma once
// The paper's intra-/inter-anatomy negative analysis (RadDiag Fig. 4a): for each class, how the model
// scores its positives against two kinds of negatives. Intra-anatomy negatives are negative cases of an
// anatomy where the class does occur (some positive of the class has that anatomy): the confusable ones.
// Inter-anatomy negatives come from anatomies where no positive of the class lies, which a model should
// dismiss easily. The paper's claim is that scores separate positives from inter-anatomy negatives much
// better than from intra-anatomy negatives; the AUC of positives against each group measures exactly that.
//
// Per class: the anatomies of its positives; positives, intra and inter negatives with count, mean,
// median and a fixed-bin histogram of their probabilities; AUC (eval/binary_metrics.h, i.e. scikit-learn's
// roc_auc_score) of positives vs intra and positives vs inter negatives. Rows whose anatomy is unknown
// (empty) are never negatives of either kind (counted), and their positives add no anatomy. Entries whose
// label is unknown (LabelMatrix::kUnknown) are left out. Pooled: the mean of the per-class values.
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "eval/score_matrix.h"

namespace raddiag::eval {

// Count, mean, median (numpy's: the mean of the two middle values for an even count; computed in double)
// and histogram counts of one group's probabilities. Mean and median are NaN for an empty group.
struct ScoreGroupSummary {
  int64_t n = 0;
  double mean = std::numeric_limits<double>::quiet_NaN();
  double median = std::numeric_limits<double>::quiet_NaN();
  std::vector<int64_t> histogram;  // one count per bin
};

// Fixed-width bins on [0, 1] with numpy.histogram(x, bins, range=(0, 1))'s edges and rule: bin k is
// [edge_k, edge_k+1), the last bin also holds 1.0; edges are numpy.linspace(0, 1, bins + 1).
std::vector<double> histogram_edges(int bins);
std::vector<int64_t> fixed_bin_histogram(const std::vector<float>& values, const std::vector<double>& edges);
ScoreGroupSummary summarise_scores(std::vector<float> values, const std::vector<double>& edges);

struct ClassNegativeScores {
  int64_t index = 0;                   // class column
  std::vector<std::string> anatomies;  // of its positives (known ones), sorted
  ScoreGroupSummary positives, intra, inter;
  int64_t n_neg_unknown_anatomy = 0;   // negatives left out: their case has no anatomy
  int64_t n_unknown_label = 0;         // rows whose label for this class is unknown
  double auc_vs_intra = std::numeric_limits<double>::quiet_NaN();  // NaN when either group is empty
  double auc_vs_inter = std::numeric_limits<double>::quiet_NaN();
};

// Means over classes of the per-class values; NaN when no class has the value.
struct PooledNegativeScores {
  int64_t n_auc_vs_intra = 0, n_auc_vs_inter = 0;
  double mean_auc_vs_intra = std::numeric_limits<double>::quiet_NaN();
  double mean_auc_vs_inter = std::numeric_limits<double>::quiet_NaN();
  // The paired comparison (the paper's claim): classes where both AUCs are defined.
  int64_t n_paired = 0;
  double paired_mean_auc_vs_intra = std::numeric_limits<double>::quiet_NaN();
  double paired_mean_auc_vs_inter = std::numeric_limits<double>::quiet_NaN();
  int64_t n_paired_intra_below_inter = 0;  // classes whose intra AUC is strictly below their inter AUC
  // Mean over classes of each group's mean probability (classes where the group is non-empty).
  double mean_prob_positives = std::numeric_limits<double>::quiet_NaN();
  double mean_prob_intra = std::numeric_limits<double>::quiet_NaN();
  double mean_prob_inter = std::numeric_limits<double>::quiet_NaN();
  int64_t n_with_intra = 0, n_with_inter = 0;  // classes whose group is non-empty
  // Per bin: the mean over classes (where the group is non-empty) of the group's share of its cases in
  // that bin, so every class weighs the same in the pooled picture.
  std::vector<double> mean_share_positives, mean_share_intra, mean_share_inter;
};

struct NegativeScoreAnalysis {
  bool available = false;
  std::string reason;         // why not available
  std::string anatomy_source; // where the row anatomies came from (for the reader)
  std::vector<double> edges;  // histogram bin edges
  int64_t n_rows = 0;
  int64_t n_rows_unknown_anatomy = 0;
  std::vector<ClassNegativeScores> classes;  // the analysed classes, in index order
  // Classes not analysed, by reason ("no positive case", "no positive case with a known anatomy").
  std::map<std::string, int64_t> skipped;
  PooledNegativeScores pooled;
};

// `probabilities` must hold values in [0, 1] (e.g. after logits_to_probabilities); a NaN or out-of-range
// value is a raddiag::Error naming `source` with the row and class. `row_anatomies` has one entry per
// row ("" = unknown), else a raddiag::Error. When no row has a known anatomy the result is not available
// (with the reason) instead of an error.
NegativeScoreAnalysis analyse_negative_scores(const ScoreMatrix& probabilities, const LabelMatrix& labels,
                                              const std::vector<std::string>& row_anatomies,
                                              const std::string& source, int bins = 20);

}  // namespace raddiag::eval
