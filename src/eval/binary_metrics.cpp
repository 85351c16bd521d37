#include "eval/binary_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "util/error.h"

namespace raddiag::eval {

namespace {

// Maps a float to a uint32 whose unsigned order is the DESCENDING order of the floats (-0 == +0).
uint32_t descending_key(float f) {
  if (f == 0.0f) f = 0.0f;
  uint32_t b;
  std::memcpy(&b, &f, 4);
  const uint32_t ascending = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
  return ~ascending;
}

// Stable LSD radix sort of (key << 32 | index) by key, 3 passes of 11 bits: O(n), and ~10x faster
// than a comparison sort at 40k cases, which matters with thousands of classes.
void radix_sort_by_key(std::vector<uint64_t>& items) {
  std::vector<uint64_t> tmp(items.size());
  constexpr int kBits = 11;
  constexpr uint32_t kBuckets = 1u << kBits;
  for (int pass = 0; pass < 3; ++pass) {
    const int shift = 32 + pass * kBits;
    uint32_t count[kBuckets + 1] = {0};
    for (uint64_t v : items) ++count[((v >> shift) & (kBuckets - 1)) + 1];
    for (uint32_t b = 0; b < kBuckets; ++b) count[b + 1] += count[b];
    for (uint64_t v : items) tmp[count[(v >> shift) & (kBuckets - 1)]++] = v;
    items.swap(tmp);
  }
}

// Matthews correlation exactly as sklearn.metrics.matthews_corrcoef computes it from the confusion
// matrix (integer covariances; 0 when a marginal is degenerate).
double mcc_from_counts(int64_t tp, int64_t fp, int64_t P, int64_t N) {
  const int64_t tn = N - fp, fn = P - tp, n = P + N;
  const int64_t pred_pos = tp + fp, pred_neg = tn + fn;
  const __int128 cov_ytyp = __int128(tp + tn) * n - (__int128(N) * pred_neg + __int128(P) * pred_pos);
  const __int128 cov_ypyp = __int128(n) * n - (__int128(pred_neg) * pred_neg + __int128(pred_pos) * pred_pos);
  const __int128 cov_ytyt = __int128(n) * n - (__int128(N) * N + __int128(P) * P);
  const __int128 denom = cov_ypyp * cov_ytyt;
  if (denom == 0) return 0.0;
  return static_cast<double>(cov_ytyp) / std::sqrt(static_cast<double>(denom));
}

double f1_from_counts(int64_t tp, int64_t fp, int64_t P) {
  // As sklearn: precision = tp/(tp+fp) (0 when nothing is predicted), recall = tp/P, F1 = 2pr/(p+r), NaN -> 0.
  const double p = (tp + fp) > 0 ? double(tp) / double(tp + fp) : 0.0;
  const double r = double(tp) / double(P);
  return (p + r) > 0 ? 2 * p * r / (p + r) : 0.0;
}

// Recall at FPR targets by the reference rule: among the points of sklearn's roc_curve with
// drop_intermediate=True (plus the prepended (0,0)), the first point minimising |fpr - f|; report its tpr.
// Points arrive in curve order; a point is kept when its incoming and outgoing steps differ (non-zero
// second difference), the first and the last always. Since fpr never decreases, the answer for target f
// is settled at the first kept point with fpr >= f: it or the best point before it.
class RecallAtFpr {
 public:
  RecallAtFpr(int64_t P, int64_t N) : P_(P), N_(N) {
    for (int k = 0; k < kNumFprTargets; ++k) {
      // Smallest integer fp with fp/N >= f, evaluated in double exactly as the comparison later is.
      const double f = kFprTargets[k];
      int64_t x = static_cast<int64_t>(std::ceil(f * double(N)));
      while (x > 0 && double(x - 1) / double(N) >= f) --x;
      while (double(x) / double(N) < f) ++x;
      first_fp_at_or_above_[k] = x;
    }
  }
  bool active() const { return k_ < kNumFprTargets; }

  void add_point(int64_t fp, int64_t tp) {
    if (!have_pending_) {
      have_pending_ = true;
      pend_first_ = true;
    } else {
      const int64_t sfp = fp - pend_fp_, stp = tp - pend_tp_;
      if (pend_first_ || sfp != step_fp_ || stp != step_tp_) kept(pend_fp_, pend_tp_);
      pend_first_ = false;
      step_fp_ = sfp;
      step_tp_ = stp;
    }
    pend_fp_ = fp;
    pend_tp_ = tp;
  }

