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

// The points of sklearn's _binary_clf_curve (one per run of equal scores that has non-zero weight),
// reached by walking the sorted entries. Only used around the few places where recall at an FPR target
// is decided, so the main pass stays a tight loop.
struct CurvePoint {
  int64_t fp = 0, tp = 0;    // cumulative counts at this point
  int64_t dfp = 0, dtp = 0;  // increments from the previous point (this run's weights)
  int64_t begin = 0, end = -1;  // entries [begin, end] of the run; origin: end = -1
  bool origin = true;           // the (0,0) that roc_curve prepends
};

class CurveWalker {
 public:
  CurveWalker(const std::vector<uint32_t>& e, const uint8_t* w) : e_(e), w_(w) {}

  int64_t weight(uint32_t x) const { return w_ ? w_[x & RankedClass::kIndexMask] : 1; }

  // The point of the run ending at entry `end`, whose cumulative counts (after the run) are fp, tp.
  CurvePoint at(int64_t end, int64_t fp, int64_t tp) const {
    CurvePoint p;
    p.origin = false;
    p.end = end;
    p.fp = fp;
    p.tp = tp;
    int64_t j = end;
    do {
      const uint32_t x = e_[j];
      ((x & RankedClass::kPositiveBit) ? p.dtp : p.dfp) += weight(x);
      --j;
    } while (j >= 0 && !(e_[j] & RankedClass::kGroupEndBit));
    p.begin = j + 1;
    return p;
  }

  // The next point after p (false when p is the last one).
  bool next(const CurvePoint& p, CurvePoint& out) const {
    const int64_t n = static_cast<int64_t>(e_.size());
    int64_t dfp = 0, dtp = 0;
    for (int64_t j = p.end + 1; j < n; ++j) {
      const uint32_t x = e_[j];
      ((x & RankedClass::kPositiveBit) ? dtp : dfp) += weight(x);
      if (!(x & RankedClass::kGroupEndBit)) continue;
      if (dfp | dtp) {
        out = at(j, p.fp + dfp, p.tp + dtp);
        return true;
      }
    }
    return false;
  }

  // The point before p (the origin when there is none).
  CurvePoint prev(const CurvePoint& p) const {
    const int64_t fp = p.fp - p.dfp, tp = p.tp - p.dtp;
    for (int64_t j = p.begin - 1; j >= 0;) {
      const CurvePoint q = at(j, fp, tp);
      if (q.dfp | q.dtp) return q;
      j = q.begin - 1;
    }
    return CurvePoint{};
  }

  // Whether roc_curve(drop_intermediate=True) keeps p: the origin, the first and the last point always,
  // others when the step into p differs from the step out of it (non-zero second difference).
  bool kept(const CurvePoint& p) const {
    if (p.origin || (p.fp == p.dfp && p.tp == p.dtp)) return true;
    CurvePoint q;
    if (!next(p, q)) return true;
    return p.dfp != q.dfp || p.dtp != q.dtp;
  }

  // The first point having p's fpr. If that fpr has several points (a vertical run) the first of them is
  // always kept, since its step in moves right and its step out moves up.
  CurvePoint first_of_value(const CurvePoint& p) const {
    CurvePoint q = p;
    while (!q.origin && q.dfp == 0) q = prev(q);
    return q;
  }

 private:
  const std::vector<uint32_t>& e_;
  const uint8_t* w_;
};

// Recall at FPR f by the reference rule: i = argmin |fpr - f| over the kept roc_curve points (first on
// ties), report tpr[i]. fpr never decreases along the curve, so the minimum lies at the largest kept fpr
// value below f or the smallest at or above it; among points sharing an fpr the first is meant. `c` is
// the first point with fpr >= f.
double recall_at_fpr_from(const CurveWalker& walk, const CurvePoint& c, double f, int64_t P, int64_t N) {
  CurvePoint above = c;
  while (!walk.kept(above)) {
    CurvePoint nx;
    if (!walk.next(above, nx)) break;  // unreachable: the last point is kept
    above = nx;
  }
  CurvePoint below = walk.prev(c);
  for (;;) {
    const CurvePoint first = walk.first_of_value(below);
    if (first.origin || first.end != below.end || walk.kept(below)) {
      below = first;
      break;
    }
    below = walk.prev(below);
  }
  const double d_above = std::fabs(double(above.fp) / double(N) - f);
  const double d_below = std::fabs(double(below.fp) / double(N) - f);
  return double(d_above < d_below ? above.tp : below.tp) / double(P);  // ties: the earlier point
}

// Smallest integer fp with fp / N >= f, evaluated in double exactly as the comparisons are.
int64_t first_fp_at_or_above(double f, int64_t N) {
  int64_t x = static_cast<int64_t>(std::ceil(f * double(N)));
  while (x > 0 && double(x - 1) / double(N) >= f) --x;
  while (double(x) / double(N) < f) ++x;
  return x;
}

