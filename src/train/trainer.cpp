#include "train/trainer.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "train/checkpoint.h"
#include "util/error.h"
#include "util/json_keys.h"

namespace raddiag::train {

namespace {
std::atomic<bool> g_sigint{false};

extern "C" void on_sigint(int) {
  if (g_sigint.exchange(true)) ::_exit(130);  // a second Ctrl-C: leave at once
}

// Installs the SIGINT handler for the lifetime of a run() call.
class SigintScope {
 public:
  explicit SigintScope(bool enable) : enabled_(enable) {
    if (!enabled_) return;
    g_sigint = false;
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_);
  }
  ~SigintScope() {
    if (enabled_) ::sigaction(SIGINT, &old_, nullptr);
  }

 private:
  bool enabled_;
  struct sigaction old_ {};
};

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}
}  // namespace

void seed_everything(uint64_t seed) { torch::manual_seed(seed); }

nlohmann::json TrainerOptions::to_json() const {
  return {{"total_steps", total_steps},   {"log_every", log_every},
          {"checkpoint_every", checkpoint_every}, {"keep_last", keep_last},
          {"validate_every", validate_every},     {"validate_at_end", validate_at_end},
          {"best_metric", best_metric},           {"greater_is_better", greater_is_better},
          {"device", device},                     {"progress", progress},
          {"handle_sigint", handle_sigint},       {"overlap_grad_sync", overlap_grad_sync},
          {"weight_average_decay", weight_average_decay}};
}

Trainer::Trainer(torch::nn::Module& module, StepFn step_fn, data::CaseLoader& loader, OptimizerSetup& optim,
                 const OptimOptions& optim_options, TrainerOptions options, const std::string& run_dir,
                 nlohmann::json config, std::shared_ptr<ProcessGroup> group)
    : module_(module), step_fn_(std::move(step_fn)), loader_(loader), optim_(optim), optim_options_(optim_options),
      opt_(std::move(options)), run_(run_dir, !group || group->is_main()), config_(std::move(config)),
      group_(std::move(group)), device_(opt_.device) {
  if (opt_.total_steps < 1) throw Error("trainer", "total_steps must be >= 1");
  if (!optim_.optimizer) throw Error("trainer", "no optimiser");
  if (opt_.log_every < 1) opt_.log_every = 1;
  schedule_ = LrSchedule::from_options(optim_options_, opt_.total_steps);
  scaler_ = DynamicLossScaler(optim_options_.precision == "fp16", optim_options_.loss_scaler);
  if (group_ && group_->world_size() > 1) {
    // Every rank starts from rank 0's weights.
    group_->broadcast_module(module_);
    if (opt_.overlap_grad_sync) reducer_ = std::make_unique<GradientReducer>(group_, optim_.parameters);
  }
  // After the broadcast: every rank averages from the same start.
  if (opt_.weight_average_decay > 0) average_ = std::make_unique<WeightAverage>(module_, opt_.weight_average_decay);
  if (is_main())
    run_.write_config({{"config", config_},
                       {"optimizer", optim_options_.to_json()},
                       {"trainer", opt_.to_json()},
                       {"loader", {{"batch_size", loader_.options().batch_size},
                                   {"workers", loader_.options().workers},
                                   {"seed", loader_.options().seed},
                                   {"drop_last", loader_.options().drop_last}}},
                       {"world_size", group_ ? group_->world_size() : 1},
                       {"precision", AutocastScope::effective(optim_options_.precision, device_)},
                       {"schedule", {{"kind", schedule_.kind()}, {"total", schedule_.total_steps()},
                                     {"warmup", schedule_.warmup_steps()}}}});
}

data::CaseBatch Trainer::to_device(const data::CaseBatch& b) const {
  if (device_.is_cpu()) return b;
  auto mv = [&](const torch::Tensor& t) { return t.defined() ? t.to(device_, /*non_blocking=*/true) : t; };
  return {mv(b.images), mv(b.mods), mv(b.marks), mv(b.keys), mv(b.labels), mv(b.known), mv(b.extent)};
}

