#pragma once
// The text encoder stored inside a knowledge-head model file, kept opaque: its HF config, tokenizer and
// pooling as JSON and its weights by HF name. The model layer saves and loads it without knowing the text
// layer; text/stored_text_encoder.h converts it to and from a text::SentenceEncoder.
#include <map>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace raddiag::weights {

struct StoredTextEncoder {
  nlohmann::json spec;                           // null = none
  std::map<std::string, torch::Tensor> weights;  // HF names, without the file prefix
  bool empty() const { return spec.is_null(); }
};

}  // namespace raddiag::weights
