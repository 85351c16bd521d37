#pragma once
// A run folder: everything one training run leaves behind, so a run can be inspected, resumed or
// evaluated later.
//   <run>/config.json              the full configuration (written atomically)
//   <run>/log.jsonl                one JSON object per logged step and per validation
//   <run>/best.json                which checkpoint is best by the validation metric
//   <run>/checkpoints/step-00000100/   complete checkpoints (a directory appears only when complete)
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace raddiag::train {

class RunDir {
 public:
  // Creates the folders when `create` is true (rank 0); other ranks only read.
  explicit RunDir(std::string path, bool create = true);

  const std::string& path() const { return path_; }
  std::string checkpoints_dir() const;
  std::string log_path() const;
  std::string checkpoint_path(int64_t step) const;

  void write_config(const nlohmann::json& config) const;
  std::optional<nlohmann::json> read_config() const;
  // Appends one line and flushes it, so a crash loses at most the line being written.
  void append_log(const nlohmann::json& record) const;
  std::vector<nlohmann::json> read_log() const;

  // Steps of the complete checkpoints, ascending (temporary or half-written ones are ignored).
  std::vector<int64_t> checkpoint_steps() const;
  std::optional<int64_t> latest_checkpoint() const;

  // Best checkpoint bookkeeping: {"step", "metric", "value"}.
  void write_best(const nlohmann::json& best) const;
  std::optional<nlohmann::json> read_best() const;

  // Deletes all but the newest `keep_last` checkpoints, never `keep_step` (the best). Also removes
  // temporary directories left by a crash.
  void prune(int keep_last, std::optional<int64_t> keep_step) const;

 private:
  std::string path_;
};

}  // namespace raddiag::train
