// Symmetric InfoNCE pre-training of the text encoder on knowledge pairs (see knowledge_pretrain.h).
#include "text/knowledge_pretrain.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::text {
namespace fs = std::filesystem;

namespace {

// Fisher-Yates with our own index draw, so the order is identical across standard libraries.
std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1))]);
  return p;
}

torch::Tensor embed_in_batches(SentenceEncoder& enc, const std::vector<std::string>& texts, int64_t batch) {
  std::vector<torch::Tensor> parts;
  for (std::size_t i = 0; i < texts.size(); i += batch) {
    std::vector<std::string> chunk(texts.begin() + i, texts.begin() + std::min(texts.size(), i + batch));
    parts.push_back(enc.embed(chunk));
  }
  return torch::cat(parts, 0);
}

const double kMaxLogScale = std::log(100.0);

}  // namespace

RetrievalMetrics evaluate_retrieval(SentenceEncoder& encoder, const std::vector<KnowledgePair>& pairs,
                                    int64_t batch_size) {
  RetrievalMetrics m;
  if (pairs.empty()) return m;
  const bool was_training = encoder.model().is_training();
  encoder.model().eval();
  torch::NoGradGuard ng;
  std::vector<std::string> queries, candidates;
  std::unordered_map<std::string, int64_t> cand_index;
  std::vector<int64_t> target;
  for (const auto& p : pairs) {
    queries.push_back(p.a);
    auto it = cand_index.find(p.b);
    if (it == cand_index.end()) {
      it = cand_index.emplace(p.b, static_cast<int64_t>(candidates.size())).first;
      candidates.push_back(p.b);
    }
    target.push_back(it->second);
  }
  auto q = torch::nn::functional::normalize(embed_in_batches(encoder, queries, batch_size),
                                            torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto c = torch::nn::functional::normalize(embed_in_batches(encoder, candidates, batch_size),
                                            torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto sim = torch::matmul(q, c.t()).to(torch::kCPU);
  auto t = torch::tensor(target, torch::kInt64);
  auto own = sim.gather(1, t.unsqueeze(1));
  auto rank = (sim >= own).sum(1) - 1;  // other candidates at least as similar
  m.queries = static_cast<int64_t>(queries.size());
  m.candidates = static_cast<int64_t>(candidates.size());
  m.recall_at_1 = (rank < 1).to(torch::kDouble).mean().item<double>();
  m.recall_at_10 = (rank < 10).to(torch::kDouble).mean().item<double>();
  encoder.model().train(was_training);
  return m;
}

void split_pairs(const std::vector<KnowledgePair>& pairs, double fraction, int64_t max_held_out, uint64_t seed,
                 std::vector<KnowledgePair>* train, std::vector<KnowledgePair>* held_out) {
  const auto n = static_cast<int64_t>(pairs.size());
  int64_t k = std::min<int64_t>(max_held_out, static_cast<int64_t>(std::llround(fraction * static_cast<double>(n))));
  k = std::max<int64_t>(0, std::min(k, n - 1));
  const auto perm = permutation(n, seed ^ 0x5eedULL);
  std::vector<bool> held(n, false);
  for (int64_t i = 0; i < k; ++i) held[perm[i]] = true;
  train->clear();
  held_out->clear();
  for (int64_t i = 0; i < n; ++i) (held[i] ? held_out : train)->push_back(pairs[i]);
}

PretrainResult pretrain_text_encoder(SentenceEncoder& encoder, const std::vector<KnowledgePair>& corpus,
                                     const PretrainOptions& o, const PretrainProgress& progress) {
  if (o.out_dir.empty()) throw Error("pretrain", "no output folder");
  if (o.batch_size < 2) throw Error("pretrain", "batch_size must be at least 2 (in-batch negatives)");
  if (!(o.temperature > 0)) throw Error("pretrain", "temperature must be positive");
  std::vector<KnowledgePair> train, held;
  split_pairs(corpus, o.held_out_fraction, o.max_held_out, o.seed, &train, &held);
  if (train.size() < 2) throw Error("pretrain", "need at least 2 training pairs, have " + std::to_string(train.size()));
  fs::create_directories(o.out_dir);
  const std::string state_path = (fs::path(o.out_dir) / "pretrain_state.pt").string();

  auto& model = encoder.model();
  const auto device = encoder.device();
  auto log_scale = torch::full({1}, std::log(1.0 / o.temperature), torch::TensorOptions().device(device));
  std::vector<torch::Tensor> params = model.parameters();
  if (o.learn_temperature) {
    log_scale.set_requires_grad(true);
    params.push_back(log_scale);
  }
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(o.learning_rate).weight_decay(o.weight_decay));
  const auto n_train = static_cast<int64_t>(train.size());

  PretrainResult r;
  if (o.resume && fs::exists(state_path)) {
    torch::serialize::InputArchive ar;
    try {
      // Mapped to the encoder's device, so that the AdamW moments land where the weights are (a state
      // written on a GPU resumes on a CPU and the reverse).
      ar.load_from(state_path, device);
    } catch (const c10::Error& e) {
      throw Error(state_path, std::string("unreadable training state: ") + e.what_without_backtrace());
    } catch (const std::exception& e) {
      throw Error(state_path, std::string("unreadable training state: ") + e.what());
    }
    torch::Tensor step_t, n_t, ls;
    ar.read("step", step_t);
    ar.read("num_train_pairs", n_t);
    if (n_t.item<int64_t>() != n_train)
      throw Error(state_path, "was written for " + std::to_string(n_t.item<int64_t>()) + " training pairs, the corpus now has " +
                                  std::to_string(n_train) + " (different corpus or split)");
    torch::NoGradGuard ng;
    for (auto& p : model.named_parameters()) {
      torch::Tensor t;
      if (!ar.try_read("model/" + p.key(), t) || t.sizes() != p.value().sizes())
        throw Error(state_path, "weight '" + p.key() + "' missing or of another shape (different model?)");
      p.value().copy_(t);
    }
    ar.read("log_scale", ls);
    log_scale.copy_(ls);
    torch::serialize::InputArchive opt_ar;
    ar.read("optimizer", opt_ar);
    opt.load(opt_ar);
    r.start_step = step_t.item<int64_t>();
    spdlog::info("pretrain: resumed at step {} from {}", r.start_step, state_path);
  }

  auto save_state = [&](int64_t step) {
    torch::serialize::OutputArchive ar;
    ar.write("step", torch::tensor(step, torch::kInt64));
    ar.write("num_train_pairs", torch::tensor(n_train, torch::kInt64));
    for (const auto& p : model.named_parameters()) ar.write("model/" + p.key(), p.value().detach().to(torch::kCPU));
    ar.write("log_scale", log_scale.detach().to(torch::kCPU));
    torch::serialize::OutputArchive opt_ar;
    opt.save(opt_ar);
    ar.write("optimizer", opt_ar);
    write_file_atomically(state_path, [&](const std::string& tmp) { ar.save_to(tmp); });
  };

  r.before = evaluate_retrieval(encoder, held);
  spdlog::info("pretrain: {} train / {} held-out pairs; held-out Recall@1 {:.3f} @10 {:.3f} before", n_train, held.size(),
               r.before.recall_at_1, r.before.recall_at_10);

  const int64_t batch = std::min(o.batch_size, n_train);
  const int64_t per_epoch = n_train / batch;
  const auto t0 = std::chrono::steady_clock::now();
  model.train();
  for (int64_t step = r.start_step; step < o.steps; ++step) {
    const int64_t epoch = step / per_epoch, at = step % per_epoch;
    const auto perm = permutation(n_train, o.seed * 1000003ULL + static_cast<uint64_t>(epoch));
    std::vector<std::string> a, b;
    for (int64_t k = 0; k < batch; ++k) {
      const auto& p = train[perm[at * batch + k]];
      a.push_back(p.a);
      b.push_back(p.b);
    }
    // Same text as the positive is not a negative.
    auto same = torch::zeros({batch, batch}, torch::kBool);
    for (int64_t i = 0; i < batch; ++i)
      for (int64_t j = 0; j < batch; ++j)
        if (i != j && (a[i] == a[j] || b[i] == b[j])) same[i][j] = true;
    same = same.to(device);

    torch::manual_seed(o.seed * 7919ULL + static_cast<uint64_t>(step));  // dropout masks
    auto ea = encoder.embed(a);
    auto eb = encoder.embed(b);
    ea = torch::nn::functional::normalize(ea, torch::nn::functional::NormalizeFuncOptions().dim(1));
    eb = torch::nn::functional::normalize(eb, torch::nn::functional::NormalizeFuncOptions().dim(1));
    auto logits = torch::matmul(ea, eb.t()) * log_scale.exp();
    logits = logits.masked_fill(same, -1e4);
    auto labels = torch::arange(batch, torch::TensorOptions().dtype(torch::kLong).device(device));
    auto loss = 0.5 * (torch::nn::functional::cross_entropy(logits, labels) +
                       torch::nn::functional::cross_entropy(logits.t(), labels));
    opt.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model.parameters(), 1.0);
    opt.step();
    {
      torch::NoGradGuard ng;
      log_scale.clamp_max_(kMaxLogScale);
    }
    r.last_loss = loss.item<double>();
    r.steps_done = step + 1;
    if (progress) progress(step + 1, r.last_loss, log_scale.exp().item<double>());
    if (o.log_every > 0 && ((step + 1) % o.log_every == 0 || step + 1 == o.steps)) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      spdlog::info("pretrain: step {}/{} loss {:.4f} scale {:.2f} ({:.1f} steps/s)", step + 1, o.steps, r.last_loss,
                   log_scale.exp().item<double>(), (step + 1 - r.start_step) / std::max(secs, 1e-9));
    }
    if (o.checkpoint_every > 0 && (step + 1) % o.checkpoint_every == 0) save_state(step + 1);
  }
  if (r.steps_done == 0) r.steps_done = r.start_step;
  save_state(r.steps_done);
  model.eval();
  r.scale = log_scale.exp().item<double>();
  r.after = evaluate_retrieval(encoder, held);
  spdlog::info("pretrain: held-out Recall@1 {:.3f} @10 {:.3f} after {} steps", r.after.recall_at_1, r.after.recall_at_10,
               r.steps_done);
  encoder.save((fs::path(o.out_dir) / "encoder").string());
  auto metric_json = [](const RetrievalMetrics& m) {
    return nlohmann::json{{"recall_at_1", m.recall_at_1}, {"recall_at_10", m.recall_at_10},
                          {"queries", m.queries}, {"candidates", m.candidates}};
  };
  const nlohmann::json metrics = {{"steps", r.steps_done},           {"start_step", r.start_step},
                                  {"last_loss", r.last_loss},        {"scale", r.scale},
                                  {"train_pairs", n_train},          {"held_out_pairs", held.size()},
                                  {"held_out_before", metric_json(r.before)}, {"held_out_after", metric_json(r.after)}};
  write_bytes_atomically((fs::path(o.out_dir) / "metrics.json").string(), metrics.dump(2) + "\n");
  return r;
}

}  // namespace raddiag::text
