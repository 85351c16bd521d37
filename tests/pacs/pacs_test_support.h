#pragma once
// Inputs and checks shared by the PACS tests: a real CT volume (LIDC-IDRI) written as a DICOM series by
// tests/py/pacs_ct_series.py, the CLI, and pydicom as the independent judge of pixel equality.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace raddiag::test {

struct CtSeries {
  std::string dir;
  std::string patient_id;
  std::string study;
  std::string series;
  std::vector<std::string> sops;
  std::vector<std::string> files;
};
// The LIDC volume used by the PACS tests (64x67x27, int16 HU).
std::string lidc_volume();
CtSeries make_ct_series(const std::string& dir);
// One more CT instance in a new series of `study`; returns {study, series, sop}.
nlohmann::json make_extra_instance(const std::string& file, const std::string& study, const std::string& patient_id);
// pydicom: pairs the .dcm files of two folders by SOP Instance UID and compares pixel data and UIDs.
nlohmann::json compare_pixels(const std::string& sent_dir, const std::string& received_dir);
// Runs the raddiag CLI with the arguments (quoted); returns the exit code, fills `output` (stdout+stderr).
int run_cli(const std::vector<std::string>& args, std::string* output);
// Regular files below `dir`, recursively (hidden ones included).
std::vector<std::string> files_below(const std::string& dir);

}  // namespace raddiag::test
