#include "serve/saliency.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "export/burned_in_text.h"
#include "infer/model_input.h"
#include "io/png_writer.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/npy.h"

namespace raddiag::serve {

namespace fs = std::filesystem;

namespace {

// Keeps the encoder's feature maps only for the duration of one explanation.
struct FeatureMapCapture {
  model::SliceEncoder net;
  explicit FeatureMapCapture(model::SliceEncoder n) : net(std::move(n)) { net->set_capture_feature_maps(true); }
  ~FeatureMapCapture() { net->set_capture_feature_maps(false); }
};

std::string saliency_slug(const std::string& s) {
  std::string out;
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (std::isalnum(c)) out += static_cast<char>(std::tolower(c));
    else if (!out.empty() && out.back() != '_') out += '_';
    if (out.size() >= 40) break;
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "class" : out;
}

// A simple jet-like colour map on [0, 1].
void jet_colour(float x, float& r, float& g, float& b) {
  auto f = [](float v) { return std::clamp(1.5f - std::fabs(v), 0.f, 1.f); };
  r = f(4.f * x - 3.f);
  g = f(4.f * x - 2.f);
  b = f(4.f * x - 1.f);
}

std::string attention_curve_svg(const SlotUse& u, const std::string& title) {
  const double W = 480, H = 220, L = 50, R = 15, T = 30, B = 40;
  const std::size_t n = u.attention.size();
  const double amax = std::max(1e-12, *std::max_element(u.attention.begin(), u.attention.end()));
  auto x = [&](std::size_t i) { return L + (n <= 1 ? 0.5 : static_cast<double>(i) / static_cast<double>(n - 1)) * (W - L - R); };
  auto y = [&](double a) { return H - B - a / amax * (H - T - B); };
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  std::string t = title;
  static const std::pair<const char*, const char*> kEscapes[] = {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}};
  for (const auto& [from, to] : kEscapes) {
    const std::string f = from, r = to;
    for (std::size_t p = 0; (p = t.find(f, p)) != std::string::npos; p += r.size()) t.replace(p, f.size(), r);
  }
  os << "<text x=\"" << L << "\" y=\"18\">" << t << "</text>\n";
  os << "<line x1=\"" << L << "\" y1=\"" << H - B << "\" x2=\"" << W - R << "\" y2=\"" << H - B << "\" stroke=\"black\"/>\n";
  os << "<line x1=\"" << L << "\" y1=\"" << T << "\" x2=\"" << L << "\" y2=\"" << H - B << "\" stroke=\"black\"/>\n";
  os << "<text x=\"" << (W + L - R) / 2 << "\" y=\"" << H - 8 << "\" text-anchor=\"middle\">original slice</text>\n";
  os << "<text x=\"12\" y=\"" << (H - B + T) / 2 << "\" transform=\"rotate(-90 12 " << (H - B + T) / 2
     << ")\" text-anchor=\"middle\">attention</text>\n";
  os << "<text x=\"" << L - 4 << "\" y=\"" << T + 4 << "\" text-anchor=\"end\">" << amax << "</text>\n";
  os << "<text x=\"" << L - 4 << "\" y=\"" << H - B << "\" text-anchor=\"end\">0</text>\n";
  for (std::size_t i = 0; i < n; ++i)
    if (n <= 12 || i % ((n + 7) / 8) == 0 || i + 1 == n)
      os << "<text x=\"" << x(i) << "\" y=\"" << H - B + 14 << "\" text-anchor=\"middle\">" << u.original_slice[i] << "</text>\n";
  os << "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"";
  for (std::size_t i = 0; i < n; ++i) os << (i ? " " : "") << x(i) << "," << y(u.attention[i]);
  os << "\"/>\n";
  for (std::size_t i = 0; i < n; ++i) os << "<circle cx=\"" << x(i) << "\" cy=\"" << y(u.attention[i]) << "\" r=\"2.5\" fill=\"#1f77b4\"/>\n";
  os << "</svg>\n";
  return os.str();
}

// `text` in white on a black strip across the top rows of an 8-bit RGB image (rows x cols x 3), word-wrapped
// to the width with the export layer's 5x7 font, doubled in size where the image is wide enough.
void burn_notice(std::vector<uint8_t>& rgb, int64_t rows, int64_t cols, const std::string& text) {
  const int scale = cols >= 480 ? 2 : 1;
  const int64_t cell_w = exports::kGlyphCellWidth * scale, cell_h = exports::kGlyphCellHeight * scale;
  const std::size_t per_line = static_cast<std::size_t>(std::max<int64_t>(1, (cols - 2) / cell_w));
  std::vector<std::string> lines(1);
  std::istringstream words(text);
  for (std::string w; words >> w;) {
    if (!lines.back().empty() && lines.back().size() + 1 + w.size() > per_line) lines.emplace_back();
    lines.back() += (lines.back().empty() ? "" : " ") + w.substr(0, per_line);
  }
  const int64_t strip = std::min<int64_t>(rows, static_cast<int64_t>(lines.size()) * cell_h + 2);
  std::fill(rgb.begin(), rgb.begin() + strip * cols * 3, uint8_t{0});
  for (std::size_t l = 0; l < lines.size(); ++l)
    for (std::size_t i = 0; i < lines[l].size(); ++i)
      for (int gr = 0; gr < 7 * scale; ++gr)
        for (int gc = 0; gc < 5 * scale; ++gc) {
          const int64_t r = 1 + static_cast<int64_t>(l) * cell_h + gr, c = 1 + static_cast<int64_t>(i) * cell_w + gc;
          if (r >= strip || c >= cols || !exports::glyph_pixel(lines[l][i], gr / scale, gc / scale)) continue;
          std::fill_n(&rgb[static_cast<std::size_t>((r * cols + c) * 3)], 3, uint8_t{255});
        }
}

// <base>.png: overlay_rgb of the map, with `notice` burned into the top rows when not empty;
// <base>.npy: the map itself.
void write_overlay(const std::string& base, const io::Scan& scan, int64_t slice, const torch::Tensor& map, float alpha,
                   const std::string& notice) {
  const int64_t H = scan.dims[0], W = scan.dims[1];
  std::vector<uint8_t> rgb = overlay_rgb(scan, slice, map, alpha);
  if (!notice.empty()) burn_notice(rgb, H, W, notice);
  io::write_png(base + ".png", rgb, H, W, 3);
  npy::write(base + ".npy", npy::make_float32({H, W}, map.data_ptr<float>()));
}

}  // namespace

