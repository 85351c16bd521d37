#include "serve/study.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "data/resample.h"
#include "io/read_scans.h"
#include "util/error.h"

namespace raddiag::serve {

namespace fs = std::filesystem;

namespace {

std::string study_normal_path(const std::string& p) {
  std::error_code ec;
  fs::path a = fs::absolute(p, ec);
  return (ec ? fs::path(p) : a).lexically_normal().string();
}

// `path` is `prefix` or lies inside the folder `prefix` (both normalised).
bool study_path_under(const std::string& path, const std::string& prefix) {
  if (path == prefix) return true;
  std::string p = prefix;
  if (!p.empty() && p.back() != '/') p += '/';
  return path.compare(0, p.size(), p) == 0;
}

struct StudyOverride {
  std::string path;    // "" = default for scans whose format does not say
  std::string value;
};

std::string study_modality_choices() {
  std::string known;
  for (const auto& m : data::official_modality_table()) known += (known.empty() ? "" : ", ") + m.name;
  return known;
}

std::vector<StudyOverride> parse_study_overrides(const std::vector<std::string>& specs, const char* option, bool modality) {
  std::vector<StudyOverride> out;
  for (const auto& spec : specs) {
    StudyOverride o;
    const auto eq = spec.rfind('=');
    o.value = eq == std::string::npos ? spec : spec.substr(eq + 1);
    if (eq != std::string::npos) o.path = study_normal_path(spec.substr(0, eq));
    if (modality) {
      const std::string canon = data::canonical_modality(o.value);
      if (canon.empty())
        throw Error(std::string(option) + " '" + spec + "'", "unknown modality '" + o.value + "' (use one of " + study_modality_choices() + ")");
      o.value = canon;
    }
    if (o.value.empty()) throw Error(std::string(option) + " '" + spec + "'", "empty value");
    out.push_back(std::move(o));
  }
  return out;
}

// The forced value for a scan (longest matching PATH=), else "".
std::string forced_study_override(const std::vector<StudyOverride>& overrides, const std::string& scan_path) {
  std::string best, value;
  for (const auto& o : overrides)
    if (!o.path.empty() && study_path_under(scan_path, o.path) && o.path.size() >= best.size()) best = o.path, value = o.value;
  return value;
}

std::string default_study_override(const std::vector<StudyOverride>& overrides) {
  std::string value;
  for (const auto& o : overrides)
    if (o.path.empty()) value = o.value;  // the last one given wins
  return value;
}

std::string describe_study_scan(const io::Scan& s) {
  std::string d = s.source.path;
  if (!s.source.series_uid.empty()) d += " (series " + s.source.series_uid + ")";
  return d;
}

// Scans of different patients or studies must not silently become one case (a mix-up a reader of the
// report cannot see): the first two distinct (PatientID, StudyInstanceUID) are named with a file of each.
void check_single_study(const std::vector<StudyScan>& read, const StudyOptions& options, Study& study) {
  std::vector<std::pair<std::string, const io::Scan*>> seen;
  for (const auto& rs : read) {
    const auto& id = rs.scan.source.dicom;
    if (!id.present) continue;
    const std::string key = io::dicom_study_key(id.study);
    if (std::none_of(seen.begin(), seen.end(), [&](const auto& x) { return x.first == key; })) seen.emplace_back(key, &rs.scan);
  }
  for (const auto& s : seen) study.dicom_studies.push_back(s.first);
  if (seen.size() < 2) return;
  auto describe = [](const io::Scan& s) {
    const auto& st = s.source.dicom.study;
    const std::string file = s.source.files.empty() ? s.source.path : s.source.files.front();
    return "PatientID '" + st.patient_id + "' / StudyInstanceUID '" + st.study_instance_uid + "' (" + file +
           (s.source.files.size() > 1 ? " and " + std::to_string(s.source.files.size() - 1) + " more file(s)" : "") + ")";
  };
  const std::string what = std::to_string(seen.size()) + " different patients or studies: " + describe(*seen[0].second) +
                           " and " + describe(*seen[1].second) + (seen.size() > 2 ? " and " + std::to_string(seen.size() - 2) + " more" : "");
  if (!options.allow_mixed_studies)
    throw Error("diagnose", "the inputs hold " + what + "; diagnose one study at a time (or pass --allow-mixed-studies to fuse them on purpose)");
  study.warnings.push_back("--allow-mixed-studies: one case from " + what);
}

}  // namespace

const io::DicomIdentity* Study::dicom_identity() const {
  for (const auto& s : scans)
    if (s.scan.source.dicom.present) return &s.scan.source.dicom;
  return nullptr;
}

std::vector<std::string> card_training_modalities(const nlohmann::json& card) {
  const nlohmann::json* list = nullptr;
  if (card.is_object() && card.contains("training_modalities")) list = &card["training_modalities"];
  else if (card.is_object() && card.contains("training_data") && card["training_data"].is_object() &&
           card["training_data"].contains("modalities"))
    list = &card["training_data"]["modalities"];
  std::vector<std::string> out;
  if (!list || !list->is_array()) return out;
  for (const auto& m : *list)
    if (m.is_string()) {
      const std::string c = data::canonical_modality(m.get<std::string>());
      out.push_back(c.empty() ? m.get<std::string>() : c);
    }
  return out;
}

int64_t original_slice_index(const io::Scan& scan, int64_t k, int64_t depth) {
  const int64_t d = scan.dims[2];
  if (d <= 1) return 0;
  if (d <= depth) return std::clamp<int64_t>(k, 0, d - 1);
  const auto idx = data::uniform_slice_indices(d, depth);
  return idx.at(static_cast<std::size_t>(std::clamp<int64_t>(k, 0, static_cast<int64_t>(idx.size()) - 1)));
}

data::ImageLoader Study::loader() const {
  std::map<std::string, std::size_t> by_ref;
  for (std::size_t i = 0; i < scans.size(); ++i) by_ref[scans[i].ref] = i;
  const Study* self = this;
  return [self, by_ref](const data::ImageRef& ref) -> io::Scan {
    auto it = by_ref.find(ref.path);
    if (it == by_ref.end()) throw Error(ref.path, "not a scan of this study");
    return self->scans[it->second].scan;
  };
}

int64_t Study::scan_index(std::size_t sample, std::size_t image) const {
  for (std::size_t i = 0; i < scans.size(); ++i)
    if (scans[i].sample == sample && scans[i].image == image) return static_cast<int64_t>(i);
  return -1;
}

Study build_study(const std::vector<std::string>& paths, const StudyOptions& options, const StudyModelInfo& model) {
  if (paths.empty()) throw Error("diagnose", "no study given (pass files or folders)");
  const auto modality_overrides = parse_study_overrides(options.modality, "--modality", true);
  const auto plane_overrides = parse_study_overrides(options.plane, "--plane", false);
  const std::string default_modality = default_study_override(modality_overrides);
  const std::string default_plane = default_study_override(plane_overrides);

  Study study;
  std::vector<StudyScan> read;
  std::size_t files_seen = 0;
  for (const auto& input : paths) {
    std::error_code ec;
    if (!fs::exists(input, ec)) {
      study.skipped.push_back({input, "no such file or folder"});
      continue;
    }
    io::ReadOptions ro;
    ro.threads = options.threads;
    try {
      io::ReadReport r = io::read_path(input, ro);
      files_seen += r.scans.size() + r.skipped.size();
      for (auto& s : r.skipped) study.skipped.push_back(std::move(s));
      for (auto& s : r.scans) read.push_back({std::move(s), input, "", 0, 0});
    } catch (const Error& e) {  // a single file that cannot be read
      ++files_seen;
      study.skipped.push_back({input, e.reason()});
    }
  }
  if (files_seen == 0 && study.skipped.empty())
    throw Error(paths.size() == 1 ? paths[0] : "study", "empty: no files to read");
  if (read.empty()) {
    std::string why;
    for (std::size_t i = 0; i < study.skipped.size() && i < 3; ++i)
      why += "\n  " + study.skipped[i].path + ": " + study.skipped[i].reason;
    if (study.skipped.size() > 3) why += "\n  ... (" + std::to_string(study.skipped.size() - 3) + " more)";
    throw Error(paths.size() == 1 ? paths[0] : "study",
                "no readable scan (" + std::to_string(study.skipped.size()) + " file(s) could not be read)" + why);
  }

  check_single_study(read, options, study);

  // Modality and plane of every scan; scans the model cannot take are skipped with the reason.
  const auto trained = model.trained_modalities;
  std::set<std::string> warned_untrained;
  std::vector<std::string> sample_modality;  // first-appearance order
  std::vector<StudyScan> usable;
  for (auto& rs : read) {
    io::Scan& s = rs.scan;
    const std::string path = study_normal_path(s.source.files.empty() ? s.source.path : s.source.files.front());
    const std::string tag = s.modality;
    std::string m = forced_study_override(modality_overrides, path);
    if (m.empty()) m = data::canonical_modality(s.modality);
    if (m.empty() && s.source.format != "dicom") m = default_modality;
    if (m.empty() && s.source.format == "dicom" && tag.empty()) m = default_modality;
    if (m.empty()) {
      std::string reason = tag.empty() ? "modality unknown (" + s.source.format + " files do not record it)"
                                       : "DICOM modality '" + tag + "' is not one the model knows";
      reason += "; pass --modality M (e.g. --modality X-ray) or --modality PATH=M for this input";
      study.skipped.push_back({describe_study_scan(s), reason});
      study.warnings.push_back(describe_study_scan(s) + ": not used, " + reason);
      continue;
    }
    const bool has_ids = std::any_of(model.modality_ids.begin(), model.modality_ids.end(),
                                     [&](const data::ModalityIds& x) { return x.name == m; });
    if (!has_ids) {
      const std::string reason = "modality '" + m + "' has no embedding in this model";
      study.skipped.push_back({describe_study_scan(s), reason});
      study.warnings.push_back(describe_study_scan(s) + ": not used, " + reason);
      continue;
    }
    if (!trained.empty() && std::find(trained.begin(), trained.end(), m) == trained.end() && warned_untrained.insert(m).second)
      study.warnings.push_back("modality '" + m + "' is not among the model's training modalities (" + [&] {
        std::string t;
        for (const auto& x : trained) t += (t.empty() ? "" : ", ") + x;
        return t;
      }() + "): findings for it are outside what the model was validated on");
    s.modality = m;
    std::string p = forced_study_override(plane_overrides, path);
    if (!p.empty() || s.plane.empty()) s.plane = p.empty() ? default_plane : p;
    if (std::find(sample_modality.begin(), sample_modality.end(), m) == sample_modality.end()) sample_modality.push_back(m);
    usable.push_back(std::move(rs));
  }
  if (usable.empty()) {
    std::string why;
    for (const auto& w : study.warnings) why += "\n  " + w;
    throw Error(paths.size() == 1 ? paths[0] : "study", "no usable scan" + why);
  }

  // One Sample per modality; refs unique even when two series share a folder.
  data::Case& c = study.case_data;
  c.id = paths.size() == 1 ? paths[0] : paths[0] + " (+" + std::to_string(paths.size() - 1) + ")";
  std::set<std::string> refs;
  for (std::size_t si = 0; si < sample_modality.size(); ++si) {
    data::Sample sample;
    sample.modality = sample_modality[si];
    for (auto& rs : usable) {
      if (rs.scan.modality != sample.modality) continue;
      std::string ref = rs.scan.source.path;
      if (!rs.scan.source.series_uid.empty() && refs.count(ref)) ref += "#" + rs.scan.source.series_uid;
      for (int n = 2; refs.count(ref); ++n) ref = rs.scan.source.path + "#" + std::to_string(n);
      refs.insert(ref);
      rs.ref = ref;
      rs.sample = si;
      rs.image = sample.images.size();
      data::ImageRef ir;
      ir.path = ref;
      ir.plane = rs.scan.plane;
      sample.images.push_back(ir);
      study.scans.push_back(std::move(rs));
      rs.scan.modality.clear();  // taken
    }
    c.samples.push_back(std::move(sample));
  }
  return study;
}

}  // namespace raddiag::serve
