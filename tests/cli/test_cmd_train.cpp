#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "train/distributed.h"
#include "train/run_dir.h"
#include "util/atomic_file.h"

using namespace raddiag;

namespace cmd_train_test {  // named: unity builds put several test files in one unit

std::string tiny_config(const std::string& dir) {
  nlohmann::json cfg = {{"data", {{"train", {test::shared_data() + "/real/brain_tumor_mri"}}, {"val_fraction", 0.25}}},
                        {"model", "tiny"},
                        {"batch_size", 4},
                        {"steps", 50},
                        {"workers", 2},
                        {"keep_last", 1},
                        {"dist_overlap", true},  // the overlapped reducer through the whole train job
                        {"seed", 42}};
  const std::string path = dir + "/run.json";
  write_bytes_atomically(path, cfg.dump(2));
  return path;
}

}  // namespace cmd_train_test

// `raddiag train --nproc 2` re-runs itself as two ranks: every override must reach both of them (the run
// folder rank 0 writes records them), and the run must really be data parallel (both ranks' positions).
TEST(CmdTrain, NprocRanksReceiveEveryOverride) {
  const std::string dir = test::scratch_dir("cmd_train");
  const std::string cfg = cmd_train_test::tiny_config(dir);
  std::string out;
  const int rc = test::run_command(test::shell_quote(test::cli_path()) + " train --config " + test::shell_quote(cfg) +
                                       " --out " + test::shell_quote(dir + "/run") +
                                       " --steps 3 --lr 0.00123456789 --batch 2 --workers 1 --seed 7 --dist-backend gloo"
                                       " --nproc 2 -q",
                                   &out);
  ASSERT_EQ(rc, 0) << out;
  const auto saved = nlohmann::json::parse(read_file_bytes(dir + "/run/run_config.json"));
  EXPECT_EQ(saved["steps"], 3);
  EXPECT_EQ(saved["optim"]["lr"].get<double>(), 0.00123456789);  // exact: printed with 17 digits for the ranks
  EXPECT_EQ(saved["batch_size"], 2);
  EXPECT_EQ(saved["workers"], 1);
  EXPECT_EQ(saved["seed"], 7);
  EXPECT_EQ(saved["dist_backend"], "gloo");
  train::RunDir run(dir + "/run", false);
  ASSERT_FALSE(run.checkpoint_steps().empty());
  const auto state = nlohmann::json::parse(read_file_bytes(run.checkpoint_path(run.checkpoint_steps().back()) + "/state.json"));
  EXPECT_EQ(state["world_size"], 2);
  EXPECT_EQ(state["loader_positions"].size(), 2u);
  EXPECT_NE(out.find("2 ranks (torchrun variables) over c10d gloo"), std::string::npos) << out;
}

TEST(CmdTrain, ImpossibleBackendsFailClearly) {
  const std::string dir = test::scratch_dir("cmd_train_bad");
  const std::string cfg = cmd_train_test::tiny_config(dir);
  const std::string base = test::shell_quote(test::cli_path()) + " train --config " + test::shell_quote(cfg) + " -q --steps 1";
  std::string out;
  // NCCL for a CPU run: refused by every build (without NCCL: "no NCCL"; with it: "CUDA tensors only").
  EXPECT_NE(test::run_command(base + " --out " + test::shell_quote(dir + "/a") + " --nproc 2 --dist-backend nccl", &out), 0);
  EXPECT_NE(out.find("dist_backend nccl"), std::string::npos) << out;
  EXPECT_EQ(out.find("Segmentation"), std::string::npos) << out;
  EXPECT_NE(test::run_command(base + " --out " + test::shell_quote(dir + "/b") + " --dist-backend mpi", &out), 0);
  EXPECT_NE(out.find("dist_backend must be auto, gloo or nccl"), std::string::npos) << out;
}

// `raddiag info` tells which c10d backends the build has, as the library does.
TEST(CmdTrain, InfoListsTheDistributedBackends) {
  std::string out;
  ASSERT_EQ(test::run_command(test::shell_quote(test::cli_path()) + " info --json", &out), 0) << out;
  const auto j = nlohmann::json::parse(out.substr(out.find('{')));
  std::vector<std::string> want;
  if (train::build_has_gloo()) want.push_back("gloo");
  if (train::build_has_nccl()) want.push_back("nccl");
  EXPECT_EQ(j.at("distributed_backends").get<std::vector<std::string>>(), want);
}

// Started the way mpirun starts it (Open MPI's variables, no RANK/WORLD_SIZE): two ranks that find each
// other through MASTER_ADDR/MASTER_PORT and train data parallel.
TEST(CmdTrain, MpirunStyleLaunchTrainsDataParallel) {
  const std::string dir = test::scratch_dir("cmd_train_mpi");
  const std::string cfg = cmd_train_test::tiny_config(dir);
  const std::string cmd = "for r in 0 1; do OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=$r OMPI_COMM_WORLD_LOCAL_RANK=$r "
                          "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(train::find_free_port()) + " " +
                          test::shell_quote(test::cli_path()) + " train --config " + test::shell_quote(cfg) + " --out " +
                          test::shell_quote(dir + "/run") + " --steps 2 -q & pids=\"$pids $!\"; done; "
                          "rc=0; for p in $pids; do wait $p || rc=1; done; exit $rc";
  std::string out;
  ASSERT_EQ(test::run_command(cmd, &out), 0) << out;
  EXPECT_NE(out.find("2 ranks (Open MPI variables)"), std::string::npos) << out;
  train::RunDir run(dir + "/run", false);
  ASSERT_FALSE(run.checkpoint_steps().empty());
  const auto state = nlohmann::json::parse(read_file_bytes(run.checkpoint_path(run.checkpoint_steps().back()) + "/state.json"));
  EXPECT_EQ(state["world_size"], 2);
}
