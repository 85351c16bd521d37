#pragma once
// Metrics of one class (one score column against its 0/1 labels), as the RadDiag reference computes
// them with scikit-learn (reference 6.1): AUC (roc_auc_score), AP (average_precision_score), the max-F1
// threshold of precision_recall_curve and MCC/ACC/TPR/FPR there, and recall at fixed FPR by the nearest
// point of roc_curve(drop_intermediate=True).
//
// The column is sorted once (RankedClass); every metric then comes from one linear pass over the sorted
// order with a multiplicity per case. Multiplicities 1 give the plain metrics; the multiplicities of a
// bootstrap resample give that resample's metrics exactly, as if the cases had been duplicated, without
// sorting again. That is what makes case-level bootstrap affordable (see eval/bootstrap.h).
#include <array>
#include <cstdint>
#include <limits>
#include <vector>

namespace raddiag::eval {

// FPR targets of "recall at FPR"; the reference publishes the first three.
inline constexpr std::array<double, 5> kFprTargets = {0.01, 0.05, 0.1, 0.2, 0.5};
inline constexpr int kNumFprTargets = static_cast<int>(kFprTargets.size());

// Metrics of one class; everything is NaN when the class is undefined (no positive or no negative case).
struct BinaryMetrics {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  bool defined = false;
  int64_t n_pos = 0;
  int64_t n_neg = 0;
  double auc = kNaN;
  double ap = kNaN;
  double f1 = kNaN;   // max F1 (self threshold) or F1 at the given threshold
  double mcc = kNaN;  // at s >= threshold
  double acc = kNaN;
  double tpr = kNaN;
  double fpr = kNaN;
  double threshold = kNaN;  // s >= threshold predicts positive
  std::array<double, kNumFprTargets> recall_at_fpr{kNaN, kNaN, kNaN, kNaN, kNaN};
};

// One class column sorted by descending score. Entry j packs the case index (low 29 bits), "positive"
// (bit 31), "last of a run of equal scores" (bit 30) and "its run contains a positive" (bit 29).
class RankedClass {
 public:
  static constexpr uint32_t kPositiveBit = 1u << 31;
  static constexpr uint32_t kGroupEndBit = 1u << 30;
  static constexpr uint32_t kGroupHasPositiveBit = 1u << 29;
  static constexpr uint32_t kIndexMask = kGroupHasPositiveBit - 1;
  static constexpr int64_t kMaxCases = int64_t(kIndexMask) + 1;

  RankedClass() = default;
  // scores[i], labels[i] (0/1) for i < n. Scores must be finite (checked by the caller).
  RankedClass(const float* scores, const uint8_t* labels, int64_t n);

  int64_t size() const { return static_cast<int64_t>(entries_.size()); }
  int64_t n_pos() const { return n_pos_; }
  int64_t n_neg() const { return size() - n_pos_; }
  const std::vector<uint32_t>& entries() const { return entries_; }
  const std::vector<float>& sorted_scores() const { return sorted_; }
  // Number of cases with score >= t (the predicted positives at threshold t).
  int64_t count_at_or_above(double t) const;
  const std::vector<uint32_t>& positive_cases() const { return positives_; }

 private:
  std::vector<uint32_t> entries_;
  std::vector<float> sorted_;
  std::vector<uint32_t> positives_;
  int64_t n_pos_ = 0;
};

// Threshold rule: Self = the max-F1 threshold of the data itself (reference); Fixed = a given threshold
// (chosen elsewhere, e.g. on a validation set).
struct ThresholdRule {
  bool fixed = false;
  double value = 0;  // used when fixed
};

// Metrics with multiplicity weights[case] (nullptr = every case once). Weights index the case numbers
// given to the RankedClass constructor. weight_total, when >= 0, is the known sum of all weights (a
// bootstrap row sums to n), which saves a pass.
BinaryMetrics evaluate_ranked(const RankedClass& rc, const uint8_t* weights, const ThresholdRule& rule,
                              int64_t weight_total = -1);

// Convenience for one column: sorts and evaluates with multiplicity 1.
BinaryMetrics binary_metrics(const float* scores, const uint8_t* labels, int64_t n,
                             const ThresholdRule& rule = {});

// Curves of one class sampled on a fixed grid, for figures: tpr at fpr = i/(G-1) (linear between ROC
// points, the upper point on vertical steps) and interpolated precision (max precision at recall >= r)
// at recall = i/(G-1). Empty when the class is undefined.
struct ClassCurves {
  std::vector<float> roc_tpr;
  std::vector<float> pr_precision;
};
ClassCurves class_curves(const RankedClass& rc, int grid_points);

}  // namespace raddiag::eval
