#pragma once
// The training loop's view (data::CaseSource) of an in-memory list of cases: each get() runs the same
// preprocessing as inference (early fusion, or the single-image late path), drawing every random choice
// from the loader's per-item generator, so batches do not depend on thread count or resumes.
#include <vector>

#include "data/case.h"
#include "data/case_source.h"
#include "data/label_vocabulary.h"
#include "data/preprocess.h"

namespace raddiag::data {

class CaseListSource : public CaseSource {
 public:
  CaseListSource(std::vector<Case> cases, LabelVocabulary vocab, PreprocessOptions options, bool late_fusion = false,
                 ImageLoader loader = default_image_loader);

  int64_t size() const override { return static_cast<int64_t>(cases_.size()); }
  CaseTensors get(int64_t index, CaseRng& rng) const override;
  std::vector<int64_t> labels_of(int64_t index) const override;
  std::string case_id(int64_t index) const override { return cases_.at(static_cast<std::size_t>(index)).id; }

  const std::vector<Case>& cases() const { return cases_; }
  const LabelVocabulary& vocabulary() const { return vocab_; }
  // Training cases per class (a case counts once per class).
  std::vector<int64_t> class_counts() const;

 private:
  std::vector<Case> cases_;
  LabelVocabulary vocab_;
  PreprocessOptions options_;
  bool late_;
  ImageLoader loader_;
};

}  // namespace raddiag::data
