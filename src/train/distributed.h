#pragma once
// Data-parallel training over libtorch's c10d: ProcessGroupGloo (CPU tensors; a CUDA libtorch's Gloo
// also moves CUDA tensors) or ProcessGroupNCCL (CUDA builds; every collective runs on this rank's GPU).
// Rendezvous uses the torchrun environment: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK;
// rank 0 hosts the TCPStore. Parameters and buffers are broadcast from rank 0 at start; gradients are
// averaged across ranks in ~25 MB flat buckets, either after backward (average_gradients) or while it
// runs (train/gradient_reducer.h, on async all-reduces).
// Debian's libtorch 1.13 exports ProcessGroupGloo and TCPStore from libtorch_cpu.so; the Gloo headers
// come from libgloo-dev (scripts/install-deps.sh). NCCL is compiled in when CMake finds a CUDA libtorch
// and nccl.h (RADDIAG_WITH_NCCL; docs/cuda.md). A backend the build lacks is a clear error at create().
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "infer/sharded_predict.h"

namespace raddiag::train {

struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int local_world_size = 0;       // ranks on this machine; 0 = the launcher does not say (Slurm)
  std::string launcher = "none";  // whose variables gave rank and world size
  // Rank, world size and local rank from the first launcher whose world-size variable is set:
  //   torchrun / --nproc   RANK, WORLD_SIZE, LOCAL_RANK
  //   Open MPI (mpirun)    OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_LOCAL_RANK
  //   Slurm (srun)         SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID (srun's step variables,
  //                        not the allocation's SLURM_NTASKS, which a plain batch script also has)
  //   MPICH / Intel MPI    PMI_RANK, PMI_SIZE, MPI_LOCALRANKID (before Slurm's when MPI_LOCALRANKID is
  //                        set: Hydra under Slurm leaves its proxies' step variables in the ranks' env)
  // MASTER_ADDR and MASTER_PORT come from the environment in every case (export them for a multi-node
  // mpirun or srun). None set = single process. Malformed values throw raddiag::Error.
  static DistEnv from_environment();
  bool distributed() const { return world_size > 1; }
};

// The c10d backend of a process group. kAuto: NCCL when the run's device is CUDA and the build has NCCL,
// else Gloo.
enum class CommBackend { kAuto, kGloo, kNccl };
// "auto" | "gloo" | "nccl"; anything else throws raddiag::Error naming `what`.
CommBackend parse_comm_backend(const std::string& name, const std::string& what = "dist_backend");
std::string comm_backend_name(CommBackend b);
// What this build was compiled with.
bool build_has_gloo();
bool build_has_nccl();
// The backend a group for `device` uses: kAuto resolved as above; an explicit choice is checked against
// the build and the device (NCCL needs a CUDA device). Throws raddiag::Error saying why not.
CommBackend resolve_comm_backend(CommBackend requested, const torch::Device& device, bool have_gloo, bool have_nccl);

// The GPU an NCCL rank runs on: `requested` when it names one, else cuda:LOCAL_RANK. NCCL refuses two
// ranks on one GPU, so these are errors that say so, instead of NCCL's "duplicate GPU" at the first
// collective: a rank without a GPU of its own (local_rank >= device_count), and, with several ranks on
// the machine (local_world_size > 1), a named GPU other than cuda:LOCAL_RANK (every rank got the same
// command line, so they would all name the same GPU).
torch::Device nccl_rank_device(const torch::Device& requested, int local_rank, int64_t device_count, int local_world_size = 0);

struct ProcessGroupOptions {
  CommBackend backend = CommBackend::kAuto;
  // The training device of this rank. NCCL makes it the current CUDA device and runs every collective
  // there; tensors elsewhere (the CPU flags and positions the trainer exchanges) are copied over and back.
  torch::Device device = torch::kCPU;
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
  // Build the backend even for a world of one, so that every collective really runs (a smoke test of a
  // backend on one machine with one device). Otherwise a single process gets no backend.
  bool backend_for_single_process = false;
};

