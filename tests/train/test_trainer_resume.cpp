#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

#include "data/augment.h"
#include "test_support.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "train_test_support.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::train;
namespace fs = std::filesystem;

namespace {
// Everything one training session needs, built the same way in every session (as a CLI would).
struct Session {
  test::TinyNet net{nullptr};
  std::shared_ptr<test::RandomCaseSource> source;
  std::unique_ptr<data::CaseLoader> loader;
  OptimizerSetup optim;
  OptimOptions optim_options;
  std::unique_ptr<Trainer> trainer;
  int calls = 0;
  int interrupt_at_call = -1;  // raise SIGINT during this step-function call (1-based)

  Session(const std::string& run_dir, int64_t total_steps, int batch = 2, int accum = 1, double dropout = 0.2,
          bool augment = true, int64_t checkpoint_every = 0, int64_t cases = 10, double ema_decay = 0) {
    seed_everything(123);
    net = test::TinyNet(3, dropout);
    source = std::make_shared<test::RandomCaseSource>();
    source->n = cases;
    data::LoaderOptions lo;
    lo.batch_size = batch;
    lo.workers = 2;
    lo.seed = 7;
    data::AugmentOptions ao;
    ao.affine_p = ao.elastic_p = ao.noise_p = ao.contrast_p = 0.5;
    data::CaseTransform tf = nullptr;
    if (augment) tf = [ao](data::CaseTensors& c, data::CaseRng& r) { data::augment_case(c, ao, r); };
    loader = std::make_unique<data::CaseLoader>(source, std::make_shared<data::ShuffledSampler>(source->n, 7), lo, tf);
    optim_options.lr = 1e-2;
    optim_options.warmup_ratio = 0.2;
    optim_options.grad_accum_steps = accum;
    optim = make_adamw(*net, optim_options);
    TrainerOptions to;
    to.total_steps = total_steps;
    to.checkpoint_every = checkpoint_every;
    to.keep_last = 2;
    to.validate_every = 3;
    to.best_metric = "score";
    to.progress = false;
    to.weight_average_decay = ema_decay;
    StepFn step = [this](const data::CaseBatch& b) -> LossDict {
      if (++calls == interrupt_at_call) std::raise(SIGINT);
      auto logits = net->forward(b.images);
      auto loss = torch::binary_cross_entropy_with_logits(logits, b.labels);
      return {{"loss", loss}, {"logit_mean", logits.mean()}};
    };
    trainer = std::make_unique<Trainer>(*net, step, *loader, optim, optim_options, to, run_dir,
                                        nlohmann::json{{"model", "tiny"}});
    // A validation metric that peaks at step 6: the best checkpoint must survive pruning.
    trainer->set_validation([](int64_t s) { return std::map<std::string, double>{{"score", -std::abs(double(s) - 6)}}; });
  }
};
}  // namespace

TEST(TrainerResume, StopAndResumeEqualsUninterruptedRun) {
  const int64_t N = 7, total = 2 * N;
  Session straight(test::scratch_dir("straight"), total);
  auto r0 = straight.trainer->run();
  EXPECT_EQ(r0.steps, total);
  EXPECT_FALSE(r0.interrupted);

  const std::string dir = test::scratch_dir("resumed");
  {
    Session first(dir, total, 2, 1, 0.2, true, /*checkpoint_every=*/4);
    first.interrupt_at_call = N;  // Ctrl-C during step N: checkpoint after it, return cleanly
    auto r1 = first.trainer->run();
    EXPECT_TRUE(r1.interrupted);
    EXPECT_EQ(r1.steps, N);
    EXPECT_TRUE(fs::exists(r1.last_checkpoint + "/state.json"));
    // Burn some global random numbers: the resume must restore the generator.
    torch::rand({100});
  }
  Session second(dir, total, 2, 1, 0.2, true, 4);
  ASSERT_TRUE(second.trainer->resume());
  EXPECT_EQ(second.trainer->step(), N);
  auto r2 = second.trainer->run();
  EXPECT_EQ(r2.steps, total);
  EXPECT_EQ(r2.steps_this_session, N);
  const float diff = test::max_param_diff(*straight.net, *second.net);
  EXPECT_LE(diff, 1e-6f) << "resumed run diverged";
  std::printf("max |uninterrupted - resumed| parameter difference: %g\n", diff);
  EXPECT_GT(test::max_param_diff(*straight.net, *test::TinyNet(3)), 1e-3f);  // and training did move the weights

  // Run folder: config, log lines for every step and validation, best kept, at most keep_last others.
  RunDir run(dir, false);
  ASSERT_TRUE(run.read_config());
  int train_lines = 0, val_lines = 0;
  for (const auto& rec : run.read_log()) {
    train_lines += rec["type"] == "train";
    val_lines += rec["type"] == "validation";
    if (rec["type"] == "train") {
      EXPECT_TRUE(rec.contains("loss") && rec.contains("lr") && rec.contains("cases_per_s") && rec.contains("logit_mean"));
    }
  }
  EXPECT_EQ(train_lines, total);
  EXPECT_EQ(val_lines, 5);  // steps 3, 6, 9, 12 and the end (14)
  auto best = run.read_best();
  ASSERT_TRUE(best);
  EXPECT_EQ((*best)["step"], 6);
  auto steps = run.checkpoint_steps();
  EXPECT_EQ(steps, (std::vector<int64_t>{6, 12, 14}));
}

