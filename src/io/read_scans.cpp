#include "io/read_scans.h"

#include <algorithm>
#include <new>
#include <filesystem>
#include <system_error>

#include "io/dicom_reader.h"
#include "io/scan_formats.h"
#include "util/error.h"
#include "util/input_file.h"

namespace raddiag::io {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void out_of_memory(const std::string& path) {
  throw Error(path, "out of memory while decoding (lower the per-input budget with --max-input-bytes to refuse such files early)");
}

}  // namespace

Scan read_scan_file(const std::string& path, const ReadOptions& options) {
  check_input_path(path, false);  // a device, FIFO or symlink loop is refused before a byte is read
  try {
    if (const ScanFormat* format = detect_format(path)) return format->read(path, options);
  } catch (const std::bad_alloc&) {
    out_of_memory(path);
  }
  throw Error(path, "not a recognised image format (expected " + known_formats_text() + ")");
}

ReadReport read_path(const std::string& path, const ReadOptions& options) {
  ReadReport report;
  std::error_code ec;
  if (check_input_path(path, true) == InputKind::kFile) {
    report.scans.push_back(read_scan_file(path, options));
    return report;
  }
  std::vector<std::string> files;
  auto add = [&](const fs::directory_entry& e) {
    std::error_code ec2;
    if (e.is_regular_file(ec2)) {
      files.push_back(e.path().string());
      return;
    }
    if (e.is_directory(ec2)) return;
    // Devices, FIFOs, sockets, dangling links and link loops: listed as skipped, never opened.
    try {
      check_input_path(e.path().string(), false);
    } catch (const Error& err) {
      report.skipped.push_back({e.path().string(), err.reason()});
    }
  };
  if (options.recursive) {
    for (fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end; it.increment(ec)) add(*it);
  } else {
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) add(*it);
  }
  if (ec) throw Error(path, "cannot list the directory: " + ec.message());
  std::sort(files.begin(), files.end());

  std::vector<std::string> dicom;
  std::vector<std::pair<std::string, Scan>> singles;
  for (const auto& f : files) {
    const ScanFormat* fmt = detect_format(f);
    if (fmt && fmt->grouped_in_series) {
      dicom.push_back(f);
      continue;
    }
    if (!fmt) {
      // The data half of a NIfTI/Analyze .hdr/.img pair is read through its .hdr.
      const fs::path p(f);
      if (p.extension() == ".img" && fs::exists(fs::path(p).replace_extension(".hdr"), ec)) continue;
      report.skipped.push_back({f, "not a recognised image format"});
      continue;
    }
    try {
      singles.emplace_back(f, read_scan_file(f, options));
    } catch (const Error& e) {
      report.skipped.push_back({f, e.reason()});
    }
  }
  std::vector<Scan> series;
  try {
    series = read_dicom_files(dicom, options, &report.skipped);
  } catch (const std::bad_alloc&) {
    out_of_memory(path);
  }

  // Merge into path order: each scan is keyed by its first file.
  std::vector<std::pair<std::string, Scan>> all = std::move(singles);
  for (auto& s : series) {
    std::string key = s.source.files.empty() ? s.source.path : *std::min_element(s.source.files.begin(), s.source.files.end());
    all.emplace_back(key, std::move(s));
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [k, s] : all) report.scans.push_back(std::move(s));
  std::sort(report.skipped.begin(), report.skipped.end(), [](const SkippedFile& a, const SkippedFile& b) { return a.path < b.path; });
  return report;
}

std::vector<Scan> read_scans(const std::string& path, const ReadOptions& options, std::vector<SkippedFile>* skipped) {
  ReadReport r = read_path(path, options);
  if (skipped) skipped->insert(skipped->end(), r.skipped.begin(), r.skipped.end());
  return std::move(r.scans);
}

}  // namespace raddiag::io
