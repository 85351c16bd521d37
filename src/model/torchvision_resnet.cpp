#include "model/torchvision_resnet.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "model/resnet.h"
#include "model/vit_slice_encoder.h"
#include "util/error.h"

namespace raddiag::model {

namespace {

const std::regex& torchvision_key() {
  static const std::regex re(
      R"((conv1\.weight|bn1\.(weight|bias|running_mean|running_var|num_batches_tracked)|)"
      R"(layer[1-4]\.[0-9]+\.(conv[1-3]\.weight|bn[1-3]\.(weight|bias|running_mean|running_var|num_batches_tracked)|)"
      R"(downsample\.0\.weight|downsample\.1\.(weight|bias|running_mean|running_var|num_batches_tracked))|)"
      R"(fc\.(weight|bias)))");
  return re;
}

// The file's names without a uniform "module." prefix (nn.DataParallel saves).
std::map<std::string, torch::Tensor> strip_module_prefix(const weights::NamedTensors& state) {
  bool prefixed = state.size() > 0;
  for (const auto& n : state.names) prefixed = prefixed && n.rfind("module.", 0) == 0;
  std::map<std::string, torch::Tensor> out;
  for (const auto& [n, t] : state.tensors) out[prefixed ? n.substr(7) : n] = t;
  return out;
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : "-") + std::to_string(x);
  return s;
}

std::string describe(bool bottleneck, const std::vector<int64_t>& layers, const std::vector<int64_t>& widths) {
  static const std::map<std::pair<bool, std::vector<int64_t>>, std::string> names = {
      {{false, {2, 2, 2, 2}}, "ResNet-18"}, {{false, {3, 4, 6, 3}}, "ResNet-34"},
      {{true, {3, 4, 6, 3}}, "ResNet-50"},  {{true, {3, 4, 23, 3}}, "ResNet-101"},
      {{true, {3, 8, 36, 3}}, "ResNet-152"}};
  auto it = names.find({bottleneck, layers});
  const bool standard = widths == std::vector<int64_t>{64, 128, 256, 512};
  return (it != names.end() && standard ? it->second : std::string("ResNet")) + " (" +
         (bottleneck ? "bottleneck" : "basic") + " blocks " + join(layers) + ", widths " + join(widths) + ")";
}

}  // namespace

bool is_torchvision_resnet(const weights::NamedTensors& state) {
  const auto s = strip_module_prefix(state);
  auto conv1 = s.find("conv1.weight");
  if (conv1 == s.end() || conv1->second.dim() != 4 || !s.count("layer1.0.conv1.weight")) return false;
  for (const auto& kv : s)
    if (!std::regex_match(kv.first, torchvision_key())) return false;
  return true;
}

std::string describe_torchvision_resnet(const weights::NamedTensors& state) {
  const auto s = strip_module_prefix(state);
  const bool bottleneck = s.count("layer1.0.conv3.weight") != 0;
  std::vector<int64_t> layers, widths;
  for (int stage = 1; stage <= 4; ++stage) {
    const std::string p = "layer" + std::to_string(stage) + ".";
    int64_t blocks = 0;
    while (s.count(p + std::to_string(blocks) + ".conv1.weight")) ++blocks;
    if (blocks == 0) break;
    layers.push_back(blocks);
    widths.push_back(s.at(p + "0.conv1.weight").size(0));
  }
  return describe(bottleneck, layers, widths);
}

ForeignBackboneLoad load_torchvision_resnet(RadDiagModel& model, const weights::NamedTensors& state,
                                            const std::string& path) {
  if (!is_torchvision_resnet(state))
    throw Error(path, "not a torchvision ResNet state dict (expected only the keys conv1.weight, bn1.*, "
                      "layerN.M.convK/bnK/downsample.*, fc.*)");
  const auto& bc = model->config().backbone;
  // Where torchvision's names live in our model: the whole ResNet encoder, or the CNN of the ResNet-ViT
  // hybrid, which has only the first stages (ViT-R50 style: the file's later stages are not used).
  std::string P;
  std::size_t stages = 0;
  auto* encoder = model->slice_encoder().ptr().get();
  if (dynamic_cast<ResNetImpl*>(encoder)) {
    P = "backbone.";
    stages = 4;
  } else if (dynamic_cast<ResNetVitSliceEncoderImpl*>(encoder)) {
    P = "backbone.cnn.";
    stages = bc.layers.size();
  } else {
    throw Error(path, "torchvision ResNet weights need a ResNet slice encoder (backbone.type resnet18/34/50, custom or "
                      "resnet_vit), but the model's backbone.type is '" + bc.type + "'");
  }
  ForeignBackboneLoad r;
  r.architecture = describe_torchvision_resnet(state);
  const std::string ours_described = "backbone.type " + bc.type + ": " +
                                     describe(bc.block == "bottleneck", bc.layers, bc.widths);
  auto beyond_our_stages = [&](const std::string& key) {
    for (std::size_t s = stages + 1; s <= 4; ++s)
      if (key.rfind("layer" + std::to_string(s) + ".", 0) == 0) return true;
    return false;
  };

  const auto file = strip_module_prefix(state);
  std::vector<std::pair<torch::Tensor, torch::Tensor>> plan;
  std::vector<std::string> missing, unexpected, mismatched;
  std::set<std::string> used;
  for (auto& [name, dst] : live_tensors(model)) {
    if (name.rfind(P, 0) != 0) continue;
    const std::string key = name.substr(P.size());
    auto it = file.find(key);
    if (it == file.end()) {
      missing.push_back(key);
    } else if (it->second.sizes() != dst.sizes()) {
      mismatched.push_back(key + " (file " + c10::str(it->second.sizes()) + ", model " + c10::str(dst.sizes()) + ")");
    } else {
      plan.push_back({dst, it->second});
      r.carried.push_back(name);
      used.insert(key);
    }
  }
  for (const auto& [key, t] : file) {
    if (used.count(key)) continue;
    if (key.rfind("fc.", 0) == 0 || beyond_our_stages(key)) r.ignored.push_back(key);  // ImageNet classifier, unused stages
    else if (std::find_if(mismatched.begin(), mismatched.end(),
                          [&](const std::string& m) { return m.rfind(key + " ", 0) == 0; }) == mismatched.end())
      unexpected.push_back(key);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty())
    throw Error(path, "the file holds a torchvision " + r.architecture + ", which does not fit the model's slice encoder (" +
                          ours_described + "):" + weights::format_key_lists(missing, unexpected, mismatched));
  torch::NoGradGuard ng;
  for (auto& [dst, src] : plan) dst.copy_(src.to(dst.scalar_type()));
  return r;
}

}  // namespace raddiag::model
