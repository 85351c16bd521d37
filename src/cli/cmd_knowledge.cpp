// raddiag knowledge build-corpus | pretrain | embed-classes: thin wrappers over src/text.
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "model/runtime.h"
#include "text/class_embeddings.h"
#include "text/knowledge_corpus.h"
#include "text/knowledge_pretrain.h"
#include "util/npy.h"
#include "util/atomic_file.h"

namespace raddiag::cli {
namespace {

struct BuildArgs {
  std::string labels, icd10, out;
  std::vector<std::string> manifests;
};

struct PretrainArgs {
  std::string corpus, out, init, device = "cpu";
  bool resume = false, fixed_temperature = false;
  int64_t steps = 2000, batch = 64, vocab_size = 8000, hidden = 128, layers = 2, heads = 4, checkpoint_every = 200;
  double lr = 5e-4, temperature = 0.05, held_out = 0.05;
  uint64_t seed = 0;
};

struct EmbedArgs {
  std::string encoder, labels, out, device = "cpu";
  int64_t batch = 256;
};

int run_build(const BuildArgs& a) {
  std::vector<std::string> inputs = a.manifests;
  inputs.push_back(a.labels);
  inputs.push_back(a.icd10);
  refuse_to_overwrite_inputs(a.out, inputs);
  text::KnowledgeCorpusSources src{a.labels, a.manifests, a.icd10};
  std::map<std::string, int64_t> counts;
  const auto pairs = text::build_knowledge_corpus(src, &counts);
  text::write_knowledge_corpus(a.out, pairs);
  std::cout << "wrote " << pairs.size() << " pairs to " << a.out << "\n";
  for (const auto& [k, n] : counts) std::cout << "  " << k << ": " << n << "\n";
  return 0;
}

int run_pretrain(const PretrainArgs& a) {
  const auto pairs = text::read_knowledge_corpus(a.corpus);
  std::unique_ptr<text::SentenceEncoder> enc;
  if (!a.init.empty()) {
    enc = std::make_unique<text::SentenceEncoder>(text::SentenceEncoder::load(a.init));
  } else {
    // Our own small encoder: a WordPiece vocabulary trained on the corpus texts.
    std::vector<std::string> texts;
    for (const auto& p : pairs) {
      texts.push_back(p.a);
      texts.push_back(p.b);
    }
    text::WordPieceTrainerOptions to;
    to.vocab_size = a.vocab_size;
    auto tok = text::train_wordpiece(texts, to);
    auto cfg = text::TextEncoderConfig::small_bert(tok.vocab_size());
    cfg.hidden_size = a.hidden;
    cfg.num_hidden_layers = a.layers;
    cfg.num_attention_heads = a.heads;
    cfg.intermediate_size = 4 * a.hidden;
    enc = std::make_unique<text::SentenceEncoder>(text::SentenceEncoder::create(cfg, tok, a.seed));
  }
  enc->to(torch::Device(model::resolve_device(a.device)));
  text::PretrainOptions o;
  o.out_dir = a.out;
  o.steps = a.steps;
  o.batch_size = a.batch;
  o.learning_rate = a.lr;
  o.temperature = a.temperature;
  o.learn_temperature = !a.fixed_temperature;
  o.held_out_fraction = a.held_out;
  o.checkpoint_every = a.checkpoint_every;
  o.seed = a.seed;
  o.resume = a.resume;
  const auto r = text::pretrain_text_encoder(*enc, pairs, o);
  std::cout << "held-out Recall@1 " << r.before.recall_at_1 << " -> " << r.after.recall_at_1 << ", Recall@10 "
            << r.before.recall_at_10 << " -> " << r.after.recall_at_10 << " (" << r.after.queries << " queries, "
            << r.after.candidates << " candidates); encoder in " << a.out << "/encoder\n";
  return 0;
}

int run_embed(const EmbedArgs& a) {
  refuse_to_overwrite_inputs(a.out, {a.labels});
  auto enc = text::SentenceEncoder::load(a.encoder);
  enc.to(torch::Device(model::resolve_device(a.device)));
  const auto names = text::read_label_names(a.labels);
  auto E = text::compute_class_embeddings(enc, names, a.batch).contiguous();
  npy::write(a.out, npy::make_float32({E.size(0), E.size(1)}, E.data_ptr<float>()));
  std::cout << "wrote " << E.size(0) << " x " << E.size(1) << " class embeddings to " << a.out << "\n";
  return 0;
}

Registrar register_knowledge({"knowledge", "knowledge corpus, text-encoder pre-training and class-name embeddings", [](CLI::App& sub) {
  sub.require_subcommand(1);
  auto b = std::make_shared<BuildArgs>();
  auto* build = sub.add_subcommand("build-corpus", "write a JSONL corpus of text pairs (docs/knowledge-corpus.md)");
  build->add_option("--labels", b->labels, "label dictionary JSON {name: index} (disorder_label_dict.json)");
  build->add_option("--manifest", b->manifests, "RP3D case JSON (repeatable): co-occurrence and titles");
  build->add_option("--icd10", b->icd10, "ICD-10-CM CSV code,description (optional)");
  build->add_option("--out", b->out, "output .jsonl")->required();

  auto p = std::make_shared<PretrainArgs>();
  auto* pre = sub.add_subcommand("pretrain", "contrastive (InfoNCE) pre-training of a text encoder on a corpus");
  pre->add_option("--corpus", p->corpus, "JSONL corpus")->required()->check(CLI::ExistingFile);
  pre->add_option("--out", p->out, "output folder (state, encoder/, metrics.json)")->required();
  pre->add_flag("--resume", p->resume, "continue from OUT/pretrain_state.pt");
  pre->add_option("--init", p->init, "start from a model folder (HF BERT/MPNet or ours); default: new small BERT");
  pre->add_option("--steps", p->steps, "total optimisation steps")->capture_default_str();
  pre->add_option("--batch-size", p->batch, "pairs per batch (in-batch negatives)")->capture_default_str();
  pre->add_option("--lr", p->lr, "AdamW learning rate")->capture_default_str();
  pre->add_option("--temperature", p->temperature, "initial (or fixed) softmax temperature")->capture_default_str();
  pre->add_flag("--fixed-temperature", p->fixed_temperature, "do not learn the temperature");
  pre->add_option("--held-out", p->held_out, "fraction of pairs held out for Recall@k")->capture_default_str();
  pre->add_option("--vocab-size", p->vocab_size, "WordPiece vocabulary of a new encoder")->capture_default_str();
  pre->add_option("--hidden", p->hidden, "hidden size of a new encoder")->capture_default_str();
  pre->add_option("--layers", p->layers, "layers of a new encoder")->capture_default_str();
  pre->add_option("--heads", p->heads, "attention heads of a new encoder")->capture_default_str();
  pre->add_option("--checkpoint-every", p->checkpoint_every, "steps between state saves")->capture_default_str();
  pre->add_option("--seed", p->seed, "seed (initialisation, batch order, dropout)")->capture_default_str();
  pre->add_option("--device", p->device, "cpu | cuda | cuda:N")->capture_default_str();

  auto e = std::make_shared<EmbedArgs>();
  auto* emb = sub.add_subcommand("embed-classes", "encode class names once into a [C x dim] .npy for the KE head");
  emb->add_option("--encoder", e->encoder, "model folder")->required();
  emb->add_option("--labels", e->labels, "label dictionary JSON {name: index}")->required()->check(CLI::ExistingFile);
  emb->add_option("--out", e->out, "output .npy (float32)")->required();
  emb->add_option("--batch-size", e->batch, "names per forward")->capture_default_str();
  emb->add_option("--device", e->device, "cpu | cuda | cuda:N")->capture_default_str();

  return std::function<int()>([=] {
    if (build->parsed()) return run_build(*b);
    if (pre->parsed()) return run_pretrain(*p);
    return run_embed(*e);
  });
}});

}  // namespace
}  // namespace raddiag::cli
