#include "eval/negative_score_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "eval/report.h"

namespace raddiag::eval {

namespace {

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
std::string prob(double v) { return std::isfinite(v) ? fmt("%.3g", v) : "&ndash;"; }  // small means stay visible
std::string pct(double v) { return std::isfinite(v) ? fmt("%.2f", 100 * v) : "&ndash;"; }
std::string prob_text(double v) { return std::isfinite(v) ? fmt("%.3g", v) : "-"; }  // for escaped text
std::string pct_text(double v) { return std::isfinite(v) ? fmt("%.2f", 100 * v) : "-"; }

std::string name_of(const std::vector<std::string>* names, int64_t c) {
  return names && c < static_cast<int64_t>(names->size()) ? (*names)[static_cast<std::size_t>(c)] : "class " + std::to_string(c);
}

nlohmann::json group_json(const ScoreGroupSummary& g) {
  return {{"mean", number_or_null(g.mean)}, {"median", number_or_null(g.median)}, {"histogram", g.histogram}};
}

const char* kDefinition =
    "per class: positives; intra-anatomy negatives = negative cases whose anatomy is one of the anatomies of the "
    "class's positive cases; inter-anatomy negatives = negative cases of any other known anatomy. Cases without "
    "an anatomy are left out of both negative groups; unknown labels are left out. Scores are probabilities. "
    "auc_pos_vs_* = ROC AUC of the positives against that group alone (null when either is empty).";

// One group drawn in a histogram figure.
struct DrawnGroup {
  std::string label;
  const char* color;
  std::vector<double> share;  // per bin, fraction of the group's cases
  double mean;
};

// Step histograms of the groups (share of each group's cases per bin) with a dashed line at each mean.
std::string svg_histograms(const std::string& title, const std::string& subtitle, const std::vector<double>& edges,
                           const std::vector<DrawnGroup>& groups) {
  const double W = 380, H = 270, L = 45, T = 40, PW = 310, PH = 185;
  double top = 0;
  for (const auto& g : groups)
    for (double v : g.share) top = std::max(top, v);
  top = std::max(0.1, std::ceil(top * 10 - 1e-9) / 10);
  auto X = [&](double x) { return L + x * PW; };
  auto Y = [&](double y) { return T + (1 - y / top) * PH; };
  std::ostringstream s;
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' viewBox='0 0 " << W << " " << H
    << "' font-family='sans-serif' font-size='11'>";
  s << "<text x='" << L << "' y='13' font-weight='bold'>" << html_escape(title) << "</text>";
  s << "<text x='" << L << "' y='27' fill='#555'>" << html_escape(subtitle) << "</text>";
  s << "<rect x='" << L << "' y='" << T << "' width='" << PW << "' height='" << PH << "' fill='white' stroke='#999'/>";
  for (int i = 0; i <= 4; ++i) {
    const double x = i / 4.0, y = top * i / 4.0;
    s << "<line x1='" << X(x) << "' y1='" << Y(0) << "' x2='" << X(x) << "' y2='" << Y(top) << "' stroke='#eee'/>";
    s << "<line x1='" << X(0) << "' y1='" << Y(y) << "' x2='" << X(1) << "' y2='" << Y(y) << "' stroke='#eee'/>";
    s << "<text x='" << X(x) << "' y='" << Y(0) + 14 << "' text-anchor='middle'>" << fmt("%.2g", x) << "</text>";
    s << "<text x='" << X(0) - 5 << "' y='" << Y(y) + 4 << "' text-anchor='end'>" << fmt("%.2g", y) << "</text>";
  }
  s << "<text x='" << X(0.5) << "' y='" << H - 5 << "' text-anchor='middle'>predicted probability</text>";
  s << "<text transform='translate(12," << T + PH / 2 << ") rotate(-90)' text-anchor='middle'>share of the group</text>";
  // Histograms and mean lines first, the legend last on a light backing, so it stays readable.
  std::ostringstream legend;
  int row = 0;
  for (const auto& g : groups) {
    if (g.share.empty()) continue;
    std::ostringstream d;
    d << "M" << X(edges.front()) << "," << Y(0);
    for (std::size_t b = 0; b < g.share.size(); ++b)
      d << " L" << X(edges[b]) << "," << Y(g.share[b]) << " L" << X(edges[b + 1]) << "," << Y(g.share[b]);
    d << " L" << X(edges.back()) << "," << Y(0) << " Z";
    s << "<path d='" << d.str() << "' fill='" << g.color << "' fill-opacity='0.12' stroke='" << g.color
      << "' stroke-width='1.5'/>";
    if (std::isfinite(g.mean))
      s << "<line x1='" << X(g.mean) << "' y1='" << Y(0) << "' x2='" << X(g.mean) << "' y2='" << Y(top)
        << "' stroke='" << g.color << "' stroke-dasharray='4 3'/>";
    const double ly = T + 14 + 14 * row++;
    legend << "<rect x='" << X(0.3) << "' y='" << ly - 8 << "' width='10' height='10' fill='" << g.color << "'/>";
    legend << "<text x='" << X(0.3) + 14 << "' y='" << ly + 1 << "'>" << html_escape(g.label) << "</text>";
  }
  s << "<rect x='" << X(0.3) - 4 << "' y='" << T + 2 << "' width='" << PW * 0.7 << "' height='" << 14 * row + 4
    << "' fill='white' fill-opacity='0.85'/>" << legend.str();
  s << "</svg>";
  return s.str();
}

std::vector<double> shares(const ScoreGroupSummary& g) {
  std::vector<double> v;
  if (g.n == 0) return v;
  for (int64_t c : g.histogram) v.push_back(static_cast<double>(c) / static_cast<double>(g.n));
  return v;
}

const char* kPositiveColor = "#d62728";
const char* kIntraColor = "#ff7f0e";
const char* kInterColor = "#1f77b4";

}  // namespace

std::vector<int64_t> classes_to_plot(const NegativeScoreAnalysis& a, int max_classes) {
  std::vector<const ClassNegativeScores*> v;
  for (const auto& k : a.classes) v.push_back(&k);
  std::stable_sort(v.begin(), v.end(), [](const ClassNegativeScores* x, const ClassNegativeScores* y) {
    const bool bx = x->intra.n > 0 && x->inter.n > 0, by = y->intra.n > 0 && y->inter.n > 0;
    if (bx != by) return bx;
    return x->positives.n > y->positives.n;
  });
  std::vector<int64_t> out;
  for (std::size_t i = 0; i < v.size() && static_cast<int>(i) < max_classes; ++i) out.push_back(v[i]->index);
  return out;
}

nlohmann::json negative_scores_to_json(const NegativeScoreAnalysis& a, const std::vector<std::string>* names) {
  nlohmann::json j;
  j["available"] = a.available;
  if (!a.available) j["reason"] = a.reason;
  j["anatomy_source"] = a.anatomy_source;
  j["definition"] = kDefinition;
  if (!a.available) return j;
  j["histogram"] = {{"bins", a.edges.size() - 1}, {"edges", a.edges},
                    {"rule", "numpy.histogram(p, bins, range=(0, 1)) on float64 probabilities"}};
  j["n_rows"] = a.n_rows;
  j["n_rows_unknown_anatomy"] = a.n_rows_unknown_anatomy;
  j["skipped_classes"] = nlohmann::json::object();
  for (const auto& [why, n] : a.skipped) j["skipped_classes"][why] = n;
  const PooledNegativeScores& p = a.pooled;
  j["pooled"] = {
      {"n_classes", a.classes.size()},
      {"auc_pos_vs_intra", {{"mean", number_or_null(p.mean_auc_vs_intra)}, {"n_classes", p.n_auc_vs_intra}}},
      {"auc_pos_vs_inter", {{"mean", number_or_null(p.mean_auc_vs_inter)}, {"n_classes", p.n_auc_vs_inter}}},
      {"paired", {{"n_classes", p.n_paired},
                  {"auc_pos_vs_intra", number_or_null(p.paired_mean_auc_vs_intra)},
                  {"auc_pos_vs_inter", number_or_null(p.paired_mean_auc_vs_inter)},
                  {"n_intra_below_inter", p.n_paired_intra_below_inter}}},
      {"mean_probability", {{"positives", number_or_null(p.mean_prob_positives)},
                            {"intra", number_or_null(p.mean_prob_intra)},
                            {"inter", number_or_null(p.mean_prob_inter)}}},
      {"n_classes_with", {{"intra", p.n_with_intra}, {"inter", p.n_with_inter}}},
      {"mean_histogram_share", {{"positives", p.mean_share_positives}, {"intra", p.mean_share_intra},
                                {"inter", p.mean_share_inter}}},
      {"scope", "means over classes of the per-class values; paired = classes with both AUCs defined"}};
  j["plotted_classes"] = classes_to_plot(a);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& k : a.classes) {
    nlohmann::json e;
    e["index"] = k.index;
    if (names) e["name"] = name_of(names, k.index);
    e["anatomies"] = k.anatomies;
    e["n_pos"] = k.positives.n;
    e["n_intra"] = k.intra.n;
    e["n_inter"] = k.inter.n;
    e["n_neg_unknown_anatomy"] = k.n_neg_unknown_anatomy;
    e["n_unknown_label"] = k.n_unknown_label;
    e["positives"] = group_json(k.positives);
    e["intra"] = group_json(k.intra);
    e["inter"] = group_json(k.inter);
    e["auc_pos_vs_intra"] = number_or_null(k.auc_vs_intra);
    e["auc_pos_vs_inter"] = number_or_null(k.auc_vs_inter);
    list.push_back(std::move(e));
  }
  j["classes"] = std::move(list);
  return j;
}

