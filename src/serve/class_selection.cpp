#include "serve/class_selection.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "text/class_embeddings.h"
#include "text/stored_text_encoder.h"
#include "util/error.h"

namespace raddiag::serve {

namespace {

std::string class_list_trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

ClassSpec class_spec_of(const std::string& entry, const std::string& where) {
  ClassSpec c;
  const auto eq = entry.find('=');
  if (eq == std::string::npos) {
    c.label = c.text = entry;
  } else {
    c.label = class_list_trim(entry.substr(0, eq));
    c.text = class_list_trim(entry.substr(eq + 1));
  }
  if (c.label.empty() || c.text.empty()) throw Error(where, "empty class name in '" + entry + "'");
  return c;
}

}  // namespace

std::vector<ClassSpec> parse_class_list(const std::string& file_or_list) {
  std::vector<std::string> entries;
  std::string where = "--classes";
  if (std::filesystem::is_regular_file(file_or_list)) {
    where = file_or_list;
    std::ifstream in(file_or_list);
    if (!in) throw Error(file_or_list, "cannot read the class list");
    std::string line;
    while (std::getline(in, line)) {
      line = class_list_trim(line);
      if (!line.empty() && line[0] != '#') entries.push_back(line);
    }
  } else {
    std::stringstream ss(file_or_list);
    std::string item;
    while (std::getline(ss, item, ',')) {
      item = class_list_trim(item);
      if (item.empty()) throw Error(where, "empty entry in the comma-separated list '" + file_or_list + "'");
      entries.push_back(item);
    }
  }
  if (entries.empty()) throw Error(where, "no class names given");
  std::vector<ClassSpec> out;
  std::set<std::string> seen;
  for (const auto& e : entries) {
    out.push_back(class_spec_of(e, where));
    if (!seen.insert(out.back().label).second) throw Error(where, "class '" + out.back().label + "' is given twice");
  }
  return out;
}

std::string ClassSelectionReport::summary() const {
  std::string s = std::to_string(from_model + static_cast<int64_t>(embedded.size())) + " classes: " +
                  std::to_string(from_model) + " model classes, " + std::to_string(embedded.size()) +
                  " new names embedded by the model's text encoder";
  if (!embedded.empty()) {
    s += " (";
    for (std::size_t i = 0; i < embedded.size(); ++i) s += (i ? ", " : "") + embedded[i];
    s += ")";
  }
  return s;
}

model::ModelBundle select_classes(model::ModelBundle bundle, const std::vector<ClassSpec>& classes,
                                  ClassSelectionReport* report) {
  const std::string where = "--classes";
  if (classes.empty()) throw Error(where, "no class names given");
  if (!bundle.model) throw Error(where, "no model");
  const bool knowledge = bundle.config.head.type == model::HeadType::kKnowledge;
  std::vector<int64_t> index;
  std::vector<std::string> new_texts;
  for (const auto& c : classes) {
    auto it = std::find(bundle.classes.begin(), bundle.classes.end(), c.text);
    index.push_back(it == bundle.classes.end() ? -1 : it - bundle.classes.begin());
    if (index.back() >= 0) continue;
    if (!knowledge)
      throw Error(where, "'" + c.text + "' is not one of the " + std::to_string(bundle.classes.size()) +
                             " classes of this model, and an MLP-head model can only score its own classes; new "
                             "class names need a knowledge-head model (train with knowledge.text_encoder)");
    new_texts.push_back(c.text);
  }
  if (!new_texts.empty() && bundle.text_encoder.empty())
    throw Error(where, "this knowledge-head model file carries no text encoder, so it cannot embed new names ('" +
                           new_texts.front() + "'); retrain with knowledge.store_text_encoder true");

  auto state = model::model_state(bundle.model);
  const int64_t k = static_cast<int64_t>(classes.size());
  auto known = torch::tensor(index, torch::kLong).clamp_min(0);
  auto pick = [&](const std::string& name) {
    auto it = state.find(name);
    if (it == state.end()) throw Error(where, "internal: the model has no '" + name + "'");
    return it->second.index_select(0, known);
  };
  if (knowledge) {
    auto rows = pick("head.class_embeddings").clone();
    if (!new_texts.empty()) {
      auto encoder = text::restore_text_encoder(bundle.text_encoder, "model file");
      auto e = text::compute_class_embeddings(encoder, new_texts);
      // As KnowledgeHead::set_class_embeddings: rows are L2-normalised.
      e = torch::nn::functional::normalize(e, torch::nn::functional::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
      int64_t j = 0;
      for (int64_t i = 0; i < k; ++i)
        if (index[static_cast<std::size_t>(i)] < 0) rows[i].copy_(e[j++]);
    }
    state["head.class_embeddings"] = rows;
  } else {
    state["head.fc.2.weight"] = pick("head.fc.2.weight");
    state["head.fc.2.bias"] = pick("head.fc.2.bias");
  }

  model::ModelBundle out = bundle;
  out.config.head.num_classes = k;
  out.model = model::build_model(out.config);
  model::load_model_state(out.model, state);
  out.model->eval();
  out.classes.clear();
  for (const auto& c : classes) out.classes.push_back(c.label);
  if (!bundle.thresholds.empty()) {
    out.thresholds.clear();
    for (int64_t i : index) out.thresholds.push_back(i >= 0 ? bundle.thresholds[static_cast<std::size_t>(i)] : 0.5f);
  }
  nlohmann::json selection = nlohmann::json::array();
  for (std::size_t i = 0; i < classes.size(); ++i)
    selection.push_back({{"label", classes[i].label}, {"text", classes[i].text},
                         {"model_index", index[i] >= 0 ? nlohmann::json(index[i]) : nlohmann::json(nullptr)}});
  if (!out.card.is_object()) out.card = nlohmann::json::object();
  out.card["class_selection"] = selection;
  auto& td = out.card["training_data"];
  if (td.is_object() && td.contains("class_counts") && td["class_counts"].is_array() &&
      td["class_counts"].size() == bundle.classes.size()) {
    std::vector<int64_t> counts;
    for (int64_t i : index) counts.push_back(i >= 0 ? td["class_counts"][static_cast<std::size_t>(i)].get<int64_t>() : 0);
    td["class_counts"] = counts;
  } else if (td.is_null()) {
    out.card.erase("training_data");
  }
  if (report) {
    report->from_model = k - static_cast<int64_t>(new_texts.size());
    report->embedded = new_texts;
  }
  return out;
}

}  // namespace raddiag::serve