  void finish(std::array<double, kNumFprTargets>& out) {
    if (have_pending_ && active()) kept(pend_fp_, pend_tp_);
    while (k_ < kNumFprTargets) result_tp_[k_++] = best_tp_;
    for (int k = 0; k < kNumFprTargets; ++k) out[k] = double(result_tp_[k]) / double(P_);
  }

 private:
  void kept(int64_t fp, int64_t tp) {
    while (k_ < kNumFprTargets && fp >= first_fp_at_or_above_[k_]) {
      const double f = kFprTargets[k_];
      const double d_here = std::fabs(double(fp) / double(N_) - f);
      const double d_best = std::fabs(double(best_fp_) / double(N_) - f);
      result_tp_[k_++] = d_here < d_best ? tp : best_tp_;  // ties: the earlier point
    }
    if (fp > best_fp_) {  // strictly: among equal fpr the first point stays
      best_fp_ = fp;
      best_tp_ = tp;
    }
  }

  int64_t P_, N_;
  std::array<int64_t, kNumFprTargets> first_fp_at_or_above_{};
  std::array<int64_t, kNumFprTargets> result_tp_{};
  int k_ = 0;
  int64_t best_fp_ = 0, best_tp_ = 0;  // the prepended (0,0)
  bool have_pending_ = false, pend_first_ = false;
  int64_t pend_fp_ = 0, pend_tp_ = 0, step_fp_ = 0, step_tp_ = 0;
};

}  // namespace

RankedClass::RankedClass(const float* scores, const uint8_t* labels, int64_t n) {
  if (n >= kMaxCases) throw Error("metrics", "too many cases for one evaluation (max 2^30)");
  std::vector<uint64_t> items(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) items[i] = (uint64_t(descending_key(scores[i])) << 32) | uint64_t(i);
  radix_sort_by_key(items);
  entries_.resize(items.size());
  sorted_.resize(items.size());
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t i = static_cast<uint32_t>(items[j]);
    const bool last_of_run = (j + 1 == n) || ((items[j + 1] >> 32) != (items[j] >> 32));
    const bool pos = labels[i] != 0;
    n_pos_ += pos;
    if (pos) positives_.push_back(i);
    entries_[j] = i | (pos ? kPositiveBit : 0u) | (last_of_run ? kGroupEndBit : 0u);
    sorted_[j] = scores[i] == 0.0f ? 0.0f : scores[i];
  }
}

int64_t RankedClass::count_at_or_above(double t) const {
  // sorted_ is descending: the first index whose score is < t.
  auto it = std::partition_point(sorted_.begin(), sorted_.end(), [t](float s) { return double(s) >= t; });
  return static_cast<int64_t>(it - sorted_.begin());
}

