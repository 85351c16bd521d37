#include "model/named_tensors.h"

#include "util/error.h"

namespace raddiag::model {

const torch::Tensor& NamedTensors::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw Error(name, "no such tensor");
  return it->second;
}

void NamedTensors::add(const std::string& name, torch::Tensor t) {
  if (!tensors.emplace(name, std::move(t)).second) throw Error(name, "duplicate tensor name");
  names.push_back(name);
}

}  // namespace raddiag::model
