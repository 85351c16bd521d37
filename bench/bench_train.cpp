// Training throughput (issue 5's benchmark, extended for issue 19; a plain timed program, as it runs whole
// training processes).
//
//  1. step: one optimiser step on a synthetic batch (slot 0 a 4-slice volume, slot 1 a 3-slice image in
//     every other case): forward (fast path), BCE + attention loss, backward, clipping, AdamW, for the
//     tiny preset (8 cases, 2 slots, 64x64, depth 4) and the released size (2 cases, 4 slots, 256x256,
//     depth 32, ResNet-50, hidden 2048, 5569 classes), each in fp32 and with the slice encoder in bf16
//     (CPU autocast, set_backbone_precision). The same steps in PyTorch (bench/py/bench_train.py, Debian
//     python3-torch, the same architecture) run in the same invocation, each right after raddiag's; per
//     size and precision: medians of per-step times after the same warm-up, the ratio PyTorch / raddiag,
//     the bf16 speed-up of each, and the bf16-vs-fp32 loss of the first two steps with a finite-gradient check.
//  2. runs: `raddiag train` on the real brain MRI set, each a separate process (or 2 Gloo ranks, started
//     exactly as `raddiag train --nproc 2` does), for the tiny preset and the released size (ResNet-50,
//     256x256, depth 32, hidden 2048; fast path: only the valid slices go through the backbone; the
//     official every-slice path costs ~40x more per 2D case and is left out). Reported from log.jsonl:
//     training cases/s over all ranks, excluding the first (warm-up) step, and the loader's share of
//     step time (time the training loop waited for batches / wall time, rank 0); peak RSS per process.
//     The 2-rank runs go with and without the gradient all-reduce overlapped with backward.
//
//   bench_train [--steps N] [--released-train-steps N] [--step-threads T] [--no-python] [--no-released-step]
//               [--released-steps N] [--threads T] [--no-released] [--no-runs] [--out DIR]
//   --steps: timed steps of the tiny step comparison and of the tiny runs (default 20);
//   --released-train-steps: timed steps of the released-size step comparison (default 20);
//   --step-threads: compute threads of each side of the step comparison (default 1);
//   --no-released-step: part 1 without the released size; --no-runs: skip part 2;
//   --released-steps, --threads, --no-released: part 2's released-size steps, threads, and skipping it.
//   --trace DIR: after its timed steps, each side runs one more step under the autograd profiler and writes
//   a Chrome trace, DIR/SIZE-PRECISION-{raddiag,pytorch}.json; bench/py/compare_step_traces.py DIR tables
//   the operators' self time side by side (where one implementation spends more than the other).
//   --op-calls OP: after its timed steps, raddiag's side runs one more step printing every call of operator
//   OP (e.g. aten::threshold_backward) with its time and its inputs' dtypes, sizes and strides.
//   (RADDIAG_SHARED_DATA: the shared data folder; RADDIAG_BENCH_PYTHON: the Python with torch; RADDIAG_MALLOC=glibc:
//   raddiag's step with glibc's allocator defaults instead of a raddiag process's settings, util/allocator_tuning.h)
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "op_call_log.h"
#if __has_include(<torch/csrc/autograd/profiler_legacy.h>)
#include <torch/csrc/autograd/profiler_legacy.h>
#define RADDIAG_HAVE_LEGACY_PROFILER 1
#endif

#include "bench_data.h"
#include "model/raddiag_model.h"
#include "model/precision.h"
#include "model/runtime.h"
#include "train/distributed.h"
#include "train/model_setup.h"
#include "train/optim.h"
#include "train/train_job.h"
#include "train/trainer.h"
#include "util/allocator_tuning.h"

using namespace raddiag;
namespace fs = std::filesystem;

extern char** environ;