TEST(TrainerResume, GradientAccumulationMatchesALargerBatch) {
  // 8 cases: both loaders see the same cases in each optimiser step (no epoch tail differences).
  Session big(test::scratch_dir("big"), 5, /*batch=*/4, /*accum=*/1, /*dropout=*/0.0, /*augment=*/false, 0, 8);
  Session acc(test::scratch_dir("acc"), 5, /*batch=*/2, /*accum=*/2, 0.0, false, 0, 8);
  big.trainer->run();
  acc.trainer->run();
  EXPECT_LE(test::max_param_diff(*big.net, *acc.net), 1e-5f);
}

TEST(TrainerResume, CheckpointsAreCompleteOrAbsent) {
  const std::string dir = test::scratch_dir("ckpt");
  test::TinyNet net(3);
  torch::optim::AdamW opt(net->parameters());
  RunDir run(dir);
  // A leftover temporary directory from a crash is not a checkpoint and is cleaned up by prune().
  fs::create_directories(run.checkpoints_dir() + "/step-00000009.tmp.1.2");
  save_checkpoint(run.checkpoint_path(3), *net, &opt, {{"step", 3}});
  EXPECT_EQ(run.checkpoint_steps(), (std::vector<int64_t>{3}));
  run.prune(1, std::nullopt);
  EXPECT_FALSE(fs::exists(run.checkpoints_dir() + "/step-00000009.tmp.1.2"));
  test::TinyNet other(3);
  torch::optim::AdamW opt2(other->parameters());
  auto state = load_checkpoint(run.checkpoint_path(3), *other, &opt2);
  EXPECT_EQ(state["step"], 3);
  EXPECT_EQ(test::max_param_diff(*net, *other), 0.f);
  EXPECT_THROW(load_checkpoint(dir + "/nope", *other, nullptr), Error);
}

TEST(TrainerResume, WeightAverageResumesExactlyAndIsWhatTheBestCheckpointExports) {
  const int64_t N = 5, total = 2 * N;
  const double ema = 0.8;
  Session straight(test::scratch_dir("ema-straight"), total, 2, 1, 0.2, true, 0, 10, ema);
  straight.trainer->run();
  const std::string dir = test::scratch_dir("ema-resumed");
  {
    Session first(dir, total, 2, 1, 0.2, true, 0, 10, ema);
    first.interrupt_at_call = N;
    ASSERT_TRUE(first.trainer->run().interrupted);
  }
  Session second(dir, total, 2, 1, 0.2, true, 0, 10, ema);
  ASSERT_TRUE(second.trainer->resume());
  second.trainer->run();
  EXPECT_LE(test::max_param_diff(*straight.net, *second.net), 1e-6f) << "live weights diverged after resume";
  // The best checkpoint (step 6 by the score) holds the average; loading it with averaged_weights gives
  // other weights than its live ones.
  const std::string best = RunDir(dir, false).checkpoint_path(6);
  ASSERT_TRUE(fs::exists(best + "/averaged.pt"));
  test::TinyNet live(3), averaged(3);
  LoadOptions lo;
  lo.optimizer = lo.rng = false;
  load_checkpoint(best, *live, nullptr, lo);
  lo.averaged_weights = true;
  load_checkpoint(best, *averaged, nullptr, lo);
  EXPECT_GT(test::max_param_diff(*live, *averaged), 1e-5f);
  // After the run, the averages of both runs agree too.
  straight.trainer->use_averaged_weights();
  second.trainer->use_averaged_weights();
  EXPECT_LE(test::max_param_diff(*straight.net, *second.net), 1e-6f) << "averaged weights diverged after resume";
  // Resuming a run that keeps an average from a checkpoint without one is refused.
  const std::string plain = test::scratch_dir("ema-plain");
  {
    Session p(plain, 3, 2, 1, 0.2, true, 0, 10, 0);
    p.trainer->run();
  }
  Session q(plain, 6, 2, 1, 0.2, true, 0, 10, ema);
  EXPECT_THROW(q.trainer->resume(), Error);
}
