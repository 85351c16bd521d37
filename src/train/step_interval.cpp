#include "train/step_interval.h"

#include <algorithm>
#include <sstream>

#include "util/error.h"

namespace raddiag::train {

int64_t StepInterval::in_steps(int64_t steps_per_epoch) const {
  if (count <= 0) return 0;
  return unit == Unit::kSteps ? count : count * std::max<int64_t>(1, steps_per_epoch);
}

nlohmann::json StepInterval::to_json() const {
  if (unit == Unit::kSteps) return count;
  return std::to_string(count) + (count == 1 ? " epoch" : " epochs");
}

StepInterval StepInterval::from_json(const nlohmann::json& j, const std::string& subject, const std::string& key) {
  const std::string expected = " must be a step count >= 0, or a string \"N steps\" or \"N epochs\"";
  if (j.is_number_integer()) {
    const int64_t n = j.get<int64_t>();
    if (n < 0) throw Error(subject, key + expected + " (got " + j.dump() + ")");
    return steps(n);
  }
  if (!j.is_string()) throw Error(subject, key + expected + " (got " + j.dump() + ")");
  std::istringstream in(j.get<std::string>());
  int64_t n = -1;
  std::string unit, rest;
  if (!(in >> n) || !(in >> unit) || (in >> rest) || n < 0)
    throw Error(subject, key + expected + " (got " + j.dump() + ")");
  if (unit == "step" || unit == "steps") return steps(n);
  if (unit == "epoch" || unit == "epochs") return epochs(n);
  throw Error(subject, key + expected + " (got " + j.dump() + ")");
}

}  // namespace raddiag::train
