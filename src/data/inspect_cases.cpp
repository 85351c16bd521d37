#include "data/inspect_cases.h"

#include <filesystem>
#include <sstream>

#include "data/rp3d_manifest.h"
#include "util/npy.h"
#include "util/utf8.h"

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace raddiag::data {

namespace {
// Ids, paths and labels are bytes from a manifest or a folder: not all are UTF-8, and one that is not
// must not make the whole JSON output fail.
std::string safe(const std::string& s) { return utf8_backslashreplace(s); }
ojson safe_list(const std::vector<std::string>& v) {
  ojson out = ojson::array();
  for (const auto& s : v) out.push_back(safe(s));
  return out;
}

// Shape of an image without decoding it when it is .npy; "" for other formats.
ojson npy_shape(const std::string& path) {
  if (path.size() < 4 || path.substr(path.size() - 4) != ".npy") return nullptr;
  try {
    return npy::read_header(path).shape;
  } catch (const std::exception& e) {
    return safe(std::string("unreadable: ") + e.what());
  }
}
}  // namespace

ojson inspect_cases(const std::vector<Case>& cases, const InspectOptions& o) {
  ojson out;
  out["cases"] = ojson::array();
  std::size_t missing_total = 0;
  DroppedLabels dropped_all;
  const auto missing = find_missing_files(cases);  // in case order
  std::size_t next_missing = 0;
  for (std::size_t ci = 0; ci < cases.size(); ++ci) {
    const Case& c = cases[ci];
    ojson cj;
    cj["index"] = ci;
    cj["id"] = safe(c.id);
    cj["anatomy"] = safe(c.anatomy);
    cj["labels"] = safe_list(c.articles);
    if (!c.icd10s.empty()) cj["icd10s"] = safe_list(c.icd10s);
    if (o.vocab) {
      DroppedLabels d;
      cj["label_indices"] = o.vocab->encode(c.articles, &d);
      if (d.total) {
        ojson by_name = ojson::object();
        for (const auto& [name, count] : d.by_name) by_name[safe(name)] = count;
        cj["labels_not_in_vocabulary"] = by_name;
      }
      dropped_all.merge(d);
    }
    cj["samples"] = ojson::array();
    bool complete = true;
    for (std::size_t si = 0; si < c.samples.size(); ++si) {
      const Sample& s = c.samples[si];
      ojson sj;
      sj["modality"] = safe(s.modality);
      sj["images"] = ojson::array();
      for (const auto& im : s.images) {
        ojson ij;
        ij["path"] = safe(im.path);
        std::error_code exists_error;
        const bool present = fs::exists(im.path, exists_error);
        ij["present"] = present;
        complete &= present;
        if (present) ij["shape"] = npy_shape(im.path);
        if (!im.plane.empty()) ij["plane"] = safe(im.plane);
        if (!im.key_path.empty()) {
          ij["key_path"] = safe(im.key_path);
          if (fs::exists(im.key_path, exists_error)) {
            try {
              ij["key"] = image_key(im, 0);
            } catch (const std::exception& e) {
              ij["key"] = safe(std::string("unreadable: ") + e.what());
            }
          } else {
            ij["key"] = "missing";
            complete = false;
          }
        } else if (im.key) {
          ij["key"] = *im.key;
        }
        sj["images"].push_back(ij);
      }
      cj["samples"].push_back(sj);
    }
    cj["missing_files"] = ojson::array();
    for (; next_missing < missing.size() && missing[next_missing].case_index == ci; ++next_missing)
      cj["missing_files"].push_back(safe(describe(missing[next_missing])));
    missing_total += cj["missing_files"].size();
    if (o.tensors) {
      if (!complete) {
        cj["tensors"] = "not built: files missing";
      } else {
        try {
          std::mt19937_64 rng(o.seed);
          PreprocessReport rep;
          const auto t = make_case_tensors(c, o.vocab, *o.tensors, rng, default_image_loader, nullptr, &rep);
          ojson slots = ojson::array();
          for (int64_t n = 0; n < t.mods.size(0); ++n) {
            const int64_t m = t.marks[n].sum().item<int64_t>();
            ojson sl = {{"mod", t.mods[n].item<int64_t>()}, {"key", t.keys[n].item<int64_t>()}, {"marks", m}};
            if (m > 0) {
              const auto valid = t.images[n][0].narrow(2, 0, m).to(torch::kFloat64);
              sl["sum"] = valid.sum().item<double>();
              sl["max"] = valid.max().item<double>();
            }
            slots.push_back(sl);
          }
          cj["tensors"] = {{"visit_order", rep.visit_order}, {"slots", slots}};
          if (t.labels.defined()) {
            std::vector<int64_t> on;
            for (int64_t k = 0; k < t.labels.numel(); ++k)
              if (t.labels[k].item<float>() != 0.f) on.push_back(k);
            cj["tensors"]["labels"] = on;
          }
          if (!rep.warnings.empty()) cj["tensors"]["warnings"] = safe_list(rep.warnings);
        } catch (const std::exception& e) {
          cj["tensors"] = safe(std::string("error: ") + e.what());
        }
      }
    }
    out["cases"].push_back(cj);
  }
  out["summary"] = {{"cases", cases.size()}, {"missing_files", missing_total}};
  if (o.vocab) out["summary"]["labels_not_in_vocabulary"] = dropped_all.total;
  return out;
}

std::string render_inspection(const ojson& j) {
  std::ostringstream s;
  for (const auto& c : j["cases"]) {
    s << "case " << c["index"].get<std::size_t>() << ": " << c["id"].get<std::string>();
    if (!c["anatomy"].get<std::string>().empty()) s << "  [" << c["anatomy"].get<std::string>() << "]";
    s << "\n  labels:";
    const auto labels = c["labels"].get<std::vector<std::string>>();
    for (std::size_t i = 0; i < labels.size(); ++i) s << (i ? "," : "") << " " << labels[i];
    if (c.contains("label_indices")) s << "  -> indices " << c["label_indices"].dump();
    if (c.contains("labels_not_in_vocabulary")) s << "  (not in vocabulary: " << c["labels_not_in_vocabulary"].dump() << ")";
    s << "\n";
    for (std::size_t si = 0; si < c["samples"].size(); ++si) {
      const auto& sj = c["samples"][si];
      s << "  sample " << si << ": " << sj["modality"].get<std::string>() << ", " << sj["images"].size() << " image(s)\n";
      for (const auto& im : sj["images"]) {
        s << "    " << (im["present"].get<bool>() ? "ok      " : "MISSING ") << im["path"].get<std::string>();
        if (im.contains("shape") && !im["shape"].is_null()) s << "  shape " << im["shape"].dump();
        if (im.contains("plane")) s << "  " << im["plane"].get<std::string>();
        if (im.contains("key")) s << "  key " << (im["key"].is_string() ? im["key"].get<std::string>() : im["key"].dump());
        s << "\n";
      }
    }
    if (c.contains("tensors")) {
      const auto& t = c["tensors"];
      if (t.is_string()) {
        s << "  tensors: " << t.get<std::string>() << "\n";
      } else {
        s << "  tensors (visit order " << t["visit_order"].dump() << "):\n";
        for (const auto& sl : t["slots"]) {
          s << "    slot mod " << sl["mod"].dump() << " key " << sl["key"].dump() << " marks " << sl["marks"].dump();
          if (sl.contains("sum")) {
            char buf[96];
            std::snprintf(buf, sizeof buf, " sum %.6f max %.6f", sl["sum"].get<double>(), sl["max"].get<double>());
            s << buf;
          }
          s << "\n";
        }
        if (t.contains("labels")) s << "    labels " << t["labels"].dump() << "\n";
      }
    }
    for (const auto& m : c["missing_files"]) s << "  missing: " << m.get<std::string>() << "\n";
  }
  s << j["summary"]["cases"].dump() << " case(s), " << j["summary"]["missing_files"].dump() << " missing file(s)";
  if (j["summary"].contains("labels_not_in_vocabulary"))
    s << ", " << j["summary"]["labels_not_in_vocabulary"].dump() << " label(s) not in the vocabulary";
  s << "\n";
  return s.str();
}

}  // namespace raddiag::data
