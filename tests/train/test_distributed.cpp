#include <gtest/gtest.h>

#include <cstdlib>

#if __has_include(<torch/csrc/distributed/c10d/TCPStore.hpp>)
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#define RADDIAG_TEST_HAVE_TCPSTORE 1
#endif
#include <filesystem>

#include "data/folder_dataset.h"
#include "model/raddiag_model.h"
#include "serve/evaluate.h"
#include "test_support.h"
#include "train/distributed.h"
#include "train/gradient_reducer.h"
#include "train/run_config.h"
#include "infer/sharded_predict.h"
#include "train/train_job.h"
#include "train/trainer.h"
#include "distributed_test_support.h"
#include "train_test_support.h"
#include "util/atomic_file.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::train;

namespace {
constexpr int64_t kSteps = 4;
constexpr int kPerRankBatch = 2;

// The same training job for every rank (and for the single-process reference, with world 1): 16 cases
// in sequential order, rank r taking r, r+W, ... (DistributedSampler), AdamW, clipping, cosine.
std::vector<torch::Tensor> train_job(const std::shared_ptr<ProcessGroup>& group, int batch, const std::string& run_dir,
                                     const std::string& device = "cpu") {
  const int rank = group ? group->rank() : 0, world = group ? group->world_size() : 1;
  // Different initial weights on every rank: the broadcast from rank 0 must make them equal.
  seed_everything(500 + rank);
  test::TinyNet net(3, /*dropout=*/0.0);
  if (rank == 0) {
    seed_everything(500);
    net = test::TinyNet(3, 0.0);
  }
  net->to(torch::Device(device));
  auto source = std::make_shared<test::RandomCaseSource>();
  source->use_rng = false;
  std::shared_ptr<const data::Sampler> sampler = std::make_shared<data::ShuffledSampler>(source->n, 1, false);
  if (world > 1) sampler = std::make_shared<data::DistributedSampler>(sampler, rank, world);
  data::LoaderOptions lo;
  lo.batch_size = batch;
  lo.workers = 1;
  data::CaseLoader loader(source, sampler, lo);
  OptimOptions oo;
  oo.lr = 1e-2;
  oo.max_grad_norm = 0.05;  // active: clipping must happen after the gradients are averaged
  auto optim = make_adamw(*net, oo);
  TrainerOptions to;
  to.total_steps = kSteps;
  to.progress = false;
  to.device = device;
  StepFn step = [&](const data::CaseBatch& b) -> LossDict {
    return {{"loss", torch::binary_cross_entropy_with_logits(net->forward(b.images), b.labels)}};
  };
  Trainer trainer(*net, step, loader, optim, oo, to, run_dir, {}, group);
  trainer.run();
  std::vector<torch::Tensor> out;
  for (auto& p : net->parameters()) out.push_back(p.detach().cpu().clone());
  return out;
}
}  // namespace

