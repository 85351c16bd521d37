#include "data/rp3d_manifest.h"

#include <filesystem>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/json_structure_sax.h"
#include "util/input_file.h"
#include "util/utf8.h"

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace raddiag::data {

PathRewrite parse_path_rewrite(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error("--prefix '" + spec + "'", "expected FROM=TO, e.g. /home/user/DataPath/=/data/RP3D_Demo/DataPath/");
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

std::string resolve_manifest_path(const std::string& path, const std::vector<PathRewrite>& rewrites,
                                  const std::string& root) {
  if (path.empty()) return path;
  std::string p = path;
  for (const auto& r : rewrites) {
    if (p.rfind(r.from, 0) == 0) {
      p = r.to + p.substr(r.from.size());
      break;
    }
  }
  fs::path fp(p);
  if (fp.is_relative() && !root.empty()) fp = fs::path(root) / fp;
  return fp.lexically_normal().string();
}

namespace {

std::vector<std::string> string_list(const nlohmann::json& j, const char* field, const std::string& where) {
  std::vector<std::string> out;
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) throw Error(where, std::string("field '") + field + "' must be a list of strings");
  for (const auto& e : *it) {
    if (e.is_string()) out.push_back(e.get<std::string>());
    else if (e.is_null()) out.emplace_back();
    else throw Error(where, std::string("field '") + field + "' holds a non-string entry: " + e.dump());
  }
  return out;
}

// The keys of the top-level object, in file order. The document itself is parsed into nlohmann::json,
// whose objects are sorted maps (ordered_json keeps insertion order with a linear search per key,
// which made a 40,000-case file take seconds of string comparisons), and whose parser lets the last
// of two equal keys win silently: this pass refuses duplicate keys at every level, by name.
struct KeyOrderAndDuplicates : JsonStructureSax<nlohmann::json> {
  explicit KeyOrderAndDuplicates(const std::string& source) : source(source) {}
  const std::string& source;
  std::vector<std::string> keys;                  // top-level keys (case ids), in file order
  std::vector<std::unordered_set<std::string>> open;  // keys seen in each open object; empty set for arrays
  std::vector<bool> is_object;
  std::string current_case;
  bool start_object(std::size_t) override { return open.emplace_back(), is_object.push_back(true), true; }
  bool end_object() override { return open.pop_back(), is_object.pop_back(), true; }
  bool start_array(std::size_t) override { return open.emplace_back(), is_object.push_back(false), true; }
  bool end_array() override { return open.pop_back(), is_object.pop_back(), true; }
  bool key(string_t& k) override {
    if (!open.back().insert(k).second) {
      if (open.size() == 1) throw Error(source, "duplicate case key '" + k + "': the JSON object holds it twice (one would silently replace the other)");
      throw Error(source + ": case '" + current_case + "'", "duplicate key '" + k + "' in one JSON object");
    }
    if (open.size() == 1) {
      keys.push_back(k);
      current_case = k;
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    throw Error(source, std::string("invalid JSON: ") + e.what());
  }
};

// Case ids, paths and labels are short; a multi-megabyte string is a broken or hostile file. Checked
// on the raw text before any parser copies it.
constexpr std::size_t kMaxManifestString = std::size_t(1) << 20;

void check_string_lengths(const std::string& text, const std::string& source) {
  bool in_string = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!in_string) {
      if (c == '"') in_string = true, start = i;
      continue;
    }
    if (c == '\\') {
      ++i;
    } else if (c == '"') {
      in_string = false;
    }
    if (in_string && i - start > kMaxManifestString) {
      std::string head = text.substr(start + 1, 40);
      throw Error(source, "a JSON string starting at byte " + std::to_string(start) + " (\"" + utf8_backslashreplace(head) +
                              "...\") is longer than " + std::to_string(kMaxManifestString) +
                              " bytes; case ids, paths and labels are never that long");
    }
  }
}

}  // namespace

