#include "train/finetune.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "data/preprocess.h"
#include "util/error.h"
#include "util/json_keys.h"

namespace raddiag::train {

namespace {

const char* kFinetuneSubject = "run config";

// "backbone.layer1.0.conv1.weight" -> "backbone"
std::string ft_top_module(const std::string& name) { return name.substr(0, name.find('.')); }

}  // namespace

nlohmann::json FinetuneConfig::to_json() const {
  return {{"from", from},           {"scratch", scratch}, {"init", init}, {"mode", mode},         {"layer_decay", layer_decay},
          {"head", model::head_type_name(head)},
          {"fusion", fusion ? model::fusion_mode_name(*fusion) : "auto"},
          {"fraction", fraction},   {"shots", shots},
          {"test", test},           {"bootstrap", bootstrap}};
}

model::HeadType parse_finetune_head(const std::string& name) {
  if (name != "mlp" && name != "knowledge") throw Error(kFinetuneSubject, "finetune.head must be mlp or knowledge (got '" + name + "')");
  return model::parse_head_type(name);
}

std::optional<model::FusionMode> parse_finetune_fusion(const std::string& name) {
  if (name == "auto") return std::nullopt;
  if (name != "early" && name != "late")
    throw Error(kFinetuneSubject, "finetune.fusion must be auto, early or late (got '" + name + "')");
  return model::parse_fusion_mode(name);
}

FinetuneConfig FinetuneConfig::from_json(const nlohmann::json& j) {
  const JsonOptionsReader r(j, kFinetuneSubject, "finetune.", "FinetuneConfig",
                            {"from", "scratch", "init", "mode", "layer_decay", "head", "fusion", "fraction", "shots", "test", "bootstrap"});
  FinetuneConfig c;
  r.read("from", c.from);
  r.read("scratch", c.scratch);
  r.read("init", c.init);
  r.read("mode", c.mode);
  r.read("layer_decay", c.layer_decay);
  r.read_parsed("head", c.head, parse_finetune_head);
  r.read_parsed("fusion", c.fusion, parse_finetune_fusion);
  r.read("fraction", c.fraction);
  r.read("shots", c.shots);
  if (r.has("test") && r.at("test").is_string()) c.test = {r.at("test").get<std::string>()};  // one set as a string
  else r.read("test", c.test);
  r.read("bootstrap", c.bootstrap);
  c.validate();
  return c;
}

void FinetuneConfig::validate() const {
  auto need = [](bool ok, const std::string& why) {
    if (!ok) throw Error(kFinetuneSubject, "finetune." + why);
  };
  need(mode == "full" || mode == "frozen" || mode == "layerwise", "mode must be full, frozen or layerwise (got '" + mode + "')");
  need(layer_decay > 0 && layer_decay <= 1, "layer_decay must be in (0, 1]");
  need(fraction > 0 && fraction <= 1, "fraction must be in (0, 1]");
  need(shots >= 0, "shots must be >= 0");
  need(!(shots > 0 && fraction < 1), "fraction and shots: give one of them");
  need(bootstrap >= 0, "bootstrap must be >= 0");
  // Without scratch every backbone weight comes from `from`, so an init file would be overwritten unseen.
  need(init.empty() || scratch, "init (starting weights, e.g. ImageNet) needs scratch: without it every weight that fits comes from finetune.from");
}

std::vector<data::Case> select_training_subset(const std::vector<data::Case>& cases, data::LabelLevel level,
                                               double fraction, int64_t shots, uint64_t seed) {
  if (shots <= 0 && fraction >= 1) return cases;
  std::vector<bool> keep(cases.size(), false);
  if (shots > 0) {
    std::map<std::string, std::vector<std::size_t>> members;  // name order
    for (std::size_t i = 0; i < cases.size(); ++i)
      for (const auto& l : cases[i].labels(level)) members[l].push_back(i);
    std::mt19937_64 rng(seed);
    for (auto& [name, idx] : members) {
      int64_t have = 0;
      for (std::size_t i : idx) have += keep[i];
      for (std::size_t k = idx.size(); k > 1; --k)
        std::swap(idx[k - 1], idx[static_cast<std::size_t>(data::draw_below(rng, static_cast<int64_t>(k)))]);
      for (std::size_t i : idx) {
        if (have >= shots) break;
        if (!keep[i]) keep[i] = true, ++have;
      }
    }
  } else {
    std::map<std::string, std::vector<std::size_t>> groups;  // by first label ("" = unlabelled)
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const auto& l = cases[i].labels(level);
      groups[l.empty() ? std::string() : l.front()].push_back(i);
    }
    std::mt19937_64 rng(seed);
    for (auto& [name, idx] : groups) {
      for (std::size_t k = idx.size(); k > 1; --k)
        std::swap(idx[k - 1], idx[static_cast<std::size_t>(data::draw_below(rng, static_cast<int64_t>(k)))]);
      const auto want = std::max<int64_t>(1, std::llround(fraction * static_cast<double>(idx.size())));
      for (int64_t j = 0; j < want && j < static_cast<int64_t>(idx.size()); ++j) keep[idx[static_cast<std::size_t>(j)]] = true;
    }
  }
  std::vector<data::Case> out;
  for (std::size_t i = 0; i < cases.size(); ++i)
    if (keep[i]) out.push_back(cases[i]);
  return out;
}