// Not a test on its own: the body of one rank, started by DistributedParity below through launch_local.
TEST(DistributedWorker, Rank) {
  const char* out = std::getenv("RADDIAG_TEST_DDP_OUT");
  if (!out) GTEST_SKIP() << "runs only as a rank launched by DistributedParity";
  const auto env = DistEnv::from_environment();
  ProcessGroupOptions po;
  po.timeout = std::chrono::seconds(60);
  auto group = ProcessGroup::create(env, po);  // auto on a CPU device: Gloo
  ASSERT_EQ(group->world_size(), 2);
  ASSERT_EQ(group->backend(), CommBackend::kGloo);
  // Bucketed averaging with tiny buckets (several buckets, mixed sizes): (1 + 2) / 2 everywhere.
  std::vector<torch::Tensor> ps = {torch::zeros({3}, torch::requires_grad()), torch::zeros({5, 2}, torch::requires_grad()),
                                   torch::zeros({1}, torch::requires_grad())};
  for (auto& p : ps) p.mutable_grad() = torch::full_like(p, float(env.rank + 1));
  group->average_gradients(ps, /*bucket_bytes=*/16);
  for (auto& p : ps) EXPECT_TRUE(torch::allclose(p.grad(), torch::full_like(p, 1.5f)));
  EXPECT_TRUE(group->any(env.rank == 1));
  EXPECT_FALSE(group->any(false));
  EXPECT_EQ(group->all_gather({env.rank * 10, 7}), (std::vector<int64_t>{0, 7, 10, 7}));
  {
    // The overlapped reducer across 2 ranks: 2 micro-batches (the second armed), a parameter without a
    // gradient, 3 buckets of which 2 start inside backward; averages as average_gradients gives them.
    auto unused = torch::zeros({4}, torch::requires_grad());
    auto w1 = torch::full({3}, 1.0f, torch::requires_grad());
    auto w2 = torch::full({5, 2}, 2.0f, torch::requires_grad());
    GradientReducer red(group, {unused, w1, w2}, /*bucket_bytes=*/16);
    const float x = 1.0f + env.rank;
    ((w1 * x).sum() + (w2 * w2 * x).sum()).backward();
    red.arm();
    ((w1 * 3.0f).sum() + (w2 * w2 * 3.0f).sum()).backward();
    red.finish();
    EXPECT_EQ(red.started_during_backward(), 2);
    EXPECT_TRUE(torch::equal(w1.grad(), torch::full({3}, 4.5f)));       // ((1 + 3) + (2 + 3)) / 2
    EXPECT_TRUE(torch::equal(w2.grad(), torch::full({5, 2}, 18.0f)));   // (4 (1 + 3) + 4 (2 + 3)) / 2
    EXPECT_TRUE(torch::equal(unused.grad(), torch::zeros({4})));
  }

  auto params = train_job(group, kPerRankBatch, std::string(out) + "/run");
  torch::save(params, std::string(out) + "/rank" + std::to_string(env.rank) + ".pt");
}

TEST(DistributedParity, TwoProcessesMatchOneWithDoubleBatch) {
  const std::string dir = test::scratch_dir("ddp");
  ::setenv("RADDIAG_TEST_DDP_OUT", dir.c_str(), 1);
  const int rc = launch_local(2, {current_executable(), "--gtest_filter=DistributedWorker.Rank"});
  ::unsetenv("RADDIAG_TEST_DDP_OUT");
  ASSERT_EQ(rc, 0) << "a rank failed";
  auto single = train_job(nullptr, 2 * kPerRankBatch, test::scratch_dir("ddp_single"));
  for (int r = 0; r < 2; ++r) {
    std::vector<torch::Tensor> got;
    torch::load(got, dir + "/rank" + std::to_string(r) + ".pt");
    ASSERT_EQ(got.size(), single.size());
    float worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, (got[i] - single[i]).abs().max().item<float>());
    std::printf("rank %d: max |2 ranks x batch %d - 1 process x batch %d| = %g\n", r, kPerRankBatch, 2 * kPerRankBatch, worst);
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_TRUE(torch::allclose(got[i], single[i], 1e-5, 1e-5))
          << "rank " << r << " parameter " << i << " max diff " << (got[i] - single[i]).abs().max().item<float>();
  }
  // Only rank 0 wrote the run folder, including the final checkpoint with both ranks' positions.
  RunDir run(dir + "/run", false);
  EXPECT_EQ(run.checkpoint_steps(), (std::vector<int64_t>{kSteps}));
  auto state = nlohmann::json::parse(read_file_bytes(run.checkpoint_path(kSteps) + "/state.json"));
  EXPECT_EQ(state["loader_positions"].size(), 2u);
  EXPECT_EQ(state["world_size"], 2);
}

