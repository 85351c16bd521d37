#include "train/run_config.h"

#include <algorithm>
#include <filesystem>

#include "data/preprocess.h"
#include "model/losses.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/json_keys.h"

namespace raddiag::train {

namespace {

const char* kSubject = "run config";

// A path list may be given as one string.
void read_paths(const JsonOptionsReader& r, const char* key, std::vector<std::string>& out) {
  if (r.has(key) && r.at(key).is_string()) out = {r.at(key).get<std::string>()};
  else r.read(key, out);
}

std::string absolute(const std::string& p) {
  if (p.empty()) return p;
  return std::filesystem::absolute(p).lexically_normal().string();
}

// The validation numbers a run can select its saved model by (train_job.cpp records them).
const std::vector<std::string>& best_metrics() {
  static const std::vector<std::string> names{"auto",     "eval_loss",  "macro_auc", "macro_ap", "macro_f1",
                                              "within_dataset_macro_auc", "within_dataset_macro_ap",
                                              "within_dataset_macro_f1"};
  return names;
}
bool is_best_metric(const std::string& name) {
  const auto& n = best_metrics();
  return std::find(n.begin(), n.end(), name) != n.end();
}
std::string best_metric_names() {
  std::string s;
  for (const auto& n : best_metrics()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Fields a config may declare required ("require"), each with how it is found empty and what to do.
struct RequiredField {
  const char* name;
  bool (*is_empty)(const RunConfig&);
  const char* hint;
};
const RequiredField* required_field(const std::string& name) {
  static const RequiredField fields[] = {
      {"init_from", [](const RunConfig& c) { return c.init_from.empty(); },
       "give the starting weights (e.g. the ImageNet torchvision ResNet-50 file, docs/imagenet-init.md) with "
       "\"init_from\" or `raddiag train --init-from FILE`"},
      {"data.val", [](const RunConfig& c) { return c.data.val.empty(); }, "give the validation cases in data.val"},
      {"knowledge.text_encoder", [](const RunConfig& c) { return c.knowledge.text_encoder.empty(); },
       "give the text encoder folder in knowledge.text_encoder (docs/knowledge-head.md)"},
  };
  for (const auto& f : fields)
    if (name == f.name) return &f;
  return nullptr;
}

}  // namespace

nlohmann::json RunConfig::to_json() const {
  nlohmann::json loss_j = {{"kind", loss.kind},
                           {"attention_weight", loss.attention_weight ? nlohmann::json(*loss.attention_weight) : nlohmann::json()},
                           {"pos_weight_max", loss.pos_weight_max},
                           {"focal_gamma", loss.focal_gamma},
                           {"focal_alpha", loss.focal_alpha},
                           {"asl_gamma_neg", loss.asl_gamma_neg},
                           {"asl_gamma_pos", loss.asl_gamma_pos},
                           {"asl_clip", loss.asl_clip}};
  return {{"data",
           {{"train", data.train},
            {"val", data.val},
            {"val_fraction", data.val_fraction},
            {"split_seed", data.split_seed},
            {"folds", data.folds},
            {"fold", data.fold},
            {"data_root", data.data_root},
            {"prefixes", data.prefixes},
            {"modality", data.modality},
            {"level", data.level},
            {"vocabulary", data.vocabulary},
            {"min_cases", data.min_cases},
            {"layout", data.layout},
            {"unknown_by_dataset", data.unknown_by_dataset == "auto" ? nlohmann::json("auto") : nlohmann::json(data.unknown_by_dataset == "true")},
            {"datasets", data.datasets}}},
          {"model", model},
          {"preprocess", preprocess},
          {"augment", augment.to_json()},
          {"mixing", mixing.to_json()},
          {"loss", loss_j},
          {"optim", optim.to_json()},
          {"freeze", freeze},
          {"sampler", sampler},
          {"workers", workers},
          {"batch_size", batch_size},
          {"steps", steps},
          {"epochs", epochs},
          {"log_every", log_every},
          {"checkpoint_every", checkpoint_every.to_json()},
          {"keep_last", keep_last},
          {"validate_every", validate_every.to_json()},
          {"best_metric", best_metric},
          {"require", require},
          {"seed", seed},
          {"device", device},
          {"dist_backend", dist_backend},
          {"dist_overlap", dist_overlap == "auto" ? nlohmann::json("auto") : nlohmann::json(dist_overlap == "true")},
          {"threads", threads},
          {"init_from", init_from},
          {"ema", {{"decay", ema_decay}}},
          {"knowledge",
           {{"text_encoder", knowledge.text_encoder},
            {"store_text_encoder", knowledge.store_text_encoder},
            {"embed_batch_size", knowledge.embed_batch_size},
            {"class_texts", knowledge.class_texts}}},
          {"finetune", finetune.to_json()}};
}

RunConfig RunConfig::from_json(const nlohmann::json& j) {
  RunConfig c;
  const JsonOptionsReader r(j, kSubject, "", "RunConfig",
                            {"data", "model", "preprocess", "augment", "mixing", "loss", "optim", "freeze", "sampler", "workers",
                             "batch_size", "steps", "epochs", "log_every", "checkpoint_every", "keep_last", "validate_every",
                             "seed", "device", "dist_backend", "dist_overlap", "threads", "init_from", "knowledge", "finetune",
                             "ema", "comment", "best_metric", "require"});
  if (r.has("data")) {
    const auto d = r.child("data", "DataConfig",
                           {"train", "val", "val_fraction", "split_seed", "folds", "fold", "data_root", "prefixes", "modality", "level", "vocabulary",
                            "min_cases", "layout", "unknown_by_dataset", "datasets"});
    read_paths(d, "train", c.data.train);
    read_paths(d, "val", c.data.val);
    d.read("val_fraction", c.data.val_fraction);
    d.read("split_seed", c.data.split_seed);
    d.read("folds", c.data.folds);
    d.read("fold", c.data.fold);
    d.read("data_root", c.data.data_root);
    d.read("prefixes", c.data.prefixes);
    d.read("modality", c.data.modality);
    d.read("level", c.data.level);
    d.read("vocabulary", c.data.vocabulary);
    d.read("min_cases", c.data.min_cases);
    d.read("layout", c.data.layout);
    d.read("datasets", c.data.datasets);
    if (d.has("unknown_by_dataset")) {
      const auto& v = d.at("unknown_by_dataset");
      if (v.is_boolean()) c.data.unknown_by_dataset = v.get<bool>() ? "true" : "false";
      else if (v == "auto") c.data.unknown_by_dataset = "auto";
      else d.fail("unknown_by_dataset", "must be true, false or \"auto\"");
    }
  }
  if (r.has("model")) {
    c.model = r.at("model");
    if (!c.model.is_string() && !c.model.is_object()) r.fail("model", "is not a preset name or a model config object");
  }
  if (r.has("preprocess")) {
    c.preprocess = r.at("preprocess");  // kept as JSON: a fine-tuning run merges it into the source model's
    try {
      data::PreprocessOptions::from_json(c.preprocess);
    } catch (const std::exception& e) {
      throw Error(kSubject, std::string("preprocess: ") + e.what());
    }
  }
  try {
    if (r.has("augment")) c.augment = data::AugmentOptions::from_json(r.at("augment"));
    if (r.has("mixing")) c.mixing = MixingOptions::from_json(r.at("mixing"));
    if (r.has("optim")) c.optim = OptimOptions::from_json(r.at("optim"));
  } catch (const Error& e) {
    throw Error(kSubject, e.what());
  }
  if (r.has("loss")) {
    const auto l = r.child("loss", "LossConfig",
                           {"kind", "attention_weight", "pos_weight_max", "focal_gamma", "focal_alpha", "asl_gamma_neg",
                            "asl_gamma_pos", "asl_clip"});
    l.read("kind", c.loss.kind);
    if (l.has("attention_weight") && !l.at("attention_weight").is_null()) {
      double w = 0;
      l.read("attention_weight", w);
      c.loss.attention_weight = w;
    }
    l.read("pos_weight_max", c.loss.pos_weight_max);
    l.read("focal_gamma", c.loss.focal_gamma);
    l.read("focal_alpha", c.loss.focal_alpha);
    l.read("asl_gamma_neg", c.loss.asl_gamma_neg);
    l.read("asl_gamma_pos", c.loss.asl_gamma_pos);
    l.read("asl_clip", c.loss.asl_clip);
  }
  r.read("freeze", c.freeze);
  if (r.has("sampler")) {
    c.sampler = r.at("sampler");
    if (!c.sampler.is_object()) r.fail("sampler", "is not a JSON object");
  }
  r.read("workers", c.workers);
  r.read("batch_size", c.batch_size);
  r.read("steps", c.steps);
  r.read("epochs", c.epochs);
  r.read("log_every", c.log_every);
  if (r.has("checkpoint_every")) c.checkpoint_every = StepInterval::from_json(r.at("checkpoint_every"), kSubject, "checkpoint_every");
  r.read("keep_last", c.keep_last);
  if (r.has("validate_every")) c.validate_every = StepInterval::from_json(r.at("validate_every"), kSubject, "validate_every");
  r.read("best_metric", c.best_metric);
  r.read("require", c.require);
  r.read("seed", c.seed);
  r.read("device", c.device);
  r.read("dist_backend", c.dist_backend);
  if (r.has("dist_overlap")) {
    const auto& v = r.at("dist_overlap");
    if (v.is_boolean()) c.dist_overlap = v.get<bool>() ? "true" : "false";
    else if (v == "auto") c.dist_overlap = "auto";
    else r.fail("dist_overlap", "must be true, false or \"auto\"");
  }
  r.read("threads", c.threads);
  r.read("init_from", c.init_from);
  if (r.has("ema")) r.child("ema", "EmaConfig", {"decay"}).read("decay", c.ema_decay);
  if (r.has("knowledge")) {
    const auto k = r.child("knowledge", "KnowledgeConfig", {"text_encoder", "store_text_encoder", "embed_batch_size", "fine_tune", "class_texts"});
    if (k.has("fine_tune") && k.at("fine_tune") != false)
      k.fail("fine_tune", "must be false: fine-tuning the text encoder is not supported (it stays frozen)");
    k.read("text_encoder", c.knowledge.text_encoder);
    k.read("store_text_encoder", c.knowledge.store_text_encoder);
    k.read("embed_batch_size", c.knowledge.embed_batch_size);
    k.read("class_texts", c.knowledge.class_texts);
  }
  if (r.has("finetune")) c.finetune = FinetuneConfig::from_json(r.at("finetune"));
  c.validate();
  return c;
}

RunConfig RunConfig::load(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file_bytes(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("not valid JSON: ") + e.what());
  }
  try {
    return from_json(j);
  } catch (const Error& e) {
    throw Error(path, e.what());
  }
}

void RunConfig::validate() const {
  auto need = [](bool ok, const std::string& why) {
    if (!ok) throw Error(kSubject, why);
  };
  need(!data.train.empty(), "data.train: give at least one training manifest or dataset folder");
  need(data.val_fraction > 0 && data.val_fraction < 1, "data.val_fraction must be in (0, 1)");
  need(data.split_seed >= -1, "data.split_seed must be -1 (the run's seed) or a seed >= 0");
  need(data.folds == 0 || data.folds >= 2, "data.folds must be 0 (no cross-validation) or >= 2");
  need(data.folds == 0 ? data.fold == 0 : (data.fold >= 0 && data.fold < data.folds),
       "data.fold must be in [0, data.folds) (got " + std::to_string(data.fold) + " of " + std::to_string(data.folds) + ")");
  need(data.folds == 0 || data.val.empty(), "data.folds splits the training sets: leave data.val empty");
  need(data.level == "articles" || data.level == "icd10s", "data.level must be articles or icd10s");
  need(data.min_cases >= 1, "data.min_cases must be >= 1");
  if (!model::is_loss_kind(loss.kind)) {
    std::string known;
    for (const auto& n : model::loss_kinds()) known += (known.empty() ? "" : ", ") + n;
    need(false, "loss.kind must be one of " + known + " (got '" + loss.kind + "')");
  }
  need(workers >= 0, "workers must be >= 0");
  need(batch_size >= 1, "batch_size must be >= 1");
  need(steps > 0 || epochs > 0, "give steps > 0 or epochs > 0");
  need(steps >= 0 && epochs >= 0, "steps and epochs must be >= 0");
  need(keep_last >= 1, "keep_last must be >= 1");
  need(ema_decay == 0 || (ema_decay > 0 && ema_decay < 1), "ema.decay must be 0 (off) or lie in (0, 1)");
  need(knowledge.embed_batch_size >= 1, "knowledge.embed_batch_size must be >= 1");
  need(checkpoint_every.count >= 0 && validate_every.count >= 0 && log_every >= 1, "checkpoint_every/validate_every >= 0, log_every >= 1");
  need(is_best_metric(best_metric), "best_metric must be one of " + best_metric_names() + " (got '" + best_metric + "')");
  for (const auto& field : require)
    need(required_field(field) != nullptr, "require: unknown field '" + field + "' (known: init_from, data.val, knowledge.text_encoder)");
  need(data.layout == "auto" || data.layout == "cases" || data.layout == "classes", "data.layout must be auto, cases or classes");
  need(dist_backend == "auto" || dist_backend == "gloo" || dist_backend == "nccl",
       "dist_backend must be auto, gloo or nccl (got '" + dist_backend + "')");
  need(!(finetune.enabled() && !init_from.empty()), "init_from and finetune.from: give one of them");
  finetune.validate();
}

void RunConfig::check_required() const {
  for (const auto& field : require) {
    const auto* f = required_field(field);
    if (f && f->is_empty(*this)) throw Error(kSubject, field + " is required by this config: " + f->hint);
  }
}

void RunConfig::make_paths_absolute() {
  for (auto& p : data.train) p = absolute(p);
  for (auto& p : data.val) p = absolute(p);
  data.data_root = absolute(data.data_root);
  // FROM=TO rewrites: a relative TO is a folder of this machine, relative to the working directory like
  // every other path here (left relative, the reader would take it from the manifest's folder).
  for (auto& p : data.prefixes) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq + 1 >= p.size() || std::filesystem::path(p.substr(eq + 1)).is_absolute()) continue;
    const std::string to = p.substr(eq + 1);
    std::string abs = absolute(to);
    if (to.back() == '/' && (abs.empty() || abs.back() != '/')) abs += '/';
    p = p.substr(0, eq + 1) + abs;
  }
  data.vocabulary = absolute(data.vocabulary);
  init_from = absolute(init_from);
  knowledge.text_encoder = absolute(knowledge.text_encoder);
  knowledge.class_texts = absolute(knowledge.class_texts);
  finetune.from = absolute(finetune.from);
  finetune.init = absolute(finetune.init);
  for (auto& p : finetune.test) p = absolute(p);
}

}  // namespace raddiag::train
