#include "pacs/study_layout.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "util/error.h"

namespace raddiag::pacs {
namespace {

std::string get_string(DcmItem* item, const DcmTagKey& tag) {
  OFString v;
  if (item && item->findAndGetOFString(tag, v).good()) return std::string(v.c_str());
  return "";
}

}  // namespace

InstanceUids read_instance_uids(const std::string& path) {
  DcmFileFormat file;
  // Elements above 4 KiB (pixel data) stay on disk.
  OFCondition cond = file.loadFile(OFFilename(path.c_str()), EXS_Unknown, EGL_noChange, 4096, ERM_autoDetect);
  if (cond.bad()) throw Error(path, std::string("not a readable DICOM file: ") + cond.text());
  InstanceUids u;
  DcmDataset* ds = file.getDataset();
  u.study = get_string(ds, DCM_StudyInstanceUID);
  u.series = get_string(ds, DCM_SeriesInstanceUID);
  u.sop_instance = get_string(ds, DCM_SOPInstanceUID);
  u.sop_class = get_string(ds, DCM_SOPClassUID);
  u.transfer_syntax = get_string(file.getMetaInfo(), DCM_TransferSyntaxUID);
  if (u.study.empty() || u.series.empty() || u.sop_instance.empty())
    throw Error(path, "DICOM file without StudyInstanceUID, SeriesInstanceUID or SOPInstanceUID");
  return u;
}

bool is_valid_uid(const std::string& uid) {
  if (uid.empty() || uid.size() > 64 || uid.front() == '.' || uid.back() == '.') return false;
  for (size_t i = 0; i < uid.size(); ++i) {
    char c = uid[i];
    if (c == '.') {
      if (uid[i + 1] == '.') return false;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

std::string uid_file_component(const std::string& uid) {
  std::string s;
  for (char c : uid) s += ((c >= '0' && c <= '9') || c == '.') ? c : '_';
  if (s.empty()) s = "_";
  if (s.front() == '.') s.front() = '_';
  if (s.size() > 64) {
    // FNV-1a of the full value keeps two long, distinct values apart after the cut.
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : uid) h = (h ^ c) * 1099511628211ull;
    char tag[20];
    std::snprintf(tag, sizeof tag, "_%016llx", static_cast<unsigned long long>(h));
    s = s.substr(0, 64 - 17) + tag;
  }
  return s;
}

std::string instance_path(const std::string& root, const InstanceUids& uids) {
  namespace fs = std::filesystem;
  return (fs::path(root) / uid_file_component(uids.study) / uid_file_component(uids.series) /
          (uid_file_component(uids.sop_instance) + ".dcm"))
      .string();
}

std::string place_instance(const std::string& file, const std::string& root, const InstanceUids& uids) {
  namespace fs = std::filesystem;
  std::string dest = instance_path(root, uids);
  std::error_code ec;
  fs::create_directories(fs::path(dest).parent_path(), ec);
  if (ec) throw Error(fs::path(dest).parent_path().string(), "cannot create folder: " + ec.message());
  fs::rename(file, dest, ec);
  if (ec) throw Error(dest, "cannot move the received instance into place: " + ec.message());
  return dest;
}

}  // namespace raddiag::pacs
