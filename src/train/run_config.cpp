#include "train/run_config.h"

#include <filesystem>
#include <set>

#include "data/preprocess.h"
#include "model/losses.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::train {

namespace {

const char* kSubject = "run config";

void reject_unknown(const nlohmann::json& j, const std::string& where, const std::set<std::string>& known) {
  if (!j.is_object()) throw Error(kSubject, where + ": expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key())) throw Error(kSubject, where + ": unknown key '" + it.key() + "'");
}

template <typename T>
void read(const nlohmann::json& j, const std::string& where, const char* key, T& out) {
  if (!j.contains(key)) return;
  try {
    out = j.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(kSubject, where + key + ": wrong type (" + e.what() + ")");
  }
}

// A path list may be given as one string.
void read_paths(const nlohmann::json& j, const char* key, std::vector<std::string>& out) {
  if (!j.contains(key)) return;
  if (j.at(key).is_string()) out = {j.at(key).get<std::string>()};
  else read(j, "data.", key, out);
}

std::string absolute(const std::string& p) {
  if (p.empty()) return p;
  return std::filesystem::absolute(p).lexically_normal().string();
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
            {"data_root", data.data_root},
            {"prefixes", data.prefixes},
            {"modality", data.modality},
            {"level", data.level},
            {"vocabulary", data.vocabulary},
            {"min_cases", data.min_cases},
            {"layout", data.layout}}},
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
          {"checkpoint_every", checkpoint_every},
          {"keep_last", keep_last},
          {"validate_every", validate_every},
          {"seed", seed},
          {"device", device},
          {"dist_backend", dist_backend},
          {"dist_overlap", dist_overlap == "auto" ? nlohmann::json("auto") : nlohmann::json(dist_overlap == "true")},
          {"threads", threads},
          {"init_from", init_from},
          {"knowledge",
           {{"text_encoder", knowledge.text_encoder},
            {"store_text_encoder", knowledge.store_text_encoder},
            {"embed_batch_size", knowledge.embed_batch_size}}},
          {"finetune", finetune.to_json()}};
}

