#pragma once
// Foreign backbone weights: a torchvision ResNet state dict (`resnet50-0676ba61.pth` and the like, written
// by torch.save) onto the model's ResNet slice encoder. This is how the paper's runs start: the official
// code builds torchvision's resnet50 with IMAGENET1K_V1 weights (reference 2.2) and feeds it the grey
// slice repeated to 3 channels. Our encoder keeps torchvision's names and its 3-channel conv1 weight and,
// given a 1-channel slice, convolves with that weight summed over the input channels (model/resnet.h),
// which equals the repeated-channel convolution exactly; so the file's tensors are copied unchanged.
#include <string>
#include <vector>

#include "model/raddiag_model.h"
#include "weights/named_tensors.h"

namespace raddiag::model {

// True when every key (after an optional uniform "module." prefix) is a torchvision ResNet name
// (conv1, bn1, layerN.M.convK/bnK/downsample.{0,1}, fc) and conv1.weight is a 4-D tensor.
bool is_torchvision_resnet(const weights::NamedTensors& state);

// "ResNet-50 (bottleneck blocks 3-4-6-3, widths 64-128-256-512)": what the file holds, for messages.
std::string describe_torchvision_resnet(const weights::NamedTensors& state);

struct ForeignBackboneLoad {
  std::string architecture;          // describe_torchvision_resnet() of the file
  std::vector<std::string> carried;  // our tensor names filled from the file ("backbone.layer1.0.conv1.weight")
  std::vector<std::string> ignored;  // file keys with no place in the slice encoder (torchvision's fc; resnet_vit: later stages)
};

// Copies the file's backbone tensors into `model`'s slice encoder. Every ResNet tensor of the encoder must
// come from the file with its shape and every file key but fc.* must be used; otherwise raddiag::Error
// naming `path`, both architectures and the key lists, and the model is left untouched. The encoder must
// be a ResNet (backbone.type resnet18/34/50 or custom) or the ResNet-ViT hybrid (resnet_vit), whose CNN
// takes the file's first stages (the later stages are ignored, as for ViT-R50).
ForeignBackboneLoad load_torchvision_resnet(RadDiagModel& model, const weights::NamedTensors& state,
                                            const std::string& path);

}  // namespace raddiag::model