std::vector<data::SamplerPosition> Trainer::gather_positions() {
  const auto p = loader_.position();
  if (!group_ || group_->world_size() == 1) return {p};
  const auto all = group_->all_gather({p.epoch, p.offset});
  std::vector<data::SamplerPosition> out;
  for (size_t i = 0; i + 1 < all.size(); i += 2) out.push_back({all[i], all[i + 1]});
  return out;
}

std::string Trainer::save(const std::vector<data::SamplerPosition>& positions) {
  if (!is_main()) return {};
  if (last_saved_step_ == step_) return last_checkpoint_;
  nlohmann::json pos = nlohmann::json::array();
  for (const auto& p : positions) pos.push_back(p.to_json());
  nlohmann::json state = {{"step", step_},
                          {"cases_seen", cases_seen_},
                          {"loader_positions", pos},
                          {"world_size", group_ ? group_->world_size() : 1},
                          {"schedule", {{"kind", schedule_.kind()}, {"total", schedule_.total_steps()},
                                        {"warmup", schedule_.warmup_steps()}}},
                          {"base_lrs", optim_.base_lrs},
                          {"loader_failures", loader_.failures()},
                          {"config", config_}};
  if (best_step_) state["best"] = {{"step", *best_step_}, {"metric", opt_.best_metric}, {"value", *best_value_}};
  if (scaler_.enabled()) state["loss_scaler"] = scaler_.state();
  const std::string dir = run_.checkpoint_path(step_);
  save_checkpoint(dir, module_, optim_.optimizer.get(), state, true, average_ ? &average_->averages() : nullptr);
  last_checkpoint_ = dir;
  last_saved_step_ = step_;
  run_.prune(opt_.keep_last, best_step_);
  run_.append_log({{"type", "checkpoint"}, {"step", step_}, {"path", dir}});
  return dir;
}