struct PassResult {
  __int128 area2 = 0;  // 2 * (pairs ranked correctly + half the tied pairs)
  double ap_sum = 0;
  double best_f1 = -1;
  int64_t best_j = -1, tp_at = 0, fp_at = 0;
};

// The single pass over a sorted class. Entries of runs without positives (most of them) only add their
// weight to the false positives in a tight loop (one load, one weight lookup, one add, two predictable
// branches); it stops at runs containing a positive (scored whole), where the cumulative FP first reaches
// an FPR target (recall at FPR is then settled by walking the curve nearby), and at the fixed threshold.
template <bool kWeighted>
void scan(const RankedClass& rc, const uint8_t* weights, int64_t P, int64_t N, int64_t cut, bool self_threshold,
          BinaryMetrics& m, PassResult& r) {
  constexpr uint32_t kMask = RankedClass::kIndexMask, kEnd = RankedClass::kGroupEndBit,
                     kPos = RankedClass::kPositiveBit, kHasPos = RankedClass::kGroupHasPositiveBit;
  auto W = [weights](uint32_t x) -> int64_t {
    if constexpr (kWeighted) return weights[x & kMask];
    else return 1;
  };
  const uint32_t* E = rc.entries().data();
  const int64_t n = rc.size();
  const CurveWalker walk(rc.entries(), kWeighted ? weights : nullptr);
  std::array<int64_t, kNumFprTargets> fp_target{};
  for (int k = 0; k < kNumFprTargets; ++k) fp_target[k] = first_fp_at_or_above(kFprTargets[k], N);
  int next_target = 0;
  int64_t next_fp = fp_target[0];
  int64_t tp = 0, fp = 0, j = 0;
  bool cut_done = cut < 0;
  auto crossing = [&](int64_t end) {
    const CurvePoint c = walk.at(end, fp, tp);
    while (next_target < kNumFprTargets && fp >= fp_target[next_target]) {
      m.recall_at_fpr[next_target] = recall_at_fpr_from(walk, c, kFprTargets[next_target], P, N);
      ++next_target;
    }
    next_fp = next_target < kNumFprTargets ? fp_target[next_target] : std::numeric_limits<int64_t>::max();
  };
  while (j < n || !cut_done) {
    const int64_t stop = cut_done ? n : cut;
    while (j < stop) {
      const uint32_t x = E[j];
      if (x & kHasPos) break;
      fp += W(x);
      ++j;
      if (fp >= next_fp) break;
    }
    if (fp >= next_fp) {  // crossed inside a run without positives: finish the run first
      while (!(E[j - 1] & kEnd)) fp += W(E[j++]);
      crossing(j - 1);
    }
    if (!cut_done && j == cut) {  // cut lies on a run boundary: everything before it scores >= t
      r.tp_at = tp;
      r.fp_at = fp;
      cut_done = true;
      continue;
    }
    if (j < n && (E[j] & kHasPos)) {
      int64_t tpg = 0, fpg = 0;
      for (;; ++j) {
        const uint32_t y = E[j];
        ((y & kPos) ? tpg : fpg) += W(y);
        if (y & kEnd) break;
      }
      const int64_t end = j++;
      tp += tpg;
      fp += fpg;
      if (tpg) {
        r.area2 += __int128(tpg) * (2 * (N - fp) + fpg);
        const double precision = double(tp) / double(tp + fp);
        r.ap_sum += double(tpg) * precision;
        if (self_threshold) {
          // precision_recall_curve is ascending in threshold and argmax takes the first: the LOWEST
          // threshold among equal F1, i.e. the last one met here. Points without positives never win.
          const double rec = double(tp) / double(P);
          const double f1 = 2 * precision * rec / (precision + rec);
          if (f1 >= r.best_f1) {
            r.best_f1 = f1;
            r.best_j = end;
            r.tp_at = tp;
            r.fp_at = fp;
          }
        }
      }
      if (fp >= next_fp) crossing(end);
    }
  }
}

}  // namespace

RankedClass::RankedClass(const float* scores, const uint8_t* labels, int64_t n) {
  if (n >= kMaxCases) throw Error("metrics", "too many cases for one evaluation (max 2^29)");
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
  // Mark every entry of runs that contain a positive, so the evaluation pass can treat all other entries
  // as plain false positives.
  for (int64_t b = 0; b < n;) {
    int64_t e = b;
    bool any = false;
    for (;; ++e) {
      any |= (entries_[e] & kPositiveBit) != 0;
      if (entries_[e] & kGroupEndBit) break;
    }
    if (any)
      for (int64_t j = b; j <= e; ++j) entries_[j] |= kGroupHasPositiveBit;
    b = e + 1;
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
  PassResult pr;
  if (weights) scan<true>(rc, weights, P, N, cut, !rule.fixed, m, pr);
  else scan<false>(rc, weights, P, N, cut, !rule.fixed, m, pr);
  const __int128 area2 = pr.area2;
  const double ap_sum = pr.ap_sum, best_f1 = pr.best_f1;
  const int64_t best_j = pr.best_j, tp_at = pr.tp_at, fp_at = pr.fp_at;
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
