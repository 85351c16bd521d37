// Corrupted manifests never crash: every mutation either parses or raises raddiag::Error.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>

#include "data/folder_dataset.h"
#include "data/inspect_cases.h"
#include "data/label_vocabulary.h"
#include "data/rp3d_manifest.h"
#include "data/scan_loader.h"
#include "test_support.h"
#include "util/atomic_file.h"
#include "util/csv.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::data;

namespace {
std::string mutate(std::string s, std::mt19937& g) {
  const int edits = 1 + static_cast<int>(g() % 4);
  for (int e = 0; e < edits && !s.empty(); ++e) {
    const std::size_t p = g() % s.size();
    switch (g() % 4) {
      case 0: s[p] = static_cast<char>(g() % 256); break;
      case 1: s.erase(p, 1 + g() % 8); break;
      case 2: s.insert(p, 1, "\",;{}[]\n\r\0"[g() % 10]); break;
      default: s.resize(p); break;
    }
  }
  return s;
}
}  // namespace

TEST(BadManifests, MutatedRp3dJsonRaisesOnlyRaddiagErrors) {
  const std::string text = read_file_bytes(test::shared_data() + "/official-parity/cases.json");
  std::mt19937 g(11);
  int parsed = 0, rejected = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string m = mutate(text, g);
    try {
      parse_rp3d_cases(m, "mutant.json", "/tmp");
      ++parsed;
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_EQ(parsed + rejected, 300);
}

TEST(BadManifests, MutatedCsvAndLabelDictsRaiseOnlyRaddiagErrors) {
  const std::string manifest = read_file_bytes(test::shared_data() + "/real/covid_cxr_ct/manifest.csv");
  const std::string labels = read_file_bytes(test::shared_data() + "/official-parity/label_dict.json");
  const std::string dir = test::scratch_dir("badcsv");
  std::mt19937 g(12);
  int rejected = 0;
  for (int i = 0; i < 60; ++i) {
    try {
      csv::parse(mutate(manifest.substr(0, 4000), g), "m.csv");
    } catch (const Error&) {
      ++rejected;
    }
    write_bytes_atomically(dir + "/l.json", mutate(labels, g));
    try {
      LabelVocabulary::load_json(dir + "/l.json");
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
}

// ---- issue 18: duplicate keys, absurd strings, special files, non-UTF-8 labels ----

namespace {
const char* kOneSample = R"({"Modalities": ["CT"], "Samples": [{"image_data_path": ["a.npy"], "articles": ["x"]}]})";

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}
}  // namespace

TEST(BadManifests, DuplicateCaseKeysAreAnErrorNamingTheKey) {
  const std::string json = std::string("{\"case/1\": ") + kOneSample + ", \"case/2\": " + kOneSample + ", \"case/1\": " + kOneSample + "}";
  try {
    parse_rp3d_cases(json, "m.json", "/");
    ADD_FAILURE() << "duplicate accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.json"), std::string::npos) << e.what();
    EXPECT_NE(e.reason().find("duplicate case key 'case/1'"), std::string::npos) << e.reason();
  }
  // Inside a case too: two "Samples" lists would silently lose one.
  const std::string inner = R"({"c": {"Modalities": ["CT"], "Samples": [], "Samples": []}})";
  try {
    parse_rp3d_cases(inner, "m.json", "/");
    ADD_FAILURE() << "duplicate accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("case 'c'"), std::string::npos) << e.what();
    EXPECT_NE(e.reason().find("duplicate key 'Samples'"), std::string::npos) << e.reason();
  }
  EXPECT_EQ(parse_rp3d_cases(std::string("{\"a\": ") + kOneSample + ", \"b\": " + kOneSample + "}", "m.json", "/").size(), 2u);
}

TEST(BadManifests, AbsurdlyLongCaseIdIsRefusedBeforeParsing) {
  // Stands in for the 1 GB case id: the limit is 1 MiB per string, checked on the raw text.
  const std::string id(std::size_t(3) << 20, 'x');
  const std::string json = "{\"" + id + "\": " + kOneSample + "}";
  const auto t0 = std::chrono::steady_clock::now();
  try {
    parse_rp3d_cases(json, "long.json", "/");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("long.json"), std::string::npos);
    EXPECT_NE(e.reason().find("longer than 1048576 bytes"), std::string::npos) << e.reason();
    EXPECT_LT(e.reason().size(), 400u);
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
}

TEST(BadManifests, ManifestThatIsAFifoOrDevZeroIsRefusedAtOnce) {
  const std::string dir = test::scratch_dir("manifest_special");
  ASSERT_EQ(::mkfifo((dir + "/cases.json").c_str(), 0600), 0);
  ASSERT_EQ(::symlink("/dev/zero", (dir + "/zero.json").c_str()), 0);
  for (const std::string p : {dir + "/cases.json", dir + "/zero.json"}) {
    try {
      load_rp3d_cases(p);
      ADD_FAILURE() << p;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
      EXPECT_NE(e.reason().find("not a regular file"), std::string::npos) << e.reason();
    }
  }
  // An image or key path pointing at /dev/zero: the scan loader refuses it by name.
  write_text(dir + "/m.json", R"({"c": {"Modalities": ["CT"], "Samples": [{"image_data_path": ["zero.npy"], "image_key_path": ["zero_key.npy"]}]}})");
  ASSERT_EQ(::symlink("/dev/zero", (dir + "/zero.npy").c_str()), 0);
  ASSERT_EQ(::symlink("/dev/zero", (dir + "/zero_key.npy").c_str()), 0);
  const auto cases = load_rp3d_cases(dir + "/m.json");
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_THROW(load_scan(cases[0].samples[0].images[0].path), Error);
  try {
    load_key_npy(cases[0].samples[0].images[0].key_path);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(e.reason().find("not a regular file"), std::string::npos) << e.reason();
  }
}

TEST(BadManifests, Latin1LabelsAndIdsStillGiveValidInspectJson) {
  // JSON manifests are UTF-8 (nlohmann's parser refuses anything else); cases from folders and CSV
  // files carry their names as bytes.
  Case c;
  c.id = "caf\xe9";
  Sample s;
  s.modality = "CT";
  ImageRef im;
  im.path = "/nowhere/a\xe9.npy";
  s.images.push_back(im);
  s.articles = {"n\xe9oplasm"};
  c.samples.push_back(s);
  collect_case_labels(c);
  const auto j = inspect_cases({c}, InspectOptions{});
  std::string text;
  ASSERT_NO_THROW(text = j.dump());
  EXPECT_NE(text.find("caf\\\\xe9"), std::string::npos) << text;
  EXPECT_NE(text.find("n\\\\xe9oplasm"), std::string::npos) << text;
}
