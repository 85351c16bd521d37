#include "train/training_data.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include "data/preprocess.h"
#include "data/case_sources.h"
#include "train/finetune.h"
#include "util/error.h"

namespace raddiag::train {
namespace {

// Cases of every set, concatenated; `declared` receives the class names the sets declare (class folders,
// label CSV columns), also those without cases.
std::vector<data::Case> load_all(const std::vector<std::string>& paths, const DataConfig& d,
                                 std::vector<std::string>* declared = nullptr,
                                 std::map<std::string, std::set<std::string>>* declared_by_dataset = nullptr) {
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
    if (declared_by_dataset)
      for (const auto& c : set.cases) (*declared_by_dataset)[c.dataset].insert(set.classes.begin(), set.classes.end());
    all.insert(all.end(), std::make_move_iterator(set.cases.begin()), std::make_move_iterator(set.cases.end()));
  }
  return all;
}

}  // namespace

void keep_datasets(const std::vector<std::string>& names, std::vector<data::Case>& train, std::vector<data::Case>& val,
                   bool log) {
  const std::set<std::string> keep(names.begin(), names.end());
  std::set<std::string> seen;
  const auto filter = [&](std::vector<data::Case>& cases) {
    std::vector<data::Case> kept;
    for (auto& c : cases) {
      seen.insert(c.dataset);
      if (keep.count(c.dataset)) kept.push_back(std::move(c));
    }
    cases = std::move(kept);
  };
  filter(train);
  filter(val);
  for (const auto& n : names)
    if (!seen.count(n)) {
      std::string have;
      for (const auto& s : seen) have += (have.empty() ? "" : ", ") + s;
      throw Error("data.datasets", "no case comes from dataset '" + n + "' (the sets hold: " + have + ")");
    }
  if (log) spdlog::info("data.datasets: kept {} training and {} validation cases", train.size(), val.size());
}

std::size_t count_datasets(const std::vector<data::Case>& cases) {
  std::set<std::string> names;
  for (const auto& c : cases) names.insert(c.dataset);
  return names.size();
}

void mark_unlabelled_classes_unknown(TrainingData& d, const std::map<std::string, std::set<std::string>>& declared) {
  std::map<std::string, std::set<std::string>> label_set;
  for (const auto* cases : {&d.train, &d.val})
    for (const auto& c : *cases) {
      auto& set = label_set[c.dataset];
      for (const auto& l : c.labels(d.level)) set.insert(l);
      for (const auto& s : c.samples) set.insert(s.labels(d.level).begin(), s.labels(d.level).end());
    }
  for (const auto& [name, classes] : declared)
    if (label_set.count(name)) label_set[name].insert(classes.begin(), classes.end());
  d.unknown_by_dataset = true;
  d.dataset_label_sets.clear();
  for (const auto& [name, set] : label_set) {
    auto& listed = d.dataset_label_sets[name];
    for (const auto& n : d.vocab.names())
      if (set.count(n)) listed.push_back(n);
  }
  auto mark = [&](std::vector<data::Case>& cases) {
    int64_t entries = 0;
    for (auto& c : cases) {
      const auto& set = label_set[c.dataset];
      std::vector<std::string> outside;
      for (const auto& n : d.vocab.names())
        if (!set.count(n)) outside.push_back(n);
      entries += static_cast<int64_t>(outside.size());
      for (auto& s : c.samples) {
        std::set<std::string> have(s.unknown_labels.begin(), s.unknown_labels.end());
        for (const auto& n : outside)
          if (have.insert(n).second) s.unknown_labels.push_back(n);
      }
    }
    return entries;
  };
  d.masked_train_entries = mark(d.train);
  d.masked_val_entries = mark(d.val);
}

namespace {
// Cases grouped by their first label (unlabelled: one group), each group's indices shuffled by one
// seeded stream in the groups' name order; shared by the fraction and the k-fold split.
std::map<std::string, std::vector<std::size_t>> shuffled_label_groups(const std::vector<data::Case>& cases,
                                                                     data::LabelLevel level, uint64_t seed) {
  std::map<std::string, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& l = cases[i].labels(level);
    groups[l.empty() ? std::string() : l.front()].push_back(i);
  }
  std::mt19937_64 rng(seed);
  for (auto& [name, members] : groups)
    for (std::size_t i = members.size(); i > 1; --i)  // Fisher-Yates with our own draw (portable)
      std::swap(members[i - 1], members[static_cast<std::size_t>(data::draw_below(rng, static_cast<int64_t>(i)))]);
  return groups;
}
}  // namespace

