// Input checks of evaluation: shapes, dtypes, finite scores, 0/1 labels; logits handling.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/score_matrix.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::eval;

namespace {
std::string reason(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(ScoreMatrix, ValidatesScoresAndLabels) {
  std::vector<float> v = {0.1f, 0.9f, 0.4f, 0.6f, 0.3f, 0.2f};
  ScoreMatrix s = scores_from_npy(npy::make_float32({3, 2}, v.data()), "s.npy");
  EXPECT_EQ(s.n_cases, 3);
  EXPECT_EQ(s.n_classes, 2);
  EXPECT_EQ(s.at(1, 1), 0.6f);
  ScoreMatrix f = scores_from_npy(npy::make_float32({3, 2}, v.data(), true), "s.npy");
  EXPECT_TRUE(f.column_major);
  EXPECT_EQ(f.at(1, 1), v[4]);  // column-major: (1,1) is element 1 + 3*1
  v[3] = std::nanf("");
  EXPECT_NE(reason([&] { scores_from_npy(npy::make_float32({3, 2}, v.data()), "s.npy"); }).find("s.npy: score is not finite (NaN or inf) at case 1, class 1"), std::string::npos);
  std::vector<int64_t> ints = {0, 1, 1, 0, 2, 0};
  EXPECT_NE(reason([&] { scores_from_npy(npy::make_int64({3, 2}, ints.data()), "s.npy"); }).find("float32 or float64"), std::string::npos);
  EXPECT_NE(reason([&] { labels_from_npy(npy::make_int64({3, 2}, ints.data()), "l.npy"); }).find("l.npy: labels must be 0 or 1, found 2"), std::string::npos);
  ints[4] = 1;
  LabelMatrix l = labels_from_npy(npy::make_int64({3, 2}, ints.data()), "l.npy");
  EXPECT_EQ(l.at(2, 0), 1);
  std::vector<float> w = {0.5f, 0.5f};
  ScoreMatrix s2 = scores_from_npy(npy::make_float32({2}, w.data()), "s2");
  EXPECT_NE(reason([&] { check_same_shape(s2, l, "s2", "l"); }).find("does not match"), std::string::npos);
}

TEST(ScoreMatrix, LogitsClipAndSigmoidAsTheReference) {
  ScoreMatrix s;
  s.n_cases = 5;
  s.n_classes = 1;
  s.values = {0.0f, 0.5f, 1.0f, 0.25f, 0.75f};
  EXPECT_FALSE(looks_like_logits(s));
  s.values = {-100.0f, -2.0f, 0.0f, 3.0f, 100.0f};
  EXPECT_TRUE(looks_like_logits(s));
  logits_to_probabilities(s);
  EXPECT_EQ(s.values[0], static_cast<float>(1.0 / (1.0 + std::exp(60.0))));  // clipped at -60
  EXPECT_EQ(s.values[2], 0.5f);
  EXPECT_EQ(s.values[3], static_cast<float>(1.0 / (1.0 + std::exp(-3.0))));
  EXPECT_EQ(s.values[4], 1.0f);
}
