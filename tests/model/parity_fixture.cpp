#include "model/parity_fixture.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test_support.h"
#include "weights/torch_checkpoint.h"
#include "util/npy.h"

namespace raddiag::test {

std::string parity_dir() { return shared_data() + "/official-parity"; }

torch::Tensor load_npy_tensor(const std::string& path) {
  auto a = npy::read(path);
  std::vector<int64_t> shape = a.shape;
  if (a.dtype == npy::DType::kInt64 || a.dtype == npy::DType::kInt32 || a.dtype == npy::DType::kUInt8) {
    auto v = a.to_int64();
    auto t = torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, torch::kLong).clone();
    if (a.fortran_order) {
      std::vector<int64_t> rev(shape.rbegin(), shape.rend());
      std::vector<int64_t> perm;
      for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) perm.push_back(i);
      return t.view(rev).permute(perm).contiguous();
    }
    return t.view(shape);
  }
  auto v = a.to_float32();
  auto t = torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, torch::kFloat32).clone();
  if (a.fortran_order) {
    std::vector<int64_t> rev(shape.rbegin(), shape.rend());
    std::vector<int64_t> perm;
    for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) perm.push_back(i);
    return t.view(rev).permute(perm).contiguous();
  }
  return t.view(shape);
}

const weights::NamedTensors& parity_checkpoint() {
  static weights::NamedTensors file = weights::read_torch_checkpoint(parity_dir() + "/state_dict.bin");
  return file;
}

const std::map<std::string, torch::Tensor>& parity_state() { return parity_checkpoint().tensors; }

model::ModelConfig parity_config() {
  std::ifstream f(parity_dir() + "/config.json");
  return model::ModelConfig::from_parity_config(nlohmann::json::parse(f));
}

model::CaseInput parity_inputs(const std::string& dir) {
  model::CaseInput b;
  b.images = load_npy_tensor(dir + "/expected_inputs_images.npy");
  b.mods = load_npy_tensor(dir + "/expected_inputs_mods.npy");
  b.marks = load_npy_tensor(dir + "/expected_inputs_marks.npy");
  b.keys = load_npy_tensor(dir + "/expected_inputs_keys.npy");
  b.labels = load_npy_tensor(dir + "/expected_inputs_labels.npy");
  return b;
}

}  // namespace raddiag::test
