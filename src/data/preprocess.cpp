#include "data/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <set>

#include <spdlog/spdlog.h>

#include "data/resample.h"
#include "data/scan_loader.h"
#include "util/error.h"
#include "util/json_keys.h"

namespace raddiag::data {

// ---------------------------------------------------------------------------------------------- options

CtWindow parse_ct_window(const std::string& spec) {
  if (spec == "lung") return {-600, 1500};
  if (spec == "mediastinum") return {40, 400};
  if (spec == "brain") return {40, 80};
  if (spec == "bone") return {400, 1800};
  if (spec == "abdomen") return {40, 400};
  const auto slash = spec.find('/');
  if (slash != std::string::npos) {
    try {
      std::size_t p1 = 0, p2 = 0;
      const double c = std::stod(spec.substr(0, slash), &p1);
      const double w = std::stod(spec.substr(slash + 1), &p2);
      if (p1 == slash && p2 == spec.size() - slash - 1 && w > 0) return {c, w};
    } catch (const std::exception&) {
    }
  }
  throw Error("CT window '" + spec + "'", "use lung, mediastinum, brain, bone, abdomen or CENTER/WIDTH with WIDTH > 0");
}

namespace {
const char* name(VisitOrder v) { return v == VisitOrder::kJson ? "json" : "shuffle"; }
const char* name(Normalization v) { return v == Normalization::kOfficial ? "official" : "per_scan"; }
const char* name(ImagePick v) { return v == ImagePick::kRandom ? "random" : "first"; }
const char* name(ConstantBlock v) { return v == ConstantBlock::kZeros ? "zeros" : "randn"; }

template <typename E>
E parse_enum(const std::string& s, std::initializer_list<E> values, const char* what) {
  std::string known;
  for (E v : values) {
    if (s == name(v)) return v;
    known += (known.empty() ? "" : ", ") + std::string(name(v));
  }
  throw Error(std::string(what) + " '" + s + "'", "unknown; use one of " + known);
}

bool takes_first_images(const std::string& modality) {
  return modality == "CT" || modality == "MRI" || modality == "X-ray";
}
}  // namespace

void PreprocessOptions::validate() const {
  if (size <= 0 || depth <= 0 || n_image <= 0) throw Error("preprocessing options", "size, depth and n_image must be positive");
  if (replicate_2d < 1) throw Error("preprocessing options", "replicate_2d must be >= 1");
  if (replicate_2d > depth) throw Error("preprocessing options", "replicate_2d must not exceed depth");
  for (const auto& [m, cap] : caps) {
    auto it = std::find_if(modality_ids.begin(), modality_ids.end(), [&](const ModalityIds& x) { return x.name == m; });
    if (it == modality_ids.end()) throw Error("preprocessing options", "cap for unknown modality '" + m + "'");
    if (cap < 1 || cap > static_cast<int64_t>(it->ids.size()))
      throw Error("preprocessing options", "cap of " + m + " must be 1.." + std::to_string(it->ids.size()) +
                                               " (one embedding id per position)");
  }
  for (const auto& m : modality_ids)
    if (m.ids.empty()) throw Error("preprocessing options", "modality '" + m.name + "' has no id");
  for (const auto& m : random_subsets)
    if (!takes_first_images(m))
      throw Error("preprocessing options", "random_subsets: '" + m +
                                               "' takes one image per sample; only the capped modalities (CT, MRI, X-ray) take a subset");
  if (!ct_window.empty()) parse_ct_window(ct_window);
  if (!(spacing.slice_mm >= 0) || spacing.slice_mm > 100)
    throw Error("preprocessing options", "spacing.slice_mm must be 0 (off) or a slice spacing in mm up to 100");
  if (!(spacing.field_mm >= 0) || spacing.field_mm > 2000)
    throw Error("preprocessing options", "spacing.field_mm must be 0 (off) or an in-plane field of view in mm up to 2000");
}

nlohmann::json PreprocessOptions::to_json() const {
  nlohmann::json j;
  j["size"] = size;
  j["depth"] = depth;
  j["n_image"] = n_image;
  j["level"] = label_level_name(level);
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& m : modality_ids) ids.push_back({{"name", m.name}, {"ids", m.ids}});
  j["modality_ids"] = ids;
  j["caps"] = caps;
  j["visit_order"] = name(visit_order);
  j["normalization"] = name(normalization);
  j["ct_window"] = ct_window;
  j["other_pick"] = name(other_pick);
  j["single_pick"] = name(single_pick);
  j["constant_block"] = name(constant_block);
  j["resample_nonconforming"] = resample_nonconforming;
  j["replicate_2d"] = replicate_2d;
  if (!random_subsets.empty()) j["random_subsets"] = random_subsets;   // absent: files as before the option
  j["spacing"] = {{"slice_mm", spacing.slice_mm}, {"keep_aspect", spacing.keep_aspect}};
  if (spacing.field_mm > 0) j["spacing"]["field_mm"] = spacing.field_mm;  // absent: files as before the option
  return j;
}

