#pragma once
// An ordered set of named tensors: what a checkpoint file holds, in file order.
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace raddiag::weights {

struct NamedTensors {
  std::vector<std::string> names;                // file order, unique
  std::map<std::string, torch::Tensor> tensors;  // name -> tensor (CPU)
  // name -> the earlier name whose tensor is the very same one (same storage, offset, sizes and
  // strides). Both names map to tensors sharing memory. Empty for names that are no alias.
  std::map<std::string, std::string> alias_of;

  std::size_t size() const { return names.size(); }
  bool contains(const std::string& name) const { return tensors.count(name) != 0; }
  // Throws raddiag::Error naming `name` when absent.
  const torch::Tensor& at(const std::string& name) const;
  // Appends a new name (throws when it already exists).
  void add(const std::string& name, torch::Tensor t);
};

// "\n  missing (n):\n    name ..." for each non-empty list: how every state/checkpoint key mismatch is
// reported, so a user sees the same listing from import, load and fine-tuning.
std::string format_key_lists(const std::vector<std::string>& missing, const std::vector<std::string>& unexpected,
                             const std::vector<std::string>& shape_mismatch);

}  // namespace raddiag::weights