TEST(Distributed, EnvironmentAndLauncher) {
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("RANK", "2", 1);
  ::setenv("MASTER_PORT", "1234", 1);
  auto e = DistEnv::from_environment();
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.rank, 2);
  EXPECT_EQ(e.local_rank, 2);
  EXPECT_EQ(e.master_port, 1234);
  ::setenv("RANK", "x", 1);
  EXPECT_THROW(DistEnv::from_environment(), Error);
  ::setenv("RANK", "4", 1);
  EXPECT_THROW(DistEnv::from_environment(), Error);
  ::unsetenv("WORLD_SIZE");
  ::unsetenv("RANK");
  ::unsetenv("MASTER_PORT");
  EXPECT_FALSE(DistEnv::from_environment().distributed());
  // mpirun / srun / MPICH variables when torchrun's are absent; torchrun's win when both are set.
  ::setenv("OMPI_COMM_WORLD_SIZE", "8", 1);
  ::setenv("OMPI_COMM_WORLD_RANK", "5", 1);
  ::setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1", 1);
  e = DistEnv::from_environment();
  EXPECT_EQ(e.launcher, "Open MPI");
  EXPECT_EQ(e.local_world_size, 0);  // OMPI_COMM_WORLD_LOCAL_SIZE not set
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.local_rank, 1);
  ::setenv("WORLD_SIZE", "2", 1);
  ::setenv("RANK", "1", 1);
  ::setenv("LOCAL_WORLD_SIZE", "2", 1);
  EXPECT_EQ(DistEnv::from_environment().launcher, "torchrun");
  EXPECT_EQ(DistEnv::from_environment().local_world_size, 2);
  ::unsetenv("LOCAL_WORLD_SIZE");
  EXPECT_EQ(DistEnv::from_environment().local_rank, 1);
  for (const char* v : {"WORLD_SIZE", "RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK"})
    ::unsetenv(v);
  ::setenv("SLURM_NTASKS", "4", 1);  // an allocation, not an srun step: one process
  ::setenv("SLURM_PROCID", "0", 1);
  EXPECT_FALSE(DistEnv::from_environment().distributed());
  ::setenv("SLURM_STEP_NUM_TASKS", "4", 1);
  ::setenv("SLURM_PROCID", "3", 1);
  ::setenv("SLURM_LOCALID", "0", 1);
  e = DistEnv::from_environment();
  EXPECT_EQ(e.launcher, "Slurm");
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.local_rank, 0);
  // Hydra (MPICH / Intel MPI) inside a Slurm allocation: its ranks carry the proxies' step variables
  // (2 tasks, one per node) next to their own; Hydra's win. srun's PMI plugin (no MPI_LOCALRANKID): Slurm's.
  ::setenv("SLURM_STEP_NUM_TASKS", "2", 1);
  ::setenv("SLURM_PROCID", "1", 1);
  ::setenv("PMI_SIZE", "8", 1);
  ::setenv("PMI_RANK", "6", 1);
  ::setenv("MPI_LOCALRANKID", "2", 1);
  e = DistEnv::from_environment();
  EXPECT_EQ(e.launcher, "MPICH");
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.rank, 6);
  EXPECT_EQ(e.local_rank, 2);
  ::unsetenv("MPI_LOCALRANKID");
  EXPECT_EQ(DistEnv::from_environment().launcher, "Slurm");
  for (const char* v : {"SLURM_NTASKS", "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID"}) ::unsetenv(v);
  EXPECT_EQ(DistEnv::from_environment().launcher, "PMI");
  ::unsetenv("PMI_SIZE");
  ::unsetenv("PMI_RANK");
  ::setenv("PMI_SIZE", "2", 1);
  ::setenv("PMI_RANK", "x", 1);
  EXPECT_THROW(DistEnv::from_environment(), Error);  // malformed, named
  ::unsetenv("PMI_SIZE");
  ::unsetenv("PMI_RANK");
  EXPECT_FALSE(DistEnv::from_environment().distributed());
  // The launcher sets the variables for each copy and reports the first failure.
  EXPECT_EQ(launch_local(3, {"/bin/sh", "-c", "test \"$WORLD_SIZE\" = 3 && test -n \"$MASTER_PORT\" && test \"$RANK\" = \"$LOCAL_RANK\""}), 0);
  EXPECT_EQ(launch_local(2, {"/bin/sh", "-c", "exit $((RANK * 3))"}), 3);
  EXPECT_GT(find_free_port(), 0);
}

