#include "train/train_job.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include "data/augment.h"
#include "data/case_dataset.h"
#include "data/case_loader.h"
#include "data/case_sources.h"
#include "data/rp3d_manifest.h"
#include "data/samplers.h"
#include "model/losses.h"
#include "model/model_file.h"
#include "model/raddiag_model.h"
#include "model/runtime.h"
#include "serve/evaluate.h"
#include "serve/predictor.h"
#include "text/class_embeddings.h"
#include "text/stored_text_encoder.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/finetune.h"
#include "train/run_dir.h"
#include "train/sharded_predict.h"
#include "train/trainer.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::train {

namespace fs = std::filesystem;

model::ModelConfig resolve_model_config(const nlohmann::json& spec, int64_t num_classes) {
  model::ModelConfig c;
  if (spec.is_string()) {
    const std::string name = spec.get<std::string>();
    if (name == "tiny") {
      // Small enough to train on a laptop CPU in minutes; same architecture family as the release.
      c.backbone.type = "custom";
      c.backbone.block = "basic";
      c.backbone.layers = {1, 1, 1, 1};
      c.backbone.widths = {16, 32, 64, 128};
      c.backbone.unused_fc_classes = 1;
      c.hidden = 128;
      c.aggregator = {1, 2, 256};
      c.fusion.transformer = {1, 2, 256};
      c.size = 64;
      c.depth = 4;
      c.n_image = 2;
      c.train_all_slices = false;
    } else if (name == "released") {
      c = model::ModelConfig::released();
    } else {
      throw Error("run config", "model: unknown preset '" + name + "' (tiny, released, or a model config object)");
    }
  } else if (spec.is_object() && spec.contains("preset")) {
    // {"preset": "tiny", "size": 128, ...}: the preset with some fields changed (JSON merge patch).
    nlohmann::json patch = spec;
    patch.erase("preset");
    nlohmann::json j = resolve_model_config(spec.at("preset"), num_classes).to_json();
    j.merge_patch(patch);
    c = model::ModelConfig::from_json(j);
  } else {
    nlohmann::json j = spec;
    if (!j.contains("head")) j["head"] = nlohmann::json::object();
    j["head"]["num_classes"] = num_classes;
    c = model::ModelConfig::from_json(j);
  }
  c.head.num_classes = num_classes;
  c.validate();
  return c;
}

void split_train_val(const std::vector<data::Case>& cases, data::LabelLevel level, double fraction, uint64_t seed,
                     std::vector<data::Case>& train, std::vector<data::Case>& val) {
  std::map<std::string, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& l = cases[i].labels(level);
    groups[l.empty() ? std::string() : l.front()].push_back(i);
  }
  std::vector<bool> to_val(cases.size(), false);
  std::mt19937_64 rng(seed);
  for (auto& [name, members] : groups) {
    for (std::size_t i = members.size(); i > 1; --i)  // Fisher-Yates with our own draw (portable)
      std::swap(members[i - 1], members[static_cast<std::size_t>(data::draw_below(rng, static_cast<int64_t>(i)))]);
    std::size_t k = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(members.size())));
    if (members.size() >= 2) k = std::clamp<std::size_t>(k, 1, members.size() - 1);
    else k = 0;
    for (std::size_t j = 0; j < k; ++j) to_val[members[j]] = true;
  }
  for (std::size_t i = 0; i < cases.size(); ++i) (to_val[i] ? val : train).push_back(cases[i]);
}

RunConfig read_run_config(const std::string& run_dir) {
  const std::string path = run_dir + "/run_config.json";
  if (!fs::exists(path)) throw Error(run_dir, "not a raddiag run folder (no run_config.json)");
  return RunConfig::load(path);
}