RunConfig RunConfig::from_json(const nlohmann::json& j) {
  RunConfig c;
  reject_unknown(j, "top level",
                 {"data", "model", "preprocess", "augment", "mixing", "loss", "optim", "freeze", "sampler", "workers", "batch_size",
                  "steps", "epochs", "log_every", "checkpoint_every", "keep_last", "validate_every", "seed", "device",
                  "dist_backend", "dist_overlap", "threads", "init_from", "knowledge", "finetune", "comment"});
  if (j.contains("data")) {
    const auto& d = j.at("data");
    reject_unknown(d, "data", {"train", "val", "val_fraction", "data_root", "prefixes", "modality", "level", "vocabulary",
                               "min_cases", "layout"});
    read_paths(d, "train", c.data.train);
    read_paths(d, "val", c.data.val);
    read(d, "data.", "val_fraction", c.data.val_fraction);
    read(d, "data.", "data_root", c.data.data_root);
    read(d, "data.", "prefixes", c.data.prefixes);
    read(d, "data.", "modality", c.data.modality);
    read(d, "data.", "level", c.data.level);
    read(d, "data.", "vocabulary", c.data.vocabulary);
    read(d, "data.", "min_cases", c.data.min_cases);
    read(d, "data.", "layout", c.data.layout);
  }
  if (j.contains("model")) {
    c.model = j.at("model");
    if (!c.model.is_string() && !c.model.is_object())
      throw Error(kSubject, "model: expected a preset name or a model config object");
  }
  if (j.contains("preprocess")) {
    c.preprocess = j.at("preprocess");
    if (!c.preprocess.is_object()) throw Error(kSubject, "preprocess: expected a JSON object");
    const nlohmann::json known = data::PreprocessOptions().to_json();
    for (auto it = c.preprocess.begin(); it != c.preprocess.end(); ++it)
      if (!known.contains(it.key())) throw Error(kSubject, "preprocess: unknown key '" + it.key() + "'");
    try {
      data::PreprocessOptions::from_json(c.preprocess);
    } catch (const std::exception& e) {
      throw Error(kSubject, std::string("preprocess: ") + e.what());
    }
  }
  try {
    if (j.contains("augment")) c.augment = data::AugmentOptions::from_json(j.at("augment"));
    if (j.contains("mixing")) c.mixing = MixingOptions::from_json(j.at("mixing"));
    if (j.contains("optim")) c.optim = OptimOptions::from_json(j.at("optim"));
  } catch (const Error& e) {
    throw Error(kSubject, e.what());
  }
  if (j.contains("loss")) {
    const auto& l = j.at("loss");
    reject_unknown(l, "loss", {"kind", "attention_weight", "pos_weight_max", "focal_gamma", "focal_alpha",
                               "asl_gamma_neg", "asl_gamma_pos", "asl_clip"});
    read(l, "loss.", "kind", c.loss.kind);
    if (l.contains("attention_weight") && !l.at("attention_weight").is_null()) {
      double w = 0;
      read(l, "loss.", "attention_weight", w);
      c.loss.attention_weight = w;
    }
    read(l, "loss.", "pos_weight_max", c.loss.pos_weight_max);
    read(l, "loss.", "focal_gamma", c.loss.focal_gamma);
    read(l, "loss.", "focal_alpha", c.loss.focal_alpha);
    read(l, "loss.", "asl_gamma_neg", c.loss.asl_gamma_neg);
    read(l, "loss.", "asl_gamma_pos", c.loss.asl_gamma_pos);
    read(l, "loss.", "asl_clip", c.loss.asl_clip);
  }
  read(j, "", "freeze", c.freeze);
  if (j.contains("sampler")) {
    c.sampler = j.at("sampler");
    if (!c.sampler.is_object()) throw Error(kSubject, "sampler: expected a JSON object");
  }
  read(j, "", "workers", c.workers);
  read(j, "", "batch_size", c.batch_size);
  read(j, "", "steps", c.steps);
  read(j, "", "epochs", c.epochs);
  read(j, "", "log_every", c.log_every);
  read(j, "", "checkpoint_every", c.checkpoint_every);
  read(j, "", "keep_last", c.keep_last);
  read(j, "", "validate_every", c.validate_every);
  read(j, "", "seed", c.seed);
  read(j, "", "device", c.device);
  read(j, "", "dist_backend", c.dist_backend);
  if (j.contains("dist_overlap")) {
    const auto& v = j.at("dist_overlap");
    if (v.is_boolean()) c.dist_overlap = v.get<bool>() ? "true" : "false";
    else if (v == "auto") c.dist_overlap = "auto";
    else throw Error(kSubject, "dist_overlap must be true, false or \"auto\"");
  }
  read(j, "", "threads", c.threads);
  read(j, "", "init_from", c.init_from);
  if (j.contains("knowledge")) {
    const auto& k = j.at("knowledge");
    reject_unknown(k, "knowledge", {"text_encoder", "store_text_encoder", "embed_batch_size", "fine_tune"});
    if (k.contains("fine_tune") && k.at("fine_tune") != false)
      throw Error(kSubject, "knowledge.fine_tune: fine-tuning the text encoder is not supported (it stays frozen)");
    read(k, "knowledge.", "text_encoder", c.knowledge.text_encoder);
    read(k, "knowledge.", "store_text_encoder", c.knowledge.store_text_encoder);
    read(k, "knowledge.", "embed_batch_size", c.knowledge.embed_batch_size);
  }
  if (j.contains("finetune")) c.finetune = FinetuneConfig::from_json(j.at("finetune"));
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
  need(knowledge.embed_batch_size >= 1, "knowledge.embed_batch_size must be >= 1");
  need(checkpoint_every >= 0 && validate_every >= 0 && log_every >= 1, "checkpoint_every/validate_every >= 0, log_every >= 1");
  need(data.layout == "auto" || data.layout == "cases" || data.layout == "classes", "data.layout must be auto, cases or classes");
  need(dist_backend == "auto" || dist_backend == "gloo" || dist_backend == "nccl",
       "dist_backend must be auto, gloo or nccl (got '" + dist_backend + "')");
  need(!(finetune.enabled() && !init_from.empty()), "init_from and finetune.from: give one of them");
  finetune.validate();
}

void RunConfig::make_paths_absolute() {
  for (auto& p : data.train) p = absolute(p);
  for (auto& p : data.val) p = absolute(p);
  data.data_root = absolute(data.data_root);
  data.vocabulary = absolute(data.vocabulary);
  init_from = absolute(init_from);
  knowledge.text_encoder = absolute(knowledge.text_encoder);
  finetune.from = absolute(finetune.from);
  for (auto& p : finetune.test) p = absolute(p);
}

}  // namespace raddiag::train
