#pragma once
// Official RadDiag checkpoint (HF Trainer `pytorch_model.bin`) <-> our module names (reference 3).
// The official state_dict also holds entries the forward never uses: the transformer templates
// (`multi_headed_attention`, `feed_forward`, `encoder_layer.*`, the last 12 of them aliases of the first
// 12), every `sublayer.0.norm`, and `resnet2D.fc`. The importer checks their shapes and skips them.
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "model/model_config.h"
#include "model/raddiag_model.h"

namespace raddiag::model {

struct OfficialEntry {
  std::string name;            // official key, e.g. "attention1D.pos_emb"
  std::vector<int64_t> shape;
  std::string alias_of;        // the earlier key holding the same tensor, or empty
  bool int64 = false;          // BatchNorm num_batches_tracked
  std::string ours;            // our parameter/buffer name, empty for dead entries
};

// Every entry of the official state_dict for `config`, in the official order (436 for the released
// early model, 372 for late). Throws for configurations the official code cannot express (ViT backbone).
std::vector<OfficialEntry> official_layout(const ModelConfig& config);

struct ImportOptions {
  // Leave the head untouched and ignore the checkpoint's `fc.*`/`fcke.*` (fine-tuning on other classes).
  bool skip_head = false;
};

struct ImportReport {
  std::vector<std::string> missing;         // needed keys absent from the checkpoint
  std::vector<std::string> unexpected;      // checkpoint keys the layout does not know
  std::vector<std::string> shape_mismatch;  // "key (checkpoint [..], expected [..])"
  int loaded = 0;                           // entries copied into the model
  int dead_checked = 0;                     // dead entries present and of the right shape
  bool ok() const { return missing.empty() && unexpected.empty() && shape_mismatch.empty(); }
  std::string to_string() const;
};

// Compares a checkpoint (name -> tensor, as read from the file; a uniform "module." prefix is accepted)
// with the model's official layout without modifying anything.
ImportReport check_official_state(const RadDiagModel& model, const std::map<std::string, torch::Tensor>& state,
                                  const ImportOptions& options = {});

// Copies the checkpoint into the model; on any mismatch throws raddiag::Error("official checkpoint", report)
// and leaves the model untouched.
ImportReport load_official_state(RadDiagModel& model, const std::map<std::string, torch::Tensor>& state,
                                 const ImportOptions& options = {});

}  // namespace raddiag::model