namespace {

// Cases of every set, concatenated; `declared` receives the class names the sets declare (class folders,
// label CSV columns), also those without cases.
std::vector<data::Case> load_all(const std::vector<std::string>& paths, const DataConfig& d,
                                 std::vector<std::string>* declared = nullptr) {
  data::CaseSourceOptions so;
  so.data_root = d.data_root;
  so.prefixes = d.prefixes;
  so.modality = d.modality;
  so.layout = d.layout;
  std::vector<data::Case> all;
  for (const auto& p : paths) {
    auto set = data::load_dataset(p, so);
    if (set.cases.empty()) throw Error(p, "holds no case");
    if (declared) declared->insert(declared->end(), set.classes.begin(), set.classes.end());
    all.insert(all.end(), std::make_move_iterator(set.cases.begin()), std::make_move_iterator(set.cases.end()));
  }
  return all;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// Loads the weights of `path` whose names and shapes match (a new head keeps its fresh init).
void init_from_file(model::RadDiagModel& m, const std::string& path) {
  auto src = model::load_model_file(path);
  auto state = model::model_state(m);
  auto from = model::model_state(src.model);
  int64_t copied = 0, skipped = 0;
  for (auto& [name, t] : state) {
    auto it = from.find(name);
    if (it != from.end() && it->second.sizes() == t.sizes()) {
      t = it->second;
      ++copied;
    } else {
      ++skipped;
    }
  }
  if (copied == 0) throw Error(path, "init_from: no weight of this model file fits the configured model");
  model::load_model_state(m, state);
  spdlog::info("init_from {}: {} tensors copied, {} kept fresh (missing or different shape)", path, copied, skipped);
}

}  // namespace

TrainJobResult run_train_job(RunConfig cfg, const TrainJobOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  if (opt.run_dir.empty()) throw Error("--out", "a run folder is required");
  cfg.make_paths_absolute();
  cfg.validate();
  model::configure_threads(cfg.threads);
  const DistEnv env = DistEnv::from_environment();
  // Data-parallel ranks on one machine take one GPU each: a plain "cuda" becomes cuda:LOCAL_RANK.
  std::string device = model::resolve_device(cfg.device);
  if (device == "cuda" && env.distributed() && static_cast<size_t>(env.local_rank) < torch::cuda::device_count())
    device = "cuda:" + std::to_string(env.local_rank);
  std::shared_ptr<ProcessGroup> group;
  if (env.distributed()) {
    ProcessGroupOptions po;
    po.backend = parse_comm_backend(cfg.dist_backend);
    po.device = torch::Device(device);
    group = ProcessGroup::create(env, po);
    if (group->is_main())
      spdlog::info("data parallel: {} ranks ({} variables) over c10d {}, gradient all-reduce {}", group->world_size(),
                   env.launcher, comm_backend_name(group->backend()),
                   cfg.overlap_for(comm_backend_name(group->backend())) ? "overlapped with backward" : "after backward");
  }
  const bool main_rank = !group || group->is_main();

  if (!opt.resume && main_rank) {
    RunDir existing(opt.run_dir, false);
    if (fs::exists(opt.run_dir) && !existing.checkpoint_steps().empty())
      throw Error(opt.run_dir, "already holds checkpoints: continue it with --resume, or choose another --out");
  }

  // Data and vocabulary.
  const data::LabelLevel level = data::parse_label_level(cfg.data.level);
  const FinetuneConfig& ft = cfg.finetune;
  std::vector<data::Case> train_cases, val_cases;
  std::vector<std::string> declared;
  auto all_train = load_all(cfg.data.train, cfg.data, &declared);
  if (cfg.data.val.empty()) split_train_val(all_train, level, cfg.data.val_fraction, cfg.seed, train_cases, val_cases);
  else {
    train_cases = std::move(all_train);
    val_cases = load_all(cfg.data.val, cfg.data, &declared);
  }
  std::vector<std::string> absent_classes;
  nlohmann::json finetune_summary = nullptr;
  data::LabelVocabulary vocab;
  if (ft.enabled()) {
    // Fine-tuning: the label set is every class of the sets (and what they declare), also classes the
    // chosen training subset lacks: those are kept (the model scores them) and reported.
    const auto test_cases = load_all(ft.test, cfg.data, &declared);
    const int64_t n_all = static_cast<int64_t>(train_cases.size());
    train_cases = select_training_subset(train_cases, level, ft.fraction, ft.shots, cfg.seed);
    vocab = cfg.data.vocabulary.empty() ? finetune_vocabulary(train_cases, val_cases, test_cases, declared, level, &absent_classes)
                                        : data::LabelVocabulary::load_json(cfg.data.vocabulary);
    if (!cfg.data.vocabulary.empty()) {
      std::set<std::string> present;
      for (const auto& c : train_cases) present.insert(c.labels(level).begin(), c.labels(level).end());
      for (const auto& n : vocab.names())
        if (!present.count(n)) absent_classes.push_back(n);
    }
    if (main_rank)
      for (const auto& n : absent_classes)
        spdlog::warn("finetune: class '{}' has no training case{}; it stays in the label set (its head row only learns from negatives)",
                     n, ft.shots > 0 || ft.fraction < 1 ? " in the selected subset" : "");
    finetune_summary = {{"from", ft.from}, {"scratch", ft.scratch}, {"mode", ft.mode}, {"fraction", ft.fraction},
                        {"shots", ft.shots}, {"train_cases_available", n_all}, {"train_cases_used", train_cases.size()},
                        {"absent_classes", absent_classes}};
  } else {
    vocab = cfg.data.vocabulary.empty() ? data::LabelVocabulary::build_from_cases(train_cases, level, cfg.data.min_cases)
                                        : data::LabelVocabulary::load_json(cfg.data.vocabulary);
  }
  if (vocab.size() == 0) throw Error("data.train", "no class has enough training cases (min_cases " + std::to_string(cfg.data.min_cases) + ")");

  // Model and preprocessing (the model's geometry decides the tensor shapes).
  model::ModelBundle source_bundle;  // fine-tuning: the model transferred from
  model::ModelConfig mcfg;
  nlohmann::json pre_json = cfg.preprocess;
  if (ft.enabled()) {
    source_bundle = model::load_model_file(ft.from);
    const std::string fusion = choose_fusion_mode(ft.fusion, source_bundle.config.fusion.mode, train_cases);
    mcfg = finetune_model_config(source_bundle.config, static_cast<int64_t>(vocab.size()), fusion, ft.head,
                                 !source_bundle.text_encoder.empty());
    // A knowledge head for the new label set: its class names embedded by the source's own text encoder.
    if (ft.head == "knowledge" && cfg.knowledge.text_encoder.empty()) cfg.knowledge.text_encoder = ft.from;
    pre_json = source_bundle.preprocess.is_object() ? source_bundle.preprocess : nlohmann::json::object();
    pre_json.merge_patch(cfg.preprocess);  // the source's preprocessing, with the run's changes
    finetune_summary["fusion"] = fusion;
    finetune_summary["source_fusion"] = source_bundle.config.fusion.mode;
  } else {
    mcfg = resolve_model_config(cfg.model, static_cast<int64_t>(vocab.size()));
  }
  if (cfg.loss.attention_weight) mcfg.attention_loss_weight = *cfg.loss.attention_weight;
  data::PreprocessOptions pre = data::PreprocessOptions::from_json(pre_json);
  pre.size = mcfg.size;
  pre.depth = mcfg.depth;
  pre.level = level;
  // Late fusion trains on one image per case (reference 1.7), early fusion on n_image slots.
  const bool late = mcfg.fusion.mode == "late";
  pre.n_image = late ? 1 : mcfg.n_image;
  pre.validate();

  // Knowledge head: the class names embedded once by the frozen text encoder (reference 2.6).
  torch::Tensor class_text;
  model::StoredTextEncoder stored_text;
  nlohmann::json knowledge_card = nullptr;
  if (cfg.knowledge.enabled()) {
    text::SentenceEncoder encoder = text::load_text_encoder_from(cfg.knowledge.text_encoder);
    mcfg.head.type = "knowledge";
    mcfg.head.text_dim = encoder.dim();
    mcfg.validate();
    class_text = text::compute_class_embeddings(encoder, vocab.names(), cfg.knowledge.embed_batch_size);
    int64_t n_params = 0;
    for (const auto& p : encoder.model().parameters()) n_params += p.numel();
    if (cfg.knowledge.store_text_encoder) stored_text = text::store_text_encoder(encoder, cfg.knowledge.text_encoder);
    knowledge_card = {{"text_encoder", cfg.knowledge.text_encoder}, {"model_type", encoder.config().model_type},
                      {"text_dim", encoder.dim()}, {"layers", encoder.config().num_hidden_layers},
                      {"parameters", n_params}, {"pooling", text::pooling_name(encoder.pooling())},
                      {"normalize", encoder.normalize()}, {"frozen", true},
                      {"stored_in_model_file", cfg.knowledge.store_text_encoder},
                      {"class_texts", "the class names"}};
    if (main_rank)
      spdlog::info("knowledge head: {} class names embedded by {} ({}, {}-d, {} parameters, frozen)", vocab.size(),
                   cfg.knowledge.text_encoder, encoder.config().model_type, encoder.dim(), n_params);
  } else if (mcfg.head.type == "knowledge") {
    throw Error("run config", "model head.type 'knowledge' needs knowledge.text_encoder (a text encoder folder, "
                              "a `raddiag knowledge pretrain` output folder or a model file with a text encoder)");
  }

  RunDir run(opt.run_dir, main_rank);
  if (main_rank) {  // on --resume: the stored config with the command line's overrides
    write_bytes_atomically(opt.run_dir + "/run_config.json", cfg.to_json().dump(2) + "\n");
    vocab.save_json(opt.run_dir + "/vocabulary.json");
    // The exact split, as RP3D case JSON any command reads (evaluate/predict on held-out cases only).
    data::save_rp3d_cases(opt.run_dir + "/train_cases.json", train_cases);
    if (!val_cases.empty()) data::save_rp3d_cases(opt.run_dir + "/val_cases.json", val_cases);
  }

  seed_everything(cfg.seed);
  model::RadDiagModel net = model::build_model(mcfg);
  if (!cfg.init_from.empty()) init_from_file(net, cfg.init_from);
  if (ft.enabled() && !ft.scratch) {
    const WeightTransfer transfer = transfer_weights(net, source_bundle.model);
    if (transfer.carried.empty()) throw Error(ft.from, "finetune: no weight of the source model fits the target model");
    if (main_rank) {
      spdlog::info("finetune from {}: {}", ft.from, transfer.summary());
      write_bytes_atomically(opt.run_dir + "/weight_transfer.json", transfer.to_json().dump(2) + "\n");
    }
    finetune_summary["weights"] = transfer.to_json().at("modules");
  } else if (ft.enabled() && main_rank) {
    spdlog::info("finetune --scratch: the architecture of {} with fresh weights", ft.from);
  }
  source_bundle.model = nullptr;  // free the source weights
  if (class_text.defined()) net->knowledge_head()->set_class_embeddings(class_text);
  net->to(torch::Device(device));
  net->train();

  auto dataset = std::make_shared<data::CaseDataset>(train_cases, vocab, pre, cfg.seed);
  dataset->set_single_image(late);
  std::shared_ptr<const data::CaseSource> source = dataset;
  if (cfg.mixing.enabled()) {
    if (late) throw Error("mixing", "anatomy mixing fills several image slots; a late-fusion model takes one image per case");
    // Training items mix cases of different anatomies (reference 1.8); validation below never mixes.
    auto mixing = std::make_shared<AnatomyMixingSource>(dataset, cfg.mixing);
    if (main_rank) spdlog::info("anatomy mixing: {}", mixing->describe());
    source = mixing;
  }
  std::vector<int64_t> counts(vocab.size(), 0);
  std::vector<std::vector<int64_t>> labels;
  for (int64_t i = 0; i < source->size(); ++i) {
    labels.push_back(source->labels_of(i));
    for (int64_t c : labels.back()) ++counts[static_cast<std::size_t>(c)];
  }
  std::shared_ptr<const data::Sampler> sampler = data::make_sampler(cfg.sampler, source->size(), labels, cfg.seed);
  if (group && group->world_size() > 1)
    sampler = std::make_shared<data::DistributedSampler>(sampler, group->rank(), group->world_size());
  data::LoaderOptions lo;
  lo.workers = cfg.workers;
  lo.batch_size = cfg.batch_size;
  lo.seed = cfg.seed;
  data::CaseTransform aug = nullptr;
  if (cfg.augment.enabled) {
    const data::AugmentOptions ao = cfg.augment;
    aug = [ao](data::CaseTensors& c, data::CaseRng& r) { data::augment_case(c, ao, r); };
  }
  data::CaseLoader loader(source, sampler, lo, aug);
  if (loader.batches_per_epoch() < 1)
    throw Error("batch_size", "larger than the training set (" + std::to_string(source->size()) + " cases per rank)");

  OptimOptions oo = cfg.optim;
  if (ft.enabled()) {
    auto rules = finetune_param_rules(net, ft.mode, ft.layer_decay);
    oo.groups.insert(oo.groups.begin(), rules.begin(), rules.end());
  }
  for (const auto& prefix : cfg.freeze) {
    ParamGroupRule r;
    r.prefix = prefix;
    r.frozen = true;
    oo.groups.insert(oo.groups.begin(), r);
  }
  OptimizerSetup optim = make_adamw(*net, oo);
  int64_t total = cfg.steps;
  if (total <= 0) total = std::max<int64_t>(1, (loader.batches_per_epoch() * cfg.epochs) / std::max(1, oo.grad_accum_steps));

  // Loss.
  torch::Tensor pos_weight;
  if (cfg.loss.kind == "bce_pos_weight") {
    std::vector<float> w;
    const double n = static_cast<double>(source->size());
    for (int64_t c : counts) w.push_back(static_cast<float>(std::min(cfg.loss.pos_weight_max, c > 0 ? (n - c) / c : cfg.loss.pos_weight_max)));
    pos_weight = torch::tensor(w).to(torch::Device(device));
  }
  const LossConfig lc = cfg.loss;
  // Frozen encoder (linear probe): it runs in eval mode, so BatchNorm neither normalises with batch
  // statistics nor updates its running statistics; the trainer puts the model in training mode, so
  // this is re-applied before every forward.
  const bool frozen_encoder = ft.enabled() && ft.mode == "frozen";
  StepFn step = [&net, lc, pos_weight, frozen_encoder](const data::CaseBatch& b) -> LossDict {
    if (frozen_encoder) set_encoder_eval(net);
    model::ModelOutput out = net->forward(b);
    torch::Tensor cls;  // unknown labels (b.known == 0) are left out of every loss
    if (lc.kind == "bce") cls = out.loss_cls.defined() ? out.loss_cls : model::multilabel_loss(out.logits, b.labels, b.known);
    else if (lc.kind == "bce_pos_weight") cls = model::weighted_bce_loss(out.logits, b.labels, pos_weight, b.known);
    else if (lc.kind == "focal") cls = model::focal_loss(out.logits, b.labels, lc.focal_gamma, lc.focal_alpha, b.known);
    else cls = model::asymmetric_loss(out.logits, b.labels, lc.asl_gamma_neg, lc.asl_gamma_pos, lc.asl_clip, 1e-8, b.known);
    LossDict d{{"cls", cls.detach()}};
    torch::Tensor loss = cls;
    if (out.loss_attn.defined()) {
      loss = loss + out.loss_attn;
      d["attn"] = out.loss_attn.detach();
    }
    d["loss"] = loss;
    return d;
  };

  // Validation through the inference path.
  auto bundle_of = [&]() {
    model::ModelBundle b;
    b.config = mcfg;
    b.preprocess = pre.to_json();
    b.classes = vocab.names();
    b.model = net;
    return b;
  };
  serve::PredictOptions po;
  po.batch_size = cfg.batch_size;
  po.progress = false;
  po.seed = cfg.seed;
  // During training every rank validates its share of the cases and all get the gathered metrics;
  // the final pass (rank 0 only, after training) runs unsharded.
  auto validate_now = [&](bool sharded) {
    serve::Predictor predictor(bundle_of(), device);
    return serve::quick_metrics(predict_sharded(predictor, val_cases, po, sharded ? group.get() : nullptr));
  };

  TrainerOptions to;
  to.total_steps = total;
  to.log_every = cfg.log_every;
  to.checkpoint_every = cfg.checkpoint_every;
  to.keep_last = cfg.keep_last;
  to.validate_every = cfg.validate_every;
  to.validate_at_end = !val_cases.empty();
  to.best_metric = val_cases.empty() ? "" : "macro_auc";
  to.device = device;
  to.overlap_grad_sync = cfg.overlap_for(group ? comm_backend_name(group->backend()) : "");
  to.progress = opt.progress;
  Trainer trainer(*net, step, loader, optim, oo, to, opt.run_dir, cfg.to_json(), group);
  if (!val_cases.empty())
    trainer.set_validation([&](int64_t) {
      const auto q = validate_now(true);
      return std::map<std::string, double>{{"macro_auc", q.macro_auc}, {"macro_ap", q.macro_ap},
                                           {"macro_f1", q.macro_f1}, {"val_defined_classes", double(q.n_defined)}};
    });
  if (main_rank)
    spdlog::info("train: {} train / {} val cases, {} classes, {} steps of {} cases, model {} ({} head) on {}", train_cases.size(),
                 val_cases.size(), vocab.size(), total, cfg.batch_size, cfg.model.is_string() ? cfg.model.get<std::string>() : "custom",
                 mcfg.head.type, device);
  if (opt.resume && !trainer.resume()) throw Error(opt.run_dir, "--resume: the run folder holds no checkpoint");
  const TrainResult tr = trainer.run();

  TrainJobResult result;
  result.steps = tr.steps;
  result.n_train = static_cast<int64_t>(train_cases.size());
  result.n_val = static_cast<int64_t>(val_cases.size());
  result.n_classes = static_cast<int64_t>(vocab.size());
  result.absent_classes = absent_classes;
  result.finetune = finetune_summary;
  result.best_step = tr.best_step;
  result.interrupted = tr.interrupted;
  result.val_macro_auc = std::nan("");
  if (!main_rank || tr.interrupted) {
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
  }

  // The saved model: the best checkpoint by validation AUC (else the final weights).
  if (tr.best_step && fs::exists(run.checkpoint_path(*tr.best_step))) {
    LoadOptions lopt;
    lopt.optimizer = false;
    lopt.rng = false;
    load_checkpoint(run.checkpoint_path(*tr.best_step), *net, nullptr, lopt);
  }
  model::ModelBundle bundle = bundle_of();
  bundle.text_encoder = stored_text;
  nlohmann::json validation = nullptr;
  if (!val_cases.empty()) {
    const auto q = validate_now(false);
    bundle.thresholds = serve::thresholds_for_model(q.thresholds);
    result.val_macro_auc = q.macro_auc;
    validation = {{"macro_auc", q.macro_auc}, {"macro_ap", q.macro_ap}, {"macro_f1", q.macro_f1},
                  {"n_cases", q.n_cases}, {"defined_classes", q.n_defined},
                  {"thresholds", "max F1 per class on the validation set (probability space); 0.5 where undefined"}};
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  bundle.card = {
      {"intended_use", "Research use only; not a medical device and not for clinical decisions."},
      {"provenance",
       {{"tool", "raddiag train"}, {"created", utc_now()}, {"run_dir", fs::absolute(opt.run_dir).string()},
        {"run_config", cfg.to_json()}, {"steps", tr.steps}, {"saved_step", tr.best_step ? nlohmann::json(*tr.best_step) : nlohmann::json(tr.steps)},
        {"selection", tr.best_step ? "best validation macro AUC" : "final weights"}, {"train_seconds", result.seconds}}},
      {"training_data",
       {{"sets", cfg.data.train}, {"n_cases", train_cases.size()}, {"level", cfg.data.level},
        {"validation_sets", cfg.data.val.empty() ? nlohmann::json("seeded stratified split of the training sets") : nlohmann::json(cfg.data.val)},
        {"validation_fraction", cfg.data.val.empty() ? nlohmann::json(cfg.data.val_fraction) : nlohmann::json()},
        {"n_val_cases", val_cases.size()}, {"class_counts", counts}}},
      {"validation", validation}};
  if (!knowledge_card.is_null()) bundle.card["knowledge"] = knowledge_card;
  if (ft.enabled()) bundle.card["finetune"] = finetune_summary;
  result.model_path = opt.run_dir + "/model.raddiag";
  model::save_model_file(result.model_path, bundle);
  spdlog::info("wrote {} (step {}, val macro AUC {:.4f}, {:.1f} s)", result.model_path,
               tr.best_step ? *tr.best_step : tr.steps, result.val_macro_auc, result.seconds);
  return result;
}

}  // namespace raddiag::train
