#pragma once
// Head / medium / tail groups of classes, over which macro means are also reported (reference 6.2).
#include <cstdint>
#include <string>
#include <vector>

namespace raddiag::eval {

struct ClassGroups {
  std::vector<std::string> names;  // e.g. head, medium, tail
  std::vector<int> of_class;       // group index per class, -1 = in no group
  std::string rule;                // how the groups were made, for reports
  int64_t n_classes() const { return static_cast<int64_t>(of_class.size()); }
};

// No groups: only the overall macro is reported.
ClassGroups no_groups(int64_t n_classes);

// The reference's index ranges of the frequency-sorted RP3D disorder vocabulary (5569 classes):
// head [0,85), medium [85,555), tail [555,5569). Throws unless n_classes == 5569.
ClassGroups rp3d_disorder_groups(int64_t n_classes);
// The reference's ICD-10-CM ranges: head [0,165), medium [165,395), tail [395,end). Needs > 395 classes.
ClassGroups rp3d_icd_groups(int64_t n_classes);

// Groups from training-set case counts per class, for any other label set. Defaults follow the RadDiag
// paper's description (head: more than 100 training cases; tail: fewer than 30; medium: the rest).
struct CountCutoffs {
  int64_t head_above = 100;  // head: count > head_above
  int64_t tail_below = 30;   // tail: count < tail_below
};
ClassGroups groups_from_counts(const std::vector<int64_t>& train_counts, const CountCutoffs& cut = {});

}  // namespace raddiag::eval
