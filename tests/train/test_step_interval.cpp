// Training intervals in steps or epochs (train/step_interval.h) and the run-config fields built on them:
// parsing, the conversion to optimiser steps, the JSON round trip (a step count stays a number, so run
// folders written before epochs existed read back unchanged), bad values named; best_metric and
// "require" (a recipe that cannot start without its ImageNet weights says so).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "train/run_config.h"
#include "train/step_interval.h"
#include "util/error.h"

using namespace raddiag;
using train::StepInterval;

namespace step_interval_test {

nlohmann::json minimal_run() { return {{"data", {{"train", {"somewhere"}}}}}; }

}  // namespace step_interval_test
using namespace step_interval_test;

TEST(StepInterval, ParsesStepsAndEpochs) {
  const auto s = StepInterval::from_json(250, "cfg", "validate_every");
  EXPECT_EQ(s.unit, StepInterval::Unit::kSteps);
  EXPECT_EQ(s.in_steps(40), 250);
  const auto e = StepInterval::from_json("2 epochs", "cfg", "validate_every");
  EXPECT_EQ(e.unit, StepInterval::Unit::kEpochs);
  EXPECT_EQ(e.in_steps(40), 80);
  EXPECT_EQ(StepInterval::from_json("1 epoch", "cfg", "k").in_steps(7), 7);
  EXPECT_EQ(StepInterval::from_json("30 steps", "cfg", "k").in_steps(7), 30);
  // An epoch shorter than one step still validates every step, never "never".
  EXPECT_EQ(StepInterval::from_json("1 epoch", "cfg", "k").in_steps(0), 1);
  EXPECT_TRUE(StepInterval::from_json(0, "cfg", "k").never());
  EXPECT_EQ(StepInterval::from_json("0 epochs", "cfg", "k").in_steps(10), 0);
}

TEST(StepInterval, RoundTripsThroughJson) {
  EXPECT_EQ(StepInterval::steps(500).to_json(), nlohmann::json(500));
  EXPECT_EQ(StepInterval::epochs(1).to_json(), nlohmann::json("1 epoch"));
  EXPECT_EQ(StepInterval::epochs(3).to_json(), nlohmann::json("3 epochs"));
  for (const auto& s : {StepInterval::steps(12), StepInterval::epochs(4)}) {
    const auto back = StepInterval::from_json(s.to_json(), "cfg", "k");
    EXPECT_EQ(back.count, s.count);
    EXPECT_EQ(back.unit, s.unit);
  }
}

TEST(StepInterval, RefusesBadValuesNamingTheKey) {
  for (const nlohmann::json bad : {nlohmann::json(-1), nlohmann::json("epoch"), nlohmann::json("2 weeks"), nlohmann::json("-2 epochs"),
                                   nlohmann::json("1.5 epochs"), nlohmann::json("2 epochs later"), nlohmann::json(1.5),
                                   nlohmann::json::array()}) {
    const std::string msg = test::error_text([&] { StepInterval::from_json(bad, "run config", "checkpoint_every"); });
    EXPECT_NE(msg.find("checkpoint_every"), std::string::npos) << bad.dump() << ": " << msg;
    EXPECT_NE(msg.find(bad.dump()), std::string::npos) << msg;
  }
}

TEST(StepInterval, RunConfigReadsEpochIntervalsBestMetricAndRequire) {
  nlohmann::json j = minimal_run();
  j["validate_every"] = "1 epoch";
  j["checkpoint_every"] = 300;
  j["best_metric"] = "eval_loss";
  j["require"] = {"init_from"};
  const auto c = train::RunConfig::from_json(j);
  EXPECT_EQ(c.validate_every.unit, StepInterval::Unit::kEpochs);
  EXPECT_EQ(c.checkpoint_every.in_steps(1000), 300);
  EXPECT_EQ(c.best_metric, "eval_loss");
  // Saved and read back (run_config.json of a run folder, --resume) unchanged.
  const auto back = train::RunConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_EQ(back.to_json()["validate_every"], "1 epoch");
  EXPECT_EQ(back.to_json()["checkpoint_every"], 300);

  // The required field is empty: the run refuses to start and says what to give.
  const std::string msg = test::error_text([&] { c.check_required(); });
  EXPECT_NE(msg.find("init_from is required"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--init-from"), std::string::npos) << msg;
  auto given = c;
  given.init_from = "resnet50.pth";
  EXPECT_NO_THROW(given.check_required());

  // Defaults: auto selection, nothing required.
  const auto d = train::RunConfig::from_json(minimal_run());
  EXPECT_EQ(d.best_metric, "auto");
  EXPECT_NO_THROW(d.check_required());
}

TEST(StepInterval, RunConfigRefusesUnknownBestMetricAndRequiredField) {
  nlohmann::json j = minimal_run();
  j["best_metric"] = "accuracy";
  std::string msg = test::error_text([&] { train::RunConfig::from_json(j); });
  EXPECT_NE(msg.find("best_metric"), std::string::npos) << msg;
  EXPECT_NE(msg.find("eval_loss"), std::string::npos) << msg;  // lists the known ones
  j = minimal_run();
  j["require"] = {"init_form"};
  msg = test::error_text([&] { train::RunConfig::from_json(j); });
  EXPECT_NE(msg.find("init_form"), std::string::npos) << msg;
  j = minimal_run();
  j["validate_every"] = "every epoch";
  msg = test::error_text([&] { train::RunConfig::from_json(j); });
  EXPECT_NE(msg.find("validate_every"), std::string::npos) << msg;
}