data::LabelVocabulary finetune_vocabulary(const std::vector<data::Case>& train, const std::vector<data::Case>& val,
                                          const std::vector<data::Case>& test, const std::vector<std::string>& declared,
                                          data::LabelLevel level, std::vector<std::string>* absent) {
  std::map<std::string, int64_t> count;
  for (const auto& n : declared) count.emplace(n, 0);
  for (const auto& c : train)
    for (const auto& l : std::set<std::string>(c.labels(level).begin(), c.labels(level).end())) ++count[l];
  for (const auto* set : {&val, &test})
    for (const auto& c : *set)
      for (const auto& l : c.labels(level)) count.emplace(l, 0);
  std::vector<std::pair<std::string, int64_t>> order(count.begin(), count.end());
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> names;
  for (const auto& [n, k] : order) {
    names.push_back(n);
    if (k == 0 && absent) absent->push_back(n);
  }
  return data::LabelVocabulary(names);
}

model::FusionMode choose_fusion_mode(std::optional<model::FusionMode> requested, model::FusionMode source_mode,
                                     const std::vector<data::Case>& train) {
  if (requested) return *requested;
  const bool single = !train.empty() && std::all_of(train.begin(), train.end(), [](const data::Case& c) { return c.image_count() == 1; });
  return single ? model::FusionMode::kLate : source_mode;
}

model::ModelConfig finetune_model_config(const model::ModelConfig& source, int64_t num_classes, model::FusionMode fusion,
                                         model::HeadType head, bool source_has_text_encoder) {
  if (head == model::HeadType::kKnowledge && !source_has_text_encoder)
    throw Error("--head knowledge",
                "not available for this model: a knowledge head for new class names needs the class texts embedded by the "
                "model's text encoder, and this model file carries no text encoder; use --head mlp");
  model::ModelConfig c = source;
  c.head.type = head;
  c.head.num_classes = num_classes;
  c.fusion.mode = fusion;
  if (fusion == model::FusionMode::kLate) c.n_image = 1;
  else if (source.fusion.mode == model::FusionMode::kLate && c.n_image == 1) c.n_image = model::ModelConfig().n_image;
  c.validate();
  return c;
}

nlohmann::json WeightTransfer::to_json() const {
  std::map<std::string, std::array<int64_t, 3>> per;
  for (const auto& n : carried) ++per[ft_top_module(n)][0];
  for (const auto& n : fresh) ++per[ft_top_module(n)][1];
  for (const auto& n : dropped) ++per[ft_top_module(n)][2];
  nlohmann::json modules = nlohmann::json::object();
  for (const auto& [m, k] : per) modules[m] = {{"carried", k[0]}, {"fresh", k[1]}, {"dropped", k[2]}};
  return {{"modules", modules}, {"carried", carried}, {"fresh", fresh}, {"dropped", dropped}};
}

