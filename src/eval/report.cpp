#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "eval/negative_score_report.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::eval {

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
std::string pct(double v) { return std::isfinite(v) ? fmt("%.2f", 100 * v) : "&ndash;"; }
std::string num_or_empty(double v) { return std::isfinite(v) ? fmt("%.17g", v) : ""; }

std::string class_name(const std::vector<std::string>* names, int64_t c) {
  return names && c < static_cast<int64_t>(names->size()) ? (*names)[c] : "class " + std::to_string(c);
}

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

// One curve plot: for each band a shaded min..max area and the 50th percentile line.
std::string svg_plot(const std::vector<CurveBand>& bands, bool roc) {
  const double W = 360, H = 300, L = 45, T = 15, PW = 290, PH = 240;
  auto X = [&](double x) { return L + x * PW; };
  auto Y = [&](double y) { return T + (1 - y) * PH; };
  std::ostringstream s;
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' viewBox='0 0 " << W << " " << H
    << "' font-family='sans-serif' font-size='11'>";
  s << "<rect x='" << L << "' y='" << T << "' width='" << PW << "' height='" << PH << "' fill='white' stroke='#999'/>";
  for (int i = 0; i <= 4; ++i) {
    const double v = i / 4.0;
    s << "<line x1='" << X(v) << "' y1='" << Y(0) << "' x2='" << X(v) << "' y2='" << Y(1) << "' stroke='#eee'/>";
    s << "<line x1='" << X(0) << "' y1='" << Y(v) << "' x2='" << X(1) << "' y2='" << Y(v) << "' stroke='#eee'/>";
    s << "<text x='" << X(v) << "' y='" << Y(0) + 14 << "' text-anchor='middle'>" << fmt("%.2g", v) << "</text>";
    s << "<text x='" << X(0) - 5 << "' y='" << Y(v) + 4 << "' text-anchor='end'>" << fmt("%.2g", v) << "</text>";
  }
  if (roc) s << "<line x1='" << X(0) << "' y1='" << Y(0) << "' x2='" << X(1) << "' y2='" << Y(1) << "' stroke='#bbb' stroke-dasharray='4 3'/>";
  s << "<text x='" << X(0.5) << "' y='" << H - 5 << "' text-anchor='middle'>" << (roc ? "false positive rate" : "recall") << "</text>";
  s << "<text transform='translate(12," << Y(0.5) << ") rotate(-90)' text-anchor='middle'>"
    << (roc ? "true positive rate" : "precision") << "</text>";
  int legend = 0;
  for (std::size_t b = 0; b < bands.size(); ++b) {
    const CurveBand& band = bands[b];
    if (band.p50.empty()) continue;
    const char* color = kColors[b % 6];
    std::ostringstream area, line;
    for (std::size_t i = 0; i < band.grid.size(); ++i) area << (i ? " L" : "M") << X(band.grid[i]) << "," << Y(band.hi[i]);
    for (std::size_t i = band.grid.size(); i-- > 0;) area << " L" << X(band.grid[i]) << "," << Y(band.lo[i]);
    for (std::size_t i = 0; i < band.grid.size(); ++i) line << (i ? " L" : "M") << X(band.grid[i]) << "," << Y(band.p50[i]);
    s << "<path d='" << area.str() << " Z' fill='" << color << "' fill-opacity='0.15' stroke='none'/>";
    s << "<path d='" << line.str() << "' fill='none' stroke='" << color << "' stroke-width='1.6'/>";
    const double ly = roc ? Y(0.05) - 14 * legend : Y(0.95) - 14 * legend;
    s << "<rect x='" << X(roc ? 0.62 : 0.62) << "' y='" << ly - 8 << "' width='10' height='10' fill='" << color << "'/>";
    s << "<text x='" << X(0.62) + 14 << "' y='" << ly + 1 << "'>" << html_escape(band.group) << " (" << band.n_classes << ")</text>";
    if (roc) ++legend; else --legend;
  }
  s << "</svg>";
  return s.str();
}

std::string grouped_table_html(const GroupedEvaluation& g, const std::string& what = "dataset") {
  std::ostringstream s;
  s << "<table><tr><th>" << html_escape(what) << "</th><th>cases</th><th>classes (defined)</th><th>macro AUC</th><th>macro AP</th><th>macro F1</th></tr>";
  auto cells = [&](const MetricVector& v, const ConfidenceIntervals* ci) {
    for (const char* name : {"auc", "ap", "f1"}) {
      const int k = metric_index(name);
      s << "<td>" << pct(v[k]);
      if (ci && std::isfinite(ci->lo[k])) s << "<br><small>[" << pct(ci->lo[k]) << ", " << pct(ci->hi[k]) << "]</small>";
      s << "</td>";
    }
    s << "</tr>";
  };
  for (const auto& gr : g.groups) {
    const EvaluationResult& r = gr.result;
    s << "<tr><td>" << html_escape(gr.name) << "</td><td>" << r.n_cases << "</td><td>" << r.n_classes << " (" << r.overall.n_defined << ")</td>";
    cells(r.overall.mean, r.has_ci ? &r.overall_ci : nullptr);
  }
  s << "<tr><th>mean over datasets</th><td></td><td></td>";
  cells(g.mean, g.has_ci ? &g.mean_ci : nullptr);
  s << "</table>";
  return s.str();
}

