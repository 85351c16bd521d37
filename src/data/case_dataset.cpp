#include "data/case_dataset.h"

namespace raddiag::data {

CaseDataset::CaseDataset(std::vector<Case> cases, std::optional<LabelVocabulary> vocab, PreprocessOptions options,
                         uint64_t seed, ImageLoader loader)
    : cases_(std::move(cases)), vocab_(std::move(vocab)), options_(std::move(options)), seed_(seed), loader_(std::move(loader)) {
  options_.validate();
}

std::mt19937_64 CaseDataset::item_rng(std::size_t index, uint64_t epoch) const {
  // splitmix64 over the three numbers: distinct, well-mixed streams per (seed, epoch, index).
  auto mix = [](uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  };
  return std::mt19937_64(mix(mix(mix(seed_) ^ epoch) ^ static_cast<uint64_t>(index)));
}

CaseTensors CaseDataset::get(std::size_t index, uint64_t epoch, PreprocessReport* report) const {
  auto rng = item_rng(index, epoch);
  return make_case_tensors(cases_.at(index), vocabulary(), options_, rng, loader_, nullptr, report);
}

CaseTensors CaseDataset::build(std::size_t index, std::mt19937_64& rng, PreprocessReport* report) const {
  return make_case_tensors(cases_.at(index), vocabulary(), options_, rng, loader_, nullptr, report);
}

CaseTensors CaseDataset::get(int64_t index, CaseRng& rng) const {
  std::mt19937_64 engine(rng.bits());
  return build(static_cast<std::size_t>(index), engine);
}

std::vector<int64_t> CaseDataset::labels_of(int64_t index) const {
  if (!vocab_) return {};
  return vocab_->encode(cases_.at(static_cast<std::size_t>(index)).labels(options_.level));
}

CaseBatch CaseDataset::batch(const std::vector<std::size_t>& indices, uint64_t epoch) const {
  std::vector<CaseTensors> items;
  items.reserve(indices.size());
  for (std::size_t i : indices) items.push_back(get(i, epoch));
  return collate(items);
}

}  // namespace raddiag::data