// A collective in flight (ProcessGroup::start_all_reduce_sum). wait() blocks until it is done, copies a
// staged result back into the caller's tensor, and throws raddiag::Error when it failed. Waiting twice is
// a no-op; a pending collective that is never waited for is waited for by the destructor.
class PendingCollective {
 public:
  PendingCollective() = default;
  explicit PendingCollective(std::function<void()> finish) : finish_(std::move(finish)) {}
  PendingCollective(PendingCollective&& o) noexcept : finish_(std::move(o.finish_)) { o.finish_ = nullptr; }
  // Waits for the collective this one still holds before taking over `o`'s.
  PendingCollective& operator=(PendingCollective&& o) {
    if (this != &o) {
      wait();
      finish_ = std::move(o.finish_);
      o.finish_ = nullptr;
    }
    return *this;
  }
  ~PendingCollective();
  void wait();

 private:
  std::function<void()> finish_;
};

class ProcessGroup {
 public:
  static std::shared_ptr<ProcessGroup> create(const DistEnv& env, const ProcessGroupOptions& options);
  // Gloo on the CPU.
  static std::shared_ptr<ProcessGroup> create(const DistEnv& env, std::chrono::milliseconds timeout = std::chrono::minutes(5));
  ~ProcessGroup();

  // The backend in use (kAuto resolved); a world of one has none and reports kAuto.
  CommBackend backend() const { return backend_; }
  // No backend: every collective is the identity.
  bool solo() const { return backend_ == CommBackend::kAuto; }
  int rank() const { return rank_; }
  int world_size() const { return world_; }
  bool is_main() const { return rank_ == 0; }

  // Copies rank `root`'s parameters and buffers into every rank's module.
  void broadcast_module(torch::nn::Module& module, int root = 0);
  // Averages the gradients of `params` over ranks. A parameter without a gradient on this rank counts
  // as a zero gradient (and gets one), so all ranks always exchange the same buckets.
  void average_gradients(const std::vector<torch::Tensor>& params, size_t bucket_bytes = size_t(25) << 20);
  void all_reduce_sum(torch::Tensor& t);
  // Starts a sum all-reduce of `t` in place and returns at once (for overlapping communication with
  // computation). Collectives must still be started in the same order on every rank.
  PendingCollective start_all_reduce_sum(torch::Tensor t);
  void broadcast(torch::Tensor& t, int root = 0);
  // True when `flag` is true on any rank (used to stop every rank at the same step).
  bool any(bool flag);
  // Every rank's values, concatenated in rank order (each rank must pass the same count).
  std::vector<int64_t> all_gather(const std::vector<int64_t>& values);
  // c10d all-gather of one tensor (same shape and dtype on every rank): [world, ...t.shape], rank order.
  torch::Tensor all_gather_tensor(const torch::Tensor& t);
  void barrier();

 private:
  ProcessGroup() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0;
  int world_ = 1;
  CommBackend backend_ = CommBackend::kAuto;
};

// An unused TCP port on 127.0.0.1 (bind to port 0 and read it back).
int find_free_port();

// Runs `nproc` copies of the program argv[0] with argv[1..] on this machine, each with MASTER_ADDR=127.0.0.1,
// MASTER_PORT (a free port when master_port <= 0), RANK=LOCAL_RANK=i, WORLD_SIZE=LOCAL_WORLD_SIZE=nproc.
// Waits for all; when one fails, the others are terminated. Returns 0 when every copy succeeded, else
// the first non-zero exit status (128+signal for a killed process).
int launch_local(int nproc, const std::vector<std::string>& argv, int master_port = 0);

// The path of the running executable (/proc/self/exe), for launch_local.
std::string current_executable();

// The group as the inference layer's ShardGroup (infer::predict_sharded): rank, world size and its
// all-gather; a world of one without a group.
infer::ShardGroup shard_group(ProcessGroup* group);

}  // namespace raddiag::train
