#pragma once
// Class-name embeddings for the knowledge-enhanced head: every class name encoded once, in eval mode
// without gradients (RadDiag re-ran BioLORD on all names at every forward, dropout included; the
// frozen encoder makes a one-off [C × text_dim] matrix equivalent and far cheaper, see reference 2.6).
#include <string>
#include <vector>

#include "text/sentence_encoder.h"

namespace raddiag::text {

// [C, dim] float32 on the CPU, row i = embedding of names[i] (mean pooling + L2 norm for BioLORD).
// Batches of `batch_size` names; the encoder's train/eval mode is restored afterwards.
torch::Tensor compute_class_embeddings(SentenceEncoder& encoder, const std::vector<std::string>& names,
                                       int64_t batch_size = 256);

}  // namespace raddiag::text