namespace ddp_validation_test {  // named: unity builds put several test files in one unit

// 13 validation cases of the brain MRI set (an odd count: the shards differ in size) and a tiny model
// with seeded random weights, identical in every process.
struct ValidationSetup {
  std::vector<data::Case> cases;
  infer::Predictor predictor;
};

std::unique_ptr<ValidationSetup> validation_setup() {
  auto all = data::load_folder_dataset(test::shared_data() + "/real/brain_tumor_mri");
  all.resize(13);
  const auto vocab = data::LabelVocabulary::build_from_cases(all, data::LabelLevel::kArticles);
  model::ModelBundle b;
  b.config = resolve_model_config("tiny", static_cast<int64_t>(vocab.size()));
  data::PreprocessOptions pre;
  pre.size = b.config.size;
  pre.depth = b.config.depth;
  pre.n_image = b.config.n_image;
  b.preprocess = pre.to_json();
  b.classes = vocab.names();
  seed_everything(9);
  b.model = model::build_model(b.config);
  return std::unique_ptr<ValidationSetup>(new ValidationSetup{all, infer::Predictor(b)});
}

infer::PredictOptions validation_options() {
  infer::PredictOptions po;
  po.batch_size = 3;
  po.progress = false;
  po.seed = 5;
  return po;
}

}  // namespace ddp_validation_test

// Not a test on its own: one rank of DistributedValidation below.
TEST(DistributedValidationWorker, Rank) {
  const char* out = std::getenv("RADDIAG_TEST_DDP_VAL_OUT");
  if (!out) GTEST_SKIP() << "runs only as a rank launched by DistributedValidation";
  const auto env = DistEnv::from_environment();
  auto group = ProcessGroup::create(env, std::chrono::seconds(60));  // Gloo on the CPU
  ASSERT_EQ(group->world_size(), 2);
  ASSERT_EQ(group->backend(), CommBackend::kGloo);
  // The c10d all-gather: rank order, any shape.
  const auto g = group->all_gather_tensor(torch::full({2, 3}, float(env.rank + 1)));
  EXPECT_TRUE(torch::equal(g, torch::stack({torch::full({2, 3}, 1.f), torch::full({2, 3}, 2.f)})));

  auto setup = ddp_validation_test::validation_setup();
  auto po = ddp_validation_test::validation_options();
  // Each rank runs only its shard (no duplicated work): the other rows are not computed.
  infer::PredictOptions shard = po;
  shard.shard_index = env.rank;
  shard.shard_count = 2;
  const auto local = setup->predictor.predict(setup->cases, shard);
  for (int64_t i = 0; i < 13; ++i)
    EXPECT_EQ(torch::isfinite(local.logits[i]).all().item<bool>(), i % 2 == env.rank) << "row " << i;
  // Gathered: every rank holds all rows, then the metrics.
  const auto all = infer::predict_sharded(setup->predictor, setup->cases, po, train::shard_group(group.get()));
  const auto q = infer::quick_metrics(all);
  torch::save(std::vector<torch::Tensor>{all.logits, all.labels, torch::tensor({q.macro_auc, q.macro_ap}, torch::kDouble)},
              std::string(out) + "/val_rank" + std::to_string(env.rank) + ".pt");
}

TEST(DistributedValidation, ShardedEqualsSingleProcess) {
  const std::string dir = test::scratch_dir("ddp_val");
  ::setenv("RADDIAG_TEST_DDP_VAL_OUT", dir.c_str(), 1);
  const int rc = launch_local(2, {current_executable(), "--gtest_filter=DistributedValidationWorker.Rank"});
  ::unsetenv("RADDIAG_TEST_DDP_VAL_OUT");
  ASSERT_EQ(rc, 0) << "a rank failed";
  auto setup = ddp_validation_test::validation_setup();
  const auto single = setup->predictor.predict(setup->cases, ddp_validation_test::validation_options());
  const auto q = infer::quick_metrics(single);
  ASSERT_TRUE(std::isfinite(q.macro_auc));
  for (int r = 0; r < 2; ++r) {
    std::vector<torch::Tensor> got;
    torch::load(got, dir + "/val_rank" + std::to_string(r) + ".pt");
    ASSERT_EQ(got.size(), 3u);
    // The same cases, preprocessing seeds and weights; batches are composed differently (3 cases of one
    // shard vs 3 consecutive cases), so logits agree to float rounding, and the AUC exactly here.
    EXPECT_TRUE(torch::allclose(got[0], single.logits, 1e-5, 1e-5)) << "rank " << r << " max diff "
                                                                  << (got[0] - single.logits).abs().max().item<float>();
    EXPECT_TRUE(torch::equal(got[1], single.labels)) << "rank " << r;
    EXPECT_DOUBLE_EQ(got[2][0].item<double>(), q.macro_auc) << "rank " << r;
    EXPECT_DOUBLE_EQ(got[2][1].item<double>(), q.macro_ap) << "rank " << r;
  }
}

