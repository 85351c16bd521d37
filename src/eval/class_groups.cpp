#include "eval/class_groups.h"

#include "util/error.h"

namespace raddiag::eval {

namespace {
ClassGroups ranges(int64_t n, int64_t head_end, int64_t medium_end, std::string rule) {
  ClassGroups g;
  g.names = {"head", "medium", "tail"};
  g.of_class.resize(static_cast<std::size_t>(n));
  for (int64_t c = 0; c < n; ++c) g.of_class[c] = c < head_end ? 0 : c < medium_end ? 1 : 2;
  g.rule = std::move(rule);
  return g;
}
}  // namespace

ClassGroups no_groups(int64_t n_classes) {
  ClassGroups g;
  g.of_class.assign(static_cast<std::size_t>(n_classes), -1);
  g.rule = "none";
  return g;
}

ClassGroups rp3d_disorder_groups(int64_t n_classes) {
  if (n_classes != 5569)
    throw Error("groups rp3d", "the RP3D disorder groups are index ranges of the 5569-class vocabulary; got " +
                                   std::to_string(n_classes) + " classes (use --groups counts with --train-counts)");
  return ranges(n_classes, 85, 555, "RP3D disorder index ranges: head [0,85), medium [85,555), tail [555,5569)");
}

ClassGroups rp3d_icd_groups(int64_t n_classes) {
  if (n_classes <= 395)
    throw Error("groups rp3d-icd", "the RP3D ICD-10 groups need more than 395 classes; got " + std::to_string(n_classes));
  return ranges(n_classes, 165, 395,
                "RP3D ICD-10-CM index ranges: head [0,165), medium [165,395), tail [395," + std::to_string(n_classes) + ")");
}

ClassGroups groups_from_counts(const std::vector<int64_t>& counts, const CountCutoffs& cut) {
  if (cut.tail_below > cut.head_above + 1)
    throw Error("groups counts", "tail cut-off must not exceed the head cut-off");
  ClassGroups g;
  g.names = {"head", "medium", "tail"};
  g.of_class.resize(counts.size());
  for (std::size_t c = 0; c < counts.size(); ++c) {
    if (counts[c] < 0) throw Error("train counts", "negative count for class " + std::to_string(c));
    g.of_class[c] = counts[c] > cut.head_above ? 0 : counts[c] < cut.tail_below ? 2 : 1;
  }
  g.rule = "training case counts: head > " + std::to_string(cut.head_above) + ", tail < " +
           std::to_string(cut.tail_below) + ", medium otherwise";
  return g;
}

}  // namespace raddiag::eval