namespace {

struct Args {
  int steps = 20;                 // tiny: timed steps (runs and the step comparison)
  int released_train_steps = 20;  // released size: timed steps of the step comparison
  int step_threads = 1;           // compute threads of each side of the step comparison
  int released_steps = 3;         // released size: optimiser steps per run
  int threads = 2;                // compute threads of a single process (each of 2 ranks gets threads / 2)
  bool python = true;
  bool released_step = true;      // part 1 with the released size
  bool released = true;           // part 2 with the released size
  bool runs = true;               // part 2 at all
  std::string out = bench::temp_dir("raddiag_bench_train");
  std::string trace;              // --trace DIR: one profiled step per side and case, as Chrome traces
  std::string op_calls;           // --op-calls OP: every call of OP in one more raddiag step, with its inputs
};

std::string shared_dir() { return bench::shared_data_dir(); }

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// ------------------------------------------------------------------------------------------ 1. step

// One model size of the step comparison: the raddiag model config and the matching bench_train.py --size.
struct StepSize {
  std::string name;         // "tiny" | "released" (bench_train.py --size)
  nlohmann::json model;     // raddiag model spec (train::resolve_model_config)
  int64_t batch, classes;
  int steps;                // timed steps (after kWarmupSteps)
};

constexpr int kWarmupSteps = 2;  // both sides: allocator, mkldnn primitives, autocast caches

// B cases in the config's slots: slot 0 a 4-slice volume, slot 1 a 3-slice image in every other case, the
// other slots empty.
model::CaseInput synthetic_batch(int64_t batch, int64_t classes, const model::ModelConfig& c) {
  const int64_t N = c.n_image, S = c.size, D = c.depth;
  model::CaseInput b;
  b.mods = torch::zeros({batch, N}, torch::kLong);
  b.marks = torch::zeros({batch, N, D}, torch::kLong);
  b.keys = torch::full({batch, N}, -1, torch::kLong);
  for (int64_t i = 0; i < batch; ++i) {
    b.mods[i][0] = 1;
    b.marks[i][0].narrow(0, 0, std::min<int64_t>(4, D)).fill_(1);
    b.keys[i][0] = 0;
    if (i % 2 == 0 && N > 1) {
      b.mods[i][1] = 7;
      b.marks[i][1].narrow(0, 0, std::min<int64_t>(3, D)).fill_(1);
      b.keys[i][1] = 0;
    }
  }
  b.images = torch::rand({batch, N, 1, S, S, D}) * b.marks.view({batch, N, 1, 1, 1, D}).to(torch::kFloat);
  b.labels = (torch::rand({batch, classes}) < 0.3).to(torch::kFloat);
  return b;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// The step as raddiag's trainer does it: forward (fast path), BCE + attention loss, backward, clipping,
// AdamW. bf16: the slice encoder under CPU autocast (set_backbone_precision), the rest fp32.
nlohmann::json time_cpp_step(const StepSize& z, model::Precision precision, int threads, const std::string& trace,
                             const std::string& op_calls) {
  model::configure_threads(threads);
  torch::manual_seed(0);
  const auto config = train::resolve_model_config(z.model, z.classes);
  auto net = model::build_model(config);
  net->set_backbone_precision(precision);
  net->train();
  train::OptimOptions oo;
  oo.lr = 1e-3;
  oo.weight_decay = 0.01;
  auto optim = train::make_adamw(*net, oo);
  const auto b = synthetic_batch(z.batch, z.classes, config);
  std::vector<double> losses, norms;
  auto step = [&] {
    optim.optimizer->zero_grad();
    auto out = net->forward(b, model::ForwardPath::kFast);
    out.loss.backward();
    norms.push_back(train::clip_grad_norm(optim.parameters, 1.0));  // before clipping: finite iff every gradient is
    optim.optimizer->step();
    losses.push_back(out.loss.item<double>());
  };
  for (int i = 0; i < kWarmupSteps; ++i) step();
  // Per-step times, reported as medians: robust to bursts of other load on a shared machine.
  std::vector<double> walls, cpus;
  for (int i = 0; i < z.steps; ++i) {
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    step();
    walls.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    cpus.push_back(cpu_seconds() - cpu0);
  }
  if (!trace.empty()) {
#ifdef RADDIAG_HAVE_LEGACY_PROFILER
    // One more step under the (legacy) autograd profiler: a Chrome trace of every operator, on exit.
    torch::autograd::profiler::RecordProfile profile(trace);
    step();
#else
    std::fprintf(stderr, "bench_train: --trace needs libtorch's legacy profiler header; no raddiag trace written\n");
#endif
  }
  if (!op_calls.empty()) {
    std::fprintf(stderr, "bench_train: %s %s, one more step:\n", z.name.c_str(), model::precision_name(precision).c_str());
    raddiag::bench::OpCallLog log(op_calls);
    step();
  }
  const double wall = median(walls);
  const bool finite = std::all_of(norms.begin(), norms.end(), [](double n) { return std::isfinite(n); });
  return {{"impl", "raddiag"}, {"size", z.name}, {"precision", model::precision_name(precision)}, {"steps", z.steps},
          {"batch", z.batch}, {"threads", threads}, {"wall_s_per_step", wall}, {"cpu_s_per_step", median(cpus)},
          {"cases_per_s", z.batch / wall}, {"loss_step1", losses[0]}, {"loss_step2", losses[1]},
          {"grad_norms_finite", finite}};
}

nlohmann::json time_python_step(const StepSize& z, model::Precision precision, int threads, const std::string& trace) {
  const char* py = std::getenv("RADDIAG_BENCH_PYTHON");
  const std::string script = std::string(RADDIAG_SOURCE_DIR) + "/bench/py/bench_train.py";
  const std::string cmd = std::string(py ? py : "/usr/bin/python3") + " '" + script + "' " + std::to_string(z.steps) +
                          " " + std::to_string(z.batch) + " " + std::to_string(threads) + " " +
                          std::to_string(z.classes) + " --size " + z.name + " --precision " +
                          model::precision_name(precision) + (trace.empty() ? "" : " --trace '" + trace + "'");
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return nullptr;
  std::string text;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) text += buf;
  if (::pclose(p) != 0 || text.empty() || text.rfind('{') == std::string::npos) return nullptr;
  return nlohmann::json::parse(text.substr(text.rfind('{')));
}

std::string load_average() {
  char load[64] = "?\n";
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (!std::fgets(load, sizeof load, f)) std::snprintf(load, sizeof load, "?\n");
    std::fclose(f);
  }
  std::string s = load;  // "1.00 2.00 3.00 4/100 1234": the three averages
  size_t end = 0;
  for (int field = 0; field < 3 && end != std::string::npos; ++field) end = s.find(' ', end == 0 ? 0 : end + 1);
  return (end == std::string::npos ? s.substr(0, s.find('\n')) : s.substr(0, end)) + "\n";
}

