#include "weights/named_tensors.h"

#include "util/error.h"

namespace raddiag::weights {

const torch::Tensor& NamedTensors::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw Error(name, "no such tensor");
  return it->second;
}

void NamedTensors::add(const std::string& name, torch::Tensor t) {
  if (!tensors.emplace(name, std::move(t)).second) throw Error(name, "duplicate tensor name");
  names.push_back(name);
}

std::string format_key_lists(const std::vector<std::string>& missing, const std::vector<std::string>& unexpected,
                             const std::vector<std::string>& shape_mismatch) {
  std::string out;
  auto list = [&](const char* what, const std::vector<std::string>& v) {
    if (v.empty()) return;
    out += std::string("\n  ") + what + " (" + std::to_string(v.size()) + "):";
    for (const auto& s : v) out += "\n    " + s;
  };
  list("missing", missing);
  list("unexpected", unexpected);
  list("shape mismatch", shape_mismatch);
  return out;
}

}  // namespace raddiag::weights
