#include "eval/multilabel_metrics.h"

#include <algorithm>
#include <cmath>

#include "eval/bootstrap.h"
#include "eval/parallel.h"
#include "util/error.h"

namespace raddiag::eval {

namespace {

constexpr int64_t kBlock = 16;  // classes gathered together: one cache line per row of a C-order matrix

// Column views of a block of classes; copies only when the matrix is row-major.
struct ColumnBlock {
  std::vector<float> score_buf;
  std::vector<uint8_t> label_buf;
  const float* score(int64_t k) const { return score_ptr[k]; }
  const uint8_t* label(int64_t k) const { return label_ptr[k]; }
  std::vector<const float*> score_ptr;
  std::vector<const uint8_t*> label_ptr;

  void load(const ScoreMatrix& s, const LabelMatrix& l, int64_t c0, int64_t c1) {
    const int64_t n = s.n_cases, b = c1 - c0;
    score_ptr.assign(b, nullptr);
    label_ptr.assign(b, nullptr);
    if (s.column_major) {
      for (int64_t k = 0; k < b; ++k) score_ptr[k] = s.data() + (c0 + k) * n;
    } else {
      score_buf.resize(static_cast<std::size_t>(b * n));
      for (int64_t i = 0; i < n; ++i) {
        const float* row = s.data() + i * s.n_classes + c0;
        for (int64_t k = 0; k < b; ++k) score_buf[k * n + i] = row[k];
      }
      for (int64_t k = 0; k < b; ++k) score_ptr[k] = score_buf.data() + k * n;
    }
    if (l.column_major) {
      for (int64_t k = 0; k < b; ++k) label_ptr[k] = l.values.data() + (c0 + k) * n;
    } else {
      label_buf.resize(static_cast<std::size_t>(b * n));
      for (int64_t i = 0; i < n; ++i) {
        const uint8_t* row = l.values.data() + i * l.n_classes + c0;
        for (int64_t k = 0; k < b; ++k) label_buf[k * n + i] = row[k];
      }
      for (int64_t k = 0; k < b; ++k) label_ptr[k] = label_buf.data() + k * n;
    }
  }
};

// Exact, order-independent sums of metric values in [-1, 1] (fixed point, 2^-40 resolution): the
// bootstrap means are identical whatever the thread count or scheduling.
constexpr double kFixedScale = 1099511627776.0;  // 2^40

struct BootstrapAccumulator {
  int rounds = 0, slots = 0;
  std::vector<int64_t> sums;    // [round][slot][metric]
  std::vector<int32_t> counts;  // [round][slot]
  void init(int r, int s) {
    rounds = r;
    slots = s;
    sums.assign(static_cast<std::size_t>(r) * s * kNumMacroMetrics, 0);
    counts.assign(static_cast<std::size_t>(r) * s, 0);
  }
  void add(int round, int slot, const MetricVector& v) {
    int64_t* dst = sums.data() + (static_cast<std::size_t>(round) * slots + slot) * kNumMacroMetrics;
    for (int k = 0; k < kNumMacroMetrics; ++k) dst[k] += std::llround(v[k] * kFixedScale);
    ++counts[static_cast<std::size_t>(round) * slots + slot];
  }
};

// One class column without its unknown entries (LabelMatrix::kUnknown): a case whose label is unknown
// for a class is neither a positive nor a negative there, so it is left out of that class's metrics
// (and of that class in every bootstrap round), never counted as a negative.
struct KnownColumn {
  const float* scores = nullptr;
  const uint8_t* labels = nullptr;
  int64_t n = 0;
  bool compacted = false;
  std::vector<int64_t> kept;  // original case index of each kept entry (when compacted)
  std::vector<float> score_buf;
  std::vector<uint8_t> label_buf, weight_buf;