std::vector<torch::Tensor> grad_cam(infer::Predictor& predictor, const data::CaseTensors& tensors,
                                    const std::vector<int64_t>& classes, torch::Tensor* logits_out,
                                    std::vector<torch::Tensor>* signed_maps) {
  auto model = predictor.bundle().model;  // a holder copy: the same module, callable
  const auto& cfg = predictor.bundle().config;
  auto encoder = model->slice_encoder();
  if (!encoder->has_feature_map())
    throw Error("saliency", "Grad-CAM needs a slice encoder with a spatial feature map, and this model's (backbone.type '" +
                                cfg.backbone.type + "') has none");
  const int64_t C = cfg.head.num_classes, D = cfg.depth;
  for (int64_t c : classes)
    if (c < 0 || c >= C) throw Error("saliency", "class index " + std::to_string(c) + " out of range");
  auto batch = data::collate({tensors});
  const auto dev = predictor.device();
  batch.images = batch.images.to(dev).requires_grad_(true);  // so the maps are part of a graph whatever the weights
  batch.mods = batch.mods.to(dev);
  batch.marks = batch.marks.to(dev);
  batch.keys = batch.keys.to(dev);
  batch.extent = batch.extent.to(dev);
  batch.labels = torch::Tensor();
  torch::AutoGradMode grad(true);
  FeatureMapCapture capture(encoder);
  auto out = model->forward(infer::model_input(batch), model::ForwardPath::kFast);
  if (logits_out) *logits_out = out.logits.detach().to(torch::kCPU);
  const auto& parts = encoder->captured_feature_maps();
  if (parts.empty()) throw Error("saliency", "no slice was encoded");
  auto A = parts.size() == 1 ? parts[0] : torch::cat(parts);  // [n, F, h, w] in fast-path order
  // The fast path's (slot, slice) order: valid slices of used slots, flat.
  const int64_t N = batch.images.size(1);
  auto mods = batch.mods.reshape({N});
  auto used = cfg.fusion.mode == model::FusionMode::kEarly ? (mods != 0) : torch::ones({N}, mods.options().dtype(torch::kBool));
  auto sel = (batch.marks.reshape({N, D}) != 0) & used.unsqueeze(1);
  auto idx = sel.reshape({-1}).nonzero().squeeze(1);
  if (idx.size(0) != A.size(0)) throw Error("saliency", "internal: encoded slices do not match the marks");
  const int64_t S = cfg.size;
  std::vector<torch::Tensor> maps;
  for (std::size_t i = 0; i < classes.size(); ++i) {
    auto g = torch::autograd::grad({out.logits[0][classes[i]]}, {A}, {}, /*retain_graph=*/i + 1 < classes.size())[0];
    auto w = g.mean({2, 3}, /*keepdim=*/true);
    auto evidence = (w * A).sum(1, /*keepdim=*/true).detach();                        // [n, 1, h, w], signed
    auto to_slots = [&](const torch::Tensor& m) {
      auto up = torch::nn::functional::interpolate(
          m, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{S, S}).mode(torch::kBilinear).align_corners(false));
      auto full = torch::zeros({N * D, S, S}, up.options()).index_copy(0, idx, up.squeeze(1));
      return full.view({N, D, S, S}).to(torch::kCPU, torch::kFloat);
    };
    maps.push_back(to_slots(torch::relu(evidence)));
    if (signed_maps) signed_maps->push_back(to_slots(evidence));
  }
  return maps;
}

