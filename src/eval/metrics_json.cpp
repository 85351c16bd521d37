#include "eval/metrics_json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace raddiag::eval {

namespace {

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// One value per kMetricTable entry, at the entry's (possibly nested) key.
template <typename Cell>
nlohmann::json metric_object(Cell cell) {
  nlohmann::json j;
  for (int k = 0; k < kNumMacroMetrics; ++k) {
    const std::string name = kMetricTable[k].name;
    const auto slash = name.find('/');
    if (slash == std::string::npos) j[name] = cell(k);
    else j[name.substr(0, slash)][name.substr(slash + 1)] = cell(k);
  }
  return j;
}

nlohmann::json ci_object(const ConfidenceIntervals& ci) {
  return metric_object([&](int k) { return nlohmann::json::array({num(ci.lo[k]), num(ci.hi[k])}); });
}

}  // namespace

nlohmann::json metric_vector_to_json(const MetricVector& v) {
  return metric_object([&](int k) { return num(v[k]); });
}

nlohmann::json metrics_to_json(const EvaluationResult& r, const MetricsJsonOptions& opt) {
  nlohmann::json j;
  j["n_cases"] = r.n_cases;
  j["n_classes"] = r.n_classes;
  j["n_defined"] = r.overall.n_defined;
  j["threshold_source"] = r.threshold_source;
  j["macro"] = metric_vector_to_json(r.overall.mean);
  j["group_rule"] = r.groups.rule;
  j["groups"] = nlohmann::json::object();
  for (std::size_t g = 0; g < r.groups.names.size(); ++g) {
    nlohmann::json gj = metric_vector_to_json(r.by_group[g].mean);
    gj["n_classes"] = r.by_group[g].n_classes;
    gj["n_defined"] = r.by_group[g].n_defined;
    j["groups"][r.groups.names[g]] = gj;
  }
  if (r.has_ci) {
    nlohmann::json ci;
    ci["method"] = "percentile bootstrap over cases";
    ci["level"] = r.overall_ci.level;
    ci["rounds"] = r.overall_ci.rounds;
    ci["seed"] = r.overall_ci.seed;
    ci["macro"] = ci_object(r.overall_ci);
    ci["groups"] = nlohmann::json::object();
    for (std::size_t g = 0; g < r.groups.names.size(); ++g) ci["groups"][r.groups.names[g]] = ci_object(r.group_ci[g]);
    j["ci"] = ci;
  }
  if (opt.per_class) {
    nlohmann::json list = nlohmann::json::array();
    for (int64_t c = 0; c < r.n_classes; ++c) {
      const BinaryMetrics& m = r.per_class[c];
      nlohmann::json e = metric_vector_to_json(metric_vector(m));
      e["index"] = c;
      if (opt.class_names && c < static_cast<int64_t>(opt.class_names->size())) e["name"] = (*opt.class_names)[c];
      const int g = r.groups.of_class[c];
      e["group"] = g >= 0 ? nlohmann::json(r.groups.names[g]) : nlohmann::json(nullptr);
      e["defined"] = m.defined;
      e["n_pos"] = m.n_pos;
      e["n_neg"] = m.n_neg;
      e["threshold"] = num(m.threshold);
      e["threshold_source"] = r.per_class_threshold_source[c];
      list.push_back(e);
    }
    j["per_class"] = list;
  }
  return j;
}

namespace {
nlohmann::json defined_class_list(const EvaluationResult& r, const std::vector<std::string>* names) {
  nlohmann::json list = nlohmann::json::array();
  for (int64_t c = 0; c < r.n_classes; ++c) {
    if (!r.per_class[c].defined) continue;
    if (names && c < static_cast<int64_t>(names->size())) list.push_back((*names)[c]);
    else list.push_back(c);
  }
  return list;
}
}  // namespace

nlohmann::json grouped_to_json(const GroupedEvaluation& g, const std::vector<std::string>* class_names) {
  nlohmann::json j;
  j["datasets"] = nlohmann::json::array();
  for (const auto& gr : g.groups) {
    const EvaluationResult& r = gr.result;
    nlohmann::json d;
    d["name"] = gr.name;
    d["n_cases"] = r.n_cases;
    d["n_defined"] = r.overall.n_defined;
    d["defined_classes"] = defined_class_list(r, class_names);
    d["macro"] = metric_vector_to_json(r.overall.mean);
    if (r.has_ci) d["ci"] = ci_object(r.overall_ci);
    j["datasets"].push_back(d);
  }
  nlohmann::json m;
  m["n_datasets"] = g.groups.size();
  m["macro"] = metric_vector_to_json(g.mean);
  if (g.has_ci) m["ci"] = ci_object(g.mean_ci);
  j["within_dataset_mean"] = m;
  j["ci_method"] = g.has_ci ? "percentile bootstrap over cases, resampled within each dataset; the mean's CI from the same "
                              "rounds averaged over datasets (stratified bootstrap)"
                            : "none";
  if (g.has_ci) j["ci_level"] = g.mean_ci.level, j["ci_rounds"] = g.mean_ci.rounds, j["ci_seed"] = g.mean_ci.seed;
  return j;
}