std::string negative_scores_summary(const NegativeScoreAnalysis& a) {
  if (!a.available) return "Intra-/inter-anatomy negatives: not available (" + a.reason + ").\n";
  const PooledNegativeScores& p = a.pooled;
  std::ostringstream s;
  s << "Intra-/inter-anatomy negatives (" << a.anatomy_source << "): " << a.classes.size() << " classes; mean AUC of "
    << "positives vs intra-anatomy negatives " << pct_text(p.mean_auc_vs_intra) << " (" << p.n_auc_vs_intra
    << " classes), vs inter-anatomy negatives " << pct_text(p.mean_auc_vs_inter) << " (" << p.n_auc_vs_inter
    << "); paired over " << p.n_paired << " classes: " << pct_text(p.paired_mean_auc_vs_intra) << " vs "
    << pct_text(p.paired_mean_auc_vs_inter) << ", intra below inter in " << p.n_paired_intra_below_inter << ".\n";
  return s.str();
}

std::string negative_scores_html(const NegativeScoreAnalysis& a, const std::vector<std::string>* names, int max_classes) {
  std::ostringstream h;
  h << "<h2>Intra- vs inter-anatomy negatives</h2>\n";
  if (!a.available) {
    h << "<p>Not available: " << html_escape(a.reason) << ". The analysis (the paper's Fig. 4a) needs each case's "
      << "anatomy: RP3D's <code>Anatomy</code> or an <code>anatomy</code> column of a folder dataset; "
      << "<code>raddiag evaluate --anatomy-from dataset</code> uses each case's dataset in its place.</p>\n";
    return h.str();
  }
  const PooledNegativeScores& p = a.pooled;
  h << "<p>Anatomy: " << html_escape(a.anatomy_source) << ". For each class, its negatives are split by anatomy: "
    << "<b>intra-anatomy</b> negatives come from anatomies where the class has positives (the confusable ones), "
    << "<b>inter-anatomy</b> negatives from other anatomies. The paper (Fig. 4a) finds inter-anatomy negatives easily "
    << "dismissed and intra-anatomy negatives the hard ones: then the AUC of positives against intra-anatomy negatives is "
    << "the lower. " << a.classes.size() << " classes analysed";
  for (const auto& [why, n] : a.skipped) h << "; " << n << " skipped (" << html_escape(why) << ")";
  h << "; " << a.n_rows_unknown_anatomy << " of " << a.n_rows << " cases have no anatomy and are in neither negative group.</p>\n";

  h << "<table><tr><th></th><th>positives</th><th>intra-anatomy negatives</th><th>inter-anatomy negatives</th></tr>"
    << "<tr><td>classes with the group</td><td>" << a.classes.size() << "</td><td>" << p.n_with_intra << "</td><td>"
    << p.n_with_inter << "</td></tr>"
    << "<tr><td>mean over classes of the group's mean probability</td><td>" << prob(p.mean_prob_positives) << "</td><td>"
    << prob(p.mean_prob_intra) << "</td><td>" << prob(p.mean_prob_inter) << "</td></tr>"
    << "<tr><td>mean AUC of positives vs the group, % (classes)</td><td></td><td>" << pct(p.mean_auc_vs_intra) << " ("
    << p.n_auc_vs_intra << ")</td><td>" << pct(p.mean_auc_vs_inter) << " (" << p.n_auc_vs_inter << ")</td></tr>"
    << "<tr><td>the same over the " << p.n_paired << " classes with both, %</td><td></td><td>"
    << pct(p.paired_mean_auc_vs_intra) << "</td><td>" << pct(p.paired_mean_auc_vs_inter) << "</td></tr></table>\n"
    << "<p>Intra-anatomy AUC below inter-anatomy AUC in " << p.n_paired_intra_below_inter << " of " << p.n_paired
    << " classes with both.</p>\n";

  const std::vector<double>& e = a.edges;
  h << "<figure>"
    << svg_histograms("All " + std::to_string(a.classes.size()) + " classes",
                      "per bin: mean over classes of the group's share", e,
                      {{"positives, mean " + prob_text(p.mean_prob_positives), kPositiveColor, p.mean_share_positives, p.mean_prob_positives},
                       {"intra-anatomy neg., mean " + prob_text(p.mean_prob_intra), kIntraColor, p.mean_share_intra, p.mean_prob_intra},
                       {"inter-anatomy neg., mean " + prob_text(p.mean_prob_inter), kInterColor, p.mean_share_inter, p.mean_prob_inter}})
    << "<figcaption>Probability histograms (" << e.size() - 1 << " bins on [0, 1]); dashed lines: means.</figcaption></figure>\n";
  const std::vector<int64_t> drawn = classes_to_plot(a, max_classes);
  std::ostringstream rows;
  for (int64_t c : drawn) {
    const auto& k = *std::find_if(a.classes.begin(), a.classes.end(), [&](const ClassNegativeScores& x) { return x.index == c; });
    std::string title = name_of(names, c);
    if (title.size() > 48) title = title.substr(0, 45) + "...";
    h << "<figure>"
      << svg_histograms(title, "AUC vs intra " + pct_text(k.auc_vs_intra) + " %, vs inter " + pct_text(k.auc_vs_inter) + " %", e,
                        {{"positives (" + std::to_string(k.positives.n) + ")", kPositiveColor, shares(k.positives), k.positives.mean},
                         {"intra-anatomy neg. (" + std::to_string(k.intra.n) + ")", kIntraColor, shares(k.intra), k.intra.mean},
                         {"inter-anatomy neg. (" + std::to_string(k.inter.n) + ")", kInterColor, shares(k.inter), k.inter.mean}})
      << "</figure>";
    std::string anatomies;
    for (const auto& an : k.anatomies) anatomies += (anatomies.empty() ? "" : ", ") + an;
    rows << "<tr><td>" << c << "</td><td>" << html_escape(name_of(names, c)) << "</td><td>" << html_escape(anatomies)
         << "</td><td>" << k.positives.n << "</td><td>" << k.intra.n << "</td><td>" << k.inter.n << "</td><td>"
         << k.n_neg_unknown_anatomy << "</td><td>" << prob(k.positives.mean) << "</td><td>" << prob(k.intra.mean)
         << "</td><td>" << prob(k.inter.mean) << "</td><td>" << pct(k.auc_vs_intra) << "</td><td>" << pct(k.auc_vs_inter)
         << "</td></tr>";
  }
  h << "\n<table><tr><th>#</th><th>class</th><th>anatomies of its positives</th><th>positives</th><th>intra neg.</th>"
    << "<th>inter neg.</th><th>neg. without anatomy</th><th>mean p pos.</th><th>mean p intra</th><th>mean p inter</th>"
    << "<th>AUC vs intra</th><th>AUC vs inter</th></tr>" << rows.str() << "</table>\n"
    << "<p><small>Every analysed class is in <code>metrics.json</code> (<code>negative_scores</code>).</small></p>\n";
  return h.str();
}

}  // namespace raddiag::eval