// Which c10d backend a data-parallel run gets, for every build and device combination, and the errors
// that say why a choice is impossible.
TEST(Distributed, BackendChoice) {
  const torch::Device cpu(torch::kCPU), gpu(torch::kCUDA, 1);
  EXPECT_EQ(parse_comm_backend("auto"), CommBackend::kAuto);
  EXPECT_EQ(parse_comm_backend("gloo"), CommBackend::kGloo);
  EXPECT_EQ(parse_comm_backend("nccl"), CommBackend::kNccl);
  EXPECT_THROW(parse_comm_backend("mpi"), Error);
  EXPECT_EQ(comm_backend_name(CommBackend::kNccl), "nccl");
  // auto: NCCL only for a CUDA device in a build with it; Gloo otherwise (Gloo also moves CUDA tensors).
  EXPECT_EQ(resolve_comm_backend(CommBackend::kAuto, gpu, true, true), CommBackend::kNccl);
  EXPECT_EQ(resolve_comm_backend(CommBackend::kAuto, cpu, true, true), CommBackend::kGloo);
  EXPECT_EQ(resolve_comm_backend(CommBackend::kAuto, gpu, true, false), CommBackend::kGloo);
  EXPECT_EQ(resolve_comm_backend(CommBackend::kAuto, gpu, false, true), CommBackend::kNccl);
  EXPECT_EQ(resolve_comm_backend(CommBackend::kGloo, gpu, true, true), CommBackend::kGloo);
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { resolve_comm_backend(CommBackend::kAuto, cpu, false, true); }).find("no Gloo"), std::string::npos);
  EXPECT_NE(message([&] { resolve_comm_backend(CommBackend::kAuto, gpu, false, false); }).find("neither NCCL nor Gloo"),
            std::string::npos);
  EXPECT_NE(message([&] { resolve_comm_backend(CommBackend::kNccl, cpu, true, true); }).find("CUDA tensors only"), std::string::npos);
  EXPECT_NE(message([&] { resolve_comm_backend(CommBackend::kNccl, gpu, true, false); }).find("no NCCL"), std::string::npos);
  EXPECT_NE(message([&] { resolve_comm_backend(CommBackend::kGloo, cpu, false, true); }).find("no Gloo"), std::string::npos);

  // The GPU of an NCCL rank: the one named, else LOCAL_RANK's; none of its own is an error.
  EXPECT_EQ(nccl_rank_device(torch::Device("cuda"), 1, 2), torch::Device("cuda:1"));
  EXPECT_EQ(nccl_rank_device(torch::Device("cuda:0"), 1, 2), torch::Device("cuda:0"));
  EXPECT_NE(message([&] { nccl_rank_device(torch::Device("cuda"), 2, 2); }).find("has 2 CUDA device(s)"), std::string::npos);
  EXPECT_THROW(nccl_rank_device(torch::Device("cpu"), 0, 2), Error);
  // Several ranks on the machine: a named GPU must be the rank's own (train maps "cuda" to cuda:LOCAL_RANK).
  EXPECT_EQ(nccl_rank_device(torch::Device("cuda:1"), 1, 2, 2), torch::Device("cuda:1"));
  EXPECT_NE(message([&] { nccl_rank_device(torch::Device("cuda:0"), 1, 2, 2); }).find("all on one GPU"), std::string::npos);
  EXPECT_EQ(nccl_rank_device(torch::Device("cuda:1"), 0, 2, 1), torch::Device("cuda:1"));  // one rank here: any GPU

  // This build: Debian's libtorch has Gloo (libgloo-dev); NCCL only in CUDA builds.