BinaryMetrics evaluate_ranked(const RankedClass& rc, const uint8_t* weights, const ThresholdRule& rule,
                              int64_t weight_total) {
  BinaryMetrics m;
  const auto& e = rc.entries();
  const int64_t n = rc.size();
  // Weighted class totals; O(n) but cheap next to the main pass.
  int64_t P = 0, total = 0;
  if (weights && weight_total >= 0) {
    total = weight_total;
    for (uint32_t i : rc.positive_cases()) P += weights[i];
  } else if (weights) {
    for (int64_t j = 0; j < n; ++j) {
      const int64_t w = weights[e[j] & RankedClass::kIndexMask];
      total += w;
      P += (e[j] & RankedClass::kPositiveBit) ? w : 0;
    }
  } else {
    P = rc.n_pos();
    total = n;
  }
  const int64_t N = total - P;
  m.n_pos = P;
  m.n_neg = N;
  if (P == 0 || N == 0) return m;
  m.defined = true;

  const int64_t cut = rule.fixed ? rc.count_at_or_above(rule.value) : -1;
  RecallAtFpr recall(P, N);
  int64_t tp = 0, fp = 0, tpg = 0, fpg = 0;
  __int128 area2 = 0;  // 2 * (pairs ranked correctly + half the tied pairs)
  double ap_sum = 0;
  double best_f1 = -1;
  int64_t best_j = -1, tp_at = 0, fp_at = 0;
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t x = e[j];
    const int64_t w = weights ? weights[x & RankedClass::kIndexMask] : 1;
    if (x & RankedClass::kPositiveBit) tpg += w; else fpg += w;
    if (!(x & RankedClass::kGroupEndBit)) continue;
    if (tpg | fpg) {
      tp += tpg;
      fp += fpg;
      if (tpg) {
        area2 += __int128(tpg) * (2 * (N - fp) + fpg);
        const double precision = double(tp) / double(tp + fp);
        ap_sum += double(tpg) * precision;
        if (!rule.fixed) {
          // precision_recall_curve is ascending in threshold and argmax takes the first: the LOWEST
          // threshold among equal F1, i.e. the last one met here. Points without positives never win.
          const double r = double(tp) / double(P);
          const double f1 = 2 * precision * r / (precision + r);
          if (f1 >= best_f1) {
            best_f1 = f1;
            best_j = j;
            tp_at = tp;
            fp_at = fp;
          }
        }
      }
      if (recall.active()) recall.add_point(fp, tp);
      tpg = fpg = 0;
    }
    if (j < cut) {
      tp_at = tp;
      fp_at = fp;
    }
  }
  recall.finish(m.recall_at_fpr);
  m.auc = static_cast<double>(area2) / (2.0 * double(P) * double(N));
  m.ap = ap_sum / double(P);
  if (rule.fixed) {
    m.threshold = rule.value;
    m.f1 = f1_from_counts(tp_at, fp_at, P);
  } else {
    m.threshold = rc.sorted_scores()[best_j];
    m.f1 = best_f1;
  }
  m.mcc = mcc_from_counts(tp_at, fp_at, P, N);
  m.acc = double(tp_at + (N - fp_at)) / double(P + N);
  m.tpr = double(tp_at) / double(P);
  m.fpr = double(fp_at) / double(N);
  return m;
}

BinaryMetrics binary_metrics(const float* scores, const uint8_t* labels, int64_t n, const ThresholdRule& rule) {
  RankedClass rc(scores, labels, n);
  return evaluate_ranked(rc, nullptr, rule);
}

ClassCurves class_curves(const RankedClass& rc, int grid_points) {
  ClassCurves c;
  const int64_t P = rc.n_pos(), N = rc.n_neg();
  if (P == 0 || N == 0 || grid_points < 2) return c;
  // The ROC and PR points (one per run of equal scores), starting at (0,0).
  std::vector<double> fpr{0.0}, tpr{0.0}, rec, prec;
  int64_t tp = 0, fp = 0;
  for (uint32_t x : rc.entries()) {
    if (x & RankedClass::kPositiveBit) ++tp; else ++fp;
    if (!(x & RankedClass::kGroupEndBit)) continue;
    fpr.push_back(double(fp) / double(N));
    tpr.push_back(double(tp) / double(P));
    rec.push_back(double(tp) / double(P));
    prec.push_back(double(tp) / double(tp + fp));
  }
  const int G = grid_points;
  c.roc_tpr.resize(G);
  std::size_t i = 0;
  for (int g = 0; g < G; ++g) {
    const double x = double(g) / (G - 1);
    while (i + 1 < fpr.size() && fpr[i + 1] <= x) ++i;  // last point with fpr <= x (upper on vertical steps)
    double y = tpr[i];
    if (i + 1 < fpr.size() && fpr[i + 1] > fpr[i]) y += (tpr[i + 1] - tpr[i]) * (x - fpr[i]) / (fpr[i + 1] - fpr[i]);
    c.roc_tpr[g] = static_cast<float>(y);
  }
  // Interpolated precision: running max of precision from the high-recall end.
  c.pr_precision.assign(G, 0.0f);
  double run = 0;
  std::size_t k = rec.size();
  for (int g = G - 1; g >= 0; --g) {
    const double r = double(g) / (G - 1);
    while (k > 0 && rec[k - 1] >= r) {
      run = std::max(run, prec[k - 1]);
      --k;
    }
    c.pr_precision[g] = static_cast<float>(run);
  }
  return c;
}

}  // namespace raddiag::eval
