#pragma once
// Test-time augmentation: the model scores several views of each case and the logits are averaged.
// "flip" adds the left-right mirror image of every scan (the last in-plane axis, the same flip the
// training augmentation makes), which doubles the model's time. Measured in docs/real-data.md.
#include <string>
#include <vector>

#include <torch/torch.h>

namespace raddiag::infer {

enum class TestTimeAugmentation { kNone, kFlip };

// "none" | "flip"; throws raddiag::Error("--tta", ...) naming the known ones otherwise.
TestTimeAugmentation parse_test_time_augmentation(const std::string& name);
std::string test_time_augmentation_name(TestTimeAugmentation t);
// Every known name, for help texts and validators.
std::vector<std::string> test_time_augmentation_names();

// The views a batch of images [B, N, 1, H, W, D] is scored on, the unchanged images first.
std::vector<torch::Tensor> test_time_views(const torch::Tensor& images, TestTimeAugmentation t);

}  // namespace raddiag::infer
