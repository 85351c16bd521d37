#pragma once
// Where received DICOM instances go: OUT/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm, the
// same for a WADO-RS pull and the C-STORE SCP. The names come from the UIDs inside the file, reduced to
// safe file-name characters; nothing a sender names (file names, paths) is ever used.
#include <string>

namespace raddiag::pacs {

struct InstanceUids {
  std::string study;
  std::string series;
  std::string sop_instance;
  std::string sop_class;
  std::string transfer_syntax;  // from the file meta information; empty when the file has none
};

// Reads the identifying UIDs of a DICOM file with DCMTK (pixel data is not loaded). Throws raddiag::Error
// naming the file when it is not DICOM or lacks the Study/Series/SOP Instance UID.
InstanceUids read_instance_uids(const std::string& path);

// A DICOM UID: 1-64 characters, digits and dots, no empty component (PS3.5 9.1).
bool is_valid_uid(const std::string& uid);

// A file-name component for a UID: characters other than digits and dots become '_', a leading dot becomes
// '_' (no ".", "..", hidden files), at most 64 characters (longer values are cut and tagged with a hash).
std::string uid_file_component(const std::string& uid);

// "<study>/<series>/<sop>.dcm" under `root`.
std::string instance_path(const std::string& root, const InstanceUids& uids);

// Moves `file` to instance_path(root, uids), creating the folders; replaces an older copy of the instance.
std::string place_instance(const std::string& file, const std::string& root, const InstanceUids& uids);

}  // namespace raddiag::pacs