torch::Tensor cam_to_slice(const torch::Tensor& cam, int64_t h, int64_t w) {
  auto m = torch::nn::functional::interpolate(
               cam.to(torch::kFloat).view({1, 1, cam.size(0), cam.size(1)}),
               torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear).align_corners(false))
               .view({h, w});
  const float lo = m.min().item<float>(), hi = m.max().item<float>();
  // A constant map (e.g. a 1x1 last stage; bilinear weights round to a few ulps) is uniform evidence: all
  // ones when positive, zeros when there is none.
  if (!(hi - lo > 1e-5f * std::fabs(hi))) return hi > 0.f ? torch::ones({h, w}) : torch::zeros({h, w});
  return ((m - lo) / (hi - lo)).clamp(0, 1).contiguous();
}

nlohmann::ordered_json write_saliency(infer::Predictor& predictor, const Study& study, const Diagnosis& diagnosis,
                                      const SaliencyOptions& options) {
  if (options.out_dir.empty()) throw Error("saliency", "no output folder");
  fs::create_directories(options.out_dir);
  std::vector<int64_t> classes = options.classes;
  if (classes.empty() && !diagnosis.findings.empty()) classes.push_back(diagnosis.findings.front().class_index);
  const auto& names = predictor.bundle().classes;
  nlohmann::ordered_json j;
  j["dir"] = options.out_dir;
  j["method"] = "Grad-CAM on " + predictor.bundle().model->slice_encoder()->feature_map_name() +
                ", bilinear to the slice size, min-max to [0, 1]";

  // Attention curves, one per scan in the model.
  nlohmann::ordered_json curves = nlohmann::ordered_json::array();
  for (const auto& u : diagnosis.slots) {
    const auto& s = study.scans[static_cast<std::size_t>(u.scan)].scan;
    const std::string base = options.out_dir + "/attention_scan" + std::to_string(u.scan);
    std::ostringstream csv;
    csv << "slot_slice,original_slice,attention\n";
    for (std::size_t k = 0; k < u.attention.size(); ++k) csv << k << "," << u.original_slice[k] << "," << u.attention[k] << "\n";
    write_bytes_atomically(base + ".csv", csv.str());
    write_bytes_atomically(base + ".svg", attention_curve_svg(u, "slice attention, scan " + std::to_string(u.scan) + ": " +
                                                               fs::path(s.source.path).filename().string()));
    curves.push_back({{"scan", u.scan}, {"csv", base + ".csv"}, {"svg", base + ".svg"}});
  }
  j["attention_curves"] = std::move(curves);

  nlohmann::ordered_json maps = nlohmann::ordered_json::array();
  if (!classes.empty() && !diagnosis.slots.empty()) {
    std::vector<torch::Tensor> signed_cams;
    const auto cams = grad_cam(predictor, diagnosis.tensors, classes, nullptr, &signed_cams);
    for (std::size_t ci = 0; ci < classes.size(); ++ci) {
      const int64_t c = classes[ci];
      const std::string& name = names[static_cast<std::size_t>(c)];
      const std::string dir = options.out_dir + "/class" + std::to_string(c) + "_" + saliency_slug(name);
      fs::create_directories(dir);
      for (const auto& u : diagnosis.slots) {
        if (u.attention.empty()) continue;
        const auto& scan = study.scans[static_cast<std::size_t>(u.scan)].scan;
        const int64_t k = std::max_element(u.attention.begin(), u.attention.end()) - u.attention.begin();
        const int64_t orig = u.original_slice[static_cast<std::size_t>(k)];
        const int64_t H = scan.dims[0], W = scan.dims[1];
        auto m = cam_to_slice(cams[ci][u.slot][k], H, W);
        const bool empty = !(m.max().item<float>() > 0.f);
        const std::string base = dir + "/scan" + std::to_string(u.scan) + "_slice" + std::to_string(orig);
        write_overlay(base, scan, orig, m, options.alpha,
                      empty ? "GRAD-CAM EMPTY: NOTHING HERE RAISES THIS SCORE" : "");
        const auto& ev = signed_cams[ci][u.slot][k];
        nlohmann::ordered_json entry = {{"class_index", c}, {"disorder", name}, {"scan", u.scan}, {"slot", u.slot},
                                        {"slice", orig}, {"slot_slice", k}, {"rows", H}, {"columns", W},
                                        {"all_zero", empty}, {"png", base + ".png"}, {"npy", base + ".npy"},
                                        {"evidence_min", ev.min().item<double>()}, {"evidence_max", ev.max().item<double>()}};
        if (empty) {
          // Grad-CAM keeps only what raises the logit; when nothing does, the regions that lower it (the
          // paper's counterfactual map) are what the model looked at.
          auto lowering = cam_to_slice(torch::relu(-ev), H, W);
          const bool none = !(lowering.max().item<float>() > 0.f);
          write_overlay(base + "_lowering", scan, orig, lowering, options.alpha,
                        none ? "NO GRADIENT: THE SCORE IGNORES THIS SLICE" : "REGIONS THAT LOWER THIS SCORE");
          entry["note"] = none ? "Grad-CAM is empty and the score does not depend on this slice's last-stage features"
                               : "Grad-CAM is empty: no region of this slice raises the score of '" + name +
                                     "' (the class evidence is negative everywhere); the regions that lower it are in lowering_png";
          entry["lowering_png"] = base + "_lowering.png";
          entry["lowering_npy"] = base + "_lowering.npy";
        }
        maps.push_back(std::move(entry));
      }
    }
  }
  j["maps"] = std::move(maps);
  return j;
}

