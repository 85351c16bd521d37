#pragma once
// A text encoder inside a raddiag model file (weights::StoredTextEncoder), so that a knowledge-head model
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

#include "weights/stored_text_encoder.h"
#include "text/sentence_encoder.h"

namespace raddiag::text {

weights::StoredTextEncoder store_text_encoder(const SentenceEncoder& encoder, const std::string& source);
// Throws raddiag::Error naming `where` for a missing or malformed spec or weights that do not fit.
SentenceEncoder restore_text_encoder(const weights::StoredTextEncoder& stored, const std::string& where);


}  // namespace raddiag::text
