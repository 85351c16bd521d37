// raddiag inspect-manifest: load an RP3D case JSON or a folder dataset and print what each case holds.
#include <filesystem>
#include <iostream>

#include "cli/command.h"
#include "data/case_sources.h"
#include "data/inspect_cases.h"
#include "data/rp3d_manifest.h"

namespace raddiag::cli {
namespace {
Registrar register_inspect_manifest({"inspect-manifest", "print what each case of an RP3D case JSON or a folder dataset holds", [](CLI::App& sub) {
  struct Args {
    std::string manifest, data_root, labels, level = "articles", modality;
    std::vector<std::string> prefixes;
    bool json = false, tensors = false;
    int64_t size = 256, depth = 32, n_image = 4;
    uint64_t seed = 42;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("manifest", a->manifest, "RP3D case JSON (e.g. demoData.json) or a dataset folder (manifest.csv/labels.csv or one folder per case)")->required();
  sub.add_option("--data-root", a->data_root, "root for relative image paths (default: the JSON's folder)");
  sub.add_option("--prefix", a->prefixes,
                 "rewrite a path prefix, FROM=TO (repeatable). The official demo prefix " + std::string(data::kOfficialDemoPrefix) +
                     " is rewritten to the JSON's folder unless given");
  sub.add_option("--labels", a->labels, "label dictionary JSON {name: index} (e.g. disorder_label_dict.json)");
  sub.add_option("--level", a->level, "label field: articles or icd10s");
  sub.add_option("--modality", a->modality, "modality for folder datasets without a modality column");
  sub.add_flag("--tensors", a->tensors, "also build each complete case's early-fusion tensors and summarise every slot");
  sub.add_option("--size", a->size, "image size for --tensors");
  sub.add_option("--depth", a->depth, "slice positions for --tensors");
  sub.add_option("--n-image", a->n_image, "image slots for --tensors");
  sub.add_option("--seed", a->seed, "seed for the loader's random choices");
  sub.add_flag("--json", a->json, "print JSON");
  return std::function<int()>([a] {
    data::CaseSourceOptions so;
    so.data_root = a->data_root;
    so.prefixes = a->prefixes;
    so.modality = a->modality;
    auto cases = data::load_cases(a->manifest, so);
    std::optional<data::LabelVocabulary> vocab;
    if (!a->labels.empty()) vocab = data::LabelVocabulary::load_json(a->labels);
    data::InspectOptions io;
    io.vocab = vocab ? &*vocab : nullptr;
    io.seed = a->seed;
    if (a->tensors) {
      data::PreprocessOptions po;
      po.size = a->size;
      po.depth = a->depth;
      po.n_image = a->n_image;
      po.level = data::parse_label_level(a->level);
      io.tensors = po;
    }
    const auto j = data::inspect_cases(cases, io);
    if (a->json) std::cout << j.dump(2) << "\n";
    else std::cout << data::render_inspection(j);
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