PreprocessOptions PreprocessOptions::from_json(const nlohmann::json& j) {
  PreprocessOptions o;
  const JsonOptionsReader r(j, "preprocessing options", "", "PreprocessOptions",
                            {"size", "depth", "n_image", "level", "modality_ids", "caps", "visit_order", "normalization",
                             "ct_window", "other_pick", "single_pick", "constant_block", "resample_nonconforming",
                             "replicate_2d", "spacing", "random_subsets"});
  r.read("size", o.size);
  r.read("depth", o.depth);
  r.read("n_image", o.n_image);
  r.read_parsed("level", o.level, parse_label_level);
  if (r.has("modality_ids")) {
    if (!r.at("modality_ids").is_array()) r.fail("modality_ids", "is not a list of {name, ids} objects");
    o.modality_ids.clear();
    for (std::size_t i = 0; i < r.at("modality_ids").size(); ++i) {
      const JsonOptionsReader m(r.at("modality_ids")[i], r.subject(), "modality_ids[" + std::to_string(i) + "].",
                                "ModalityIds", {"name", "ids"});
      ModalityIds ids;
      if (!m.read("name", ids.name)) m.fail("name", "is missing");
      if (!m.read("ids", ids.ids)) m.fail("ids", "is missing");
      o.modality_ids.push_back(std::move(ids));
    }
  }
  r.read("caps", o.caps);
  r.read_parsed("visit_order", o.visit_order,
                [](const std::string& s) { return parse_enum(s, {VisitOrder::kJson, VisitOrder::kShuffle}, "visit_order"); });
  r.read_parsed("normalization", o.normalization, [](const std::string& s) {
    return parse_enum(s, {Normalization::kOfficial, Normalization::kPerScan}, "normalization");
  });
  r.read("ct_window", o.ct_window);
  r.read_parsed("other_pick", o.other_pick,
                [](const std::string& s) { return parse_enum(s, {ImagePick::kRandom, ImagePick::kFirst}, "other_pick"); });
  r.read_parsed("single_pick", o.single_pick,
                [](const std::string& s) { return parse_enum(s, {ImagePick::kRandom, ImagePick::kFirst}, "single_pick"); });
  r.read_parsed("constant_block", o.constant_block, [](const std::string& s) {
    return parse_enum(s, {ConstantBlock::kZeros, ConstantBlock::kRandn}, "constant_block");
  });
  r.read("resample_nonconforming", o.resample_nonconforming);
  r.read("replicate_2d", o.replicate_2d);
  r.read("random_subsets", o.random_subsets);
  if (r.has("spacing")) {
    const auto rs = r.child("spacing", "SpacingOptions", {"slice_mm", "keep_aspect", "field_mm"});
    rs.read("slice_mm", o.spacing.slice_mm);
    rs.read("keep_aspect", o.spacing.keep_aspect);
    rs.read("field_mm", o.spacing.field_mm);
  }
  o.validate();
  return o;
}

// ------------------------------------------------------------------------------------------- helpers

io::Scan default_image_loader(const ImageRef& ref) { return load_scan(ref.path); }

int64_t image_key(const ImageRef& ref, int64_t slices) {
  if (!ref.key_path.empty()) return load_key_npy(ref.key_path);
  if (ref.key) return *ref.key;
  return slices / 2;
}

int64_t draw_below(std::mt19937_64& rng, int64_t n) {
  if (n <= 0) throw Error("random draw", "empty range");
  const uint64_t un = static_cast<uint64_t>(n);
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % un;
  uint64_t v;
  do v = rng(); while (v >= limit);
  return static_cast<int64_t>(v % un);
}

