// Sentence embeddings from a BERT/MPNet folder.
#include "text/sentence_encoder.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "weights/safetensors.h"
#include "weights/tensor_file.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::text {
namespace fs = std::filesystem;
using nlohmann::json;

Pooling parse_pooling(const std::string& name) {
  if (name == "mean") return Pooling::kMean;
  if (name == "cls") return Pooling::kCls;
  throw Error("pooling", "unknown pooling '" + name + "' (mean or cls)");
}

const char* pooling_name(Pooling p) { return p == Pooling::kMean ? "mean" : "cls"; }

torch::Tensor pool_hidden_states(const torch::Tensor& hidden, const torch::Tensor& attention_mask, Pooling pooling) {
  if (pooling == Pooling::kCls) return hidden.select(1, 0);
  auto m = attention_mask.to(hidden.scalar_type()).unsqueeze(-1);
  return (hidden * m).sum(1) / torch::clamp_min(m.sum(1), 1e-9);
}

std::map<std::string, torch::Tensor> read_text_encoder_weights(const std::string& path) {
  if (!fs::exists(path)) throw Error(path, "weight file not found");
  auto file = weights::read_tensor_file(path);  // torch.save ZIP or safetensors, detected from the bytes
  if (file.tensors.size() == 0) throw Error(path, "holds no tensors");
  return std::move(file.tensors.tensors);
}

SentenceEncoder::SentenceEncoder(std::shared_ptr<TextTransformerImpl> model, WordPieceTokenizer tokenizer,
                                 Pooling pooling, bool normalize)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), pooling_(pooling), normalize_(normalize) {
  if (!model_) throw Error("text encoder", "no model");
  if (tokenizer_.vocab_size() > model_->config().vocab_size)
    throw Error("text encoder", "tokenizer has " + std::to_string(tokenizer_.vocab_size()) +
                                    " tokens but the model's vocab_size is " + std::to_string(model_->config().vocab_size));
  const int64_t max_len = model_->config().model_type == "mpnet"
                              ? model_->config().max_position_embeddings - model_->config().pad_token_id - 1
                              : model_->config().max_position_embeddings;
  if (tokenizer_.config().max_length > max_len) {
    // Never feed more positions than the model has (HF would crash; truncation keeps it valid).
    WordPieceConfig c = tokenizer_.config();
    c.max_length = max_len;
    tokenizer_ = WordPieceTokenizer(tokenizer_.vocab(), c, "text encoder tokenizer");
  }
}

SentenceEncoder SentenceEncoder::create(const TextEncoderConfig& config, WordPieceTokenizer tokenizer, uint64_t seed,
                                        Pooling pooling, bool normalize) {
  torch::manual_seed(seed);
  auto model = make_text_transformer(config);
  return SentenceEncoder(model, std::move(tokenizer), pooling, normalize);
}

SentenceEncoder SentenceEncoder::load(const std::string& dir) {
  const fs::path d(dir);
  if (!fs::is_directory(d)) throw Error(dir, "model folder not found");
  if (!fs::exists(d / "config.json")) throw Error(dir, "no config.json");
  const auto config = TextEncoderConfig::read((d / "config.json").string());
  auto tokenizer = WordPieceTokenizer::from_folder(dir, config.model_type == "mpnet" ? "mpnet" : "bert");

  std::string weights_path;
  for (const char* name : {"model.safetensors", "pytorch_model.bin"}) {
    if (fs::exists(d / name)) {
      weights_path = (d / name).string();
      break;
    }
  }
  if (weights_path.empty()) throw Error(dir, "no weights (model.safetensors or pytorch_model.bin)");

  Pooling pooling = Pooling::kMean;
  bool normalize = true;
  if (fs::exists(d / "raddiag_text.json")) {
    const auto path = (d / "raddiag_text.json").string();
    try {
      const auto j = json::parse(read_file_bytes(path));
      pooling = parse_pooling(j.value("pooling", std::string("mean")));
      normalize = j.value("normalize", true);
    } catch (const json::exception& e) {
      throw Error(path, std::string("malformed: ") + e.what());
    }
  } else if (fs::exists(d / "1_Pooling" / "config.json")) {
    const auto path = (d / "1_Pooling" / "config.json").string();
    try {
      const auto j = json::parse(read_file_bytes(path));
      if (j.value("pooling_mode_cls_token", false)) pooling = Pooling::kCls;
    } catch (const json::exception& e) {
      throw Error(path, std::string("malformed: ") + e.what());
    }
  }

  auto model = make_text_transformer(config);
  load_hf_weights(*model, read_text_encoder_weights(weights_path), weights_path);
  model->eval();
  return SentenceEncoder(model, std::move(tokenizer), pooling, normalize);
}

void SentenceEncoder::save(const std::string& dir) const {
  fs::create_directories(dir);
  const fs::path d(dir);
  write_bytes_atomically((d / "config.json").string(), model_->config().to_json().dump(2) + "\n");
  tokenizer_.save(dir);
  weights::NamedTensors tensors;
  for (const auto& [k, v] : hf_state_dict(*model_)) tensors.add(k, v);
  // "format": "pt" is what Hugging Face transformers expects in a model.safetensors.
  weights::write_safetensors((d / "model.safetensors").string(), tensors, {{"format", "pt"}});
  const json extra = {{"pooling", pooling_name(pooling_)}, {"normalize", normalize_}};
  write_bytes_atomically((d / "raddiag_text.json").string(), extra.dump(2) + "\n");
}

torch::Tensor SentenceEncoder::embed_tokens(const TokenBatch& batch) {
  const auto dev = device();
  auto ids = batch.input_ids.to(dev);
  auto mask = batch.attention_mask.to(dev);
  auto h = model_->forward(ids, mask);
  auto e = pool_hidden_states(h, mask, pooling_);
  if (normalize_) e = torch::nn::functional::normalize(e, torch::nn::functional::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
  return e;
}

torch::Tensor SentenceEncoder::embed(const std::vector<std::string>& texts) {
  if (texts.empty()) return torch::zeros({0, dim()}, torch::TensorOptions().device(device()));
  return embed_tokens(tokenizer_.encode_batch(texts));
}

void SentenceEncoder::to(const torch::Device& device) { model_->to(device); }

torch::Device SentenceEncoder::device() const {
  auto params = model_->parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

}  // namespace raddiag::text