std::string metrics_table_html(const EvaluationResult& r, const std::string& all_label) {
  std::ostringstream s;
  s << "<table><tr><th>group</th><th>classes (defined)</th>";
  for (const auto& m : kMetricTable)
    if (m.heading) s << "<th>" << m.heading << "</th>";
  s << "</tr>";
  auto row = [&](const std::string& name, const MacroMetrics& m, const ConfidenceIntervals* ci) {
    s << "<tr><td>" << html_escape(name) << "</td><td>" << m.n_classes << " (" << m.n_defined << ")</td>";
    for (int k = 0; k < kNumMacroMetrics; ++k) {
      if (!kMetricTable[k].heading) continue;
      s << "<td>" << pct(m.mean[k]);
      if (ci && std::isfinite(ci->lo[k])) s << "<br><small>[" << pct(ci->lo[k]) << ", " << pct(ci->hi[k]) << "]</small>";
      s << "</td>";
    }
    s << "</tr>";
  };
  row(all_label, r.overall, r.has_ci ? &r.overall_ci : nullptr);
  for (std::size_t g = 0; g < r.groups.names.size(); ++g) row(r.groups.names[g], r.by_group[g], r.has_ci ? &r.group_ci[g] : nullptr);
  s << "</table>";
  return s.str();
}

std::string class_list_html(const EvaluationResult& r, const std::vector<std::string>* names, int count) {
  std::vector<int64_t> defined;
  for (int64_t c = 0; c < r.n_classes; ++c)
    if (r.per_class[c].defined) defined.push_back(c);
  std::stable_sort(defined.begin(), defined.end(), [&](int64_t a, int64_t b) { return r.per_class[a].auc > r.per_class[b].auc; });
  auto table = [&](const std::string& title, std::vector<int64_t> cls) {
    std::ostringstream s;
    s << "<div class='half'><h4>" << title << "</h4><table><tr><th>#</th><th>class</th><th>group</th><th>positives</th>"
      << "<th>AUC</th><th>AP</th><th>F1</th><th>threshold</th></tr>";
    for (int64_t c : cls) {
      const BinaryMetrics& m = r.per_class[c];
      const int g = r.groups.of_class[c];
      s << "<tr><td>" << c << "</td><td>" << html_escape(class_name(names, c)) << "</td><td>"
        << (g >= 0 ? html_escape(r.groups.names[g]) : "") << "</td><td>" << m.n_pos << "</td><td>" << pct(m.auc)
        << "</td><td>" << pct(m.ap) << "</td><td>" << pct(m.f1) << "</td><td>" << fmt("%.4g", m.threshold) << "</td></tr>";
    }
    s << "</table></div>";
    return s.str();
  };
  const std::size_t n = std::min<std::size_t>(count, defined.size());
  std::vector<int64_t> best(defined.begin(), defined.begin() + n);
  std::vector<int64_t> worst(defined.end() - n, defined.end());
  std::reverse(worst.begin(), worst.end());
  return table("Best " + std::to_string(n) + " classes by AUC", best) + table("Worst " + std::to_string(n) + " classes by AUC", worst);
}

}  // namespace

