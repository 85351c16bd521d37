#pragma once
// Case -> model tensors, exactly as the official early-fusion loader `RadNet_Dataset_early`
// (reference 1.6), plus the single-image path of `RadNet_Dataset_late` (reference 1.7).
//
// Defaults reproduce the official numbers. Deviations, all documented in docs/datasets.md:
//  * samples are visited in JSON order by default (the official shuffle only changes which images
//    survive the n_image cap; a seeded shuffle or an explicit order is available);
//  * a constant sample block becomes zeros with a warning (official: randn noise; opt-in);
//  * arrays that are not size x size or deeper than depth are resampled like the single-scan path
//    (the official early loader raises), and their key slice is remapped to the subsampled index;
//  * a key slice outside the array is re-drawn uniformly from the seeded generator, as the official
//    loader does with Python's `random`;
//  * unknown modality names raise raddiag::Error naming the case (official: KeyError).
// Opt-in improvements: per-scan min-max, CT window presets, deterministic choice of the image of
// "other" modalities (official: random, even at evaluation).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/case.h"
#include "data/case_tensors.h"
#include "data/label_vocabulary.h"
#include "data/modality.h"
#include "data/resample.h"
#include "data/scan_extent.h"
#include "io/scan.h"

namespace raddiag::data {

enum class VisitOrder { kJson, kShuffle };
enum class Normalization { kOfficial, kPerScan };
enum class ImagePick { kRandom, kFirst };
enum class ConstantBlock { kZeros, kRandn };

struct CtWindow {
  double center = 0;
  double width = 0;
};
// "lung" (-600/1500), "mediastinum" (40/400), "brain" (40/80), "bone" (400/1800), "abdomen" (40/400),
// or "CENTER/WIDTH". Throws on anything else.
CtWindow parse_ct_window(const std::string& spec);

struct PreprocessOptions {
  int64_t size = 256;     // S: in-plane pixels
  int64_t depth = 32;     // D: slice positions
  int64_t n_image = 4;    // N: image slots per case
  LabelLevel level = LabelLevel::kArticles;
  std::vector<ModalityIds> modality_ids = official_modality_table();
  // Images taken (the first k of the sample) for the modalities that take several; every other
  // modality contributes one image, chosen by `other_pick`.
  std::map<std::string, int64_t> caps = {{"CT", 3}, {"MRI", 3}, {"X-ray", 2}};
  // Capped modalities whose k images are a random k of the sample's images (kept in sample order, given
  // the positions of the first k) instead of its first k. Empty: the official first k. A sample with at
  // most k images takes them all and draws nothing. Training sets it through `augment.random_subsets`
  // (train/training_loader.h), so the extra films of a study are seen in training while inference keeps
  // the first k; set here, it applies at inference too, where `--draws` averages the subsets.
  std::vector<std::string> random_subsets;
  VisitOrder visit_order = VisitOrder::kJson;
  Normalization normalization = Normalization::kOfficial;
  std::string ct_window;   // "" = none; else a preset name or "CENTER/WIDTH", applied to CT images in
                           // Hounsfield units (not to PNG/JPEG exports, which are already windowed)
  ImagePick other_pick = ImagePick::kRandom;    // official: random
  ImagePick single_pick = ImagePick::kRandom;   // late path: sample and image choice (official: random)
  ConstantBlock constant_block = ConstantBlock::kZeros;
  bool resample_nonconforming = true;   // false: reject like the official early loader
  // Opt-in geometry-aware resampling (data/resample.h); when active it applies to every scan, conforming
  // or not. JSON: "spacing": {"slice_mm": 5.0, "keep_aspect": true, "field_mm": 40}.
  SpacingResample spacing;
  // Single-slice (2D) scans are repeated to this many identical slices, as RP3D stores 2D images
  // (d = 3). RP3D .npy data already has d = 3, so this never changes official numbers. 1 = off.
  int64_t replicate_2d = 3;

  void validate() const;   // throws raddiag::Error on inconsistent settings
  nlohmann::json to_json() const;
  static PreprocessOptions from_json(const nlohmann::json& j);   // missing fields keep their defaults
};

// What happened while preprocessing one case (for logs and tests).
struct PreprocessReport {
  DroppedLabels dropped;
  std::vector<std::string> warnings;
  std::vector<std::size_t> visit_order;   // sample indices in the order visited
  struct Slot {
    std::size_t sample = 0, image = 0;
    std::string path;
    int64_t slices = 0;          // slices after resampling
    bool resampled = false;
    bool key_redrawn = false;
  };
  std::vector<Slot> slots;       // one per filled slot
};

// Loads the pixels of one image; the default reads `ref.path` with load_scan().
using ImageLoader = std::function<io::Scan(const ImageRef& ref)>;
io::Scan default_image_loader(const ImageRef& ref);

// Key slice of an image: its key file, else its inline key, else the middle slice d/2.
int64_t image_key(const ImageRef& ref, int64_t slices);

// Uniform integer in [0, n) from the generator (portable: the same numbers on every platform).
int64_t draw_below(std::mt19937_64& rng, int64_t n);

// k of the indices 0..n-1, uniformly over the n-choose-k subsets, in increasing order (selection sampling:
// index i is taken with probability (still needed) / (still left)). Throws unless 0 <= k <= n.
std::vector<int64_t> draw_ordered_subset(std::mt19937_64& rng, int64_t n, int64_t k);

// The known-label mask [C] of a sample's labels: 0 for its unknown_labels, 1 elsewhere; undefined when
// every label is known (the common case, so batches without unknowns carry no mask).
torch::Tensor known_label_mask(const Sample& s, const LabelVocabulary& vocab);

// The early-fusion tensors of one case. `vocab` may be null (no labels: `labels` stays undefined).
// `visit_order`, when given, lists sample indices to visit (a permutation of 0..n-1); otherwise
// options.visit_order decides.
CaseTensors make_case_tensors(const Case& c, const LabelVocabulary* vocab, const PreprocessOptions& options,
                              std::mt19937_64& rng, const ImageLoader& loader = default_image_loader,
                              const std::vector<std::size_t>* visit_order = nullptr,
                              PreprocessReport* report = nullptr);

// The single-scan path of reference 1.7, for one loaded scan: drops the 2 copies of a 3-identical-channel
// 2D image, keeps only the key slice when `key_slice_only` (Dim == "3D"), resamples, re-draws a key with
// key > d' (strict, not remapped: official), min-max over the image only. Returns images [1, S, S, D],
// marks [D] and the key.
struct SingleImage {
  torch::Tensor image;   // [1, S, S, D] float32
  torch::Tensor marks;   // [D] int64
  int64_t key = 0;
  torch::Tensor extent;  // [3] float32 mm as read (data/scan_extent.h), before dropping copies or slices
};
SingleImage preprocess_single_scan(io::Scan scan, int64_t key, bool key_slice_only, const PreprocessOptions& options,
                                   std::mt19937_64& rng, std::vector<std::string>* warnings = nullptr);

// The late-fusion / external-dataset path for a case: one sample, one image of it (random, or the first
// with single_pick = kFirst), labels from that sample. Returned as CaseTensors with N = 1:
// images [1, 1, S, S, D], mods [1] = 0, marks [1, D], keys [1].
CaseTensors make_single_image_tensors(const Case& c, const LabelVocabulary* vocab, const PreprocessOptions& options,
                                      std::mt19937_64& rng, const ImageLoader& loader = default_image_loader,
                                      PreprocessReport* report = nullptr);

}  // namespace raddiag::data
