// Training throughput (issue 5's benchmark; a plain timed program, as it runs whole training processes).
//
//  1. step: one optimiser step of the tiny preset on a synthetic batch (8 cases, 2 slots, 64x64, 4 slice
//     positions; slot 0 a 4-slice volume, slot 1 a 3-slice image in every other case): forward (fast path),
//     BCE + attention loss, backward, clipping, AdamW. The same step in PyTorch (bench/py/bench_train.py,
//     Debian python3-torch, the same architecture) runs in the same invocation; the ratio is reported.
//  2. runs: `raddiag train` on the real brain MRI set, each a separate process (or 2 Gloo ranks, started
//     exactly as `raddiag train --nproc 2` does), for the tiny preset and the released size (ResNet-50,
//     256x256, depth 32, hidden 2048; fast path: only the valid slices go through the backbone; the
//     official every-slice path costs ~40x more per 2D case and is left out). Reported from log.jsonl:
//     training cases/s over all ranks, excluding the first (warm-up) step, and the loader's share of
//     step time (time the training loop waited for batches / wall time, rank 0); peak RSS per process.
//     The 2-rank runs go with and without the gradient all-reduce overlapped with backward.
//
//   bench_train [--steps N] [--released-steps N] [--threads T] [--no-python] [--no-released] [--out DIR]
//   (RADDIAG_SHARED_DATA: the shared data folder; RADDIAG_BENCH_PYTHON: the Python with torch)
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_data.h"
#include "model/raddiag_model.h"
#include "model/runtime.h"
#include "train/distributed.h"
#include "train/optim.h"
#include "train/train_job.h"
#include "train/trainer.h"

using namespace raddiag;
namespace fs = std::filesystem;

extern char** environ;