std::vector<int64_t> draw_ordered_subset(std::mt19937_64& rng, int64_t n, int64_t k) {
  if (k < 0 || k > n) throw Error("random draw", "a subset of " + std::to_string(k) + " of " + std::to_string(n) + " items");
  std::vector<int64_t> picks;
  picks.reserve(static_cast<std::size_t>(k));
  for (int64_t i = 0; i < n && static_cast<int64_t>(picks.size()) < k; ++i)
    if (draw_below(rng, n - i) < k - static_cast<int64_t>(picks.size())) picks.push_back(i);
  return picks;
}

namespace {

// Standard normal draws (Box-Muller on the portable 53-bit uniforms), for the opt-in randn replacement.
float draw_normal(std::mt19937_64& rng) {
  auto u = [&] { return (static_cast<double>(rng() >> 11) + 0.5) * (1.0 / 9007199254740992.0); };
  return static_cast<float>(std::sqrt(-2.0 * std::log(u())) * std::cos(6.283185307179586 * u()));
}

const ModalityIds& lookup_modality(const PreprocessOptions& o, const Case& c, std::size_t si) {
  const std::string& m = c.samples[si].modality;
  for (const auto& x : o.modality_ids)
    if (x.name == m) return x;
  const std::string canon = canonical_modality(m);
  for (const auto& x : o.modality_ids)
    if (x.name == canon) return x;
  std::string known;
  for (const auto& x : o.modality_ids) known += (known.empty() ? "" : ", ") + x.name;
  throw Error("case '" + c.id + "'", "sample " + std::to_string(si) + " has unknown modality '" + m + "' (known: " + known + ")");
}

// Makes a 2D scan (d = 1) into `copies` identical slices.
void replicate_slices(io::Scan& s, int64_t copies) {
  if (s.dims[2] != 1 || copies <= 1) return;
  const std::size_t plane = s.voxels.size();
  s.voxels.resize(plane * static_cast<std::size_t>(copies));
  for (int64_t k = 1; k < copies; ++k) std::memcpy(s.voxels.data() + plane * k, s.voxels.data(), plane * sizeof(float));
  s.dims[2] = copies;
}

// Non-finite voxels never reach the model silently. +-inf (a rescale that overflowed, a corrupt header) and
// scans with no finite voxel at all are errors; NaN voxels in an otherwise finite scan are how resampling
// tools (FSL, ANTs, nibabel) mark "outside the field of view": they become the scan's smallest finite
// value, i.e. background, and a warning says how many.
void check_scan(io::Scan& s, const std::string& what, std::vector<std::string>* warnings) {
  if (s.dims[0] <= 0 || s.dims[1] <= 0 || s.dims[2] <= 0 || static_cast<int64_t>(s.voxels.size()) != s.numel())
    throw Error(what, "scan has inconsistent dimensions");
  std::size_t nan = 0, inf = 0;
  float lo = std::numeric_limits<float>::infinity();
  for (float v : s.voxels) {
    if (std::isnan(v)) ++nan;
    else if (std::isinf(v)) ++inf;
    else lo = v < lo ? v : lo;
  }
  if (nan == 0 && inf == 0) return;
  const std::size_t n = s.voxels.size();
  if (inf > 0)
    throw Error(what, std::to_string(inf) + " of " + std::to_string(n) +
                          " voxels are infinite (overflowing rescale slope/intercept or a corrupt file)");
  if (nan == n) throw Error(what, "every voxel is NaN: no image data");
  for (float& v : s.voxels)
    if (std::isnan(v)) v = lo;
  const std::string msg = what + ": " + std::to_string(nan) + " of " + std::to_string(n) +
                          " voxels are NaN (no data), set to the scan's minimum " + std::to_string(lo);
  spdlog::warn("{}", msg);
  if (warnings) warnings->push_back(msg);
}

// Writes a column-major (S, S, d) array into a C-order (S, S, D) slot as f(value), slices [d, D) as `pad`.
// Both layouts have power-of-two strides (a source slice is 256 KB, a slot row 32 KB at the defaults), so a
// direct transpose keeps evicting its own cache lines: one float written per 32 KB step thrashes the
// cache sets. It goes through an L1-sized buffer instead, so every source and slot line is touched once.
template <typename F>
void write_slot(const float* v, int64_t S, int64_t d, float* slot, int64_t D, float pad, F f) {
  constexpr int64_t kH = 16, kW = 16;   // 16 floats: one 64-byte line of a source column
  // The tile in slot order [kH][kW][D]; slices [d, D) hold the padding once and are never overwritten.
  std::vector<float> buf(static_cast<std::size_t>(kH * kW * D), pad);
  for (int64_t h0 = 0; h0 < S; h0 += kH) {
    const int64_t nh = std::min(kH, S - h0);
    for (int64_t w0 = 0; w0 < S; w0 += kW) {
      const int64_t nw = std::min(kW, S - w0);
      for (int64_t w = 0; w < nw; ++w)
        for (int64_t k = 0; k < d; ++k) {
          const float* src = v + h0 + S * (w0 + w) + S * S * k;
          float* b = buf.data() + w * D + k;
          for (int64_t h = 0; h < nh; ++h) b[h * kW * D] = f(src[h]);
        }
      for (int64_t h = 0; h < nh; ++h)   // a tile row is one contiguous run of the slot
        std::memcpy(slot + ((h0 + h) * S + w0) * D, buf.data() + h * kW * D, static_cast<std::size_t>(nw * D) * sizeof(float));
    }
  }
}

void copy_into_slot(const io::Scan& s, float* slot, int64_t S, int64_t D) {
  write_slot(s.voxels.data(), S, s.dims[2], slot, D, 0.f, [](float x) { return x; });
}

// On the bit pattern, so that the loop below vectorises (a float NaN test does not).
inline uint32_t is_nan_or_negative_zero(uint32_t bits) {
  return static_cast<uint32_t>((bits & 0x7fffffffu) > 0x7f800000u) | static_cast<uint32_t>(bits == 0x80000000u);
}

// Min and max of [p, p + n) when they cannot depend on the visiting order: no NaN and no -0.0 (the only
// values where std::minmax_element's "first smallest, last largest" picks something else than any other
// order would). Independent lanes let the compiler vectorise what minmax_element cannot. False: the caller
// takes the ordered path.
bool order_free_minmax(const float* p, std::size_t n, float& mn, float& mx) {
  constexpr std::size_t kLanes = 16;
  float lo[kLanes], hi[kLanes];
  uint32_t odd[kLanes] = {};
  std::fill(lo, lo + kLanes, std::numeric_limits<float>::infinity());
  std::fill(hi, hi + kLanes, -std::numeric_limits<float>::infinity());
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (std::size_t j = 0; j < kLanes; ++j) {
      const float x = p[i + j];
      uint32_t bits;
      std::memcpy(&bits, &x, sizeof bits);
      lo[j] = x < lo[j] ? x : lo[j];
      hi[j] = hi[j] < x ? x : hi[j];
      odd[j] |= is_nan_or_negative_zero(bits);
    }
  for (; i < n; ++i) {
    const float x = p[i];
    uint32_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    lo[0] = x < lo[0] ? x : lo[0];
    hi[0] = hi[0] < x ? x : hi[0];
    odd[0] |= is_nan_or_negative_zero(bits);
  }
  for (std::size_t j = 1; j < kLanes; ++j) {
    lo[0] = std::min(lo[0], lo[j]);
    hi[0] = std::max(hi[0], hi[j]);
    odd[0] |= odd[j];
  }
  if (n == 0 || odd[0]) return false;
  mn = lo[0];
  mx = hi[0];
  return true;
}

// Min-max of every element of [p, p + n) into [0, 1]; a constant block -> zeros or randn first.
void minmax_normalise(float* p, std::size_t n, ConstantBlock constant, std::mt19937_64& rng, const std::string& what,
                      std::vector<std::string>* warnings) {
  if (n == 0) return;
  float mn, mx;
  if (!order_free_minmax(p, n, mn, mx)) {
    auto [lo, hi] = std::minmax_element(p, p + n);
    mn = *lo;
    mx = *hi;
  }
  if (mx - mn == 0.f) {
    const std::string msg = what + ": constant image block (value " + std::to_string(mn) + ")" +
                            (constant == ConstantBlock::kRandn ? ", replaced by random noise as the official loader does"
                                                               : ", set to zeros");
    spdlog::warn("{}", msg);
    if (warnings) warnings->push_back(msg);
    if (constant == ConstantBlock::kZeros) {
      std::fill(p, p + n, 0.f);
      return;
    }
    for (std::size_t i = 0; i < n; ++i) p[i] = draw_normal(rng);
    auto [lo2, hi2] = std::minmax_element(p, p + n);
    mn = *lo2;
    mx = *hi2;
  }
  const float den = mx - mn;
  for (std::size_t i = 0; i < n; ++i) p[i] = (p[i] - mn) / den;
}

// Same over the valid slices [0, d) of a C-order (S, S, D) slot only.
void minmax_valid(float* slot, int64_t S, int64_t D, int64_t d, ConstantBlock constant, std::mt19937_64& rng,
                  const std::string& what, std::vector<std::string>* warnings) {
  std::vector<float> valid;
  valid.reserve(static_cast<std::size_t>(S * S * d));
  for (int64_t i = 0; i < S * S; ++i)
    for (int64_t k = 0; k < d; ++k) valid.push_back(slot[i * D + k]);
  minmax_normalise(valid.data(), valid.size(), constant, rng, what, warnings);
  std::size_t t = 0;
  for (int64_t i = 0; i < S * S; ++i)
    for (int64_t k = 0; k < d; ++k) slot[i * D + k] = valid[t++];
}

// A CT window maps Hounsfield units. A PNG/JPEG export of a CT slice holds display values that whoever
// exported it already windowed (0..255): windowing those again would clip the whole image to white.
bool holds_hounsfield_units(const io::Scan& scan) {
  return scan.source.format != "png" && scan.source.format != "jpeg";
}

void window_valid(float* slot, int64_t S, int64_t D, int64_t d, const CtWindow& w) {
  const float lo = static_cast<float>(w.center - w.width / 2), hi = static_cast<float>(w.center + w.width / 2);
  for (int64_t i = 0; i < S * S; ++i)
    for (int64_t k = 0; k < d; ++k) {
      float& x = slot[i * D + k];
      x = (std::min(std::max(x, lo), hi) - lo) / (hi - lo);
    }
}

// The min and max of a block of scans written into (S, S, D) slots, zero padding included, when
// order_free_minmax gives them for every scan.
bool block_minmax(const std::vector<io::Scan>& scans, int64_t D, float& mn, float& mx) {
  mn = std::numeric_limits<float>::infinity();
  mx = -mn;
  for (const auto& s : scans) {
    float lo, hi;
    if (!order_free_minmax(s.voxels.data(), s.voxels.size(), lo, hi)) return false;
    mn = std::min(mn, lo);
    mx = std::max(mx, hi);
    if (s.dims[2] < D) {
      mn = std::min(mn, 0.f);
      mx = std::max(mx, 0.f);
    }
  }
  return !scans.empty();
}

std::vector<std::size_t> choose_order(const Case& c, const PreprocessOptions& o, std::mt19937_64& rng,
                                      const std::vector<std::size_t>* given) {
  const std::size_t n = c.samples.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (given) {
    std::vector<std::size_t> sorted = *given;
    std::sort(sorted.begin(), sorted.end());
    if (sorted != order)
      throw Error("case '" + c.id + "'", "visit order must be a permutation of its " + std::to_string(n) + " samples");
    return *given;
  }
  if (o.visit_order == VisitOrder::kShuffle)
    for (std::size_t i = n; i-- > 1;) std::swap(order[i], order[static_cast<std::size_t>(draw_below(rng, static_cast<int64_t>(i) + 1))]);
  return order;
}

}  // namespace