void Trainer::validate(int64_t step) {
  if (!validate_) return;
  if (average_) average_->swap();
  auto metrics = validate_(step);
  if (average_) average_->swap();
  module_.train();
  if (!is_main()) return;
  nlohmann::json rec = {{"type", "validation"}, {"step", step}};
  for (const auto& [k, v] : metrics) rec[k] = v;
  run_.append_log(rec);
  if (opt_.progress) {
    std::string line = "validation step " + std::to_string(step);
    for (const auto& [k, v] : metrics) line += " | " + k + " " + std::to_string(v);
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  if (opt_.best_metric.empty()) return;
  auto it = metrics.find(opt_.best_metric);
  if (it == metrics.end() || !std::isfinite(it->second)) return;
  const bool better = !best_value_ || (opt_.greater_is_better ? it->second > *best_value_ : it->second < *best_value_);
  if (!better) return;
  best_step_ = step;
  best_value_ = it->second;
  run_.write_best({{"step", step}, {"metric", opt_.best_metric}, {"value", it->second},
                   {"checkpoint", run_.checkpoint_path(step)}});
}

bool Trainer::resume() {
  auto latest = run_.latest_checkpoint();
  if (!latest) return false;
  resume_from(run_.checkpoint_path(*latest));
  return true;
}

void Trainer::resume_from(const std::string& dir) {
  auto state = load_checkpoint(dir, module_, optim_.optimizer.get());
  try {
    step_ = state.at("step").get<int64_t>();
    cases_seen_ = state.value("cases_seen", int64_t{0});
    const auto& positions = state.at("loader_positions");
    const int rank = group_ ? group_->rank() : 0;
    const int world = group_ ? group_->world_size() : 1;
    if (static_cast<int>(positions.size()) != world)
      throw Error(dir, "saved with " + std::to_string(positions.size()) + " ranks, resuming with " + std::to_string(world) +
                           " (the data order would change)");
    loader_.seek(data::SamplerPosition::from_json(positions.at(rank)));
    if (scaler_.enabled() && state.contains("loss_scaler")) scaler_.load_state(state.at("loss_scaler"));
    if (average_) {
      const auto averaged = load_averaged_tensors(dir);
      if (averaged.empty()) throw Error(dir, "has no averaged.pt, but this run keeps a weight average (ema)");
      average_->load(averaged, dir + "/averaged.pt");
    }
    if (state.contains("best")) {
      best_step_ = state["best"].at("step").get<int64_t>();
      best_value_ = state["best"].at("value").get<double>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(dir + "/state.json", std::string("malformed: ") + e.what());
  }
  last_checkpoint_ = dir;
  last_saved_step_ = step_;
  if (is_main()) run_.append_log({{"type", "resume"}, {"step", step_}, {"path", dir}});
}

void Trainer::use_averaged_weights() {
  if (!average_) return;
  average_->swap();
  average_.reset();
}

TrainResult Trainer::run() {
  SigintScope sigint(opt_.handle_sigint);
  TrainResult result;
  module_.train();
  auto& opt = *optim_.optimizer;
  const int accum = std::max(1, optim_options_.grad_accum_steps);
  const int world = group_ ? group_->world_size() : 1;
  const auto session_start = std::chrono::steady_clock::now();
  auto window_start = session_start;
  int64_t window_cases = 0;
  double window_loader_wait = 0;  // seconds this rank waited for the loader in the current log window
  const int64_t first_step = step_;

  while (step_ < opt_.total_steps) {
    opt.zero_grad();
    LossDict sums;
    int64_t step_cases = 0;
    bool nonfinite_loss = false;  // fp16 only (otherwise an error)
    for (int m = 0; m < accum; ++m) {
      const auto wait_start = std::chrono::steady_clock::now();
      data::LoadedBatch b = loader_.next();
      window_loader_wait += std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
      step_cases += b.batch.images.size(0);
      LossDict losses;
      {
        AutocastScope autocast(optim_options_.precision, device_);
        losses = step_fn_(to_device(b.batch));
      }
      auto it = losses.find("loss");
      if (it == losses.end()) throw Error("step function", "returned no \"loss\" entry");
      torch::Tensor loss = it->second.to(torch::kFloat);
      if (!torch::isfinite(loss).all().item<bool>()) {
        // fp16: an overflow in the forward pass is a skipped step like an overflowing gradient (below).
        if (!scaler_.enabled())
          throw Error("step " + std::to_string(step_ + 1), "loss is not finite (" + std::to_string(loss.item<double>()) + ")");
        nonfinite_loss = true;
      }
      if (reducer_ && m == accum - 1) reducer_->arm();
      scaler_.scale_loss(loss / static_cast<double>(accum)).backward();
      for (const auto& [k, v] : losses) {
        auto d = v.detach().to(torch::kCPU, torch::kDouble).mean() / static_cast<double>(accum);
        sums[k] = sums.count(k) ? sums[k] + d : d;
      }
    }
    if (reducer_) reducer_->finish();
    else if (group_) group_->average_gradients(optim_.parameters);
    // fp16: averaged gradients are the same on every rank; a non-finite loss is one rank's own, so the
    // decision is agreed explicitly (one tiny all-reduce) and every rank takes or skips the step alike.
    bool finite = scaler_.unscale(optim_.parameters) && !nonfinite_loss;
    if (scaler_.enabled() && group_ && world > 1) finite = !group_->any(!finite);
    const double loss_scale = scaler_.scale();
    double grad_norm = NAN;
    schedule_.apply(opt, optim_.base_lrs, step_);
    const double lr = current_lr(opt);
    if (finite) {
      grad_norm = clip_grad_norm(optim_.parameters, optim_options_.max_grad_norm);
      opt.step();
      if (average_) average_->update(step_ + 1);
    } else {
      ++result.skipped_steps;
    }
    scaler_.update(!finite);
    if (scaler_.too_many_skips())
      throw Error("fp16 step " + std::to_string(step_ + 1),
                  std::to_string(scaler_.consecutive_skips()) + " optimiser steps in a row had inf/NaN gradients or losses (loss scale now " +
                      std::to_string(scaler_.scale()) + "): the run diverged or its data holds NaN; lower the learning rate or use bf16/fp32");
    ++step_;
    cases_seen_ += step_cases * world;
    window_cases += step_cases * world;
    result.last_loss = sums["loss"].item<double>();

    const bool last = step_ == opt_.total_steps;
    bool stop = stop_requested_ || g_sigint;
    if (group_) stop = group_->any(stop);

    if (step_ % opt_.log_every == 0 || last || stop) {
      // Average the logged losses over ranks (a collective: every rank reaches this on the same step).
      std::vector<std::string> keys;
      std::vector<double> vals;
      for (const auto& [k, v] : sums) {
        keys.push_back(k);
        vals.push_back(v.item<double>());
      }
      if (group_ && world > 1) {
        auto t = torch::tensor(vals, torch::kDouble);
        group_->all_reduce_sum(t);
        t.div_(world);
        for (size_t i = 0; i < vals.size(); ++i) vals[i] = t[i].item<double>();
      }
      const auto now = std::chrono::steady_clock::now();
      const double window_s = std::chrono::duration<double>(now - window_start).count();
      const double session_s = std::chrono::duration<double>(now - session_start).count();
      const double cases_per_s = window_s > 0 ? window_cases / window_s : 0.0;
      // The loader's share of the step time: how long the loop waited for batches (rank 0's view).
      const double loader_share = window_s > 0 ? std::min(1.0, window_loader_wait / window_s) : 0.0;
      const double loader_wait = window_loader_wait;
      window_loader_wait = 0;
      const double eta = (step_ - first_step) > 0 ? session_s / (step_ - first_step) * (opt_.total_steps - step_) : NAN;
      window_start = now;
      window_cases = 0;
      if (is_main()) {
        nlohmann::json rec = {{"type", "train"}, {"step", step_}, {"epoch", loader_.position().epoch},
                              {"lr", lr}, {"grad_norm", grad_norm}, {"cases_per_s", cases_per_s},
                              {"cases_seen", cases_seen_}, {"elapsed_s", session_s},
                              {"window_s", window_s}, {"loader_wait_s", loader_wait}, {"loader_share", loader_share}};
        for (size_t i = 0; i < keys.size(); ++i) rec[keys[i]] = vals[i];
        if (scaler_.enabled()) {
          rec["loss_scale"] = loss_scale;  // the scale this step's backward used
          rec["skipped_step"] = !finite;
        }
        run_.append_log(rec);
        if (opt_.progress) {
          double loss_v = 0;
          for (size_t i = 0; i < keys.size(); ++i)
            if (keys[i] == "loss") loss_v = vals[i];
          char scale[96] = "";
          if (scaler_.enabled())
            std::snprintf(scale, sizeof scale, " | loss scale %g%s", loss_scale, finite ? "" : " (step skipped: inf/NaN gradient)");
          std::fprintf(stderr, "step %lld/%lld | %.2f cases/s | loss %.5f | lr %.3e | loader %.0f%% | ETA %s%s\n",
                       static_cast<long long>(step_), static_cast<long long>(opt_.total_steps), cases_per_s, loss_v, lr,
                       100.0 * loader_share, format_duration(eta).c_str(), scale);
        }
      }
    }

    const bool validate_now = validate_ && ((opt_.validate_every > 0 && step_ % opt_.validate_every == 0) ||
                                            (last && opt_.validate_at_end));
    const auto best_before = best_step_;
    if (validate_now) validate(step_);
    bool new_best = best_step_ != best_before && best_step_ == step_;
    if (group_ && world > 1) new_best = group_->any(new_best);  // rank 0 decides; everyone joins the gather
    const bool checkpoint_now = last || stop || new_best || (opt_.checkpoint_every > 0 && step_ % opt_.checkpoint_every == 0);
    if (checkpoint_now) {
      const auto positions = gather_positions();
      if (is_main()) result.last_checkpoint = save(positions);
    }
    if (stop && !last) {
      result.interrupted = true;
      if (is_main() && opt_.progress)
        std::fprintf(stderr, "interrupted at step %lld: checkpoint %s\n", static_cast<long long>(step_),
                     result.last_checkpoint.c_str());
      break;
    }
  }
  if (group_ && world > 1) group_->barrier();
  result.steps = step_;
  result.steps_this_session = step_ - first_step;
  result.best_step = best_step_;
  result.best_value = best_value_;
  if (result.last_checkpoint.empty()) result.last_checkpoint = last_checkpoint_;
  stop_requested_ = false;
  return result;
}

}  // namespace raddiag::train
