#include "train/run_dir.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::train {

namespace fs = std::filesystem;

namespace {
constexpr const char* kPrefix = "step-";

// "step-00000100" -> 100; anything else (including "step-00000100.tmp...") -> nullopt.
std::optional<int64_t> parse_step_dir(const std::string& name) {
  if (name.rfind(kPrefix, 0) != 0) return std::nullopt;
  const std::string digits = name.substr(5);
  if (digits.empty() || digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return std::nullopt;
  return std::stoll(digits);
}
}  // namespace

RunDir::RunDir(std::string path, bool create) : path_(std::move(path)) {
  if (path_.empty()) throw Error("run directory", "empty path");
  if (create) {
    std::error_code ec;
    fs::create_directories(checkpoints_dir(), ec);
    if (ec) throw Error(path_, "cannot create run directory: " + ec.message());
  }
}

std::string RunDir::checkpoints_dir() const { return (fs::path(path_) / "checkpoints").string(); }
std::string RunDir::log_path() const { return (fs::path(path_) / "log.jsonl").string(); }

std::string RunDir::checkpoint_path(int64_t step) const {
  char name[40];
  std::snprintf(name, sizeof name, "%s%08lld", kPrefix, static_cast<long long>(step));
  return (fs::path(checkpoints_dir()) / name).string();
}

void RunDir::write_config(const nlohmann::json& config) const {
  write_bytes_atomically((fs::path(path_) / "config.json").string(), config.dump(2) + "\n");
}

std::optional<nlohmann::json> RunDir::read_config() const {
  const auto p = fs::path(path_) / "config.json";
  if (!fs::exists(p)) return std::nullopt;
  try {
    return nlohmann::json::parse(read_file_bytes(p.string()));
  } catch (const nlohmann::json::exception& e) {
    throw Error(p.string(), std::string("not valid JSON: ") + e.what());
  }
}

void RunDir::append_log(const nlohmann::json& record) const {
  std::ofstream out(log_path(), std::ios::app);
  if (!out) throw Error(log_path(), "cannot open for appending");
  out << record.dump() << '\n';
  out.flush();
}

std::vector<nlohmann::json> RunDir::read_log() const {
  std::vector<nlohmann::json> out;
  std::ifstream in(log_path());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception&) {
      // A torn last line after a crash: ignore it.
    }
  }
  return out;
}

std::vector<int64_t> RunDir::checkpoint_steps() const {
  std::vector<int64_t> steps;
  std::error_code ec;
  if (!fs::is_directory(checkpoints_dir(), ec)) return steps;
  for (const auto& e : fs::directory_iterator(checkpoints_dir(), ec)) {
    if (!e.is_directory()) continue;
    auto s = parse_step_dir(e.path().filename().string());
    if (s && fs::exists(e.path() / "state.json")) steps.push_back(*s);
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

std::optional<int64_t> RunDir::latest_checkpoint() const {
  auto steps = checkpoint_steps();
  if (steps.empty()) return std::nullopt;
  return steps.back();
}

void RunDir::write_best(const nlohmann::json& best) const {
  write_bytes_atomically((fs::path(path_) / "best.json").string(), best.dump(2) + "\n");
}

std::optional<nlohmann::json> RunDir::read_best() const {
  const auto p = fs::path(path_) / "best.json";
  if (!fs::exists(p)) return std::nullopt;
  try {
    return nlohmann::json::parse(read_file_bytes(p.string()));
  } catch (const nlohmann::json::exception& e) {
    throw Error(p.string(), std::string("not valid JSON: ") + e.what());
  }
}

void RunDir::prune(int keep_last, std::optional<int64_t> keep_step) const {
  std::error_code ec;
  // Leftovers of an interrupted save.
  for (const auto& e : fs::directory_iterator(checkpoints_dir(), ec))
    if (e.path().filename().string().find(".tmp") != std::string::npos) remove_tree(e.path().string());
  auto steps = checkpoint_steps();
  const int64_t n = static_cast<int64_t>(steps.size());
  for (int64_t i = 0; i < n - std::max(keep_last, 1); ++i) {
    if (keep_step && steps[i] == *keep_step) continue;
    remove_tree(checkpoint_path(steps[i]));
  }
}

}  // namespace raddiag::train