#if __has_include(<gloo/context.h>)
  EXPECT_TRUE(build_has_gloo());
#else
  EXPECT_FALSE(build_has_gloo());
#endif
  if (!torch::cuda::is_available()) EXPECT_FALSE(build_has_nccl());
  // Asking this build for NCCL on the CPU fails at create(), before any rendezvous.
  DistEnv two;
  two.world_size = 2;
  two.master_port = find_free_port();
  ProcessGroupOptions po;
  po.backend = CommBackend::kNccl;
  EXPECT_THROW(ProcessGroup::create(two, po), Error);

  // The run config carries the choice (saved, reloaded, validated).
  RunConfig cfg;
  cfg.data.train = {"x"};
  cfg.dist_backend = "nccl";
  EXPECT_EQ(RunConfig::from_json(cfg.to_json()).dist_backend, "nccl");
  cfg.dist_backend = "nvlink";
  EXPECT_THROW(cfg.validate(), Error);
  cfg.dist_backend = "auto";
  nlohmann::json old = cfg.to_json();
  old.erase("dist_backend");  // a run saved before the key existed resumes with auto
  old.erase("dist_overlap");
  EXPECT_EQ(RunConfig::from_json(old).dist_backend, "auto");
  // Overlapped gradient all-reduce: auto = with NCCL only (no gain measured on CPU Gloo); or forced.
  EXPECT_TRUE(cfg.overlap_for("nccl"));
  EXPECT_FALSE(cfg.overlap_for("gloo"));
  auto forced = cfg.to_json();
  forced["dist_overlap"] = true;
  EXPECT_TRUE(RunConfig::from_json(forced).overlap_for("gloo"));
  EXPECT_EQ(RunConfig::from_json(forced).to_json()["dist_overlap"], true);
  forced["dist_overlap"] = false;
  EXPECT_FALSE(RunConfig::from_json(forced).overlap_for("nccl"));
  forced["dist_overlap"] = "sometimes";
  EXPECT_THROW(RunConfig::from_json(forced), Error);
}

namespace single_rank_test {  // named: unity builds put several test files in one unit

// A group of one with a real backend: every collective runs and must leave the values as they are,
// also for CPU tensors on an NCCL group (staged through the GPU) and non-contiguous views (copied back).
void check_collectives(ProcessGroup& g, const torch::Device& dev) {
  std::vector<torch::Tensor> ps = {torch::zeros({3}, torch::TensorOptions(dev).requires_grad(true)),
                                   torch::zeros({4, 2}, torch::TensorOptions(dev).requires_grad(true))};
  for (auto& p : ps) p.mutable_grad() = torch::full_like(p, 2.5f);
  g.average_gradients(ps, /*bucket_bytes=*/16);
  for (auto& p : ps) EXPECT_TRUE(torch::equal(p.grad().cpu(), torch::full(p.sizes(), 2.5f)));
  EXPECT_TRUE(g.any(true));
  EXPECT_FALSE(g.any(false));
  EXPECT_EQ(g.all_gather({5, 6}), (std::vector<int64_t>{5, 6}));
  const torch::Tensor x = torch::arange(6, torch::kFloat).view({2, 3});
  const torch::Tensor gathered = g.all_gather_tensor(x);
  EXPECT_TRUE(gathered.device().is_cpu());
  EXPECT_TRUE(torch::equal(gathered, x.unsqueeze(0)));
  torch::Tensor base = torch::arange(6, torch::kFloat).view({2, 3});
  torch::Tensor view = base.t();  // non-contiguous
  g.all_reduce_sum(view);
  EXPECT_TRUE(torch::equal(base, torch::arange(6, torch::kFloat).view({2, 3})));
  torch::Tensor b = torch::full({4}, 7.f);
  g.broadcast(b);
  EXPECT_TRUE(torch::equal(b, torch::full({4}, 7.f)));
  g.barrier();
}

}  // namespace single_rank_test