std::string grouped_table(const GroupedEvaluation& g, const std::string& what) {
  std::ostringstream os;
  os << "Within each " << what << " (" << g.groups.size() << " groups; each " << what
     << "'s own cases and the classes it has both labels for), metrics in %";
  if (g.has_ci) os << ", " << int(std::lround(g.mean_ci.level * 100)) << "% CI from " << g.mean_ci.rounds << " bootstrap rounds";
  os << "\n";
  std::size_t w = 7;
  for (const auto& gr : g.groups) w = std::max(w, gr.name.size());
  const int width = g.has_ci ? 20 : 8;
  char buf[96];
  auto cells = [&](const MetricVector& v, const ConfidenceIntervals* ci) {
    for (const char* name : {"auc", "ap", "f1"}) {
      const int k = metric_index(name);
      if (!std::isfinite(v[k])) {
        std::snprintf(buf, sizeof buf, " %*s", width, "-");
      } else if (ci) {
        char cell[48];
        std::snprintf(cell, sizeof cell, "%.2f [%.2f,%.2f]", 100 * v[k], 100 * ci->lo[k], 100 * ci->hi[k]);
        std::snprintf(buf, sizeof buf, " %*s", width, cell);
      } else {
        std::snprintf(buf, sizeof buf, " %*.2f", width, 100 * v[k]);
      }
      os << buf;
    }
    os << "\n";
  };
  std::snprintf(buf, sizeof buf, "%-*s %7s %9s", int(w), what.c_str(), "cases", "classes");
  os << buf;
  for (const char* h : {"macro AUC", "macro AP", "macro F1"}) {
    std::snprintf(buf, sizeof buf, " %*s", width, h);
    os << buf;
  }
  os << "\n";
  for (const auto& gr : g.groups) {
    std::snprintf(buf, sizeof buf, "%-*s %7lld %9lld", int(w), gr.name.c_str(), (long long)gr.result.n_cases,
                  (long long)gr.result.overall.n_defined);
    os << buf;
    cells(gr.result.overall.mean, gr.result.has_ci ? &gr.result.overall_ci : nullptr);
  }
  std::snprintf(buf, sizeof buf, "%-*s %7s %9s", int(w), "mean", "", "");
  os << buf;
  cells(g.mean, g.has_ci ? &g.mean_ci : nullptr);
  return os.str();
}

std::string metrics_table(const EvaluationResult& r, const std::string& all_label) {
  std::ostringstream os;
  os << r.n_cases << " cases, " << r.n_classes << " classes (" << r.overall.n_defined
     << " with both labels), thresholds: " << r.threshold_source << ", metrics in %";
  if (r.has_ci) os << ", " << int(std::lround(r.overall_ci.level * 100)) << "% CI from " << r.overall_ci.rounds << " bootstrap rounds";
  os << "\n";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%-8s %11s", "group", "defined");
  os << buf;
  const int width = r.has_ci ? 20 : 8;
  for (const auto& m : kMetricTable) {
    if (!m.heading) continue;
    std::snprintf(buf, sizeof buf, " %*s", width, m.heading);
    os << buf;
  }
  os << "\n";
  auto row = [&](const std::string& name, const MacroMetrics& m, const ConfidenceIntervals* ci) {
    std::snprintf(buf, sizeof buf, "%-8s %5lld/%-5lld", name.c_str(), (long long)m.n_defined, (long long)m.n_classes);
    os << buf;
    for (int k = 0; k < kNumMacroMetrics; ++k) {
      if (!kMetricTable[k].heading) continue;
      if (!std::isfinite(m.mean[k])) {
        std::snprintf(buf, sizeof buf, " %*s", width, "-");
      } else if (ci) {
        char cell[48];
        std::snprintf(cell, sizeof cell, "%.2f [%.2f,%.2f]", 100 * m.mean[k], 100 * ci->lo[k], 100 * ci->hi[k]);
        std::snprintf(buf, sizeof buf, " %*s", width, cell);
      } else {
        std::snprintf(buf, sizeof buf, " %*.2f", width, 100 * m.mean[k]);
      }
      os << buf;
    }
    os << "\n";
  };
  row(all_label, r.overall, r.has_ci ? &r.overall_ci : nullptr);
  for (std::size_t g = 0; g < r.groups.names.size(); ++g)
    row(r.groups.names[g], r.by_group[g], r.has_ci ? &r.group_ci[g] : nullptr);
  return os.str();
}

}  // namespace raddiag::eval