std::vector<Case> parse_rp3d_cases(const std::string& json_text, const std::string& source,
                                   const std::string& base_dir, const ManifestOptions& options) {
  check_string_lengths(json_text, source);
  KeyOrderAndDuplicates order(source);  // the case order is the file's (the official loader's row order)
  nlohmann::json::sax_parse(json_text, &order);
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source, std::string("invalid JSON: ") + e.what());
  }
  if (!root.is_object()) throw Error(source, "an RP3D case file must be a JSON object {case link: case}");
  const std::string data_root = options.data_root.empty() ? base_dir : options.data_root;
  std::vector<Case> cases;
  cases.reserve(root.size());
  for (const std::string& id : order.keys) {
    const std::string where = source + ": case '" + id + "'";
    const nlohmann::json& cj = root.at(id);
    if (!cj.is_object()) throw Error(where, "case must be a JSON object");
    Case c;
    c.id = id;
    if (auto a = cj.find("Anatomy"); a != cj.end() && a->is_string()) c.anatomy = a->get<std::string>();
    if (auto d = cj.find("Dim"); d != cj.end() && d->is_string()) c.dim = d->get<std::string>();
    if (auto d = cj.find("Dataset"); d != cj.end() && d->is_string()) c.dataset = d->get<std::string>();
    const auto modalities = string_list(cj, "Modalities", where);
    auto samples_it = cj.find("Samples");
    if (samples_it == cj.end() || !samples_it->is_array()) throw Error(where, "missing 'Samples' list");
    if (modalities.size() != samples_it->size())
      throw Error(where, "'Modalities' has " + std::to_string(modalities.size()) + " entries but 'Samples' has " +
                             std::to_string(samples_it->size()));
    const auto anatomies = string_list(cj, "Anatomies", where);
    const nlohmann::json* key_slice = nullptr;
    if (auto k = cj.find("key_slice"); k != cj.end() && k->is_array()) key_slice = &*k;
    for (std::size_t si = 0; si < samples_it->size(); ++si) {
      const nlohmann::json& sj = (*samples_it)[si];
      const std::string swhere = where + " sample " + std::to_string(si);
      if (!sj.is_object()) throw Error(swhere, "sample must be a JSON object");
      Sample s;
      s.modality = modalities[si];
      const auto paths = string_list(sj, "image_data_path", swhere);
      const auto keys = string_list(sj, "image_key_path", swhere);
      const auto planes = string_list(sj, "plane_projection", swhere);
      if (!keys.empty() && keys.size() != paths.size())
        throw Error(swhere, "'image_key_path' has " + std::to_string(keys.size()) + " entries, 'image_data_path' has " +
                                std::to_string(paths.size()));
      for (std::size_t k = 0; k < paths.size(); ++k) {
        ImageRef im;
        im.path = resolve_manifest_path(paths[k], options.rewrites, data_root);
        if (!keys.empty()) im.key_path = resolve_manifest_path(keys[k], options.rewrites, data_root);
        if (k < planes.size()) im.plane = planes[k];
        // `key_slice` counts slices of the original volume, not the stored array (reference 1.2); it is
        // kept only for images without a key file.
        if (im.key_path.empty() && key_slice && si < key_slice->size()) {
          const nlohmann::json& ks = (*key_slice)[si];
          if (auto kv = ks.find("image_" + std::to_string(k)); kv != ks.end() && kv->is_number_integer())
            im.key = kv->get<int64_t>();
        }
        s.images.push_back(std::move(im));
      }
      s.articles = string_list(sj, "articles", swhere);
      s.icd10s = string_list(sj, "icd10s", swhere);
      s.unknown_labels = string_list(sj, "unknown_labels", swhere);  // raddiag extension: labels not known
      if (auto a = sj.find("anatomy"); a != sj.end() && a->is_string()) s.anatomy = a->get<std::string>();
      else if (si < anatomies.size()) s.anatomy = anatomies[si];
      c.samples.push_back(std::move(s));
    }
    collect_case_labels(c);
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<Case> load_rp3d_cases(const std::string& json_path, const ManifestOptions& options) {
  const std::string base = fs::absolute(fs::path(json_path)).parent_path().string();
  return parse_rp3d_cases(read_input_file(json_path), json_path, base, options);
}

std::vector<MissingFile> find_missing_files(const std::vector<Case>& cases) {
  std::vector<MissingFile> out;
  for (std::size_t ci = 0; ci < cases.size(); ++ci) {
    const auto& c = cases[ci];
    for (std::size_t si = 0; si < c.samples.size(); ++si) {
      const auto& s = c.samples[si];
      for (std::size_t k = 0; k < s.images.size(); ++k) {
        std::error_code ec;
        if (!fs::exists(s.images[k].path, ec)) out.push_back({ci, c.id, si, k, "image", s.images[k].path});
        if (!s.images[k].key_path.empty() && !fs::exists(s.images[k].key_path, ec))
          out.push_back({ci, c.id, si, k, "key", s.images[k].key_path});
      }
    }
  }
  return out;
}

std::string describe(const MissingFile& m) {
  return "case " + std::to_string(m.case_index) + " (" + m.case_id + "): sample " + std::to_string(m.sample) +
         " image " + std::to_string(m.image) + ": " + m.kind + " file missing: " + m.path;
}

void save_rp3d_cases(const std::string& json_path, const std::vector<Case>& cases, const std::string& relative_to) {
  // Written case by case: an ordered_json object of all cases would search its keys linearly on every
  // insert. The layout is dump(1)'s.
  std::string out = "{";
  for (std::size_t i = 0; i < cases.size(); ++i) {
    std::string one = case_to_rp3d_json(cases[i], relative_to).dump(1);
    std::string indented;
    indented.reserve(one.size() + one.size() / 16);
    for (char ch : one) {
      indented.push_back(ch);
      if (ch == '\n') indented.push_back(' ');  // JSON strings escape their newlines: only layout ones here
    }
    out += (i ? ",\n " : "\n ") + nlohmann::json(cases[i].id).dump() + ": " + indented;
  }
  out += cases.empty() ? "}\n" : "\n}\n";
  write_bytes_atomically(json_path, out);
}

}  // namespace raddiag::data