TEST(Distributed, SingleRankGlooGroupRunsRealCollectives) {
  if (!build_has_gloo()) GTEST_SKIP() << "built without Gloo";
  auto g = test::single_rank_group(CommBackend::kGloo, torch::kCPU);
  ASSERT_EQ(g->backend(), CommBackend::kGloo);
  ASSERT_FALSE(g->solo());
  single_rank_test::check_collectives(*g, torch::kCPU);
}

// NCCL on one GPU: links and runs ProcessGroupNCCL (communicator set-up, streams, staging) on any
// machine with one GPU; the 2-rank parity test below needs two.
TEST(DistributedNccl, SingleRankCollectivesOnOneGpu) {
  if (!build_has_nccl()) GTEST_SKIP() << "built without NCCL";
  if (!torch::cuda::is_available()) GTEST_SKIP() << "needs a CUDA device";
  const torch::Device gpu(torch::kCUDA, 0);
  auto g = test::single_rank_group(CommBackend::kAuto, gpu);
  ASSERT_EQ(g->backend(), CommBackend::kNccl);
  single_rank_test::check_collectives(*g, gpu);
  // The overlapped reducer on the GPU: its hooks run on autograd's device thread and start NCCL
  // all-reduces from there (stream order), with accumulation over 2 micro-batches.
  auto w1 = torch::full({3}, 1.0f, torch::TensorOptions(gpu).requires_grad(true));
  auto w2 = torch::full({5, 2}, 2.0f, torch::TensorOptions(gpu).requires_grad(true));
  GradientReducer red(g, {w1, w2}, /*bucket_bytes=*/16);
  ((w1 * 1.0f).sum() + (w2 * w2).sum()).backward();
  red.arm();
  ((w1 * 3.0f).sum() + (w2 * w2 * 3.0f).sum()).backward();
  red.finish();
  EXPECT_GE(red.started_during_backward(), 1);
  EXPECT_TRUE(torch::equal(w1.grad().cpu(), torch::full({3}, 4.0f)));
  EXPECT_TRUE(torch::equal(w2.grad().cpu(), torch::full({5, 2}, 16.0f)));
}

// Not a test on its own: one rank of DistributedNccl below, on GPU LOCAL_RANK.
TEST(DistributedNcclWorker, Rank) {
  const char* out = std::getenv("RADDIAG_TEST_NCCL_OUT");
  if (!out) GTEST_SKIP() << "runs only as a rank launched by DistributedNccl";
  const auto env = DistEnv::from_environment();
  const std::string device = "cuda:" + std::to_string(env.local_rank);
  ProcessGroupOptions po;
  po.device = torch::Device(device);
  po.timeout = std::chrono::seconds(120);
  auto group = ProcessGroup::create(env, po);  // auto on a CUDA device: NCCL
  ASSERT_EQ(group->backend(), CommBackend::kNccl);
  // Collectives on GPU tensors, and on CPU tensors that are staged through the GPU and copied back.
  std::vector<torch::Tensor> ps = {torch::zeros({3}, torch::TensorOptions(torch::Device(device)).requires_grad(true)),
                                   torch::zeros({5, 2}, torch::TensorOptions(torch::Device(device)).requires_grad(true))};
  for (auto& p : ps) p.mutable_grad() = torch::full_like(p, float(env.rank + 1));
  group->average_gradients(ps, /*bucket_bytes=*/16);
  for (auto& p : ps) EXPECT_TRUE(torch::allclose(p.grad().cpu(), torch::full({p.numel()}, 1.5f).view(p.sizes())));
  EXPECT_TRUE(group->any(env.rank == 1));
  EXPECT_FALSE(group->any(false));
  EXPECT_EQ(group->all_gather({env.rank * 10, 7}), (std::vector<int64_t>{0, 7, 10, 7}));
  const torch::Tensor gathered = group->all_gather_tensor(torch::full({2}, float(env.rank)));
  EXPECT_TRUE(gathered.device().is_cpu());
  EXPECT_TRUE(torch::equal(gathered, torch::tensor({0.f, 0.f, 1.f, 1.f}).view({2, 2})));
  group->barrier();

  auto params = train_job(group, kPerRankBatch, std::string(out) + "/run", device);
  torch::save(params, std::string(out) + "/rank" + std::to_string(env.rank) + ".pt");
}

