#include "infer/preprocess_for.h"

namespace raddiag::infer {

data::PreprocessOptions preprocess_for(const model::ModelConfig& config, data::PreprocessOptions options) {
  options.size = config.size;
  options.depth = config.depth;
  options.n_image = config.fusion.mode == "late" ? 1 : config.n_image;
  options.validate();
  return options;
}

}  // namespace raddiag::infer
