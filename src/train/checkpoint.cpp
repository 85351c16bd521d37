#include "train/checkpoint.h"

#include <unistd.h>

#include <filesystem>
#include <random>
#include <sstream>

#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::train {

namespace fs = std::filesystem;

namespace {
std::vector<at::Generator> global_generators() {
  std::vector<at::Generator> gens{at::detail::getDefaultCPUGenerator()};
  if (torch::cuda::is_available())
    for (size_t i = 0; i < torch::cuda::device_count(); ++i)
      gens.push_back(at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i))));
  return gens;
}

void save_archive(const std::string& path, const std::function<void(torch::serialize::OutputArchive&)>& fill) {
  write_file_atomically(path, [&](const std::string& tmp) {
    torch::serialize::OutputArchive archive;
    fill(archive);
    archive.save_to(tmp);
  });
}
}  // namespace

void save_global_rng(torch::serialize::OutputArchive& archive) {
  auto gens = global_generators();
  for (size_t i = 0; i < gens.size(); ++i) {
    std::lock_guard<std::mutex> lock(gens[i].mutex());
    archive.write("generator_" + std::to_string(i), gens[i].get_state(), /*is_buffer=*/true);
  }
  archive.write("num_generators", torch::tensor(static_cast<int64_t>(gens.size())), true);
}

void load_global_rng(torch::serialize::InputArchive& archive, const std::string& source) {
  torch::Tensor n;
  if (!archive.try_read("num_generators", n)) throw Error(source, "no generator states");
  auto gens = global_generators();
  const int64_t saved = n.item<int64_t>();
  // A checkpoint from a CUDA machine resumed on CPU restores the CPU generator only (and vice versa).
  for (int64_t i = 0; i < std::min<int64_t>(saved, static_cast<int64_t>(gens.size())); ++i) {
    torch::Tensor state;
    if (!archive.try_read("generator_" + std::to_string(i), state)) throw Error(source, "missing generator " + std::to_string(i));
    std::lock_guard<std::mutex> lock(gens[i].mutex());
    gens[i].set_state(state);
  }
}

void save_checkpoint(const std::string& dir, torch::nn::Module& module, torch::optim::Optimizer* optimizer,
                     const nlohmann::json& state, bool save_rng, const std::vector<torch::Tensor>* averaged) {
  const fs::path final_dir(dir);
  std::random_device rd;
  std::ostringstream tmp_name;
  tmp_name << final_dir.filename().string() << ".tmp." << ::getpid() << "." << std::hex << rd();
  const fs::path tmp = final_dir.parent_path() / tmp_name.str();
  std::error_code ec;
  fs::create_directories(tmp, ec);
  if (ec) throw Error(tmp.string(), "cannot create checkpoint directory: " + ec.message());
  try {
    save_archive((tmp / "model.pt").string(), [&](auto& a) { module.save(a); });
    if (optimizer) save_archive((tmp / "optimizer.pt").string(), [&](auto& a) { optimizer->save(a); });
    if (save_rng) save_archive((tmp / "rng.pt").string(), [&](auto& a) { save_global_rng(a); });
    if (averaged)
      save_archive((tmp / "averaged.pt").string(), [&](auto& a) {
        a.write("count", torch::tensor(static_cast<int64_t>(averaged->size())), true);
        for (std::size_t i = 0; i < averaged->size(); ++i) a.write(std::to_string(i), (*averaged)[i], true);
      });
    // state.json last: its presence marks a complete checkpoint.
    write_bytes_atomically((tmp / "state.json").string(), state.dump(2) + "\n");
    if (fs::exists(final_dir) && !remove_tree(final_dir.string()))
      throw Error(final_dir.string(), "cannot replace the existing checkpoint");
    fs::rename(tmp, final_dir, ec);
    if (ec) throw Error(dir, "cannot move the checkpoint into place: " + ec.message());
  } catch (...) {
    remove_tree(tmp.string());
    throw;
  }
}

nlohmann::json load_checkpoint(const std::string& dir, torch::nn::Module& module, torch::optim::Optimizer* optimizer,
                               const LoadOptions& options) {
  const fs::path d(dir);
  const auto state_path = (d / "state.json").string();
  if (!fs::exists(state_path)) throw Error(dir, "not a complete checkpoint (no state.json)");
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(read_file_bytes(state_path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(state_path, std::string("not valid JSON: ") + e.what());
  }
  // Tensors are mapped to the module's device: a checkpoint written on a GPU resumes on a CPU-only
  // machine (and the reverse), and the optimiser state lands where the parameters are. Generator
  // states are CPU byte tensors whatever the device.
  const auto params = module.parameters();
  const torch::Device module_device = params.empty() ? torch::Device(torch::kCPU) : params.front().device();
  auto load = [&](const std::string& file, const std::function<void(torch::serialize::InputArchive&)>& use,
                  torch::Device map_to) {
    const auto p = (d / file).string();
    if (!fs::exists(p)) throw Error(p, "missing from the checkpoint");
    try {
      torch::serialize::InputArchive archive;
      archive.load_from(p, map_to);
      use(archive);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(p, std::string("cannot restore: ") + e.what());
    }
  };
  load("model.pt", [&](auto& a) { module.load(a); }, module_device);
  if (options.optimizer && optimizer) load("optimizer.pt", [&](auto& a) { optimizer->load(a); }, module_device);
  if (options.rng) load("rng.pt", [&](auto& a) { load_global_rng(a, (d / "rng.pt").string()); }, torch::kCPU);
  if (options.averaged_weights && fs::exists(d / "averaged.pt")) {
    const auto averaged = load_averaged_tensors(dir);
    std::vector<torch::Tensor> live;
    for (auto& p : module.parameters()) live.push_back(p);
    for (auto& b : module.buffers()) live.push_back(b);
    if (live.size() != averaged.size())
      throw Error((d / "averaged.pt").string(), "holds " + std::to_string(averaged.size()) + " tensors, the model has " +
                                                     std::to_string(live.size()));
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < live.size(); ++i) {
      if (!live[i].sizes().equals(averaged[i].sizes()))
        throw Error((d / "averaged.pt").string(), "tensor " + std::to_string(i) + " has another shape than the model's");
      live[i].detach().copy_(averaged[i]);
    }
  }
  return state;
}

std::vector<torch::Tensor> load_averaged_tensors(const std::string& dir) {
  const fs::path p = fs::path(dir) / "averaged.pt";
  std::vector<torch::Tensor> out;
  if (!fs::exists(p)) return out;
  try {
    torch::serialize::InputArchive a;
    a.load_from(p.string(), torch::kCPU);
    torch::Tensor n;
    if (!a.try_read("count", n)) throw Error(p.string(), "no tensor count");
    for (int64_t i = 0; i < n.item<int64_t>(); ++i) {
      torch::Tensor t;
      if (!a.try_read(std::to_string(i), t)) throw Error(p.string(), "missing tensor " + std::to_string(i));
      out.push_back(t);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(p.string(), std::string("cannot restore: ") + e.what());
  }
  return out;
}

}  // namespace raddiag::train
