#pragma once
// How often something happens during training (validation, checkpoints), in optimiser steps or in
// epochs. The official Trainer evaluates and saves once per epoch (reference 5); a step count is what a
// run of a fixed step budget wants. JSON: a number (steps), or a string "N steps" / "N epoch(s)";
// 0 = never.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace raddiag::train {

struct StepInterval {
  enum class Unit { kSteps, kEpochs };
  int64_t count = 0;
  Unit unit = Unit::kSteps;

  static StepInterval steps(int64_t n) { return {n, Unit::kSteps}; }
  static StepInterval epochs(int64_t n) { return {n, Unit::kEpochs}; }
  bool never() const { return count == 0; }
  // The interval in optimiser steps, given the steps of one epoch (>= 1); 0 = never.
  int64_t in_steps(int64_t steps_per_epoch) const;
  // A number for steps (so older run configs read back the same), "N epochs" otherwise.
  nlohmann::json to_json() const;
  // Throws raddiag::Error(subject, "<key> ...") naming the key for anything but a count >= 0 or
  // "N step(s)" / "N epoch(s)".
  static StepInterval from_json(const nlohmann::json& j, const std::string& subject, const std::string& key);
};

}  // namespace raddiag::train
