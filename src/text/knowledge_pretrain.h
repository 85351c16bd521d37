#pragma once
// Contrastive pre-training of a text encoder on knowledge pairs: symmetric InfoNCE with in-batch
// negatives (CLIP-style), logits = exp(s) · cos(e_a, e_b), s learned (log-parameterised, initialised
// at log(1/temperature), capped at log 100) or fixed. In-batch entries with the same text as the
// positive are masked out (they are not negatives). Resumable: the whole training state (weights,
// AdamW moments, step, scale) is one file written atomically every `checkpoint_every` steps; the batch
// order and dropout masks depend only on (seed, step), so a resumed run continues exactly.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "text/knowledge_corpus.h"
#include "text/sentence_encoder.h"

namespace raddiag::text {

struct RetrievalMetrics {
  double recall_at_1 = 0, recall_at_10 = 0;
  int64_t queries = 0, candidates = 0;
};

// For each pair, ranks every distinct `b` text of `pairs` by cosine similarity to `a`; a hit at k when
// fewer than k other candidates score at least as high as the pair's own `b` (ties count against).
RetrievalMetrics evaluate_retrieval(SentenceEncoder& encoder, const std::vector<KnowledgePair>& pairs,
                                    int64_t batch_size = 64);

// Deterministic split: `held_out` gets round(fraction · n) pairs (at most max_held_out), chosen by a
// seeded permutation; the rest (in corpus order) go to `train`.
void split_pairs(const std::vector<KnowledgePair>& pairs, double fraction, int64_t max_held_out, uint64_t seed,
                 std::vector<KnowledgePair>* train, std::vector<KnowledgePair>* held_out);

struct PretrainOptions {
  std::string out_dir;          // state file, final encoder folder (out_dir/encoder), metrics.json
  int64_t steps = 1000;
  int64_t batch_size = 32;
  double learning_rate = 2e-4;
  double weight_decay = 0.01;
  double temperature = 0.05;    // initial (learned) or fixed
  bool learn_temperature = true;
  double held_out_fraction = 0.1;
  int64_t max_held_out = 2000;
  int64_t checkpoint_every = 100;
  int64_t log_every = 50;
  uint64_t seed = 0;
  bool resume = false;          // continue from out_dir/pretrain_state.pt when it exists
};

struct PretrainResult {
  RetrievalMetrics before, after;  // on the held-out pairs
  int64_t start_step = 0, steps_done = 0;
  double last_loss = 0;
  double scale = 0;  // exp(s) at the end
};

// Progress callback: (step, loss, scale).
using PretrainProgress = std::function<void(int64_t, double, double)>;

PretrainResult pretrain_text_encoder(SentenceEncoder& encoder, const std::vector<KnowledgePair>& corpus,
                                     const PretrainOptions& options, const PretrainProgress& progress = {});

}  // namespace raddiag::text