// The NCCL form of DistributedParity: 2 processes on 2 GPUs, per-rank batch B, against 1 process with
// batch 2B on GPU 0. Needs a CUDA build with NCCL and two GPUs (NCCL refuses two ranks on one GPU).
TEST(DistributedNccl, TwoGpusMatchOneWithDoubleBatch) {
  if (!build_has_nccl()) GTEST_SKIP() << "built without NCCL";
  if (torch::cuda::device_count() < 2) GTEST_SKIP() << "needs 2 CUDA devices";
  const std::string dir = test::scratch_dir("ddp_nccl");
  ::setenv("RADDIAG_TEST_NCCL_OUT", dir.c_str(), 1);
  const int rc = launch_local(2, {current_executable(), "--gtest_filter=DistributedNcclWorker.Rank"});
  ::unsetenv("RADDIAG_TEST_NCCL_OUT");
  ASSERT_EQ(rc, 0) << "a rank failed";
  auto single = train_job(nullptr, 2 * kPerRankBatch, test::scratch_dir("ddp_nccl_single"), "cuda:0");
  for (int r = 0; r < 2; ++r) {
    std::vector<torch::Tensor> got;
    torch::load(got, dir + "/rank" + std::to_string(r) + ".pt");
    ASSERT_EQ(got.size(), single.size());
    // fp32 on GPUs: reduction order differs between a batch of 2B and two averaged batches of B.
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_TRUE(torch::allclose(got[i], single[i], 1e-4, 1e-5))
          << "rank " << r << " parameter " << i << " max diff " << (got[i] - single[i]).abs().max().item<float>();
  }
}

// Not a test on its own: one rank of DistributedAgentStore below.
TEST(DistributedAgentStoreWorker, Rank) {
  if (!std::getenv("RADDIAG_TEST_AGENT_STORE")) GTEST_SKIP() << "runs only as a rank launched by DistributedAgentStore";
  const auto env = DistEnv::from_environment();
  auto group = ProcessGroup::create(env, std::chrono::seconds(60));
  EXPECT_EQ(group->all_gather({env.rank + 40}), (std::vector<int64_t>{40, 41}));
  group->barrier();
}

// Under torchrun, the elastic agent already serves the store on MASTER_PORT and sets
// TORCHELASTIC_USE_AGENT_STORE=True: both ranks must connect to it as clients (rank 0 hosting its own
// store there would fail to bind), keeping to their own keys.
TEST(DistributedAgentStore, TorchrunsStoreIsUsedByEveryRank) {
#ifdef RADDIAG_TEST_HAVE_TCPSTORE
  if (!build_has_gloo()) GTEST_SKIP() << "built without Gloo";
  const int port = find_free_port();
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(port);
  so.isServer = true;
  so.waitWorkers = false;
  so.timeout = std::chrono::seconds(60);
  auto agent = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", so);  // what torchrun's agent hosts
  agent->set("0", std::vector<uint8_t>{7});                            // a key of the agent's own
  ::setenv("RADDIAG_TEST_AGENT_STORE", "1", 1);
  ::setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
  ::setenv("TORCHELASTIC_RESTART_COUNT", "0", 1);
  const int rc = launch_local(2, {current_executable(), "--gtest_filter=DistributedAgentStoreWorker.Rank"}, port);
  for (const char* v : {"RADDIAG_TEST_AGENT_STORE", "TORCHELASTIC_USE_AGENT_STORE", "TORCHELASTIC_RESTART_COUNT"}) ::unsetenv(v);
  EXPECT_EQ(rc, 0) << "a rank failed";
  EXPECT_EQ(agent->get("0"), std::vector<uint8_t>{7});  // the agent's key untouched
#else
  GTEST_SKIP() << "no c10d TCPStore header";
#endif
}
