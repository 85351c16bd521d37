#pragma once
// Anatomy-aware case mixing for training (reference 1.8, the official `RadNet_Dataset_earlyAna`, used by
// the released recipe with n_aug = 2, prob = 0.7). Each training item becomes m cases in one buffer of
// n_image * n_aug slots: m = 1 with probability `prob`, else m is uniform over 2..n_aug. Case 0 is the
// indexed case; every partner comes from another anatomy group, chosen with the anatomy weights (the
// indexed case's own group left out), then a uniformly random case of that group. Each mixed case fills
// up to n_image slots, preprocessed on its own as in 1.6; its slots are appended after the previous
// case's filled slots. Labels are the union over every visited sample of every mixed case.
//
// Differences from the reference, on purpose:
//  * an anatomy that is missing or not among the weights goes to the "Unknown" group (official: KeyError);
//  * groups without any training case are never drawn; when no other group has a case (e.g. folder
//    datasets without an anatomy column, all "Unknown"), `fallback` decides: "any" draws the partner
//    uniformly from all other cases, "none" turns mixing off for that case;
//  * a partner that cannot be read is dropped with a warning (the item keeps its other cases);
//  * every draw comes from the item's CaseRng, so an item is identical for any worker count and resume.
// Only the training loader uses this; validation and evaluation never mix (and, as the fusion is
// permutation invariant and masks empty slots, the extra empty slots of the reference's test mode
// change nothing there).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/case_dataset.h"
#include "data/case_tensor_source.h"

namespace raddiag::train {

struct MixingOptions {
  int n_aug = 1;      // cases per item at most; 1 = no mixing (reference recipe: 2)
  double prob = 0.7;  // probability of m = 1; the rest is spread evenly over m = 2..n_aug
  // The reference's weights; "Unknown" also takes cases whose anatomy is missing or not listed here.
  std::map<std::string, double> anatomy_weights = {{"Spine", 6},  {"Breast", 1},     {"Head and Neck", 2},
                                                   {"Abdomen and Pelvis", 2}, {"Lower Limb", 3}, {"Chest", 3},
                                                   {"Upper Limb", 5}, {"Unknown", 3}, {"Mixed", 4}};
  std::string fallback = "any";  // no other group has cases: "any" other case, or "none" (no mixing)

  bool enabled() const { return n_aug > 1; }
  nlohmann::json to_json() const;
  // Missing keys keep their defaults; unknown keys, wrong types or bad values throw raddiag::Error.
  static MixingOptions from_json(const nlohmann::json& j);
  void validate() const;
};

// The group a case is mixed by: its `Anatomy` when the weights list it, else "Unknown".
std::string anatomy_group(const data::Case& c, const MixingOptions& o);

class AnatomyMixingSource : public data::CaseTensorSource {
 public:
  AnatomyMixingSource(std::shared_ptr<const data::CaseDataset> base, MixingOptions options);

  int64_t size() const override { return base_->size(); }
  // n_image * n_aug slots; labels: union over the visited samples of the mixed cases.
  data::CaseTensors get(int64_t index, data::CaseRng& rng) const override;
  // The indexed case's own labels (samplers balance on the primary case).
  std::vector<int64_t> labels_of(int64_t index) const override { return base_->labels_of(index); }
  std::string case_id(int64_t index) const override { return base_->case_id(index); }

  // The cases of one item: `index` first, then its partners; draws from `rng` exactly as get() does.
  std::vector<int64_t> mix_plan(int64_t index, data::CaseRng& rng) const;
  int64_t slots() const { return base_->options().n_image * options_.n_aug; }
  const MixingOptions& options() const { return options_; }
  // Groups with at least one case: name -> case indices (for logs and tests).
  const std::map<std::string, std::vector<int64_t>>& groups() const { return members_; }
  std::string describe() const;  // "n_aug 2, prob 0.7, groups: Chest 12, Unknown 3"

 private:
  std::shared_ptr<const data::CaseDataset> base_;
  MixingOptions options_;
  std::vector<std::string> group_of_;                        // per case
  std::map<std::string, std::vector<int64_t>> members_;      // non-empty groups
};

}  // namespace raddiag::train
