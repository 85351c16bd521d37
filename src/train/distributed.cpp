#include "train/distributed.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "util/error.h"

#if __has_include(<gloo/context.h>)
#define RADDIAG_HAVE_GLOO 1
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#else
#define RADDIAG_HAVE_GLOO 0
#endif

// Set by CMake for a CUDA libtorch with nccl.h found (cmake/Dependencies.cmake).
#ifdef RADDIAG_WITH_NCCL
#define RADDIAG_HAVE_NCCL 1
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#else
#define RADDIAG_HAVE_NCCL 0
#endif

#if RADDIAG_HAVE_GLOO || RADDIAG_HAVE_NCCL
#define RADDIAG_HAVE_C10D 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#else
#define RADDIAG_HAVE_C10D 0
#endif

extern char** environ;

namespace raddiag::train {

namespace {
int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  if (errno || *end || x < 0 || x > 1 << 30) throw Error(std::string("environment variable ") + name, std::string("not a valid integer: '") + v + "'");
  return static_cast<int>(x);
}
}  // namespace

DistEnv DistEnv::from_environment() {
  struct Launcher {
    const char *name, *rank, *world, *local;
    bool needs_local;         // taken only when its local-rank variable is set too
    const char* local_world;  // ranks on this machine (nullptr: not given)
  };
  // MPICH / Intel MPI's Hydra starts its proxies through srun inside a Slurm allocation, so its ranks
  // also inherit the proxies' Slurm step variables (one task per node): Hydra's own variables, recognised
  // by MPI_LOCALRANKID, must come before Slurm's. srun's PMI plugin sets PMI_* without it: Slurm's then.
  static const Launcher kLaunchers[] = {
      {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", false, "LOCAL_WORLD_SIZE"},
      {"Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", false, "OMPI_COMM_WORLD_LOCAL_SIZE"},
      {"MPICH", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", true, "MPI_LOCALNRANKS"},
      {"Slurm", "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID", false, nullptr},
      {"PMI", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", false, "MPI_LOCALNRANKS"},
  };
  DistEnv e;
  for (const auto& l : kLaunchers) {
    const char* w = std::getenv(l.world);
    if (!w || !*w) continue;
    if (l.needs_local && !std::getenv(l.local)) continue;
    e.launcher = l.name;
    e.world_size = env_int(l.world, 1);
    e.rank = env_int(l.rank, 0);
    e.local_rank = env_int(l.local, e.rank);
    if (l.local_world) e.local_world_size = env_int(l.local_world, 0);
    break;
  }
  e.master_port = env_int("MASTER_PORT", 29500);
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) e.master_addr = a;
  if (e.world_size < 1) throw Error("WORLD_SIZE", "must be >= 1");
  if (e.rank >= e.world_size) throw Error("RANK", std::to_string(e.rank) + " is not below WORLD_SIZE " + std::to_string(e.world_size));
  if (e.master_port < 1 || e.master_port > 65535) throw Error("MASTER_PORT", "must be in 1..65535");
  return e;
}

CommBackend parse_comm_backend(const std::string& name, const std::string& what) {
  if (name == "auto") return CommBackend::kAuto;
  if (name == "gloo") return CommBackend::kGloo;
  if (name == "nccl") return CommBackend::kNccl;
  throw Error(what, "unknown backend '" + name + "' (use auto, gloo or nccl)");
}

std::string comm_backend_name(CommBackend b) {
  switch (b) {
    case CommBackend::kGloo: return "gloo";
    case CommBackend::kNccl: return "nccl";
    case CommBackend::kAuto: break;
  }
  return "auto";
}

bool build_has_gloo() { return RADDIAG_HAVE_GLOO != 0; }
bool build_has_nccl() { return RADDIAG_HAVE_NCCL != 0; }

CommBackend resolve_comm_backend(CommBackend requested, const torch::Device& device, bool have_gloo, bool have_nccl) {
  const std::string no_gloo = "this build has no Gloo headers (install libgloo-dev and rebuild)";
  const std::string no_nccl = "this build has no NCCL (configure against a CUDA libtorch with nccl.h findable; docs/cuda.md)";
  switch (requested) {
    case CommBackend::kAuto:
      if (device.is_cuda() && have_nccl) return CommBackend::kNccl;
      if (have_gloo) return CommBackend::kGloo;
      throw Error("distributed", (device.is_cuda() ? "neither NCCL nor Gloo: " + no_nccl + ", and " + no_gloo : no_gloo) +
                                     "; only single-process training");
    case CommBackend::kGloo:
      if (!have_gloo) throw Error("dist_backend gloo", no_gloo);
      return CommBackend::kGloo;
    case CommBackend::kNccl:
      if (!have_nccl) throw Error("dist_backend nccl", no_nccl);
      if (!device.is_cuda()) throw Error("dist_backend nccl", "NCCL moves CUDA tensors only, and this run's device is " + device.str());
      return CommBackend::kNccl;
  }
  throw Error("dist_backend", "unknown backend");
}

torch::Device nccl_rank_device(const torch::Device& requested, int local_rank, int64_t device_count, int local_world_size) {
  if (!requested.is_cuda()) throw Error("dist_backend nccl", "NCCL moves CUDA tensors only, and this run's device is " + requested.str());
  if (requested.has_index() && local_world_size > 1 && requested.index() != local_rank)
    throw Error("dist_backend nccl", "--device " + requested.str() + " with " + std::to_string(local_world_size) +
                                         " ranks on this machine would put them all on one GPU: give --device cuda (rank i "
                                         "then takes cuda:LOCAL_RANK), or restrict the GPUs with CUDA_VISIBLE_DEVICES");
  const int64_t index = requested.has_index() ? requested.index() : local_rank;
  if (index >= device_count)
    throw Error("dist_backend nccl", "rank with LOCAL_RANK " + std::to_string(local_rank) + " needs cuda:" + std::to_string(index) +
                                         ", but this machine has " + std::to_string(device_count) +
                                         " CUDA device(s): start at most that many ranks per machine (NCCL cannot share a GPU "
                                         "between ranks), or use dist_backend gloo");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

struct ProcessGroup::Impl {
  // NCCL: this rank's GPU, where every collective runs. Gloo: none (tensors stay where they are).
  std::optional<torch::Device> comm_device;
#if RADDIAG_HAVE_C10D
  c10::intrusive_ptr<c10d::Store> store;
#endif
#if RADDIAG_HAVE_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#if RADDIAG_HAVE_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif

#if RADDIAG_HAVE_C10D
  // Starts one collective, issued by `op` on whichever backend this group has. Both backends have the
  // same collective signatures (c10d::ProcessGroup in 1.13, c10d::Backend in 2.x).
  template <class Op>
  c10::intrusive_ptr<c10d::Work> start(Op&& op) {
    c10::intrusive_ptr<c10d::Work> work;
#if RADDIAG_HAVE_GLOO
    if (gloo) work = op(*gloo);
#endif
#if RADDIAG_HAVE_NCCL
    if (nccl) work = op(*nccl);
#endif
    if (!work) throw Error("distributed", "collective on a group without a backend");
    return work;
  }
  static void finish(const c10::intrusive_ptr<c10d::Work>& work) {
    bool ok = false;
    try {
      ok = work->wait();
    } catch (const std::exception& e) {
      throw Error("distributed", std::string("collective operation failed: ") + e.what());
    }
    if (!ok) throw Error("distributed", "collective operation failed");
  }
  // Runs one collective and waits for it.
  template <class Op>
  void run(Op&& op) {
    finish(start(std::forward<Op>(op)));
  }
#endif

  // The tensor a collective works on: `t` itself when it is contiguous and on the backend's device,
  // else a contiguous copy there (write_back() then copies the result into `t`).
  torch::Tensor staged(const torch::Tensor& t) const {
    torch::Tensor c = comm_device && t.device() != *comm_device ? t.to(*comm_device) : t;
    return c.is_contiguous() ? c : c.contiguous();
  }
  static void write_back(torch::Tensor& t, const torch::Tensor& staged) {
    if (!staged.is_same(t)) t.copy_(staged);
  }
};

ProcessGroup::~ProcessGroup() = default;

std::shared_ptr<ProcessGroup> ProcessGroup::create(const DistEnv& env, std::chrono::milliseconds timeout) {
  ProcessGroupOptions o;
  o.backend = CommBackend::kGloo;
  o.timeout = timeout;
  return create(env, o);
}

std::shared_ptr<ProcessGroup> ProcessGroup::create(const DistEnv& env, const ProcessGroupOptions& options) {
  std::shared_ptr<ProcessGroup> g(new ProcessGroup());
  g->rank_ = env.rank;
  g->world_ = env.world_size;
  g->impl_ = std::make_unique<Impl>();
  // A single process has no backend and every collective is the identity (unless asked for one).
  if (env.world_size == 1 && !options.backend_for_single_process) return g;
  const CommBackend backend = resolve_comm_backend(options.backend, options.device, build_has_gloo(), build_has_nccl());
  g->backend_ = backend;
#if RADDIAG_HAVE_C10D
  const auto timeout = options.timeout;
  try {
    // torchrun's elastic agent hosts the store itself on MASTER_PORT and says so with
    // TORCHELASTIC_USE_AGENT_STORE=True: then every rank is a client (rank 0 binding the same port would
    // fail), and our keys get a prefix of their own per restart, as the agent's store outlives restarts.
    const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
    const bool agent_store = agent && std::string(agent) == "True";
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(env.master_port);
    so.isServer = env.rank == 0 && !agent_store;
    so.numWorkers = static_cast<int>(env.world_size);  // size_t in libtorch 1.13, std::optional<int> in 2.x
    so.waitWorkers = true;
    so.timeout = timeout;
    g->impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    if (agent_store) {
      const char* restart = std::getenv("TORCHELASTIC_RESTART_COUNT");
      g->impl_->store = c10::make_intrusive<c10d::PrefixStore>(std::string("raddiag/") + (restart && *restart ? restart : "0"),
                                                               g->impl_->store);
    }
#if RADDIAG_HAVE_GLOO
    if (backend == CommBackend::kGloo) {
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      // The transport device is this host's: GLOO_SOCKET_IFNAME when set (as torch.distributed), loopback
      // for a single-machine run, else the address this host's name resolves to.
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      const bool loopback = env.master_addr == "127.0.0.1" || env.master_addr == "localhost";
      opts->devices.push_back(ifname && *ifname ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                              : loopback        ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                                : c10d::ProcessGroupGloo::createDefaultDevice());
      opts->threads = 2;
      g->impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(g->impl_->store, env.rank, env.world_size, opts);
    }
#endif
#if RADDIAG_HAVE_NCCL
    if (backend == CommBackend::kNccl) {
      // NCCL binds a communicator to the current device: make it this rank's GPU before the first
      // collective (the communicators are created lazily, on that collective).
      const torch::Device dev = nccl_rank_device(options.device, env.local_rank, static_cast<int64_t>(torch::cuda::device_count()),
                                                  env.local_world_size);
      c10::cuda::set_device(dev.index());
      g->impl_->comm_device = dev;
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      g->impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(g->impl_->store, env.rank, env.world_size, opts);
    }
#endif
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("distributed rendezvous at " + env.master_addr + ":" + std::to_string(env.master_port),
                std::string(e.what()).substr(0, 400));
  }
#endif
  return g;
}

void ProcessGroup::broadcast(torch::Tensor& t, int root) {
  if (solo()) return;
#if RADDIAG_HAVE_C10D
  std::vector<at::Tensor> v{impl_->staged(t)};
  c10d::BroadcastOptions o;
  o.rootRank = root;
  impl_->run([&](auto& pg) { return pg.broadcast(v, o); });
  Impl::write_back(t, v[0]);
#endif
}

void ProcessGroup::all_reduce_sum(torch::Tensor& t) {
  if (solo()) return;
#if RADDIAG_HAVE_C10D
  std::vector<at::Tensor> v{impl_->staged(t)};
  impl_->run([&](auto& pg) { return pg.allreduce(v); });
  Impl::write_back(t, v[0]);
#endif
}

PendingCollective::~PendingCollective() {
  try {
    wait();
  } catch (const std::exception&) {  // never throw from a destructor; the error was the caller's to see
  }
}

void PendingCollective::wait() {
  if (!finish_) return;
  auto f = std::move(finish_);
  finish_ = nullptr;
  f();
}

PendingCollective ProcessGroup::start_all_reduce_sum(torch::Tensor t) {
  if (solo()) return {};
#if RADDIAG_HAVE_C10D
  auto v = std::make_shared<std::vector<at::Tensor>>(std::vector<at::Tensor>{impl_->staged(t)});
  auto work = impl_->start([&](auto& pg) { return pg.allreduce(*v); });
  return PendingCollective([work, v, t]() mutable {
    Impl::finish(work);
    Impl::write_back(t, (*v)[0]);
  });
#else
  return {};
#endif
}

void ProcessGroup::barrier() {
  if (solo()) return;
#if RADDIAG_HAVE_C10D
  c10d::BarrierOptions o;
  if (impl_->comm_device) o.device_ids = {impl_->comm_device->index()};  // NCCL: no guessing the GPU from the rank
  impl_->run([&](auto& pg) { return pg.barrier(o); });
#endif
}

void ProcessGroup::broadcast_module(torch::nn::Module& module, int root) {
  if (solo()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors;
  for (auto& p : module.parameters()) tensors.push_back(p);
  for (auto& b : module.buffers()) tensors.push_back(b);
  for (auto& t : tensors) {
    // Broadcast a contiguous copy, then write it back (parameters may be views or non-contiguous).
    torch::Tensor c = t.detach().contiguous().clone();
    broadcast(c, root);
    t.detach().copy_(c);
  }
}

void ProcessGroup::average_gradients(const std::vector<torch::Tensor>& params, size_t bucket_bytes) {
  if (solo()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  size_t i = 0;
  while (i < grads.size()) {
    // A bucket: consecutive gradients of one dtype and device, up to bucket_bytes (at least one).
    size_t j = i, bytes = 0;
    std::vector<torch::Tensor> flat;
    while (j < grads.size() && grads[j].scalar_type() == grads[i].scalar_type() && grads[j].device() == grads[i].device() &&
           (flat.empty() || bytes + grads[j].nbytes() <= bucket_bytes)) {
      flat.push_back(grads[j].reshape({-1}));
      bytes += grads[j].nbytes();
      ++j;
    }
    torch::Tensor bucket = torch::cat(flat);
    all_reduce_sum(bucket);
    bucket.div_(static_cast<double>(world_));
    int64_t off = 0;
    for (size_t k = i; k < j; ++k) {
      const int64_t n = grads[k].numel();
      grads[k].copy_(bucket.narrow(0, off, n).view_as(grads[k]));
      off += n;
    }
    i = j;
  }
}

bool ProcessGroup::any(bool flag) {
  if (solo()) return flag;
  torch::Tensor t = torch::tensor(flag ? 1.0f : 0.0f);
  all_reduce_sum(t);
  return t.item<float>() > 0;
}

std::vector<int64_t> ProcessGroup::all_gather(const std::vector<int64_t>& values) {
  if (solo()) return values;
  const int64_t n = static_cast<int64_t>(values.size());
  // Every rank writes its slice into a zero tensor; a sum all-reduce then assembles the whole.
  torch::Tensor all = torch::zeros({world_ * n}, torch::kLong);
  for (int64_t k = 0; k < n; ++k) all[rank_ * n + k] = values[k];
  all_reduce_sum(all);
  return std::vector<int64_t>(all.data_ptr<int64_t>(), all.data_ptr<int64_t>() + all.numel());
}

torch::Tensor ProcessGroup::all_gather_tensor(const torch::Tensor& t) {
  torch::Tensor in = t.contiguous();
  if (solo()) return in.unsqueeze(0).clone();
#if RADDIAG_HAVE_C10D
  std::vector<at::Tensor> inputs{impl_->staged(in)};
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < world_; ++r) outputs[0].push_back(torch::empty_like(inputs[0]));
  impl_->run([&](auto& pg) { return pg.allgather(outputs, inputs); });
  return torch::stack(outputs[0]).to(in.device());
#else
  return in.unsqueeze(0).clone();
#endif
}

int find_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("find_free_port", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string err = std::strerror(errno);
    ::close(fd);
    throw Error("find_free_port", err);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string current_executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("/proc/self/exe", "cannot resolve the running executable: " + ec.message());
  return p.string();
}

int launch_local(int nproc, const std::vector<std::string>& argv, int master_port) {
  if (nproc < 1) throw Error("--nproc", "must be >= 1");
  if (argv.empty()) throw Error("launch_local", "no program given");
  const int port = master_port > 0 ? master_port : find_free_port();
  std::map<std::string, std::string> base;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) base[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  std::vector<pid_t> pids;
  for (int r = 0; r < nproc; ++r) {
    auto env = base;
    env["MASTER_ADDR"] = "127.0.0.1";
    env["MASTER_PORT"] = std::to_string(port);
    env["RANK"] = env["LOCAL_RANK"] = std::to_string(r);
    env["WORLD_SIZE"] = env["LOCAL_WORLD_SIZE"] = std::to_string(nproc);
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp, args;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (auto& s : argv_copy) args.push_back(s.data());
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, argv_copy[0].c_str(), nullptr, nullptr, args.data(), envp.data());
    if (rc != 0) {
      for (pid_t p : pids) ::kill(p, SIGTERM);
      for (pid_t p : pids) ::waitpid(p, nullptr, 0);
      throw Error(argv[0], std::string("cannot start rank ") + std::to_string(r) + ": " + std::strerror(rc));
    }
    pids.push_back(pid);
  }
  // Ctrl-C reaches the children through the terminal's process group; the launcher itself only waits.
  struct sigaction ignore {}, old_int {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ignore, &old_int);
  int result = 0;
  size_t alive = pids.size();
  while (alive > 0) {
    bool reaped = false;
    for (auto& q : pids) {
      if (q <= 0) continue;
      int status = 0;
      const pid_t p = ::waitpid(q, &status, WNOHANG);  // only our children, never the caller's others
      if (p == 0 || (p < 0 && errno == EINTR)) continue;
      q = -1;
      --alive;
      reaped = true;
      const int code = p < 0 ? 1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (code != 0 && result == 0) {
        result = code;
        for (pid_t other : pids)
          if (other > 0) ::kill(other, SIGTERM);  // a failed rank would leave the others blocked in a collective
      }
    }
    if (!reaped) ::usleep(20000);
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  return result;
}

infer::ShardGroup shard_group(ProcessGroup* group) {
  infer::ShardGroup g;
  if (!group) return g;
  g.rank = group->rank();
  g.world = group->world_size();
  g.all_gather = [group](const torch::Tensor& t) { return group->all_gather_tensor(t); };
  return g;
}

}  // namespace raddiag::train