// Part 1: every size x precision, raddiag then PyTorch back to back (so that drifting load hits both), then
// the tables.
void compare_steps(const std::vector<StepSize>& sizes, int threads, bool python, const std::string& trace_dir,
                   const std::string& op_calls) {
  if (!trace_dir.empty()) fs::create_directories(trace_dir);
  auto trace_file = [&](const std::string& key, const char* impl) {
    if (trace_dir.empty()) return std::string();
    std::string name = key;
    std::replace(name.begin(), name.end(), '/', '-');
    return trace_dir + "/" + name + "-" + impl + ".json";
  };
  std::printf("\n[step] one optimiser step on a synthetic batch (slot 0 a 4-slice volume, slot 1 a 3-slice image in every\n"
              "       other case; fast path, BCE + attention loss, backward, clipping, AdamW), %d thread(s) each, median\n"
              "       of the timed steps after %d warm-up steps; bf16 = CPU autocast around the slice encoder only\n",
              threads, kWarmupSteps);
  for (const auto& z : sizes)
    std::printf("  %-8s batch %lld, %s\n", z.name.c_str(), static_cast<long long>(z.batch),
                z.name == "tiny" ? "2 slots, 64x64, depth 4, BasicBlocks [1,1,1,1], hidden 128, 4 classes"
                                 : "4 slots, 256x256, depth 32, ResNet-50, hidden 2048, 5569 classes");
  std::string native = "native";
  try {
    model::require_precision_support(model::Precision::kBf16, "cpu");
  } catch (const std::exception& e) {
    native = std::string("NOT native, emulated: ") + e.what();
  }
  std::printf("  bf16 on this CPU: %s\n", native.c_str());
  std::printf("  load average before: %s", load_average().c_str());
  const model::Precision precisions[] = {model::Precision::kFp32, model::Precision::kBf16};
  std::map<std::string, nlohmann::json> res;  // "size/precision/impl"
  for (const auto& z : sizes)
    for (auto prec : precisions) {
      const std::string key = z.name + "/" + model::precision_name(prec);
      // Progress with each side's wall / CPU s/step as it comes: a long run stopped early still says something.
      auto report = [](const nlohmann::json& r) {
        if (r.is_null()) return std::printf(" FAILED");
        return std::printf(" %.3f / %.3f", r.at("wall_s_per_step").get<double>(), r.at("cpu_s_per_step").get<double>());
      };
      std::printf("  %-14s raddiag", key.c_str());
      std::fflush(stdout);
      report(res[key + "/raddiag"] = time_cpp_step(z, prec, threads, trace_file(key, "raddiag"), op_calls));
      if (python) {
        std::printf(", pytorch");
        std::fflush(stdout);
        report(res[key + "/pytorch"] = time_python_step(z, prec, threads, trace_file(key, "pytorch")));
      }
      std::printf("  (wall / CPU s/step)\n");
    }
  std::printf("  load average after:  %s", load_average().c_str());
  const auto get = [&](const std::string& key, const char* field) -> double {
    const auto it = res.find(key);
    return it == res.end() || it->second.is_null() ? std::nan("") : it->second.at(field).get<double>();
  };
  if (python) {
    const auto it = res.find(sizes.front().name + "/fp32/pytorch");
    if (it != res.end() && it->second.is_null())
      std::printf("  (pytorch failed: is torch installed for RADDIAG_BENCH_PYTHON / /usr/bin/python3?)\n");
    else if (it != res.end())
      std::printf("  pytorch: torch %s, bench/py/bench_train.py\n", it->second.at("torch").get<std::string>().c_str());
  }
  std::printf("\n  %-8s %-4s %5s | %-17s | %-17s | %-17s\n", "size", "prec", "steps", "raddiag s/step", "pytorch s/step",
              "pytorch / raddiag");
  std::printf("  %-8s %-4s %5s | %8s %8s | %8s %8s | %8s %8s\n", "", "", "", "wall", "CPU", "wall", "CPU", "wall", "CPU");
  for (const auto& z : sizes)
    for (auto prec : precisions) {
      const std::string key = z.name + "/" + model::precision_name(prec);
      const double rw = get(key + "/raddiag", "wall_s_per_step"), rc = get(key + "/raddiag", "cpu_s_per_step");
      const double pw = get(key + "/pytorch", "wall_s_per_step"), pc = get(key + "/pytorch", "cpu_s_per_step");
      std::printf("  %-8s %-4s %5d | %8.3f %8.3f | %8.3f %8.3f | %8.2f %8.2f\n", z.name.c_str(),
                  model::precision_name(prec).c_str(), z.steps, rw, rc, pw, pc, pw / rw, pc / rc);
    }
  std::printf("\n  bf16 speed-up (fp32 s/step / bf16 s/step)\n  %-8s | %-17s | %-17s\n", "size", "raddiag", "pytorch");
  std::printf("  %-8s | %8s %8s | %8s %8s\n", "", "wall", "CPU", "wall", "CPU");
  for (const auto& z : sizes) {
    auto speedup = [&](const std::string& impl, const char* field) {
      return get(z.name + "/fp32/" + impl, field) / get(z.name + "/bf16/" + impl, field);
    };
    std::printf("  %-8s | %8.2f %8.2f | %8.2f %8.2f\n", z.name.c_str(), speedup("raddiag", "wall_s_per_step"),
                speedup("raddiag", "cpu_s_per_step"), speedup("pytorch", "wall_s_per_step"),
                speedup("pytorch", "cpu_s_per_step"));
  }
  std::printf("\n  numerics: training loss of warm-up step 1 (initial weights) and step 2 (after one AdamW update), same seed\n"
              "  and batch within an implementation; gradients finite = the global gradient norm was finite at every step\n");
  std::printf("  %-8s %-8s | %12s %12s %9s | %12s %12s %9s | %s\n", "size", "impl", "fp32 step 1", "bf16 step 1", "rel diff",
              "fp32 step 2", "bf16 step 2", "rel diff", "grads finite fp32/bf16");
  for (const auto& z : sizes)
    for (const char* impl : {"raddiag", "pytorch"}) {
      const std::string f = z.name + "/fp32/" + impl, h = z.name + "/bf16/" + impl;
      if (!res.count(f) || res[f].is_null() || !res.count(h) || res[h].is_null()) continue;
      const double f1 = get(f, "loss_step1"), h1 = get(h, "loss_step1"), f2 = get(f, "loss_step2"), h2 = get(h, "loss_step2");
      std::printf("  %-8s %-8s | %12.6f %12.6f %9.2e | %12.6f %12.6f %9.2e | %s/%s\n", z.name.c_str(), impl, f1, h1,
                  std::abs(h1 - f1) / std::abs(f1), f2, h2, std::abs(h2 - f2) / std::abs(f2),
                  res[f].at("grad_norms_finite").get<bool>() ? "yes" : "NO",
                  res[h].at("grad_norms_finite").get<bool>() ? "yes" : "NO");
    }
}

