#pragma once
// Precompiled header of the torch-using targets: parsing torch/torch.h once per target instead of
// once per translation unit is what keeps the build inside CI's budget on 2 cores.
#include <torch/torch.h>
#include <nlohmann/json.hpp>