  void load(const float* s, const uint8_t* l, int64_t count) {
    compacted = std::find(l, l + count, LabelMatrix::kUnknown) != l + count;
    if (!compacted) {
      scores = s, labels = l, n = count;
      return;
    }
    kept.clear(), score_buf.clear(), label_buf.clear();
    for (int64_t i = 0; i < count; ++i)
      if (l[i] != LabelMatrix::kUnknown) kept.push_back(i), score_buf.push_back(s[i]), label_buf.push_back(l[i]);
    scores = score_buf.data(), labels = label_buf.data(), n = static_cast<int64_t>(kept.size());
  }
  // A bootstrap weight row over all cases, restricted to the kept cases.
  const uint8_t* weights(const uint8_t* row) {
    if (!compacted) return row;
    weight_buf.resize(kept.size());
    for (std::size_t j = 0; j < kept.size(); ++j) weight_buf[j] = row[kept[j]];
    return weight_buf.data();
  }
  // The known weight total of a bootstrap row (n) only holds when nothing was left out.
  int64_t weight_total(int64_t all) const { return compacted ? -1 : all; }
};

void check_inputs(const ScoreMatrix& s, const LabelMatrix& l) {
  if (s.n_cases != l.n_cases || s.n_classes != l.n_classes)
    throw Error("metrics", "scores and labels differ in shape");
  if (s.n_cases >= RankedClass::kMaxCases) throw Error("metrics", "too many cases (max 2^30)");
}

}  // namespace

const std::array<std::string, kNumMacroMetrics>& macro_metric_names() {
  static const std::array<std::string, kNumMacroMetrics> names = [] {
    std::array<std::string, kNumMacroMetrics> n;
    for (int k = 0; k < kNumMacroMetrics; ++k) n[k] = kMetricTable[k].name;
    return n;
  }();
  return names;
}

MetricVector metric_vector(const BinaryMetrics& m) {
  MetricVector v;
  for (int k = 0; k < kNumMacroMetrics; ++k) v[k] = kMetricTable[k].compute(m);
  return v;
}

MacroMetrics macro_mean(const std::vector<BinaryMetrics>& per_class, const std::vector<int64_t>& classes) {
  MacroMetrics out;
  out.n_classes = static_cast<int64_t>(classes.size());
  MetricVector sum{};
  for (int64_t c : classes) {
    const auto& m = per_class[c];
    if (!m.defined) continue;
    ++out.n_defined;
    const MetricVector v = metric_vector(m);
    for (int k = 0; k < kNumMacroMetrics; ++k) sum[k] += v[k];
  }
  for (int k = 0; k < kNumMacroMetrics; ++k)
    out.mean[k] = out.n_defined ? sum[k] / double(out.n_defined) : BinaryMetrics::kNaN;
  return out;
}

std::vector<double> select_thresholds(const ScoreMatrix& scores, const LabelMatrix& labels, int threads) {
  check_inputs(scores, labels);
  const int64_t C = scores.n_classes;
  std::vector<double> t(static_cast<std::size_t>(C), BinaryMetrics::kNaN);
  const int workers = resolve_threads(threads);
  std::vector<ColumnBlock> blocks(workers);
  parallel_for((C + kBlock - 1) / kBlock, workers, [&](int64_t task, int worker) {
    const int64_t c0 = task * kBlock, c1 = std::min(C, c0 + kBlock);
    ColumnBlock& b = blocks[worker];
    b.load(scores, labels, c0, c1);
    KnownColumn col;
    for (int64_t c = c0; c < c1; ++c) {
      col.load(b.score(c - c0), b.label(c - c0), scores.n_cases);
      RankedClass rc(col.scores, col.labels, col.n);
      const BinaryMetrics m = evaluate_ranked(rc, nullptr, ThresholdRule{});
      if (m.defined) t[c] = m.threshold;
    }
  });
  return t;
}

EvaluationResult evaluate(const ScoreMatrix& scores, const LabelMatrix& labels, const ClassGroups& groups,
                          const EvaluationOptions& opt) {
  check_inputs(scores, labels);
  const int64_t n = scores.n_cases, C = scores.n_classes;
  if (groups.n_classes() != C)
    throw Error("metrics", "groups cover " + std::to_string(groups.n_classes()) + " classes, scores have " + std::to_string(C));
  const bool fixed = !opt.thresholds.empty();
  if (fixed && static_cast<int64_t>(opt.thresholds.size()) != C)
    throw Error("metrics", "validation thresholds cover " + std::to_string(opt.thresholds.size()) +
                               " classes, scores have " + std::to_string(C));
  if (opt.bootstrap_rounds < 0) throw Error("metrics", "bootstrap rounds must be >= 0");
  if (!(opt.ci_level > 0 && opt.ci_level < 1)) throw Error("metrics", "CI level must be in (0, 1)");

  EvaluationResult res;
  res.n_cases = n;
  res.n_classes = C;
  res.groups = groups;
  res.threshold_source = fixed ? "validation" : "self";
  res.per_class.resize(static_cast<std::size_t>(C));
  res.per_class_threshold_source.assign(static_cast<std::size_t>(C), "self");
  if (opt.curve_grid > 1) res.curves.resize(static_cast<std::size_t>(C));

  const int workers = resolve_threads(opt.threads);
  const int G = static_cast<int>(groups.names.size());
  const int slots = 1 + G;  // slot 0 = all classes
  const int R = opt.bootstrap_rounds;
  std::vector<BootstrapAccumulator> acc(workers);
  for (auto& a : acc) a.init(R, slots);
  std::vector<ColumnBlock> blocks(workers);

  // Rounds are processed in chunks whose weights fit in 128 MiB; each chunk sorts every class again,
  // which only happens for very large case counts.
  const int64_t chunk_rounds = R == 0 ? 1 : std::max<int64_t>(1, std::min<int64_t>(R, (int64_t(128) << 20) / n));
  const int n_chunks = R == 0 ? 1 : static_cast<int>((R + chunk_rounds - 1) / chunk_rounds);
  for (int chunk = 0; chunk < n_chunks; ++chunk) {
    const int first = static_cast<int>(chunk * chunk_rounds);
    const int count = R == 0 ? 0 : static_cast<int>(std::min<int64_t>(chunk_rounds, R - first));
    const std::vector<uint8_t> weights = count ? bootstrap_weights(n, first, count, opt.seed) : std::vector<uint8_t>();
    parallel_for((C + kBlock - 1) / kBlock, workers, [&](int64_t task, int worker) {
      const int64_t c0 = task * kBlock, c1 = std::min(C, c0 + kBlock);
      ColumnBlock& b = blocks[worker];
      b.load(scores, labels, c0, c1);
      KnownColumn col;
      for (int64_t c = c0; c < c1; ++c) {
        col.load(b.score(c - c0), b.label(c - c0), n);
        RankedClass rc(col.scores, col.labels, col.n);
        ThresholdRule rule;
        if (fixed && !std::isnan(opt.thresholds[c])) {
          rule.fixed = true;
          rule.value = opt.thresholds[c];
        }
        if (chunk == 0) {
          res.per_class[c] = evaluate_ranked(rc, nullptr, rule);
          if (rule.fixed) res.per_class_threshold_source[c] = "validation";
          if (opt.curve_grid > 1) res.curves[c] = class_curves(rc, opt.curve_grid);
        }
        const int g = groups.of_class[c];
        for (int r = 0; r < count; ++r) {
          const BinaryMetrics m =
              evaluate_ranked(rc, col.weights(weights.data() + static_cast<std::size_t>(r) * n), rule, col.weight_total(n));
          if (!m.defined) continue;
          const MetricVector v = metric_vector(m);
          acc[worker].add(first + r, 0, v);
          if (g >= 0) acc[worker].add(first + r, 1 + g, v);
        }
      }
    });
  }

  std::vector<std::vector<int64_t>> members(slots);
  for (int64_t c = 0; c < C; ++c) {
    members[0].push_back(c);
    if (groups.of_class[c] >= 0) members[1 + groups.of_class[c]].push_back(c);
  }
  res.overall = macro_mean(res.per_class, members[0]);
  for (int g = 0; g < G; ++g) res.by_group.push_back(macro_mean(res.per_class, members[1 + g]));

  if (R > 0) {
    res.has_ci = true;
    const double q_lo = (1 - opt.ci_level) / 2 * 100, q_hi = 100 - q_lo;
    std::vector<ConfidenceIntervals> cis(slots);
    for (int s = 0; s < slots; ++s) {
      ConfidenceIntervals& ci = cis[s];
      ci.rounds = R;
      ci.seed = opt.seed;
      ci.level = opt.ci_level;
      for (int k = 0; k < kNumMacroMetrics; ++k) {
        std::vector<double> values;
        for (int r = 0; r < R; ++r) {
          int64_t sum = 0, cnt = 0;
          for (const auto& a : acc) {
            sum += a.sums[(static_cast<std::size_t>(r) * slots + s) * kNumMacroMetrics + k];
            cnt += a.counts[static_cast<std::size_t>(r) * slots + s];
          }
          if (cnt > 0) values.push_back(double(sum) / kFixedScale / double(cnt));
        }
        ci.rounds_used[k] = static_cast<int>(values.size());
        ci.lo[k] = percentile_linear(values, q_lo);
        ci.hi[k] = percentile_linear(values, q_hi);
      }
    }
    if (opt.keep_rounds) {
      res.overall_rounds.resize(static_cast<std::size_t>(R));
      for (int r = 0; r < R; ++r) {
        int64_t cnt = 0;
        for (const auto& a : acc) cnt += a.counts[static_cast<std::size_t>(r) * slots];
        for (int k = 0; k < kNumMacroMetrics; ++k) {
          int64_t sum = 0;
          for (const auto& a : acc) sum += a.sums[static_cast<std::size_t>(r) * slots * kNumMacroMetrics + k];
          res.overall_rounds[r][k] = cnt > 0 ? double(sum) / kFixedScale / double(cnt) : BinaryMetrics::kNaN;
        }
      }
    }
    res.overall_ci = cis[0];
    res.group_ci.assign(cis.begin() + 1, cis.end());
  }
  return res;
}

}  // namespace raddiag::eval
