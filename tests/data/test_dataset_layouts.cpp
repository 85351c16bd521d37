// The dataset layouts users bring (data/case_sources.h): one folder per class (Kaggle style, names with
// spaces and Unicode, split folders), a CSV with one 0/1 column per label (blank / -1 = unknown), and
// the unknown-label mask through preprocessing, collation and the loss.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/case_sources.h"
#include "data/preprocess.h"
#include "data/rp3d_manifest.h"
#include "io/png_writer.h"
#include "model/losses.h"
#include "test_support.h"
#include "util/error.h"

using namespace raddiag;
namespace fs = std::filesystem;

namespace dataset_layouts_test {

void write_gray_png(const std::string& path, uint8_t value) {
  fs::create_directories(fs::path(path).parent_path());
  std::vector<uint8_t> px(8 * 8);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(value + (i % 7));
  io::write_png(path, px, 8, 8, 1);
}

std::string make_class_folders(const std::string& tag) {
  const std::string dir = test::scratch_dir(tag);
  write_gray_png(dir + "/no tumor/b.png", 10);
  write_gray_png(dir + "/no tumor/a.png", 20);
  write_gray_png(dir + "/méningiome — ü/c 1.png", 30);
  write_gray_png(dir + "/glioma/d.png", 40);
  fs::create_directories(dir + "/pituitary tumor");   // a class without any image
  std::ofstream(dir + "/glioma/.DS_Store") << "x";
  std::ofstream(dir + "/README.md") << "notes";
  return dir;
}

std::vector<std::string> labels_of(const data::Case& c) { return c.samples.at(0).articles; }

}  // namespace dataset_layouts_test
using namespace dataset_layouts_test;

TEST(DatasetLayouts, ClassFoldersWithSpacesAndUnicode) {
  const std::string dir = make_class_folders("layout_classes");
  const auto d = data::load_dataset(dir);
  EXPECT_EQ(d.layout, "class_folders");
  ASSERT_EQ(d.cases.size(), 4u);
  EXPECT_EQ(d.classes, (std::vector<std::string>{"glioma", "méningiome — ü", "no tumor", "pituitary tumor"}));
  EXPECT_EQ(d.cases[0].id, "glioma/d.png");
  EXPECT_EQ(d.cases[1].id, "méningiome — ü/c 1.png");
  EXPECT_EQ(labels_of(d.cases[1]), std::vector<std::string>{"méningiome — ü"});
  EXPECT_EQ(d.cases[1].articles, std::vector<std::string>{"méningiome — ü"});
  EXPECT_EQ(d.cases[2].id, "no tumor/a.png");
  EXPECT_EQ(d.cases[3].id, "no tumor/b.png");
  for (const auto& c : d.cases) {
    ASSERT_EQ(c.samples.size(), 1u);
    ASSERT_EQ(c.samples[0].images.size(), 1u);
    EXPECT_TRUE(fs::exists(c.samples[0].images[0].path)) << c.samples[0].images[0].path;
  }
  // The pixels are readable through the single-image path.
  data::PreprocessOptions o;
  o.size = 8;
  o.depth = 4;
  o.n_image = 1;
  std::mt19937_64 rng(1);
  const data::LabelVocabulary vocab(d.classes);
  auto t = data::make_single_image_tensors(d.cases[1], &vocab, o, rng);
  EXPECT_EQ(t.labels[1].item<float>(), 1.f);
  EXPECT_EQ(t.labels.sum().item<float>(), 1.f);
  EXPECT_FALSE(t.known.defined());  // every label of a class folder is known
  EXPECT_GT(t.images.max().item<float>(), 0.f);
  // The modality comes from the options.
  data::CaseSourceOptions so;
  so.modality = "mr";
  EXPECT_EQ(data::load_dataset(dir, so).cases[0].samples[0].modality, "MRI");
}

TEST(DatasetLayouts, SplitFoldersPointAtTheSplit) {
  const std::string dir = test::scratch_dir("layout_splits");
  write_gray_png(dir + "/Training/glioma/a.png", 1);
  write_gray_png(dir + "/Training/no tumor/b.png", 2);
  write_gray_png(dir + "/Testing/glioma/c.png", 3);
  try {
    data::load_dataset(dir);
    FAIL() << "a folder of split folders must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("split folders"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir + "/Testing"), std::string::npos) << e.what();
  }
  const auto train = data::load_dataset(dir + "/Training");
  EXPECT_EQ(train.layout, "class_folders");
  EXPECT_EQ(train.cases.size(), 2u);
  // Forcing the case layout reads class folders as cases.
  data::CaseSourceOptions so;
  so.layout = "cases";
  EXPECT_EQ(data::load_dataset(dir + "/Training", so).layout, "case_folders");
}

TEST(DatasetLayouts, CaseFoldersStayCaseFolders) {
  // labels.csv present: one folder per case, as before.
  const std::string dir = test::scratch_dir("layout_cases");
  write_gray_png(dir + "/case1/x.png", 1);
  write_gray_png(dir + "/case1/y.png", 2);
  std::ofstream(dir + "/labels.csv") << "case_id,labels\ncase1,a;b\n";
  const auto d = data::load_dataset(dir);
  EXPECT_EQ(d.layout, "case_folders");
  ASSERT_EQ(d.cases.size(), 1u);
  EXPECT_EQ(d.cases[0].samples[0].images.size(), 2u);
  // A folder whose case folders hold a loose DICOM series is a case folder without labels.csv too.
  const std::string dcm = test::scratch_dir("layout_cases_dicom");
  fs::create_directories(dcm + "/p1");
  std::ofstream(dcm + "/p1/1.dcm") << "x";
  std::ofstream(dcm + "/p1/2.dcm") << "x";
  EXPECT_EQ(data::load_dataset(dcm).layout, "case_folders");
}

