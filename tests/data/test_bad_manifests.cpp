// Corrupted manifests never crash: every mutation either parses or raises raddiag::Error.
#include <gtest/gtest.h>

#include <random>

#include "data/folder_dataset.h"
#include "data/label_vocabulary.h"
#include "data/rp3d_manifest.h"
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