namespace {

struct Args {
  int steps = 20;           // tiny: timed steps (runs and the step comparison)
  int released_steps = 3;   // released size: optimiser steps per run
  int threads = 2;          // compute threads of a single process (each of 2 ranks gets threads / 2)
  bool python = true;
  bool released = true;
  std::string out = bench::temp_dir("raddiag_bench_train");
};

std::string shared_dir() { return bench::shared_data_dir(); }

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// ------------------------------------------------------------------------------------------ 1. step

model::CaseInput synthetic_batch(int64_t batch, int64_t classes) {
  const int64_t N = 2, S = 64, D = 4;
  model::CaseInput b;
  b.mods = torch::zeros({batch, N}, torch::kLong);
  b.marks = torch::zeros({batch, N, D}, torch::kLong);
  b.keys = torch::full({batch, N}, -1, torch::kLong);
  for (int64_t i = 0; i < batch; ++i) {
    b.mods[i][0] = 1;
    b.marks[i][0].fill_(1);
    b.keys[i][0] = 0;
    if (i % 2 == 0) {
      b.mods[i][1] = 7;
      b.marks[i][1].narrow(0, 0, 3).fill_(1);
      b.keys[i][1] = 0;
    }
  }
  b.images = torch::rand({batch, N, 1, S, S, D}) * b.marks.view({batch, N, 1, 1, 1, D}).to(torch::kFloat);
  b.labels = (torch::rand({batch, classes}) < 0.3).to(torch::kFloat);
  return b;
}

nlohmann::json time_cpp_step(int steps, int64_t batch, int threads, int64_t classes) {
  model::configure_threads(threads);
  torch::manual_seed(0);
  auto net = model::build_model(train::resolve_model_config("tiny", classes));
  net->train();
  train::OptimOptions oo;
  oo.lr = 1e-3;
  oo.weight_decay = 0.01;
  auto optim = train::make_adamw(*net, oo);
  const auto b = synthetic_batch(batch, classes);
  auto step = [&] {
    optim.optimizer->zero_grad();
    auto out = net->forward(b);
    out.loss.backward();
    train::clip_grad_norm(optim.parameters, 1.0);
    optim.optimizer->step();
  };
  for (int i = 0; i < 2; ++i) step();  // warm-up, as the Python side
  // Per-step times, reported as medians: robust to bursts of other load on a shared machine.
  std::vector<double> walls, cpus;
  for (int i = 0; i < steps; ++i) {
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    step();
    walls.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    cpus.push_back(cpu_seconds() - cpu0);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  };
  const double wall = median(walls), cpu = median(cpus);
  return {{"impl", "raddiag"}, {"steps", steps}, {"batch", batch}, {"threads", threads},
          {"wall_s_per_step", wall}, {"cpu_s_per_step", cpu}, {"cases_per_s", batch / wall}};
}

nlohmann::json time_python_step(int steps, int64_t batch, int threads, int64_t classes) {
  const char* py = std::getenv("RADDIAG_BENCH_PYTHON");
  const std::string script = std::string(RADDIAG_SOURCE_DIR) + "/bench/py/bench_train.py";
  const std::string cmd = std::string(py ? py : "/usr/bin/python3") + " '" + script + "' " + std::to_string(steps) + " " +
                          std::to_string(batch) + " " + std::to_string(threads) + " " + std::to_string(classes);
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return nullptr;
  std::string text;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) text += buf;
  if (::pclose(p) != 0 || text.empty()) return nullptr;
  return nlohmann::json::parse(text.substr(text.rfind('{')));
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
    else if (k == "--released-steps") a.released_steps = std::stoi(next());
    else if (k == "--threads") a.threads = std::stoi(next());
    else if (k == "--no-python") a.python = false;
    else if (k == "--no-released") a.released = false;
    else if (k == "--out") a.out = next();
    else {
      std::cerr << "usage: bench_train [--steps N] [--released-steps N] [--threads T] [--no-python] [--no-released] [--out DIR]\n";
      return 2;
    }
  }
  const std::string cli = (fs::path(train::current_executable()).parent_path() / "../raddiag").lexically_normal().string();
  char load[64] = "?";
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (!std::fgets(load, sizeof load, f)) load[0] = 0;
    std::fclose(f);
  }
  std::printf("bench_train: %u hardware threads, load average %s", std::thread::hardware_concurrency(), load);

  // 1. The training step, C++ vs PyTorch, one thread each (the fairest comparison on a shared machine).
  const int64_t kBatch = 8, kClasses = 4;
  const auto cpp = time_cpp_step(a.steps, kBatch, 1, kClasses);
  std::printf("\n[step] tiny preset, synthetic batch of %lld cases (2 slots, 64x64, depth 4), 1 thread, median of %d steps\n",
              static_cast<long long>(kBatch), a.steps);
  std::printf("  %-8s %8.3f s/step wall %8.3f s/step CPU %8.1f cases/s\n", "raddiag", cpp["wall_s_per_step"].get<double>(),
              cpp["cpu_s_per_step"].get<double>(), cpp["cases_per_s"].get<double>());
  if (a.python) {
    const auto py = time_python_step(a.steps, kBatch, 1, kClasses);
    if (py.is_null()) {
      std::printf("  pytorch  (failed: is torch installed for RADDIAG_BENCH_PYTHON / /usr/bin/python3?)\n");
    } else {
      std::printf("  %-8s %8.3f s/step wall %8.3f s/step CPU %8.1f cases/s   (torch %s)\n", "pytorch",
                  py["wall_s_per_step"].get<double>(), py["cpu_s_per_step"].get<double>(), py["cases_per_s"].get<double>(),
                  py["torch"].get<std::string>().c_str());
      std::printf("  ratio raddiag / pytorch time per step: wall %.2f, CPU %.2f\n",
                  cpp["wall_s_per_step"].get<double>() / py["wall_s_per_step"].get<double>(),
                  cpp["cpu_s_per_step"].get<double>() / py["cpu_s_per_step"].get<double>());
    }
  }

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
