// Folder datasets: the shared real datasets (counts from their READMEs), manifest/labels consistency
// errors, and the plain one-folder-per-case layout.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "data/folder_dataset.h"
#include "data/label_vocabulary.h"
#include "test_support.h"
#include "util/atomic_file.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::data;
namespace fs = std::filesystem;

TEST(FolderDataset, RealDatasetsParseWithReadmeCounts) {
  struct Expect { const char* name; std::size_t cases, files; };
  for (const auto& e : {Expect{"covid_cxr_ct", 39, 85}, Expect{"lidc_nodule_ct3d", 60, 111},
                        Expect{"lung_ultrasound_pocus", 16, 48}, Expect{"brain_tumor_mri", 40, 40}}) {
    SCOPED_TRACE(e.name);
    const auto cases = load_folder_dataset(test::shared_data() + "/real/" + e.name);
    EXPECT_EQ(cases.size(), e.cases);
    std::size_t files = 0, missing = 0;
    for (const auto& c : cases) {
      files += c.image_count();
      EXPECT_FALSE(c.articles.empty()) << c.id;
      for (const auto& s : c.samples) {
        EXPECT_EQ(s.articles, c.articles);
        for (const auto& im : s.images) missing += !fs::exists(im.path);
      }
    }
    EXPECT_EQ(files, e.files);
    EXPECT_EQ(missing, 0u);
  }
}

TEST(FolderDataset, ModalitiesAreCanonicalAndGrouped) {
  const auto pocus = load_folder_dataset(test::shared_data() + "/real/lung_ultrasound_pocus");
  for (const auto& c : pocus)
    for (const auto& s : c.samples) EXPECT_EQ(s.modality, "Ultrasound");   // "ultrasound" in the CSV
  // covid: README says 2 cases mix X-ray and CT -> two samples each; 82 X-ray and 3 CT files.
  const auto covid = load_folder_dataset(test::shared_data() + "/real/covid_cxr_ct");
  std::size_t mixed = 0;
  std::map<std::string, std::size_t> per_modality;
  for (const auto& c : covid) {
    mixed += c.samples.size() == 2;
    for (const auto& s : c.samples) per_modality[s.modality] += s.images.size();
  }
  EXPECT_EQ(mixed, 2u);
  EXPECT_EQ(per_modality["X-ray"], 82u);
  EXPECT_EQ(per_modality["CT"], 3u);
  // Labels: README case counts per label (viral pneumonia 23, COVID-19 21).
  const auto vocab = LabelVocabulary::build_from_cases(covid, LabelLevel::kArticles);
  EXPECT_EQ(vocab.name(0), "viral pneumonia");
  EXPECT_EQ(vocab.name(1), "COVID-19");
  EXPECT_EQ(vocab.size(), 15u);
}

