#pragma once
// Indexed access to the tensors of a list of cases, for training and evaluation loops. Each item's
// random choices (visit shuffle, "other" image pick, key re-draws, randn blocks) come from a generator
// seeded by (seed, epoch, index), so an item is the same whichever thread or order builds it.
#include <cstdint>
#include <optional>
#include <vector>

#include "data/case.h"
#include "data/case_tensor_source.h"
#include "data/label_vocabulary.h"
#include "data/preprocess.h"

namespace raddiag::data {

// Also a CaseTensorSource for the threaded training loader (which hands each item its own CaseRng).
class CaseDataset : public CaseTensorSource {
 public:
  CaseDataset(std::vector<Case> cases, std::optional<LabelVocabulary> vocab, PreprocessOptions options, uint64_t seed = 42,
              ImageLoader loader = default_image_loader);

  int64_t size() const override { return static_cast<int64_t>(cases_.size()); }
  const Case& case_at(std::size_t i) const { return cases_.at(i); }
  const std::vector<Case>& cases() const { return cases_; }
  const LabelVocabulary* vocabulary() const { return vocab_ ? &*vocab_ : nullptr; }
  const PreprocessOptions& options() const { return options_; }

  // Late fusion (reference 1.7): every item is one random sample and one random image of it (3D cases
  // reduced to the key slice), N = 1, as make_single_image_tensors; default: early fusion.
  void set_single_image(bool on) { single_image_ = on; }
  bool single_image() const { return single_image_; }

  // Early-fusion (or single-image) tensors of case `index` (thread-safe).
  CaseTensors get(std::size_t index, uint64_t epoch = 0, PreprocessReport* report = nullptr) const;
  // Tensors of case `index` with the random choices drawn from `rng` (the building block of get()).
  CaseTensors build(std::size_t index, std::mt19937_64& rng, PreprocessReport* report = nullptr) const;
  // CaseTensorSource: tensors with the random choices drawn from `rng`; classes from the case-level labels.
  CaseTensors get(int64_t index, CaseRng& rng) const override;
  std::vector<int64_t> labels_of(int64_t index) const override;
  std::string case_id(int64_t index) const override { return cases_.at(static_cast<std::size_t>(index)).id; }
  // Several cases stacked into a batch.
  CaseBatch batch(const std::vector<std::size_t>& indices, uint64_t epoch = 0) const;

  // The generator used for (epoch, index).
  std::mt19937_64 item_rng(std::size_t index, uint64_t epoch) const;

 private:
  std::vector<Case> cases_;
  std::optional<LabelVocabulary> vocab_;
  PreprocessOptions options_;
  uint64_t seed_;
  ImageLoader loader_;
  bool single_image_ = false;
};

}  // namespace raddiag::data
