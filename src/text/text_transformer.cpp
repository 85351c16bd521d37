// Shared parts of the transformer text encoders: factory, initialisation, masks, weight loading.
#include "text/text_transformer.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "text/bert_encoder.h"
#include "text/mpnet_encoder.h"
#include "util/error.h"

namespace raddiag::text {

void TextTransformerImpl::init_weights() {
  torch::NoGradGuard no_grad;
  const double std = config().initializer_range;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* lin = m->as<torch::nn::Linear>()) {
      lin->weight.normal_(0.0, std);
      if (lin->bias.defined()) lin->bias.zero_();
    } else if (auto* emb = m->as<torch::nn::Embedding>()) {
      emb->weight.normal_(0.0, std);
      if (emb->options.padding_idx()) emb->weight[*emb->options.padding_idx()].zero_();
    } else if (auto* ln = m->as<torch::nn::LayerNorm>()) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    }
  }
}

std::shared_ptr<TextTransformerImpl> make_text_transformer(const TextEncoderConfig& config) {
  config.validate("text encoder config");
  if (config.model_type == "mpnet") return std::make_shared<MPNetModelImpl>(config);
  return std::make_shared<BertModelImpl>(config);
}

torch::Tensor apply_activation(const torch::Tensor& x, const std::string& name) {
  if (name == "gelu") return torch::gelu(x);
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return torch::gelu(x, "tanh");
  if (name == "relu") return torch::relu(x);
  throw Error("text encoder", "activation '" + name + "' is not supported");
}

torch::Tensor extended_attention_mask(const torch::Tensor& attention_mask, torch::ScalarType dtype) {
  auto m = attention_mask.to(dtype).unsqueeze(1).unsqueeze(2);
  const double lowest = dtype == torch::kDouble ? std::numeric_limits<double>::lowest()
                                                : static_cast<double>(std::numeric_limits<float>::lowest());
  return (1.0 - m) * lowest;
}

WeightLoadReport load_hf_weights(torch::nn::Module& model, const std::map<std::string, torch::Tensor>& weights,
                                 const std::string& source) {
  WeightLoadReport report;
  const std::string anchor = "embeddings.word_embeddings.weight";
  std::vector<std::string> prefixes;
  for (const auto& [k, v] : weights) {
    if (k.size() >= anchor.size() && k.compare(k.size() - anchor.size(), anchor.size(), anchor) == 0)
      prefixes.push_back(k.substr(0, k.size() - anchor.size()));
  }
  if (prefixes.empty()) throw Error(source, "no '" + anchor + "' tensor: not a BERT/MPNet checkpoint");
  if (prefixes.size() > 1) throw Error(source, "several encoders in one checkpoint (prefixes '" + prefixes[0] + "', '" +
                                                   prefixes[1] + "'); cannot choose");
  report.prefix = prefixes[0];

  std::vector<std::string> missing;
  std::map<std::string, bool> used;
  torch::NoGradGuard no_grad;
  for (auto& p : model.named_parameters(/*recurse=*/true)) {
    auto it = weights.find(report.prefix + p.key());
    if (it == weights.end()) {
      missing.push_back(report.prefix + p.key());
      continue;
    }
    const auto& w = it->second;
    if (!w.defined() || w.sizes() != p.value().sizes()) {
      std::ostringstream msg;
      msg << "tensor '" << it->first << "' has shape " << (w.defined() ? w.sizes() : c10::IntArrayRef{})
          << " but the model (config.json) needs " << p.value().sizes();
      throw Error(source, msg.str());
    }
    if (!w.is_floating_point()) throw Error(source, "tensor '" + it->first + "' is not floating point");
    p.value().copy_(w.to(p.value().dtype()));
    used[it->first] = true;
  }
  if (!missing.empty()) {
    std::string list;
    for (std::size_t i = 0; i < missing.size() && i < 8; ++i) list += (i ? ", " : "") + missing[i];
    if (missing.size() > 8) list += ", ...";
    throw Error(source, std::to_string(missing.size()) + " weight(s) missing: " + list);
  }
  for (const auto& [k, v] : weights)
    if (!used.count(k)) report.unused_keys.push_back(k);
  return report;
}

std::map<std::string, torch::Tensor> hf_state_dict(const torch::nn::Module& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : model.named_parameters(/*recurse=*/true))
    out[p.key()] = p.value().detach().to(torch::kCPU).contiguous().clone();
  return out;
}

}  // namespace raddiag::text
