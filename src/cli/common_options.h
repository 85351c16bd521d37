#pragma once
// Options that several subcommands share, declared once so that their names, help texts and effects
// agree everywhere: the inference runtime (predict, diagnose, evaluate), where a manifest's images are
// (predict, evaluate), --classes, and the overrides of a training run (train, finetune).
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "data/case_sources.h"
#include "infer/predictor.h"
#include "io/read_options.h"
#include "model/model_file.h"

namespace raddiag::train {
struct RunConfig;
}

namespace raddiag::cli {

// --device, --tf32, --threads, --precision, --tta, --draws, --ensemble: how the model runs.
struct DeviceOptions {
  std::string device = "cpu";
  bool tf32 = false;
  int threads = 0;
  std::string precision = "fp32";
  std::string tta = "none";
  int64_t draws = infer::kProductDraws;
  std::vector<std::string> ensemble;  // more model files, logits averaged with --model's
};
void add_device_options(CLI::App& sub, DeviceOptions& o);
// Sets the intra-op threads and the CUDA TF32 switch; call before loading a model.
void apply_device_options(const DeviceOptions& o);
// How the inference commands run the model: BatchNorm folded, --precision, --tta, --draws.
infer::InferenceOptions inference_options(const DeviceOptions& o);

// --prefetch N: worker threads that read and preprocess the next cases while the model runs.
void add_prefetch_option(CLI::App& sub, int& workers);
// "predict: 100 cases in 61.2 s; model 57.0 s (93.1 %), waiting for input 3.9 s".
std::string describe_timing(const infer::PredictTiming& t);

// --data-root, --prefix, --modality.
void add_case_source_options(CLI::App& sub, data::CaseSourceOptions& o);

// --classes FILE_OR_LIST; `what` starts its help ("score these classes").
void add_classes_option(CLI::App& sub, std::string& classes, const std::string& what);

// --max-input-bytes: the per-input memory budget of the readers (e.g. 512M, 8G), into o.max_voxel_bytes.
void add_max_input_bytes_option(CLI::App& sub, io::ReadOptions& o);
// serve::load_model_with_classes, writing "<label>: <summary>" of a class selection to `log`.
model::ModelBundle load_model_logged(const std::string& model_path, const std::string& classes, std::ostream& log,
                                     const std::string& label);

// Overrides of a training run's config; negative or empty = not given.
struct TrainOverrides {
  int64_t steps = -1, seed = -1, fold = -1;
  double lr = -1;
  int batch = -1, workers = -1;
  std::string device, dist_backend, init_from;
  int nproc = 1;
  bool quiet = false;
};
// --steps --lr --batch --workers --device --seed --fold --init-from --nproc --dist-backend -q.
void add_train_overrides(CLI::App& sub, TrainOverrides& o);
void apply_train_overrides(const TrainOverrides& o, train::RunConfig& cfg);
// The given overrides as arguments for the ranks that --nproc starts (everything but --nproc).
std::vector<std::string> train_override_args(const TrainOverrides& o);

}  // namespace raddiag::cli
