#include "data/prepare.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "data/label_vocabulary.h"
#include "data/modality.h"
#include "data/resample.h"
#include "data/rp3d_manifest.h"
#include "data/scan_loader.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace raddiag::data {

int64_t to_rp3d_array(io::Scan& scan, int64_t key, int64_t size, int64_t depth, int64_t replicate_2d,
                      const SpacingResample& spacing) {
  if (scan.dims[0] <= 0 || scan.dims[1] <= 0 || scan.dims[2] <= 0 || static_cast<int64_t>(scan.voxels.size()) != scan.numel())
    throw Error(scan.source.path, "scan has inconsistent dimensions");
  const bool two_d = scan.dims[2] == 1;
  if (two_d && key < 0) key = 0;   // RP3D's 2D images carry key 0
  if (two_d && replicate_2d > 1) {
    const std::size_t plane = scan.voxels.size();
    scan.voxels.resize(plane * static_cast<std::size_t>(replicate_2d));
    for (int64_t k = 1; k < replicate_2d; ++k) std::memcpy(scan.voxels.data() + plane * k, scan.voxels.data(), plane * sizeof(float));
    scan.dims[2] = replicate_2d;
  }
  const int64_t d = scan.dims[2];
  if (key < 0 || key >= d) key = d / 2;
  for (float v : scan.voxels)
    if (!std::isfinite(v)) throw Error(scan.source.path, "scan holds NaN or infinite values");
  if (spacing.active()) return resample_scan_physical(scan, size, depth, spacing, key);
  const auto idx = resample_scan(scan, size, depth);
  return remap_key(key, idx);
}

namespace {

std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s) out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '_');
  if (out.size() > 80) out.resize(80);
  return out;
}

struct Job {
  std::size_t c, s, i;
  std::string name;          // file stem under data/ and key/
  std::string modality;      // known modality or ""
  // Results.
  bool ok = false, reused = false;
  std::string error, found_modality;
};

std::string format_eta(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
}

}  // namespace

