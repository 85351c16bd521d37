#include "data/case_list_source.h"

namespace raddiag::data {

CaseListSource::CaseListSource(std::vector<Case> cases, LabelVocabulary vocab, PreprocessOptions options,
                               bool late_fusion, ImageLoader loader)
    : cases_(std::move(cases)), vocab_(std::move(vocab)), options_(std::move(options)), late_(late_fusion),
      loader_(std::move(loader)) {}

CaseTensors CaseListSource::get(int64_t index, CaseRng& rng) const {
  const Case& c = cases_.at(static_cast<std::size_t>(index));
  std::mt19937_64 gen(rng.bits());
  if (late_) return make_single_image_tensors(c, &vocab_, options_, gen, loader_);
  return make_case_tensors(c, &vocab_, options_, gen, loader_);
}

std::vector<int64_t> CaseListSource::labels_of(int64_t index) const {
  return vocab_.encode(cases_.at(static_cast<std::size_t>(index)).labels(options_.level));
}

std::vector<int64_t> CaseListSource::class_counts() const {
  std::vector<int64_t> counts(vocab_.size(), 0);
  for (int64_t i = 0; i < size(); ++i)
    for (int64_t c : labels_of(i)) ++counts[static_cast<std::size_t>(c)];
  return counts;
}

}  // namespace raddiag::data
