#pragma once
// A text encoder inside a raddiag model file (model::StoredTextEncoder), so that a knowledge-head model
// can embed class names it was never trained on (zero-shot) without the original model folder.
//
// spec (the file's "text_encoder" metadata):
//   {"config": <HF config.json>, "pooling": "mean"|"cls", "normalize": true,
//    "tokenizer": {"vocab": [token, ...], "lowercase", "strip_accents", "tokenize_chinese_chars",
//                  "clean_text", "continuing_prefix", "max_input_chars_per_word", "max_length",
//                  "unk_token", "cls_token", "sep_token", "pad_token"},
//    "source": where it was loaded from (provenance only)}
// weights: the encoder's parameters under their Hugging Face names.
#include <string>

#include "model/model_file.h"
#include "text/sentence_encoder.h"

namespace raddiag::text {

model::StoredTextEncoder store_text_encoder(const SentenceEncoder& encoder, const std::string& source);
// Throws raddiag::Error naming `where` for a missing or malformed spec or weights that do not fit.
SentenceEncoder restore_text_encoder(const model::StoredTextEncoder& stored, const std::string& where);

// A text encoder from any of: a model folder (config.json + tokenizer + weights, e.g. BioLORD-2023),
// the output folder of `raddiag knowledge pretrain` (its encoder/ subfolder), or a raddiag model file
// that carries a text encoder. Eval mode, on the CPU.
SentenceEncoder load_text_encoder_from(const std::string& path);

}  // namespace raddiag::text