// ------------------------------------------------------------------------------------------ early path

torch::Tensor known_label_mask(const Sample& s, const LabelVocabulary& vocab) {
  if (s.unknown_labels.empty()) return {};
  auto known = torch::ones({static_cast<int64_t>(vocab.size())}, torch::kFloat32);
  for (int64_t i : vocab.encode(s.unknown_labels)) known[i] = 0.f;
  return known;
}

CaseTensors make_case_tensors(const Case& c, const LabelVocabulary* vocab, const PreprocessOptions& o,
                              std::mt19937_64& rng, const ImageLoader& loader,
                              const std::vector<std::size_t>* visit_order, PreprocessReport* report) {
  o.validate();
  const int64_t N = o.n_image, S = o.size, D = o.depth;
  CaseTensors t;
  t.images = torch::empty({N, 1, S, S, D}, torch::kFloat32);   // filled slots are written whole; the rest zeroed at the end
  t.mods = torch::zeros({N}, torch::kInt64);
  t.marks = torch::zeros({N, D}, torch::kInt64);
  t.keys = torch::full({N}, -1, torch::kInt64);
  t.extent = torch::zeros({N, 3}, torch::kFloat32);
  if (vocab) t.labels = torch::zeros({static_cast<int64_t>(vocab->size())}, torch::kFloat32);
  float* img = t.images.data_ptr<float>();
  int64_t* mods = t.mods.data_ptr<int64_t>();
  int64_t* marks = t.marks.data_ptr<int64_t>();
  int64_t* keys = t.keys.data_ptr<int64_t>();
  float* extent = t.extent.data_ptr<float>();
  std::vector<std::string>* warnings = report ? &report->warnings : nullptr;
  const std::optional<CtWindow> window = o.ct_window.empty() ? std::nullopt : std::optional(parse_ct_window(o.ct_window));

  // Every modality must be known, whichever samples end up visited.
  std::vector<const ModalityIds*> mod(c.samples.size());
  for (std::size_t si = 0; si < c.samples.size(); ++si) mod[si] = &lookup_modality(o, c, si);

  const auto order = choose_order(c, o, rng, visit_order);
  if (report) report->visit_order = order;
  int64_t cnt = 0;
  bool labelled = false;
  for (std::size_t si : order) {
    if (cnt >= N) break;
    const Sample& s = c.samples[si];
    if (!labelled) {  // labels come from the first visited sample only (official)
      labelled = true;
      if (vocab) {
        DroppedLabels dropped;
        for (int64_t i : vocab->encode(s.labels(o.level), &dropped)) t.labels[i] = 1.f;
        t.known = known_label_mask(s, *vocab);
        if (report) report->dropped.merge(dropped);
      }
    }
    const std::string& mname = mod[si]->name;
    const int64_t n_images = static_cast<int64_t>(s.images.size());
    if (n_images == 0) {
      const std::string msg = "case '" + c.id + "' sample " + std::to_string(si) + ": no images, skipped";
      spdlog::warn("{}", msg);
      if (warnings) warnings->push_back(msg);
      continue;
    }
    // Which images of the sample, and their position (= modality id index).
    std::vector<int64_t> picks;
    bool subset = false;   // a drawn subset takes the positions of the first k
    if (takes_first_images(mname)) {
      auto cap_it = o.caps.find(mname);
      const int64_t take = std::min(n_images, cap_it == o.caps.end() ? int64_t{1} : cap_it->second);
      subset = take < n_images &&
               std::find(o.random_subsets.begin(), o.random_subsets.end(), mname) != o.random_subsets.end();
      if (subset) picks = draw_ordered_subset(rng, n_images, take);
      else for (int64_t k = 0; k < take; ++k) picks.push_back(k);
    } else {
      picks.push_back(o.other_pick == ImagePick::kRandom ? draw_below(rng, n_images) : 0);
    }
    if (static_cast<int64_t>(picks.size()) > N - cnt) picks.resize(static_cast<std::size_t>(N - cnt));
    const int64_t k_count = static_cast<int64_t>(picks.size());
    float* block = img + cnt * S * S * D;
    std::vector<io::Scan> loaded(picks.size());   // kept until the block's min-max is known
    for (std::size_t j = 0; j < picks.size(); ++j) {
      const ImageRef& ref = s.images[static_cast<std::size_t>(picks[j])];
      const std::string what = "case '" + c.id + "' sample " + std::to_string(si) + " image " + std::to_string(picks[j]) +
                               " (" + ref.path + ")";
      io::Scan scan = loader(ref);
      check_scan(scan, what, warnings);
      const ScanExtent scan_extent = scan_extent_mm(scan);   // as read: before 2D replication and resampling
      replicate_slices(scan, o.replicate_2d);
      const int64_t d0 = scan.dims[2];
      int64_t key = image_key(ref, d0);
      PreprocessReport::Slot slot{si, static_cast<std::size_t>(picks[j]), ref.path, d0, false, false};
      if (key < 0 || key >= d0) {  // official: random.randrange(d)
        key = draw_below(rng, d0);
        slot.key_redrawn = true;
      }
      if (o.spacing.active()) {
        key = resample_scan_physical(scan, S, D, o.spacing, key);
        slot.resampled = true;
        slot.slices = scan.dims[2];
      } else if (scan.dims[0] != S || scan.dims[1] != S || d0 > D) {
        if (!o.resample_nonconforming)
          throw Error(what, "array is " + std::to_string(scan.dims[0]) + "x" + std::to_string(scan.dims[1]) + "x" +
                                std::to_string(d0) + ", the early loader needs " + std::to_string(S) + "x" +
                                std::to_string(S) + "x(<=" + std::to_string(D) + ")");
        const auto idx = resample_scan(scan, S, D);
        key = remap_key(key, idx);
        slot.resampled = true;
        slot.slices = scan.dims[2];
      }
      const int64_t d = scan.dims[2];
      const int64_t slot_index = cnt + static_cast<int64_t>(j);
      for (int64_t k = 0; k < std::min(d, D); ++k) marks[slot_index * D + k] = 1;
      const auto& ids = mod[si]->ids;
      const int64_t position = subset ? static_cast<int64_t>(j) : picks[j];
      mods[slot_index] = ids[static_cast<std::size_t>(std::min<int64_t>(position, static_cast<int64_t>(ids.size()) - 1))];
      keys[slot_index] = key;
      std::copy(scan_extent.begin(), scan_extent.end(), extent + slot_index * 3);
      if (report) report->slots.push_back(slot);
      loaded[j] = std::move(scan);
    }
    const std::string what = "case '" + c.id + "' sample " + std::to_string(si);
    const bool windowed = window && mname == "CT" &&
                          std::all_of(loaded.begin(), loaded.end(), [](const io::Scan& l) { return holds_hounsfield_units(l); });
    float mn = 0, mx = 0;
    if (!windowed && o.normalization == Normalization::kOfficial && block_minmax(loaded, D, mn, mx) && mx - mn != 0.f) {
      // The official block min-max, taken from the scans and applied on the way into the slots (the
      // padding becomes the normalised 0, as when it is normalised in place).
      const float den = mx - mn;
      const auto norm = [mn, den](float x) { return (x - mn) / den; };
      for (std::size_t j = 0; j < loaded.size(); ++j)
        write_slot(loaded[j].voxels.data(), S, loaded[j].dims[2], block + static_cast<int64_t>(j) * S * S * D, D, norm(0.f),
                   norm);
      cnt += k_count;
      continue;
    }
    std::vector<int64_t> valid_slices(loaded.size());
    for (std::size_t j = 0; j < loaded.size(); ++j) {
      copy_into_slot(loaded[j], block + static_cast<int64_t>(j) * S * S * D, S, D);
      valid_slices[j] = loaded[j].dims[2];
    }
    if (windowed) {
      for (int64_t j = 0; j < k_count; ++j) window_valid(block + j * S * S * D, S, D, valid_slices[static_cast<std::size_t>(j)], *window);
    } else if (o.normalization == Normalization::kPerScan) {
      for (int64_t j = 0; j < k_count; ++j)
        minmax_valid(block + j * S * S * D, S, D, valid_slices[static_cast<std::size_t>(j)], o.constant_block, rng, what, warnings);
    } else {
      // Official: one min-max over the whole (k, S, S, D) block, zero padding included.
      minmax_normalise(block, static_cast<std::size_t>(k_count * S * S * D), o.constant_block, rng, what, warnings);
    }
    cnt += k_count;
  }
  std::fill(img + cnt * S * S * D, img + N * S * S * D, 0.f);
  return t;
}

