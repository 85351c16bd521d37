#include "eval/metric_table.h"

#include "util/error.h"

namespace raddiag::eval {

int metric_index(const std::string& name) {
  std::string known;
  for (int k = 0; k < kNumMacroMetrics; ++k) {
    if (name == kMetricTable[k].name) return k;
    known += std::string(k ? ", " : "") + kMetricTable[k].name;
  }
  throw Error("metrics", "no metric called '" + name + "' (known: " + known + ")");
}

}  // namespace raddiag::eval
