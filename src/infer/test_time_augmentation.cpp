#include "infer/test_time_augmentation.h"

#include <functional>
#include <map>

#include "util/error.h"

namespace raddiag::infer {
namespace {

using ViewMaker = std::function<std::vector<torch::Tensor>(const torch::Tensor&)>;

struct TtaEntry {
  TestTimeAugmentation kind;
  ViewMaker views;
};

const std::map<std::string, TtaEntry>& tta_registry() {
  static const std::map<std::string, TtaEntry> registry = {
      {"none", {TestTimeAugmentation::kNone, [](const torch::Tensor& x) { return std::vector<torch::Tensor>{x}; }}},
      // Images are [B, N, 1, H, W, D]: width is dimension 4, for 2D images and volumes alike.
      {"flip",
       {TestTimeAugmentation::kFlip,
        [](const torch::Tensor& x) { return std::vector<torch::Tensor>{x, x.flip({4})}; }}},
  };
  return registry;
}

// The registry row of a value (name and entry).
const std::pair<const std::string, TtaEntry>& row_of(TestTimeAugmentation t) {
  for (const auto& row : tta_registry())
    if (row.second.kind == t) return row;
  throw Error("--tta", "unknown test-time augmentation value");
}

}  // namespace

TestTimeAugmentation parse_test_time_augmentation(const std::string& name) {
  const auto it = tta_registry().find(name);
  if (it != tta_registry().end()) return it->second.kind;
  std::string known;
  for (const auto& n : test_time_augmentation_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("--tta", "unknown test-time augmentation '" + name + "' (known: " + known + ")");
}

std::string test_time_augmentation_name(TestTimeAugmentation t) { return row_of(t).first; }

std::vector<std::string> test_time_augmentation_names() {
  std::vector<std::string> names;
  for (const auto& [name, e] : tta_registry()) names.push_back(name);
  return names;
}

std::vector<torch::Tensor> test_time_views(const torch::Tensor& images, TestTimeAugmentation t) {
  if (images.dim() != 6)
    throw Error("test-time augmentation", "expected images [B, N, 1, H, W, D], got " + std::to_string(images.dim()) + " dimensions");
  return row_of(t).second.views(images);
}

}  // namespace raddiag::infer
