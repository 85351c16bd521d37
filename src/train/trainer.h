#pragma once
// The training loop, independent of the concrete model: it owns nothing model-specific, only
//   module            any torch::nn::Module (its parameters, buffers and train/eval mode),
//   step function     batch (already on the device) -> named losses; "loss" is what is minimised,
//   loader            data::CaseLoader (sampler position = the data part of the run state),
//   optimiser         OptimizerSetup (AdamW + groups) and the LR schedule from OptimOptions.
// Each optimiser step: grad_accum_steps micro-batches (loss / accum, backward), gradient averaging
// across ranks when distributed, clipping by global norm, lr = base * schedule(step), AdamW step.
// fp16: the loss is scaled before backward and the gradients unscaled after averaging; a step with an
// inf/NaN gradient is skipped by every rank alike (the step still counts, as the schedule does).
// Checkpoints every checkpoint_every steps, at a new best validation metric, at the end and on
// SIGINT; keeps the newest keep_last plus the best. resume() restores model, optimiser (moments and
// step), schedule position, sampler position and the global torch generators, so N steps + stop +
// resume + N steps equals 2N uninterrupted steps. Progress goes to stderr, every logged step and
// validation to <run>/log.jsonl. Only rank 0 writes files.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "data/case_loader.h"
#include "train/distributed.h"
#include "train/gradient_reducer.h"
#include "train/optim.h"
#include "train/run_dir.h"
#include "train/weight_average.h"

namespace raddiag::train {

using LossDict = std::map<std::string, torch::Tensor>;
using StepFn = std::function<LossDict(const data::CaseBatch& batch)>;
// Runs validation at `step` and returns named metrics (e.g. macro AUC computed by the caller). The
// trainer switches the module back to train mode afterwards.
using ValidateFn = std::function<std::map<std::string, double>(int64_t step)>;

struct TrainerOptions {
  int64_t total_steps = 0;       // optimiser steps of the whole run (the schedule's T)
  int64_t log_every = 1;
  int64_t checkpoint_every = 0;  // 0: only at the end (and on interrupt / new best)
  int keep_last = 2;
  int64_t validate_every = 0;    // 0: no periodic validation
  bool validate_at_end = true;
  std::string best_metric;       // empty: no best tracking
  bool greater_is_better = true;
  std::string device = "cpu";
  bool progress = true;          // progress lines on stderr (rank 0)
  bool handle_sigint = true;     // Ctrl-C: checkpoint, then return cleanly
  // Data parallel: all-reduce gradient buckets while backward runs (train/gradient_reducer.h) instead of
  // after it. Same numbers either way (for more than 2 ranks up to the all-reduce's summation order).
  bool overlap_grad_sync = true;
  // > 0: keep an exponential moving average of the weights with this decay (train/weight_average.h);
  // validation, the best-checkpoint choice and use_averaged_weights() see the average.
  double weight_average_decay = 0;

  nlohmann::json to_json() const;
};

struct TrainResult {
  int64_t steps = 0;            // global step reached
  int64_t steps_this_session = 0;
  bool interrupted = false;
  std::optional<int64_t> best_step;
  std::optional<double> best_value;
  std::string last_checkpoint;
  double last_loss = 0;
  int64_t skipped_steps = 0;    // fp16: optimiser steps skipped this session for inf/NaN gradients
};

// torch::manual_seed on every device: call before building the model of a fresh run.
void seed_everything(uint64_t seed);

class Trainer {
 public:
  Trainer(torch::nn::Module& module, StepFn step_fn, data::CaseLoader& loader, OptimizerSetup& optim,
          const OptimOptions& optim_options, TrainerOptions options, const std::string& run_dir,
          nlohmann::json config, std::shared_ptr<ProcessGroup> group = nullptr);

  void set_validation(ValidateFn fn) { validate_ = std::move(fn); }
  // Continues from the newest checkpoint of the run directory; false when there is none.
  bool resume();
  void resume_from(const std::string& checkpoint_dir);
  TrainResult run();
  // Asks the loop to checkpoint and return after the current step (thread- and signal-safe).
  int64_t step() const { return step_; }
  const LrSchedule& schedule() const { return schedule_; }
  const RunDir& run_dir() const { return run_; }
  // With a weight average: puts the averaged weights into the module for good (the model to export
  // when no checkpoint is chosen by validation). No-op without one.
  void use_averaged_weights();

 private:
  bool is_main() const { return !group_ || group_->is_main(); }
  std::vector<data::SamplerPosition> gather_positions();
  std::string save(const std::vector<data::SamplerPosition>& positions);
  void validate(int64_t step);
  data::CaseBatch to_device(const data::CaseBatch& b) const;

  torch::nn::Module& module_;
  StepFn step_fn_;
  data::CaseLoader& loader_;
  OptimizerSetup& optim_;
  OptimOptions optim_options_;
  TrainerOptions opt_;
  RunDir run_;
  nlohmann::json config_;
  std::shared_ptr<ProcessGroup> group_;
  ValidateFn validate_;
  LrSchedule schedule_;
  DynamicLossScaler scaler_;  // enabled for precision fp16
  std::unique_ptr<GradientReducer> reducer_;  // data parallel with overlap_grad_sync
  std::unique_ptr<WeightAverage> average_;    // weight_average_decay > 0
  torch::Device device_;

  int64_t step_ = 0;
  int64_t cases_seen_ = 0;
  std::optional<int64_t> best_step_;
  std::optional<double> best_value_;
  std::atomic<bool> stop_requested_{false};
  std::string last_checkpoint_;
  int64_t last_saved_step_ = -1;
};

}  // namespace raddiag::train
