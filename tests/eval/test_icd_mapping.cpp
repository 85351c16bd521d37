// Disorder -> ICD-10 mapping derived from a small hand-checked manifest, its JSON round trip, and
// aggregation of scores (max) and labels (any) to codes.
#include <gtest/gtest.h>

#include "eval/icd_mapping.h"
#include "test_support.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::eval;

namespace {
nlohmann::json sample(std::vector<std::string> articles, std::vector<std::string> icds) {
  return {{"articles", articles}, {"icd10s", icds}, {"image_data_path", nlohmann::json::array()}};
}
nlohmann::json manifest() {
  nlohmann::json m;
  m["c1"] = {{"Samples", {sample({"A", "B"}, {"X"}), sample({"A", "B"}, {"X"})}}};  // counted once
  m["c2"] = {{"Samples", {sample({"A"}, {"X"})}}};
  m["c3"] = {{"Samples", {sample({"A"}, {"Y"})}}};
  m["c4"] = {{"Samples", {sample({"C"}, {"Y", "Z"})}}};
  m["c5"] = {{"Samples", {sample({"C"}, {"Z"})}}};
  m["c6"] = {{"Samples", {sample({"D"}, {})}}};
  m["c7"] = {{"Samples", {sample({"E"}, {"Z"})}}};
  return m;
}
}  // namespace

TEST(IcdMapping, DerivedFromCooccurrenceInSamples) {
  // A: 3 cases, with X in 2 (2/3), Y in 1 (1/3) -> X. B: X in 1/1. C: Y 1/2, Z 2/2 -> both at 50%.
  // D: never with a code -> unmapped. E: Z. Codes by case count: Z 3 (c4,c5,c7), then X 2, Y 2 by name.
  const IcdMapping m = derive_icd_mapping(manifest());
  EXPECT_EQ(m.codes, (std::vector<std::string>{"Z", "X", "Y"}));
  EXPECT_EQ(m.code_case_counts, (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(m.disorder_codes.at("A"), (std::vector<std::string>{"X"}));
  EXPECT_EQ(m.disorder_codes.at("B"), (std::vector<std::string>{"X"}));
  EXPECT_EQ(m.disorder_codes.at("C"), (std::vector<std::string>{"Y", "Z"}));
  EXPECT_EQ(m.disorder_codes.at("E"), (std::vector<std::string>{"Z"}));
  EXPECT_EQ(m.disorder_codes.count("D"), 0u);
  // Stricter rule: A falls back to its most frequent code, C keeps only Z.
  const IcdMapping strict = derive_icd_mapping(manifest(), IcdDerivationOptions{0.9});
  EXPECT_EQ(strict.disorder_codes.at("A"), (std::vector<std::string>{"X"}));
  EXPECT_EQ(strict.disorder_codes.at("C"), (std::vector<std::string>{"Z"}));
  // JSON round trip through a file.
  const std::string path = test::scratch_dir("icd") + "/map.json";
  write_icd_mapping(m, path);
  const IcdMapping back = read_icd_mapping(path);
  EXPECT_EQ(back.codes, m.codes);
  EXPECT_EQ(back.code_case_counts, m.code_case_counts);
  EXPECT_EQ(back.disorder_codes, m.disorder_codes);
  EXPECT_DOUBLE_EQ(back.rule["min_fraction"].get<double>(), 0.5);
}

TEST(IcdMapping, AggregatesMaxScoreAndAnyLabel) {
  const IcdMapping m = derive_icd_mapping(manifest());
  ScoreMatrix s;
  LabelMatrix l;
  s.n_cases = l.n_cases = 2;
  s.n_classes = l.n_classes = 5;  // A B C D E
  s.values = {0.9f, 0.2f, 0.1f, 0.5f, 0.3f, /**/ 0.1f, 0.8f, 0.7f, 0.0f, 0.2f};
  l.values = {1, 0, 0, 1, 0, /**/ 0, 1, 1, 0, 0};
  const CodeLevelData c = aggregate_to_codes(s, l, {"A", "B", "C", "D", "E"}, m);
  EXPECT_EQ(c.codes, (std::vector<std::string>{"Z", "X", "Y"}));
  EXPECT_EQ(c.unmapped_disorders, 1);
  EXPECT_EQ(c.members[0], (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(c.scores.values, (std::vector<float>{0.3f, 0.9f, 0.1f, /**/ 0.7f, 0.8f, 0.7f}));
  EXPECT_EQ(c.labels.values, (std::vector<uint8_t>{0, 1, 0, /**/ 1, 1, 1}));
  EXPECT_THROW(aggregate_to_codes(s, l, {"A", "B"}, m), Error);
}

TEST(IcdMapping, RejectsMalformedFiles) {
  EXPECT_THROW(icd_mapping_from_json({{"codes", {"X"}}}, "m.json"), Error);
  nlohmann::json bad = {{"format", "raddiag.icd_mapping.v1"}, {"codes", {"X"}}, {"disorders", {{"A", {"Q"}}}}};
  try {
    icd_mapping_from_json(bad, "m.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown code"), std::string::npos);
  }
  EXPECT_EQ(label_names_from_dict({{"b", 1}, {"a", 0}}, "d"), (std::vector<std::string>{"a", "b"}));
  EXPECT_THROW(label_names_from_dict({{"b", 2}, {"a", 0}}, "d"), Error);
}
