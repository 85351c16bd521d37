// Every case knows its dataset (data::Case::dataset) in each layout load_dataset reads: the manifest and
// case-folder layouts (a `dataset` column of labels.csv or manifest.csv, else the folder name), class
// folders (the folder name), a label CSV (a `dataset` column, else the file stem) and RP3D case JSON
// (its `Dataset` key, written back by save_rp3d_cases). Built on files of the shared real data.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "data/case_sources.h"
#include "data/folder_dataset.h"
#include "data/rp3d_manifest.h"
#include "test_support.h"
#include "util/error.h"

using namespace raddiag;
namespace fs = std::filesystem;

namespace case_datasets_test {

std::string brain() { return test::shared_data() + "/real/brain_tumor_mri"; }

// Three real brain MRI images with their labels (first rows of the set's labels.csv).
std::vector<std::pair<std::string, std::string>> three_brain_images() {
  std::vector<std::pair<std::string, std::string>> out;
  const auto cases = data::load_cases(brain());
  for (std::size_t i = 0; i < cases.size() && out.size() < 3; ++i)
    out.emplace_back(cases[i].samples.at(0).images.at(0).path, cases[i].articles.at(0));
  return out;
}

std::set<std::string> datasets_of(const std::vector<data::Case>& cases) {
  std::set<std::string> s;
  for (const auto& c : cases) s.insert(c.dataset);
  return s;
}

}  // namespace case_datasets_test
using namespace case_datasets_test;

TEST(CaseDatasets, ManifestFolderIsNamedByItsFolder) {
  for (const char* name : {"brain_tumor_mri", "lidc_nodule_ct3d"}) {
    const auto d = data::load_dataset(test::shared_data() + "/real/" + name);
    EXPECT_EQ(d.layout, "manifest");
    EXPECT_EQ(datasets_of(d.cases), std::set<std::string>({name}));
  }
  // A trailing slash names the same folder.
  EXPECT_EQ(datasets_of(data::load_cases(brain() + "/")), std::set<std::string>({"brain_tumor_mri"}));
}

TEST(CaseDatasets, DatasetColumnsOfManifestAndLabels) {
  const std::string dir = test::scratch_dir("case_datasets_columns");
  const auto imgs = three_brain_images();
  {
    std::ofstream m(dir + "/manifest.csv");
    m << "case_id,file,modality,dataset\n";
    for (std::size_t i = 0; i < imgs.size(); ++i) m << "c" << i << "," << imgs[i].first << ",MRI," << (i == 0 ? "site_a" : "") << "\n";
    std::ofstream l(dir + "/labels.csv");
    l << "case_id,labels,dataset\n";
    for (std::size_t i = 0; i < imgs.size(); ++i) l << "c" << i << "," << imgs[i].second << "," << (i == 2 ? "site_b" : "") << "\n";
  }
  const auto cases = data::load_cases(dir);
  ASSERT_EQ(cases.size(), 3u);
  std::map<std::string, std::string> by_id;
  for (const auto& c : cases) by_id[c.id] = c.dataset;
  EXPECT_EQ(by_id["c0"], "site_a");                       // manifest.csv column
  EXPECT_EQ(by_id["c1"], fs::path(dir).filename().string());  // neither: the folder name
  EXPECT_EQ(by_id["c2"], "site_b");                       // labels.csv column
}

TEST(CaseDatasets, CaseFoldersClassFoldersAndLabelCsv) {
  const auto imgs = three_brain_images();
  // Case folders with labels.csv (a dataset column for one case).
  const std::string cases_dir = test::scratch_dir("case_datasets_cases") + "/my_cases";
  fs::create_directories(cases_dir);
  {
    std::ofstream l(cases_dir + "/labels.csv");
    l << "case_id,labels,dataset\n";
    for (std::size_t i = 0; i < imgs.size(); ++i) {
      fs::create_directories(cases_dir + "/case" + std::to_string(i));
      fs::copy_file(imgs[i].first, cases_dir + "/case" + std::to_string(i) + "/image.jpg");
      l << "case" << i << "," << imgs[i].second << "," << (i == 1 ? "other" : "") << "\n";
    }
  }
  const auto cf = data::load_dataset(cases_dir, {});
  EXPECT_EQ(cf.layout, "case_folders");
  EXPECT_EQ(datasets_of(cf.cases), std::set<std::string>({"my_cases", "other"}));

  // Class folders: the folder's name.
  const std::string classes_dir = test::scratch_dir("case_datasets_classes") + "/kaggle_set";
  for (std::size_t i = 0; i < imgs.size(); ++i) {
    fs::create_directories(classes_dir + "/" + imgs[i].second);
    fs::copy_file(imgs[i].first, classes_dir + "/" + imgs[i].second + "/img" + std::to_string(i) + ".jpg");
  }
  const auto cl = data::load_dataset(classes_dir, {});
  EXPECT_EQ(cl.layout, "class_folders");
  EXPECT_EQ(datasets_of(cl.cases), std::set<std::string>({"kaggle_set"}));

  // Label CSV: the file stem, or its dataset column (not taken for a label column).
  const std::string csv_dir = test::scratch_dir("case_datasets_csv");
  {
    std::ofstream a(csv_dir + "/chexpert_like.csv");
    a << "Path,glioma\n" << imgs[0].first << ",1\n" << imgs[1].first << ",0\n";
    std::ofstream b(csv_dir + "/with_column.csv");
    b << "Path,dataset,glioma\n" << imgs[0].first << ",s1,1\n" << imgs[1].first << ",,0\n";
  }
  EXPECT_EQ(datasets_of(data::load_cases(csv_dir + "/chexpert_like.csv")), std::set<std::string>({"chexpert_like"}));
  const auto wc = data::load_dataset(csv_dir + "/with_column.csv");
  EXPECT_EQ(wc.classes, std::vector<std::string>({"glioma"}));
  EXPECT_EQ(wc.cases.at(0).dataset, "s1");
  EXPECT_EQ(wc.cases.at(1).dataset, "with_column");
  // One case's rows must agree on the dataset.
  std::ofstream(csv_dir + "/mixed.csv") << "Path,case_id,dataset,glioma\n" << imgs[0].first << ",p1,s1,1\n" << imgs[1].first << ",p1,s2,1\n";
  try {
    data::load_cases(csv_dir + "/mixed.csv");
    FAIL() << "a case in two datasets was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mixed.csv"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dataset"), std::string::npos) << e.what();
  }
}

TEST(CaseDatasets, RoundTripThroughCaseJson) {
  const std::string dir = test::scratch_dir("case_datasets_json");
  auto cases = data::load_cases(brain());
  auto nodules = data::load_cases(test::shared_data() + "/real/lidc_nodule_ct3d");
  cases.insert(cases.end(), nodules.begin(), nodules.end());
  cases.back().dataset.clear();  // an RP3D case without a dataset stays without one
  data::save_rp3d_cases(dir + "/cases.json", cases);
  const auto back = data::load_cases(dir + "/cases.json");
  ASSERT_EQ(back.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(back[i].dataset, cases[i].dataset) << cases[i].id;
  EXPECT_FALSE(data::case_to_rp3d_json(cases.back()).contains("Dataset"));
  EXPECT_EQ(data::case_to_rp3d_json(cases.front())["Dataset"], "brain_tumor_mri");
}