PrepareResult prepare_dataset(const PrepareOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.size <= 0 || o.depth <= 0) throw Error("prepare", "size and depth must be positive");
  if (o.output.empty()) throw Error("prepare", "no output folder given");
  std::vector<Case> cases = load_folder_dataset(o.input, o.folder);
  const fs::path out = fs::absolute(o.output);
  // Resuming into a folder prepared with other settings would mix array sizes: refuse.
  if (fs::exists(out / "prepare_report.json")) {
    try {
      const auto prev = nlohmann::json::parse(read_file_bytes((out / "prepare_report.json").string()));
      if (prev.value("size", o.size) != o.size || prev.value("depth", o.depth) != o.depth ||
          prev.value("replicate_2d", o.replicate_2d) != o.replicate_2d)
        throw Error(out.string(), "was prepared with other settings (size " + prev["size"].dump() + ", depth " +
                                      prev["depth"].dump() + "); use a new output folder");
    } catch (const nlohmann::json::exception&) {
      // An unreadable report is rewritten at the end.
    }
  }
  fs::create_directories(out / "data");
  fs::create_directories(out / "key");

  std::vector<Job> jobs;
  for (std::size_t c = 0; c < cases.size(); ++c)
    for (std::size_t s = 0; s < cases[c].samples.size(); ++s)
      for (std::size_t i = 0; i < cases[c].samples[s].images.size(); ++i)
        jobs.push_back({c, s, i,
                        "c" + std::to_string(c) + "_" + safe_name(cases[c].id) + "_s" + std::to_string(s) + "_i" + std::to_string(i),
                        cases[c].samples[s].modality});

  PrepareResult r;
  r.cases_in = cases.size();
  r.images_total = jobs.size();
  std::atomic<std::size_t> next{0}, done{0};
  auto work = [&] {
    for (;;) {
      const std::size_t j = next.fetch_add(1);
      if (j >= jobs.size()) return;
      Job& job = jobs[j];
      const ImageRef& ref = cases[job.c].samples[job.s].images[job.i];
      const std::string img_path = (out / "data" / (job.name + ".npy")).string();
      const std::string key_path = (out / "key" / (job.name + ".npy")).string();
      try {
        if (!job.modality.empty() && fs::exists(img_path) && fs::exists(key_path)) {
          job.reused = true;  // resume: files are written atomically, so an existing one is complete
        } else {
          io::Scan scan = load_scan(ref.path);
          job.found_modality = canonical_modality(scan.modality);
          const int64_t key = to_rp3d_array(scan, ref.key ? *ref.key : -1, o.size, o.depth, o.replicate_2d, o.spacing);
          save_npy_scan(img_path, scan);
          save_key_npy(key_path, key);
        }
        job.ok = true;
      } catch (const std::exception& e) {
        job.error = e.what();
      }
      done.fetch_add(1);
    }
  };
  const int n_threads = std::max(1, std::min<int>(o.jobs, static_cast<int>(std::max<std::size_t>(jobs.size(), 1))));
  std::vector<std::thread> pool;
  for (int t = 0; t < n_threads; ++t) pool.emplace_back(work);
  // Progress line: items/s and ETA, refreshed in place.
  while (o.progress && done.load() < jobs.size()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::size_t d = done.load();
    const double rate = el > 0 ? d / el : 0;
    std::fprintf(stderr, "\rprepare: %zu/%zu scans, %.1f scans/s, ETA %s   ", d, jobs.size(), rate,
                 format_eta(rate > 0 ? (jobs.size() - d) / rate : NAN).c_str());
    std::fflush(stderr);
  }
  for (auto& t : pool) t.join();
  if (o.progress) std::fprintf(stderr, "\rprepare: %zu/%zu scans done%30s\n", jobs.size(), jobs.size(), "");

  // Assemble the output cases from the scans that made it.
  std::vector<std::vector<std::vector<const Job*>>> by(cases.size());
  for (std::size_t c = 0; c < cases.size(); ++c) {
    by[c].resize(cases[c].samples.size());
    for (std::size_t s = 0; s < cases[c].samples.size(); ++s) by[c][s].assign(cases[c].samples[s].images.size(), nullptr);
  }
  for (const auto& j : jobs) {
    by[j.c][j.s][j.i] = &j;
    if (!j.ok) {
      ++r.images_failed;
      r.errors.push_back("case '" + cases[j.c].id + "': " + j.error);
    } else if (j.reused) {
      ++r.images_reused;
    } else {
      ++r.images_written;
    }
  }
  std::vector<Case> out_cases;
  for (std::size_t c = 0; c < cases.size(); ++c) {
    Case oc = cases[c];
    oc.samples.clear();
    for (std::size_t s = 0; s < cases[c].samples.size(); ++s) {
      Sample os = cases[c].samples[s];
      os.images.clear();
      for (std::size_t i = 0; i < cases[c].samples[s].images.size(); ++i) {
        const Job* j = by[c][s][i];
        if (!j || !j->ok) continue;
        if (os.modality.empty()) os.modality = j->found_modality;
        ImageRef im;
        im.path = (out / "data" / (j->name + ".npy")).string();
        im.key_path = (out / "key" / (j->name + ".npy")).string();
        im.plane = cases[c].samples[s].images[i].plane;
        os.images.push_back(std::move(im));
      }
      if (os.images.empty()) continue;
      if (os.modality.empty()) {
        r.errors.push_back("case '" + oc.id + "' sample " + std::to_string(s) +
                           ": modality unknown (give --modality, a manifest modality column, or DICOM files); sample left out");
        continue;
      }
      oc.samples.push_back(std::move(os));
    }
    if (oc.samples.empty()) {
      r.errors.push_back("case '" + oc.id + "': no readable scan, case left out");
      continue;
    }
    out_cases.push_back(std::move(oc));
  }
  r.cases_out = out_cases.size();
  save_rp3d_cases((out / "cases.json").string(), out_cases, out.string());
  bool any_labels = false;
  for (const auto& c : out_cases) any_labels |= !c.articles.empty();
  if (any_labels) LabelVocabulary::build_from_cases(out_cases, LabelLevel::kArticles).save_json((out / "label_dict.json").string());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json rep = {{"input", fs::absolute(o.input).string()}, {"size", o.size}, {"depth", o.depth}, {"replicate_2d", o.replicate_2d},
                        {"cases_in", r.cases_in}, {"cases_out", r.cases_out}, {"images_total", r.images_total},
                        {"images_written", r.images_written}, {"images_reused", r.images_reused},
                        {"images_failed", r.images_failed}, {"errors", r.errors}, {"seconds", r.seconds}};
  write_bytes_atomically((out / "prepare_report.json").string(), rep.dump(2) + "\n");
  for (const auto& e : r.errors) spdlog::warn("prepare: {}", e);
  return r;
}

}  // namespace raddiag::data