std::string WeightTransfer::summary() const {
  std::string s = "weights: " + std::to_string(carried.size()) + " tensors carried over, " + std::to_string(fresh.size()) +
                  " start fresh, " + std::to_string(dropped.size()) + " source tensors dropped";
  const nlohmann::json modules = to_json().at("modules");
  for (const auto& [m, k] : modules.items())
    s += "\n  " + m + ": " + std::to_string(k.at("carried").get<int64_t>()) + " carried, " +
         std::to_string(k.at("fresh").get<int64_t>()) + " fresh, " + std::to_string(k.at("dropped").get<int64_t>()) + " dropped";
  return s;
}

WeightTransfer transfer_weights(model::RadDiagModel& target, const model::RadDiagModel& source) {
  WeightTransfer t;
  auto own = model::live_tensors(target);
  const auto from = model::model_state(source);
  torch::NoGradGuard ng;
  for (auto& [name, tensor] : own) {
    auto it = from.find(name);
    const bool head = ft_top_module(name) == "head";
    if (!head && it != from.end() && it->second.sizes() == tensor.sizes()) {
      tensor.copy_(it->second);
      t.carried.push_back(name);
    } else {
      t.fresh.push_back(name);
    }
  }
  for (const auto& [name, tensor] : from) {
    auto it = own.find(name);
    if (it == own.end() || ft_top_module(name) == "head" || it->second.sizes() != tensor.sizes()) t.dropped.push_back(name);
  }
  return t;
}

std::vector<ParamGroupRule> finetune_param_rules(const model::RadDiagModel& model, const std::string& mode, double decay) {
  std::vector<ParamGroupRule> rules;
  if (mode == "frozen") {
    for (const auto& child : model->named_children()) {
      if (child.key() == "head") continue;
      ParamGroupRule r;
      r.prefix = child.key() + ".";
      r.frozen = true;
      rules.push_back(r);
    }
    return rules;
  }
  if (mode != "layerwise") return rules;
  // Stages in forward order, each with the parameter-name prefixes it covers.
  // Numbered stages: those the slice encoder names (ResNet layerN, ViT blocks.N, ...). Other backbone
  // parameters form one stage per gap between numbered stages (the stem, the tokeniser, the top), and
  // are matched by their full names so that a rule never covers a numbered stage below it.
  const model::SliceEncoder encoder = model->slice_encoder();
  const std::string kBackbone = "backbone.";
  std::vector<std::string> stages;
  std::map<std::string, std::vector<std::string>> prefixes;
  std::string last_numbered = "stem";
  for (const auto& p : model->named_parameters(true)) {
    const std::string& name = p.key();
    std::string stage, prefix;
    const std::string depth =
        name.rfind(kBackbone, 0) == 0 ? encoder->depth_stage(name.substr(kBackbone.size())) : std::string();
    if (!depth.empty()) {
      stage = prefix = last_numbered = kBackbone + depth;
    } else if (ft_top_module(name) == "backbone") {
      prefix = name;
      stage = "backbone (after " + last_numbered + ")";
    } else {
      stage = prefix = ft_top_module(name) + ".";
    }
    if (std::find(stages.begin(), stages.end(), stage) == stages.end()) stages.push_back(stage);
    auto& list = prefixes[stage];
    if (std::find(list.begin(), list.end(), prefix) == list.end()) list.push_back(prefix);
  }
  const int64_t n = static_cast<int64_t>(stages.size());
  for (int64_t s = 0; s < n; ++s)
    for (const auto& prefix : prefixes[stages[static_cast<std::size_t>(s)]]) {
      ParamGroupRule r;
      r.prefix = prefix;
      r.lr_scale = std::pow(decay, static_cast<double>(n - 1 - s));
      rules.push_back(r);
    }
  return rules;
}

void set_encoder_eval(model::RadDiagModel& model) {
  for (const auto& child : model->named_children())
    if (child.key() != "head") child.value()->eval();
}

}  // namespace raddiag::train