std::vector<uint8_t> overlay_rgb(const io::Scan& scan, int64_t slice, const torch::Tensor& map, float alpha) {
  const int64_t H = scan.dims[0], W = scan.dims[1];
  if (slice < 0 || slice >= scan.dims[2]) throw Error(scan.source.path, "overlay: slice " + std::to_string(slice) + " out of range");
  auto m = map.to(torch::kCPU, torch::kFloat).contiguous();
  if (m.dim() != 2 || m.size(0) != H || m.size(1) != W) throw Error(scan.source.path, "overlay: map size differs from the slice");
  const float* mp = m.data_ptr<float>();
  float lo = scan.at(0, 0, slice), hi = lo;
  for (int64_t r = 0; r < H; ++r)
    for (int64_t c = 0; c < W; ++c) {
      lo = std::min(lo, scan.at(r, c, slice));
      hi = std::max(hi, scan.at(r, c, slice));
    }
  std::vector<uint8_t> rgb(static_cast<std::size_t>(H * W * 3));
  for (int64_t r = 0; r < H; ++r)
    for (int64_t c = 0; c < W; ++c) {
      const float gray = hi > lo ? (scan.at(r, c, slice) - lo) / (hi - lo) : 0.f;
      const float v = mp[r * W + c];
      float cr, cg, cb;
      jet_colour(v, cr, cg, cb);
      const float a = alpha * v;
      uint8_t* px = &rgb[static_cast<std::size_t>((r * W + c) * 3)];
      px[0] = static_cast<uint8_t>(std::lround(255.f * ((1 - a) * gray + a * cr)));
      px[1] = static_cast<uint8_t>(std::lround(255.f * ((1 - a) * gray + a * cg)));
      px[2] = static_cast<uint8_t>(std::lround(255.f * ((1 - a) * gray + a * cb)));
    }
  return rgb;
}

}  // namespace raddiag::serve
