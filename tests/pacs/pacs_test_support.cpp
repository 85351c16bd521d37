#include "pacs/pacs_test_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "test_support.h"

namespace raddiag::test {
namespace fs = std::filesystem;

std::string lidc_volume() { return shared_data() + "/real/lidc_nodule_ct3d/volumes/LIDC-IDRI-0942_R_1.nii.gz"; }

CtSeries make_ct_series(const std::string& dir) {
  std::string out = run_python_script("pacs_ct_series.py", {"series", lidc_volume(), dir});
  auto j = nlohmann::json::parse(out.substr(out.find('{')));
  CtSeries s;
  s.dir = dir;
  s.patient_id = j["patient_id"];
  s.study = j["study"];
  s.series = j["series"];
  s.sops = j["sops"].get<std::vector<std::string>>();
  s.files = files_below(dir);
  return s;
}

nlohmann::json make_extra_instance(const std::string& file, const std::string& study, const std::string& patient_id) {
  std::string out = run_python_script("pacs_ct_series.py", {"extra", lidc_volume(), file, study, patient_id});
  return nlohmann::json::parse(out.substr(out.find('{')));
}

nlohmann::json compare_pixels(const std::string& sent_dir, const std::string& received_dir) {
  std::string out = run_python_script("pacs_compare_pixels.py", {sent_dir, received_dir});
  return nlohmann::json::parse(out.substr(out.find('{')));
}

int run_cli(const std::vector<std::string>& args, std::string* output) {
  std::string cmd = shell_quote(cli_path());
  for (const auto& a : args) cmd += " " + shell_quote(a);
  return run_command(cmd, output);
}

std::vector<std::string> files_below(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file()) out.push_back(it->path().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace raddiag::test