TEST(DatasetLayouts, LabelCsvWithBlankAndMinusOneAsUnknown) {
  const std::string dir = test::scratch_dir("layout_csv");
  write_gray_png(dir + "/img/p1.png", 10);
  write_gray_png(dir + "/img/p2.png", 20);
  write_gray_png(dir + "/img/p3.png", 30);
  std::ofstream(dir + "/labels.csv") << "Path,Sex,Age,No Finding,Cardiomegaly,Pleural Effusion\n"
                                        "img/p1.png,F,63,,1.0,-1.0\n"
                                        "img/p2.png,M,40,1,0,0\n"
                                        "img/p3.png,M,71,0,,1\n";
  const auto d = data::load_dataset(dir + "/labels.csv");
  EXPECT_EQ(d.layout, "label_csv");
  EXPECT_EQ(d.classes, (std::vector<std::string>{"No Finding", "Cardiomegaly", "Pleural Effusion"}));
  ASSERT_EQ(d.cases.size(), 3u);
  EXPECT_EQ(d.cases[0].id, "img/p1.png");
  EXPECT_EQ(d.cases[0].articles, std::vector<std::string>{"Cardiomegaly"});
  EXPECT_EQ(d.cases[0].samples[0].unknown_labels, (std::vector<std::string>{"No Finding", "Pleural Effusion"}));
  EXPECT_EQ(d.cases[1].articles, std::vector<std::string>{"No Finding"});
  EXPECT_TRUE(d.cases[1].samples[0].unknown_labels.empty());
  EXPECT_EQ(d.cases[2].samples[0].unknown_labels, std::vector<std::string>{"Cardiomegaly"});
  EXPECT_EQ(fs::path(d.cases[2].samples[0].images[0].path), fs::path(dir) / "img/p3.png");

  // Unknown labels survive the RP3D case JSON a run writes for its split (train_cases.json).
  data::save_rp3d_cases(dir + "/cases.json", d.cases);
  const auto back = data::load_cases(dir + "/cases.json");
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].samples[0].unknown_labels, d.cases[0].samples[0].unknown_labels);
  EXPECT_TRUE(back[1].samples[0].unknown_labels.empty());

  // Known masks through preprocessing and collation: unknown = 0, never a negative.
  const data::LabelVocabulary vocab(d.classes);
  data::PreprocessOptions o;
  o.size = 8;
  o.depth = 4;
  o.n_image = 1;
  std::mt19937_64 rng(1);
  std::vector<data::CaseTensors> items;
  for (const auto& c : d.cases) items.push_back(data::make_single_image_tensors(c, &vocab, o, rng));
  ASSERT_TRUE(items[0].known.defined());
  EXPECT_TRUE(torch::equal(items[0].known, torch::tensor({0.f, 1.f, 0.f})));
  EXPECT_FALSE(items[1].known.defined());
  const auto batch = data::collate(items);
  ASSERT_TRUE(batch.known.defined());
  EXPECT_TRUE(torch::equal(batch.known, torch::tensor({0.f, 1.f, 0.f, 1.f, 1.f, 1.f, 1.f, 0.f, 1.f}).view({3, 3})));
  // The early path carries the same mask.
  o.n_image = 2;
  data::Case xray = d.cases[2];  // the early path needs a modality (the CSV has no modality column)
  xray.samples[0].modality = "X-ray";
  auto early = data::make_case_tensors(xray, &vocab, o, rng);
  EXPECT_TRUE(torch::equal(early.known, torch::tensor({1.f, 0.f, 1.f})));

  // The loss ignores unknown entries: flipping their labels changes nothing; it is the mean over known ones.
  auto logits = torch::randn({3, 3});
  auto y = batch.labels.clone();
  const auto loss = model::multilabel_loss(logits, y, batch.known);
  auto flipped = y.clone();
  flipped.masked_fill_(batch.known == 0, 1.f);
  EXPECT_FLOAT_EQ(model::multilabel_loss(logits, flipped, batch.known).item<float>(), loss.item<float>());
  auto el = torch::binary_cross_entropy_with_logits(logits, y, {}, {}, at::Reduction::None);
  EXPECT_NEAR(loss.item<float>(), (el * batch.known).sum().item<float>() / 6.f, 1e-6);  // 6 known entries
  EXPECT_NEAR(model::focal_loss(logits, flipped, 2.0, 0.9, batch.known).item<float>(),
              model::focal_loss(logits, y, 2.0, 0.9, batch.known).item<float>(), 1e-7);
}

TEST(DatasetLayouts, LabelCsvCasesAndErrors) {
  const std::string dir = test::scratch_dir("layout_csv_cases");
  std::ofstream(dir + "/grouped.csv") << "case_id,image,modality,a,b\nc1,x1.png,CR,1,0\nc1,x2.png,CR,1,0\nc2,y.png,,0,1\n";
  const auto d = data::load_dataset(dir + "/grouped.csv");
  ASSERT_EQ(d.cases.size(), 2u);
  EXPECT_EQ(d.cases[0].samples[0].images.size(), 2u);
  EXPECT_EQ(d.cases[0].samples[0].modality, "X-ray");
  std::ofstream(dir + "/disagree.csv") << "case_id,path,a\nc1,x1.png,1\nc1,x2.png,0\n";
  EXPECT_THROW(data::load_dataset(dir + "/disagree.csv"), Error);
  std::ofstream(dir + "/noimage.csv") << "id,a\nc1,1\n";
  try {
    data::load_dataset(dir + "/noimage.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no image column"), std::string::npos) << e.what();
  }
  std::ofstream(dir + "/nolabel.csv") << "path,sex\nx.png,F\n";
  EXPECT_THROW(data::load_dataset(dir + "/nolabel.csv"), Error);
}