// ----------------------------------------------------------------------------------------- single path

SingleImage preprocess_single_scan(io::Scan scan, int64_t key, bool key_slice_only, const PreprocessOptions& o,
                                   std::mt19937_64& rng, std::vector<std::string>* warnings) {
  o.validate();
  const int64_t S = o.size, D = o.depth;
  check_scan(scan, scan.source.path, warnings);
  const ScanExtent extent = scan_extent_mm(scan);
  if (is_replicated_2d(scan)) {  // the late path keeps one channel of an RP3D 2D image
    scan.voxels.resize(static_cast<std::size_t>(scan.dims[0] * scan.dims[1]));
    scan.dims[2] = 1;
  }
  if (key_slice_only) {
    const int64_t d = scan.dims[2];
    const int64_t k = (key >= 0 && key < d) ? key : d / 2;
    const int64_t plane = scan.dims[0] * scan.dims[1];
    std::vector<float> one(scan.voxels.begin() + plane * k, scan.voxels.begin() + plane * (k + 1));
    scan.voxels = std::move(one);
    scan.dims[2] = 1;
    key = 0;
  }
  if (o.spacing.active())
    key = resample_scan_physical(scan, S, D, o.spacing, key);
  else if (!(scan.dims[0] == S && scan.dims[1] == S && scan.dims[2] <= D))
    resample_scan(scan, S, D);
  const int64_t d = scan.dims[2];
  if (key > d) key = draw_below(rng, d);  // official: strict '>' and no remapping (reference 7.2.7)
  SingleImage out;
  out.image = torch::empty({1, S, S, D}, torch::kFloat32);   // every element is written below
  out.marks = torch::zeros({D}, torch::kInt64);
  out.marks.narrow(0, 0, d).fill_(1);
  float* slot = out.image.data_ptr<float>();
  // The valid slices hold exactly the scan's values, so the window / min-max is applied on the way into
  // the slot (one pass over the output instead of three).
  float mn = 0, mx = 0;
  if (!o.ct_window.empty() && canonical_modality(scan.modality) == "CT" && holds_hounsfield_units(scan)) {
    const CtWindow w = parse_ct_window(o.ct_window);
    const float lo = static_cast<float>(w.center - w.width / 2), hi = static_cast<float>(w.center + w.width / 2);
    write_slot(scan.voxels.data(), S, d, slot, D, 0.f,
               [lo, hi](float x) { return (std::min(std::max(x, lo), hi) - lo) / (hi - lo); });
  } else if (order_free_minmax(scan.voxels.data(), scan.voxels.size(), mn, mx) && mx - mn != 0.f) {
    const float den = mx - mn;
    write_slot(scan.voxels.data(), S, d, slot, D, 0.f, [mn, den](float x) { return (x - mn) / den; });
  } else {  // NaN, -0.0 or a constant scan: the ordered path, with its warning and random draws
    copy_into_slot(scan, slot, S, D);
    minmax_valid(slot, S, D, d, o.constant_block, rng, scan.source.path, warnings);
  }
  out.key = key;
  out.extent = torch::tensor(std::vector<float>(extent.begin(), extent.end()), torch::kFloat32);
  return out;
}

