// Text side throughput: WordPiece tokenisation and one-off class-name embeddings of the 5,569
// RP3D disorder names (the work the KE head needs once per model load).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "text/class_embeddings.h"
#include "text/knowledge_corpus.h"
#include "text/sentence_encoder.h"

namespace {
using namespace raddiag::text;

std::string shared_data() {
  const char* env = std::getenv("RADDIAG_SHARED_DATA");
  return env ? env : "../shared/data";
}

const std::vector<std::string>& names() {
  static const auto n = read_label_names(shared_data() + "/rp3d-demo/RP3D_Demo/DataPath/disorder_label_dict.json");
  return n;
}

const WordPieceTokenizer& tokenizer() {
  static const auto t = [] {
    WordPieceTrainerOptions o;
    o.vocab_size = 4000;
    return train_wordpiece(names(), o);
  }();
  return t;
}

void BM_TokenizeDisorderNames(benchmark::State& state) {
  const auto& tok = tokenizer();
  for (auto _ : state) {
    auto b = tok.encode_batch(names());
    benchmark::DoNotOptimize(b.input_ids.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(names().size()));
}
BENCHMARK(BM_TokenizeDisorderNames)->Unit(benchmark::kMillisecond);

void BM_ClassEmbeddingsSmallBert(benchmark::State& state) {
  auto enc = SentenceEncoder::create(TextEncoderConfig::small_bert(tokenizer().vocab_size()), tokenizer(), 0);
  for (auto _ : state) {
    auto e = compute_class_embeddings(enc, names(), state.range(0));
    benchmark::DoNotOptimize(e.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(names().size()));
}
BENCHMARK(BM_ClassEmbeddingsSmallBert)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
