#pragma once
// A text encoder ready to embed sentences: tokeniser + transformer (BERT or MPNet) + pooling
// (attention-mask weighted mean, or the first token) + optional L2 normalisation. This is what the
// knowledge-enhanced head needs (RadDiag: BioLORD-2023, mean pooling, F.normalize).
//
// Model folder layout (Hugging Face compatible):
//   config.json                       BertModel / MPNetModel configuration (model_type bert|mpnet)
//   tokenizer.json | vocab.txt        tokeniser (+ tokenizer_config.json)
//   model.safetensors | pytorch_model.bin  weights, HF key names (any prefix such as "bert." is stripped)
//   1_Pooling/config.json (optional)  sentence-transformers pooling choice
//   raddiag_text.json (optional)      {"pooling": "mean"|"cls", "normalize": true}, written by save()
#include <memory>
#include <string>
#include <vector>

#include "text/text_transformer.h"
#include "text/wordpiece_tokenizer.h"

namespace raddiag::text {

enum class Pooling { kMean, kCls };

Pooling parse_pooling(const std::string& name);  // "mean" | "cls"
const char* pooling_name(Pooling p);

// hidden [B, L, D], attention_mask [B, L] -> [B, D]. Mean: Σ h·m / max(Σ m, 1e-9).
torch::Tensor pool_hidden_states(const torch::Tensor& hidden, const torch::Tensor& attention_mask, Pooling pooling);

// Reads a weight file into HF-named tensors: safetensors or torch.save (ZIP), detected from the bytes.
// Throws raddiag::Error naming the file.
std::map<std::string, torch::Tensor> read_text_encoder_weights(const std::string& path);

class SentenceEncoder {
 public:
  SentenceEncoder(std::shared_ptr<TextTransformerImpl> model, WordPieceTokenizer tokenizer,
                  Pooling pooling = Pooling::kMean, bool normalize = true);

  // A freshly initialised encoder (HF initialisation, seeded).
  static SentenceEncoder create(const TextEncoderConfig& config, WordPieceTokenizer tokenizer, uint64_t seed,
                                Pooling pooling = Pooling::kMean, bool normalize = true);
  // Loads a model folder (see above). Throws raddiag::Error for a missing/malformed config, tokeniser
  // or weights, missing keys and shape mismatches; the model is left in eval mode.
  static SentenceEncoder load(const std::string& dir);
  // Writes config.json, vocab.txt, tokenizer_config.json, model.safetensors (loadable by HF
  // transformers as BertModel/MPNetModel) and raddiag_text.json, each file atomically.
  void save(const std::string& dir) const;

  // Embeddings [B, D] (on the model's device); gradients flow when enabled.
  torch::Tensor embed(const std::vector<std::string>& texts);
  torch::Tensor embed_tokens(const TokenBatch& batch);

  TextTransformerImpl& model() { return *model_; }
  const TextTransformerImpl& model() const { return *model_; }
  const WordPieceTokenizer& tokenizer() const { return tokenizer_; }
  const TextEncoderConfig& config() const { return model_->config(); }
  int64_t dim() const { return model_->config().hidden_size; }
  Pooling pooling() const { return pooling_; }
  bool normalize() const { return normalize_; }
  void to(const torch::Device& device);
  torch::Device device() const;

 private:
  std::shared_ptr<TextTransformerImpl> model_;
  WordPieceTokenizer tokenizer_;
  Pooling pooling_;
  bool normalize_;
};

}  // namespace raddiag::text