CaseTensors make_single_image_tensors(const Case& c, const LabelVocabulary* vocab, const PreprocessOptions& o,
                                      std::mt19937_64& rng, const ImageLoader& loader, PreprocessReport* report) {
  if (c.samples.empty()) throw Error("case '" + c.id + "'", "has no samples");
  const bool random = o.single_pick == ImagePick::kRandom;
  const std::size_t si = random ? static_cast<std::size_t>(draw_below(rng, static_cast<int64_t>(c.samples.size()))) : 0;
  const Sample& s = c.samples[si];
  if (s.images.empty()) throw Error("case '" + c.id + "'", "sample " + std::to_string(si) + " has no images");
  const std::size_t ii = random ? static_cast<std::size_t>(draw_below(rng, static_cast<int64_t>(s.images.size()))) : 0;
  const ImageRef& ref = s.images[ii];
  io::Scan scan = loader(ref);
  if (scan.modality.empty()) scan.modality = s.modality;
  const int64_t key = image_key(ref, scan.dims[2]);
  CaseTensors t;
  auto one = preprocess_single_scan(std::move(scan), key, c.dim == "3D", o, rng, report ? &report->warnings : nullptr);
  t.images = one.image.unsqueeze(0);
  t.mods = torch::zeros({1}, torch::kInt64);
  t.marks = one.marks.unsqueeze(0);
  t.keys = torch::full({1}, one.key, torch::kInt64);
  t.extent = one.extent.unsqueeze(0);
  if (vocab) {
    t.labels = torch::zeros({static_cast<int64_t>(vocab->size())}, torch::kFloat32);
    DroppedLabels dropped;
    for (int64_t i : vocab->encode(s.labels(o.level), &dropped)) t.labels[i] = 1.f;
    t.known = known_label_mask(s, *vocab);
    if (report) report->dropped.merge(dropped);
  }
  if (report) {
    report->visit_order = {si};
    report->slots.push_back({si, ii, ref.path, one.marks.sum().item<int64_t>(), false, false});
  }
  return t;
}

}  // namespace raddiag::data