namespace {
std::string make_dataset(const std::string& tag, const std::string& manifest, const std::string& labels) {
  const std::string dir = test::scratch_dir(tag);
  write_bytes_atomically(dir + "/manifest.csv", manifest);
  if (!labels.empty()) write_bytes_atomically(dir + "/labels.csv", labels);
  return dir;
}
std::string error_of(const std::string& dir) {
  try {
    load_folder_dataset(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(FolderDataset, CsvEdgeCasesAndErrors) {
  // BOM, CRLF, quoted file name with a comma, explicit sample and key columns, a label list with spaces.
  auto dir = make_dataset("fd_ok",
                          "\xEF\xBB\xBF" "case_id,file,modality,sample,view,key\r\n"
                          "p1,\"a, b.png\",CR,s1,PA,\r\n"
                          "p1,c.png,X-ray,s1,L,0\r\n"
                          "p1,d.nii.gz,ct,s2,Axial,7\r\n"
                          "p2,e.png,MR,,,\r\n",
                          "case_id,labels\r\np2,\"x ; y\"\r\np1,z\r\n");
  const auto cases = load_folder_dataset(dir);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].id, "p1");
  ASSERT_EQ(cases[0].samples.size(), 2u);
  EXPECT_EQ(cases[0].samples[0].modality, "X-ray");
  ASSERT_EQ(cases[0].samples[0].images.size(), 2u);
  EXPECT_EQ(fs::path(cases[0].samples[0].images[0].path).filename(), "a, b.png");
  EXPECT_EQ(cases[0].samples[0].images[1].plane, "L");
  EXPECT_EQ(cases[0].samples[1].modality, "CT");
  EXPECT_EQ(cases[0].samples[1].images[0].key, 7);
  EXPECT_EQ(cases[1].samples[0].modality, "MRI");
  EXPECT_EQ(cases[1].articles, (std::vector<std::string>{"x", "y"}));

  EXPECT_NE(error_of(make_dataset("fd_nocol", "case_id,path\np,a.png\n", "case_id,labels\np,x\n"))
                .find("missing required column 'file'"), std::string::npos);
  EXPECT_NE(error_of(make_dataset("fd_nolabcol", "case_id,file\np,a.png\n", "case_id,label\np,x\n"))
                .find("missing required column 'labels'"), std::string::npos);
  const auto unknown = error_of(make_dataset("fd_unknown", "case_id,file\np,a.png\n", "case_id,labels\np,x\nq,y\n"));
  EXPECT_NE(unknown.find("case 'q' has no files"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("labels.csv"), std::string::npos) << unknown;
  const auto unlabelled = error_of(make_dataset("fd_unlab", "case_id,file\np,a.png\nq,b.png\n", "case_id,labels\np,x\n"));
  EXPECT_NE(unlabelled.find("no row for case 'q'"), std::string::npos) << unlabelled;
  const auto dup = error_of(make_dataset("fd_dup", "case_id,file\np,a.png\n", "case_id,labels\np,x\np,y\n"));
  EXPECT_NE(dup.find("listed twice"), std::string::npos) << dup;
  const auto short_row = error_of(make_dataset("fd_short", "case_id,file,modality\np,a.png\n", ""));
  EXPECT_NE(short_row.find("manifest.csv:2"), std::string::npos) << short_row;
  const auto badkey = error_of(make_dataset("fd_key", "case_id,file,key\np,a.png,x1\n", ""));
  EXPECT_NE(badkey.find("not an integer"), std::string::npos) << badkey;
  // No labels.csv: cases without labels, unless labels are required.
  const auto nolabels = load_folder_dataset(make_dataset("fd_nolabels", "case_id,file\np,a.png\n", ""));
  EXPECT_TRUE(nolabels[0].articles.empty());
}

TEST(FolderDataset, PlainLayoutOneFolderPerCase) {
  const std::string dir = test::scratch_dir("plain");
  fs::create_directories(dir + "/caseB/series1");
  fs::create_directories(dir + "/caseA");
  fs::create_directories(dir + "/caseC");   // a DICOM series as loose files
  fs::create_directories(dir + "/empty");
  write_bytes_atomically(dir + "/caseA/x2.png", "x");
  write_bytes_atomically(dir + "/caseA/x1.png", "x");
  write_bytes_atomically(dir + "/caseA/.hidden", "x");
  write_bytes_atomically(dir + "/caseB/series1/IM0001", "x");
  write_bytes_atomically(dir + "/caseC/1.dcm", "x");
  write_bytes_atomically(dir + "/caseC/2.dcm", "x");
  write_bytes_atomically(dir + "/labels.csv", "case_id,labels\ncaseA,a\ncaseB,b;c\ncaseC,\n");
  FolderDatasetOptions o;
  o.modality = "xray";
  const auto cases = load_folder_dataset(dir, o);
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[0].id, "caseA");
  ASSERT_EQ(cases[0].samples[0].images.size(), 2u);
  EXPECT_EQ(fs::path(cases[0].samples[0].images[0].path).filename(), "x1.png");
  EXPECT_EQ(cases[0].samples[0].modality, "X-ray");
  EXPECT_EQ(fs::path(cases[1].samples[0].images[0].path).filename(), "series1");
  ASSERT_EQ(cases[2].samples[0].images.size(), 1u);
  EXPECT_EQ(fs::path(cases[2].samples[0].images[0].path).filename(), "caseC");
  EXPECT_EQ(cases[1].articles, (std::vector<std::string>{"b", "c"}));
  EXPECT_TRUE(cases[2].articles.empty());
}