void split_train_fold(const std::vector<data::Case>& cases, data::LabelLevel level, int64_t folds, int64_t fold, uint64_t seed,
                      std::vector<data::Case>& train, std::vector<data::Case>& val) {
  if (folds < 2 || fold < 0 || fold >= folds)
    throw Error("data.folds", "fold " + std::to_string(fold) + " of " + std::to_string(folds) + " is not a valid part");
  std::vector<bool> to_val(cases.size(), false);
  std::size_t dealt = 0;
  for (const auto& [name, members] : shuffled_label_groups(cases, level, seed))
    for (std::size_t m : members) to_val[m] = static_cast<int64_t>(dealt++ % static_cast<std::size_t>(folds)) == fold;
  for (std::size_t i = 0; i < cases.size(); ++i) (to_val[i] ? val : train).push_back(cases[i]);
}

void split_train_val(const std::vector<data::Case>& cases, data::LabelLevel level, double fraction, uint64_t seed,
                     std::vector<data::Case>& train, std::vector<data::Case>& val) {
  std::vector<bool> to_val(cases.size(), false);
  for (auto& [name, members] : shuffled_label_groups(cases, level, seed)) {
    std::size_t k = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(members.size())));
    if (members.size() >= 2) k = std::clamp<std::size_t>(k, 1, members.size() - 1);
    else k = 0;
    for (std::size_t j = 0; j < k; ++j) to_val[members[j]] = true;
  }
  for (std::size_t i = 0; i < cases.size(); ++i) (to_val[i] ? val : train).push_back(cases[i]);
}

TrainingData load_training_data(const RunConfig& cfg, bool log) {
  TrainingData d;
  d.level = data::parse_label_level(cfg.data.level);
  const FinetuneConfig& ft = cfg.finetune;
  std::vector<std::string> declared;
  std::map<std::string, std::set<std::string>> declared_by_dataset;
  auto all_train = load_all(cfg.data.train, cfg.data, &declared, &declared_by_dataset);
  if (cfg.data.val.empty()) {
    const uint64_t split_seed = cfg.data.split_seed >= 0 ? static_cast<uint64_t>(cfg.data.split_seed) : cfg.seed;
    if (cfg.data.folds >= 2) split_train_fold(all_train, d.level, cfg.data.folds, cfg.data.fold, split_seed, d.train, d.val);
    else split_train_val(all_train, d.level, cfg.data.val_fraction, split_seed, d.train, d.val);
  } else {
    d.train = std::move(all_train);
    d.val = load_all(cfg.data.val, cfg.data, &declared, &declared_by_dataset);
  }
  if (!cfg.data.datasets.empty()) keep_datasets(cfg.data.datasets, d.train, d.val, log);
  if (ft.enabled()) {
    // Fine-tuning: the label set is every class of the sets (and what they declare), also classes the
    // chosen training subset lacks: those are kept (the model scores them) and reported.
    const auto test_cases = load_all(ft.test, cfg.data, &declared);
    const int64_t n_all = static_cast<int64_t>(d.train.size());
    d.train = select_training_subset(d.train, d.level, ft.fraction, ft.shots, cfg.seed);
    d.vocab = cfg.data.vocabulary.empty() ? finetune_vocabulary(d.train, d.val, test_cases, declared, d.level, &d.absent_classes)
                                          : data::LabelVocabulary::load_json(cfg.data.vocabulary);
    if (!cfg.data.vocabulary.empty()) {
      std::set<std::string> present;
      for (const auto& c : d.train) present.insert(c.labels(d.level).begin(), c.labels(d.level).end());
      for (const auto& n : d.vocab.names())
        if (!present.count(n)) d.absent_classes.push_back(n);
    }
    if (log)
      for (const auto& n : d.absent_classes)
        spdlog::warn("finetune: class '{}' has no training case{}; it stays in the label set (its head row only learns from negatives)",
                     n, ft.shots > 0 || ft.fraction < 1 ? " in the selected subset" : "");
    d.finetune_summary = {{"from", ft.from}, {"scratch", ft.scratch}, {"mode", ft.mode}, {"fraction", ft.fraction},
                          {"shots", ft.shots}, {"train_cases_available", n_all}, {"train_cases_used", d.train.size()},
                          {"absent_classes", d.absent_classes}};
  } else {
    d.vocab = cfg.data.vocabulary.empty() ? data::LabelVocabulary::build_from_cases(d.train, d.level, cfg.data.min_cases)
                                          : data::LabelVocabulary::load_json(cfg.data.vocabulary);
  }
  if (d.vocab.size() == 0)
    throw Error("data.train", "no class has enough training cases (min_cases " + std::to_string(cfg.data.min_cases) + ")");
  const std::string& ubd = cfg.data.unknown_by_dataset;
  if (ubd == "true" || (ubd == "auto" && count_datasets(d.train) > 1)) {
    mark_unlabelled_classes_unknown(d, declared_by_dataset);
    if (log)
      spdlog::info("unknown_by_dataset: {} datasets; {} training and {} validation label entries outside their dataset's "
                   "label set are unknown (left out of the loss and the metrics)",
                   d.dataset_label_sets.size(), d.masked_train_entries, d.masked_val_entries);
  }
  return d;
}

}  // namespace raddiag::train
