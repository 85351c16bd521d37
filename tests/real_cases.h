#pragma once
// The first cases of one folder of ../shared/data/real, for tests that run a model on a few real cases.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "data/case_sources.h"
#include "test_support.h"

namespace raddiag::test {

inline std::vector<data::Case> first_real_cases(const std::string& dataset, std::size_t n) {
  auto cases = data::load_cases(shared_data() + "/real/" + dataset);
  EXPECT_GE(cases.size(), n) << dataset;
  if (cases.size() > n) cases.resize(n);
  return cases;
}

}  // namespace raddiag::test
