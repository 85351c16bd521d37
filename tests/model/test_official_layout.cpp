// The official state_dict layout our importer expects, checked against the key lists produced by
// instantiating the official RadNet (official-keys-*.tsv) and the counts of reference section 3.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "model/official_import.h"
#include "model/parity_fixture.h"
#include "model/raddiag_model.h"

using namespace raddiag;

namespace {

struct TsvRow {
  std::string name, shape, alias, dtype;
};

std::vector<TsvRow> read_tsv(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  std::string line;
  std::getline(f, line);  // header
  std::vector<TsvRow> rows;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, '\t')) cols.push_back(c);
    while (cols.size() < 4) cols.push_back("");
    rows.push_back({cols[0], cols[1], cols[2], cols[3]});
  }
  return rows;
}

std::string shape_json(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

void expect_layout_matches(const std::vector<model::OfficialEntry>& layout, const std::string& tsv) {
  auto rows = read_tsv(tsv);
  ASSERT_EQ(layout.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(layout[i].name, rows[i].name) << "entry " << i;
    EXPECT_EQ(shape_json(layout[i].shape), rows[i].shape) << rows[i].name;
    EXPECT_EQ(layout[i].alias_of, rows[i].alias) << rows[i].name;
    EXPECT_EQ(layout[i].int64 ? "int64" : "float32", rows[i].dtype) << rows[i].name;
  }
}

int64_t numel(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

}  // namespace

TEST(OfficialLayout, ReleasedConfigMatchesOfficialKeyList) {
  const auto layout = model::official_layout(model::ModelConfig::released());
  expect_layout_matches(layout, test::parity_dir() + "/official-keys-default.tsv");
  // Reference section 3: 436 entries, 24 aliases, 217,617,822 elements over all entries, 167,208,425
  // unique parameter elements + 53,173 BN buffer elements.
  int64_t all = 0, unique_params = 0, buffers = 0, aliases = 0;
  std::map<std::string, int64_t> by_module;
  for (const auto& e : layout) {
    all += numel(e.shape);
    if (!e.alias_of.empty()) {
      ++aliases;
      continue;
    }
    const bool buffer = e.name.find("running_") != std::string::npos || e.int64;
    (buffer ? buffers : unique_params) += numel(e.shape);
    if (!buffer) by_module[e.name.substr(0, e.name.find('.'))] += numel(e.shape);
  }
  EXPECT_EQ(layout.size(), 436u);
  EXPECT_EQ(aliases, 24);
  EXPECT_EQ(all, 217617822);
  EXPECT_EQ(unique_params, 167208425);
  EXPECT_EQ(buffers, 53173);
  EXPECT_EQ(by_module["resnet2D"], 25557032);
  EXPECT_EQ(by_module["attention1D"], 50446336);
  EXPECT_EQ(by_module["vitFuse"], 75597824);
  EXPECT_EQ(by_module["fc"], 15607233);
}

TEST(OfficialLayout, LateFusionHas372Entries) {
  auto c = model::ModelConfig::released();
  c.fusion.mode = model::FusionMode::kLate;
  c.n_image = 1;
  EXPECT_EQ(model::official_layout(c).size(), 372u);
}

TEST(OfficialLayout, ParityConfigMatchesReducedKeyList) {
  expect_layout_matches(model::official_layout(test::parity_config()),
                        test::parity_dir() + "/official-keys-reduced.tsv");
}

TEST(OfficialLayout, ReleasedModelHoldsExactlyTheUsedParameters) {
  // Building the released model (random init) must give one tensor per used layout entry with the same
  // shape: the 114.8 M effective parameters of reference 3 (167.2 M minus ~52.4 M dead).
  auto c = model::ModelConfig::released();
  auto m = model::build_model(c);
  auto state = model::model_state(m);
  int64_t used = 0, params = 0;
  for (const auto& e : model::official_layout(c)) {
    if (e.ours.empty()) continue;
    ++used;
    ASSERT_TRUE(state.count(e.ours)) << e.ours;
    EXPECT_EQ(state.at(e.ours).sizes(), torch::IntArrayRef(e.shape)) << e.ours;
  }
  EXPECT_EQ(static_cast<size_t>(used), state.size());
  for (const auto& p : m->parameters()) params += p.numel();
  EXPECT_NEAR(params / 1e6, 114.8, 0.05);
}

TEST(OfficialLayout, ParityCheckpointAliasesAreTheLayoutAliases) {
  // The 24 shared tensors the checkpoint reader finds are exactly the template aliases of the layout.
  const auto& file = test::parity_checkpoint();
  const auto layout = model::official_layout(test::parity_config());
  ASSERT_EQ(file.names.size(), layout.size());
  for (size_t i = 0; i < layout.size(); ++i) {
    EXPECT_EQ(file.names[i], layout[i].name);
    auto it = file.alias_of.find(layout[i].name);
    EXPECT_EQ(it == file.alias_of.end() ? "" : it->second, layout[i].alias_of) << layout[i].name;
  }
}
