#include "train/training_loader.h"

#include <spdlog/spdlog.h>

#include "data/augment.h"
#include "data/case_dataset.h"
#include "data/samplers.h"
#include "train/anatomy_mixing.h"
#include "util/error.h"

namespace raddiag::train {

data::PreprocessOptions training_preprocess(const RunConfig& cfg, data::PreprocessOptions pre) {
  const bool fixed = cfg.preprocess.is_object() && cfg.preprocess.contains("visit_order");
  if (!fixed) pre.visit_order = data::VisitOrder::kShuffle;
  if (cfg.augment.enabled && !cfg.augment.random_subsets.empty()) {
    pre.random_subsets = cfg.augment.random_subsets;
    pre.validate();   // names a modality that takes one image: fail before training starts
  }
  return pre;
}

TrainingLoader make_training_loader(const RunConfig& cfg, const TrainingData& data, const data::PreprocessOptions& pre,
                                    bool late, ProcessGroup* group, bool log) {
  TrainingLoader t;
  auto dataset = std::make_shared<data::CaseDataset>(data.train, data.vocab, training_preprocess(cfg, pre), cfg.seed);
  dataset->set_single_image(late);
  t.source = dataset;
  if (cfg.mixing.enabled()) {
    if (late) throw Error("mixing", "anatomy mixing fills several image slots; a late-fusion model takes one image per case");
    // Training items mix cases of different anatomies (reference 1.8); validation never mixes.
    auto mixing = std::make_shared<AnatomyMixingSource>(dataset, cfg.mixing);
    if (log) spdlog::info("anatomy mixing: {}", mixing->describe());
    t.source = mixing;
  }
  t.class_counts.assign(data.vocab.size(), 0);
  std::vector<std::vector<int64_t>> labels;
  for (int64_t i = 0; i < t.source->size(); ++i) {
    labels.push_back(t.source->labels_of(i));
    for (int64_t c : labels.back()) ++t.class_counts[static_cast<std::size_t>(c)];
  }
  std::shared_ptr<const data::Sampler> sampler = data::make_sampler(cfg.sampler, t.source->size(), labels, cfg.seed);
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
  t.loader = std::make_unique<data::CaseLoader>(t.source, sampler, lo, aug);
  if (t.loader->batches_per_epoch() < 1)
    throw Error("batch_size", "larger than the training set (" + std::to_string(t.source->size()) + " cases per rank)");
  return t;
}

}  // namespace raddiag::train