// ------------------------------------------------------------------------------------------ 2. runs

// Starts argv with extra environment variables, stdout and stderr appended to `log`.
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env, const std::string& log) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  for (const auto& kv : extra_env) env.push_back(kv);
  std::vector<char*> args, envp;
  std::vector<std::string> a = argv;
  for (auto& s : a) args.push_back(s.data());
  args.push_back(nullptr);
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, a[0].c_str(), &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

struct RunResult {
  bool ok = false;
  double cases_per_s = 0, loader_share = 0, step_s = 0, peak_rss_mib = 0, total_s = 0;
  double cpu_s = 0;  // CPU seconds of all ranks, whole processes (start-up, data, steps, validation, saving)
  int64_t timed_steps = 0;
};

RunResult train_run(const std::string& cli, const std::string& name, const nlohmann::json& config, int nproc,
                    const std::string& out_root) {
  const std::string dir = out_root + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir + "/run.json") << config.dump(2);
  std::vector<std::string> argv{cli, "train", "--quiet", "--config", dir + "/run.json", "--out", dir + "/run"};
  const int port = nproc > 1 ? train::find_free_port() : 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<pid_t> pids;
  for (int r = 0; r < nproc; ++r) {
    std::vector<std::string> env;
    if (nproc > 1)
      env = {"MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port), "RANK=" + std::to_string(r),
             "LOCAL_RANK=" + std::to_string(r), "WORLD_SIZE=" + std::to_string(nproc)};
    pids.push_back(spawn(argv, env, dir + "/rank" + std::to_string(r) + ".log"));
  }
  RunResult res;
  res.ok = true;
  for (pid_t pid : pids) {
    int status = 0;
    rusage ru{};
    if (pid < 0 || ::wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) res.ok = false;
    res.peak_rss_mib = std::max(res.peak_rss_mib, ru.ru_maxrss / 1024.0);  // ru_maxrss is in KiB
    res.cpu_s += ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  }
  res.total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!res.ok) return res;
  // log.jsonl (rank 0): every step logged; skip step 1 (allocator and mkldnn warm-up).
  std::ifstream in(dir + "/run/log.jsonl");
  std::string line;
  double window = 0, wait = 0, cases = 0;
  const int64_t per_step = config.at("batch_size").get<int64_t>() * nproc;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.value("type", "") != "train" || j.at("step").get<int64_t>() <= 1) continue;
    window += j.at("window_s").get<double>();
    wait += j.at("loader_wait_s").get<double>();
    cases += static_cast<double>(per_step);
    ++res.timed_steps;
  }
  if (window > 0) {
    res.cases_per_s = cases / window;
    res.loader_share = wait / window;
    res.step_s = window / static_cast<double>(res.timed_steps);
  }
  return res;
}