void write_report(const std::vector<ReportSection>& sections, const std::string& path, const ReportOptions& opt) {
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>" << html_escape(opt.title) << "</title><style>"
    << "body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}table{border-collapse:collapse;margin:8px 0}"
    << "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right;font-size:13px}th{background:#f3f3f3}"
    << "td:nth-child(2),td:first-child{text-align:left}small{color:#666}.half{display:inline-block;vertical-align:top;margin-right:24px}"
    << "figure{display:inline-block;margin:0 16px 0 0}figcaption{font-size:12px;color:#555;max-width:360px}"
    << "</style></head><body>\n<h1>" << html_escape(opt.title) << "</h1>\n";
  if (opt.by_dataset) {
    const GroupedEvaluation& g = *opt.by_dataset;
    h << "<h2>Within each dataset</h2>\n<p>The cases come from " << g.groups.size() << " datasets. Each row is evaluated "
      << "on that dataset's cases only, over the classes it has both positive and negative cases for; the last row is "
      << "the mean of the datasets' macro values. Pooled numbers (below) also reward telling the datasets apart. Metrics in %";
    if (g.has_ci)
      h << "; brackets: " << fmt("%.0f", 100 * g.mean_ci.level) << "% percentile bootstrap CI, cases resampled within each dataset ("
        << g.mean_ci.rounds << " rounds)";
    h << ".</p>\n" << grouped_table_html(g) << "\n";
  }
  for (const auto& [what, g] : opt.breakdowns) {
    h << "<h2>By " << html_escape(what) << "</h2>\n<p>Each row is evaluated on the cases of that " << html_escape(what)
      << " only (the paper's per-" << html_escape(what) << " analysis); the last row is the mean of the rows. Metrics in %.</p>\n"
      << grouped_table_html(*g, what) << "\n";
  }
  for (const auto& sec : sections) {
    if (!sec.metrics) throw Error(path, "report section without metrics");
    const EvaluationResult& r = *sec.metrics;
    h << "<h2>" << html_escape(sec.granularity) << (opt.by_dataset ? " (pooled over datasets)" : "") << "</h2>\n<p>" << r.n_cases << " cases, " << r.n_classes << " classes, "
      << r.overall.n_defined << " with both positive and negative cases (others are left out of every mean). "
      << "Thresholds for F1/MCC/ACC: " << (r.threshold_source == "validation" ? "chosen on the validation set" : "max-F1 on these data (optimistic, as the reference)")
      << ". Groups: " << html_escape(r.groups.rule) << ". Metrics in %, macro means over classes";
    if (r.has_ci)
      h << "; brackets: " << fmt("%.0f", 100 * r.overall_ci.level) << "% percentile bootstrap CI over cases (" << r.overall_ci.rounds
        << " rounds, seed " << r.overall_ci.seed << ")";
    h << ".</p>\n" << metrics_table_html(r, opt.by_dataset ? "pooled" : "all") << "\n";
    if (sec.curves && !sec.curves->roc.empty()) {
      h << "<figure>" << svg_plot(sec.curves->roc, true) << "<figcaption>ROC, median-AUC class of " << sec.curves->k
        << " drawn classes; shading spans the 5th-95th percentile curves of " << sec.curves->resamples
        << " draws (class resampling, not a case-level CI).</figcaption></figure>";
      h << "<figure>" << svg_plot(sec.curves->pr, false) << "<figcaption>Precision-recall (interpolated precision), same construction with AP.</figcaption></figure>\n";
    }
    h << class_list_html(r, sec.class_names, opt.best_worst) << "\n";
  }
  if (opt.negative_scores)
    h << negative_scores_html(*opt.negative_scores, sections.empty() ? nullptr : sections.front().class_names);
  h << "</body></html>\n";
  write_bytes_atomically(path, h.str());
}

void write_report(const EvaluationResult& metrics, const ReportCurves& curves, const std::string& path,
                  const std::vector<std::string>* class_names, const ReportOptions& opt) {
  write_report({ReportSection{"Classes", &metrics, &curves, class_names}}, path, opt);
}

void write_per_class_csv(const EvaluationResult& r, const std::string& path, const std::vector<std::string>* names) {
  std::ostringstream s;
  s << "index,name,group,defined,n_pos,n_neg";
  for (const auto& m : kMetricTable) s << "," << m.csv_column;
  s << ",threshold,threshold_source\n";
  for (int64_t c = 0; c < r.n_classes; ++c) {
    const BinaryMetrics& m = r.per_class[c];
    const int g = r.groups.of_class[c];
    s << c << "," << csv_field(names ? class_name(names, c) : "") << "," << (g >= 0 ? r.groups.names[g] : "") << ","
      << (m.defined ? 1 : 0) << "," << m.n_pos << "," << m.n_neg;
    for (double v : metric_vector(m)) s << "," << num_or_empty(v);
    s << "," << num_or_empty(m.threshold) << "," << r.per_class_threshold_source[c] << "\n";
  }
  write_bytes_atomically(path, s.str());
}

void write_curves_json(const ReportCurves& curves, const std::string& path) {
  auto bands = [](const std::vector<CurveBand>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& b : v)
      a.push_back({{"group", b.group}, {"n_classes", b.n_classes}, {"grid", b.grid}, {"p5", b.p5}, {"p50", b.p50},
                   {"p95", b.p95}, {"lo", b.lo}, {"hi", b.hi}, {"classes", b.classes}});
    return a;
  };
  nlohmann::json j = {{"format", "raddiag.curve_bands.v1"}, {"resamples", curves.resamples}, {"k", curves.k},
                      {"seed", curves.seed}, {"roc", bands(curves.roc)}, {"pr", bands(curves.pr)}};
  write_bytes_atomically(path, j.dump() + "\n");
}

void write_thresholds_json(const EvaluationResult& r, const std::string& path, const std::vector<std::string>* names) {
  nlohmann::json j;
  j["format"] = "raddiag.thresholds.v1";
  j["threshold_source"] = r.threshold_source;
  j["rule"] = "score >= threshold predicts positive; threshold = max-F1 point of precision_recall_curve";
  nlohmann::json list = nlohmann::json::array();
  for (int64_t c = 0; c < r.n_classes; ++c) {
    nlohmann::json e;
    e["index"] = c;
    if (names) e["name"] = class_name(names, c);
    const double t = r.per_class[c].threshold;
    e["threshold"] = std::isfinite(t) ? nlohmann::json(t) : nlohmann::json(nullptr);
    e["source"] = r.per_class_threshold_source[c];
    list.push_back(e);
  }
  j["classes"] = list;
  write_bytes_atomically(path, j.dump(1) + "\n");
}

}  // namespace raddiag::eval
