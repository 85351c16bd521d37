// infer::preprocess_for: the one place the model's geometry becomes the preprocessing's, so training,
// inference and import agree.
#include <gtest/gtest.h>

#include "infer/preprocess_for.h"
#include "model/model_config.h"

namespace raddiag {
namespace {

TEST(PreprocessFor, TakesTheModelsGeometryAndKeepsTheRest) {
  model::ModelConfig c = model::ModelConfig::released();
  c.size = 96, c.depth = 8, c.n_image = 3;
  data::PreprocessOptions o;
  o.size = 17, o.depth = 2, o.n_image = 9;
  o.level = data::LabelLevel::kIcd10s;
  const auto p = infer::preprocess_for(c, o);
  EXPECT_EQ(p.size, 96);
  EXPECT_EQ(p.depth, 8);
  EXPECT_EQ(p.n_image, 3);
  EXPECT_EQ(p.level, data::LabelLevel::kIcd10s);  // not geometry: untouched
}

TEST(PreprocessFor, LateFusionTakesOneImagePerCase) {
  model::ModelConfig c = model::ModelConfig::released();
  c.fusion.mode = "late";
  c.n_image = 4;
  EXPECT_EQ(infer::preprocess_for(c, {}).n_image, 1);
}

}  // namespace
}  // namespace raddiag