nlohmann::json run_config(const std::string& model, int steps, int batch, int threads, int workers, bool overlap) {
  nlohmann::json model_spec = model;
  if (model == "released") model_spec = {{"preset", "released"}, {"train_all_slices", false}};
  return {{"data", {{"train", {shared_dir() + "/real/brain_tumor_mri"}}, {"val_fraction", 0.1}}},
          {"model", model_spec},
          {"optim", {{"lr", 1e-4}, {"warmup_ratio", 0.0}}},
          {"batch_size", batch},
          {"steps", steps},
          {"workers", workers},
          {"threads", threads},
          {"log_every", 1},
          {"dist_overlap", overlap},
          {"seed", 1}};
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << k << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--steps") a.steps = std::stoi(next());
    else if (k == "--released-train-steps") a.released_train_steps = std::stoi(next());
    else if (k == "--step-threads") a.step_threads = std::stoi(next());
    else if (k == "--released-steps") a.released_steps = std::stoi(next());
    else if (k == "--threads") a.threads = std::stoi(next());
    else if (k == "--no-python") a.python = false;
    else if (k == "--no-released-step") a.released_step = false;
    else if (k == "--no-released") a.released = false;
    else if (k == "--no-runs") a.runs = false;
    else if (k == "--out") a.out = next();
    else if (k == "--trace") a.trace = next();
    else if (k == "--op-calls") a.op_calls = next();
    else {
      std::cerr << "usage: bench_train [--steps N] [--released-train-steps N] [--step-threads T] [--no-python]\n"
                   "                   [--no-released-step] [--released-steps N] [--threads T] [--no-released] [--no-runs]\n"
                   "                   [--out DIR] [--trace DIR] [--op-calls OP]\n";
      return 2;
    }
  }
  if (a.steps < 1 || a.released_train_steps < 1 || a.step_threads < 1) {
    std::cerr << "bench_train: --steps, --released-train-steps and --step-threads must be at least 1\n";
    return 2;
  }
  const std::string cli = (fs::path(train::current_executable()).parent_path() / "../raddiag").lexically_normal().string();
  // raddiag's step runs with the allocator settings of a raddiag process (src/cli/main.cpp; RADDIAG_MALLOC=glibc
  // for glibc's defaults); the PyTorch side runs as Python does.
  const std::string allocator = tune_process_allocator();
  std::printf("bench_train: %u hardware threads, allocator %s, load average %s", std::thread::hardware_concurrency(),
              allocator.c_str(), load_average().c_str());

  // 1. The training step, raddiag vs PyTorch, the same thread count each (1 by default: the fairest
  //    comparison on a shared machine).
  std::vector<StepSize> sizes = {{"tiny", "tiny", 8, 4, a.steps}};
  if (a.released_step)
    sizes.push_back({"released", {{"preset", "released"}, {"train_all_slices", false}}, 2, 5569, a.released_train_steps});
  compare_steps(sizes, a.step_threads, a.python, a.trace, a.op_calls);
  if (!a.trace.empty()) std::printf("  traces in %s (bench/py/compare_step_traces.py %s)\n", a.trace.c_str(), a.trace.c_str());
  if (!a.runs) return 0;

  // 2. Whole training processes on real data.
  std::printf("\n[runs] raddiag train on real/brain_tumor_mri (2D MRI), %d compute threads in all, 1 loader thread per process\n",
              a.threads);
  std::printf("  %-34s %6s %6s %9s %9s %9s %8s %8s %8s\n", "configuration", "procs", "steps", "cases/s", "s/step", "loader %",
              "RSS MiB", "wall s", "CPU s");
  struct Plan {
    std::string name, model;
    int nproc, steps, batch;
    bool overlap = true;  // 2 ranks: gradient all-reduce during backward (off: after it)
  };
  std::vector<Plan> plans = {{"tiny, batch 8", "tiny", 1, a.steps, 8},
                             {"tiny, batch 4 per rank", "tiny", 2, a.steps, 4},
                             {"tiny, batch 4 per rank, no overlap", "tiny", 2, a.steps, 4, false}};
  if (a.released) {
    plans.push_back({"released size (ResNet-50), batch 2", "released", 1, a.released_steps, 2});
    plans.push_back({"released size, batch 1 per rank", "released", 2, a.released_steps, 1});
    plans.push_back({"released, batch 1 per rank, no overlap", "released", 2, a.released_steps, 1, false});
  }
  int failures = 0;
  for (const auto& p : plans) {
    const int threads = std::max(1, a.threads / p.nproc);
    std::fflush(stdout);
    const auto r = train_run(cli, p.model + "_" + std::to_string(p.nproc) + "p" + (p.overlap ? "" : "_sync"),
                             run_config(p.model, p.steps + 1, p.batch, threads, 1, p.overlap), p.nproc, a.out);
    if (!r.ok) {
      ++failures;
      std::printf("  %-34s %6d  FAILED (see the rank logs under %s)\n", p.name.c_str(), p.nproc, a.out.c_str());
      continue;
    }
    std::printf("  %-34s %6d %6lld %9.2f %9.3f %8.1f%% %8.0f %8.1f %8.1f\n", p.name.c_str(), p.nproc,
                static_cast<long long>(r.timed_steps), r.cases_per_s, r.step_s, 100.0 * r.loader_share, r.peak_rss_mib,
                r.total_s, r.cpu_s);
  }
  std::printf("  (steps: timed steps after one warm-up step; cases/s over all ranks; loader %%: time rank 0's loop waited for\n"
              "   its next batch / wall time; RSS: peak resident memory of the largest process; wall s / CPU s: the whole\n"
              "   run including start-up, the final validation and saving, CPU summed over ranks)\n");
  return failures ? 1 : 0;
}
