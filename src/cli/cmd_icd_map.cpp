// raddiag icd-map: derive the disorder -> ICD-10-CM mapping from an RP3D training manifest
// (docs/icd-mapping.md).
#include <iostream>

#include "cli/command.h"
#include "eval/icd_mapping.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::cli {
namespace {
Registrar register_icd_map({"icd-map", "derive a disorder -> ICD-10 code mapping from a training manifest JSON", [](CLI::App& sub) {
  auto manifest = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto opt = std::make_shared<eval::IcdDerivationOptions>();
  sub.add_option("--manifest", *manifest, "RP3D manifest JSON (case -> {Samples: [{articles, icd10s}]})")->required();
  sub.add_option("--out", *out, "mapping JSON to write")->required();
  sub.add_option("--min-fraction", opt->min_fraction, "map a disorder to codes seen in at least this fraction of its cases")
      ->capture_default_str();
  return std::function<int()>([=] {
    refuse_to_overwrite_inputs(*out, {*manifest});
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_file_bytes(*manifest));
    } catch (const nlohmann::json::exception& e) {
      throw raddiag::Error(*manifest, std::string("invalid JSON: ") + e.what());
    }
    const eval::IcdMapping m = eval::derive_icd_mapping(j, *opt, *manifest);
    eval::write_icd_mapping(m, *out);
    std::cout << "icd-map: " << m.disorder_codes.size() << " disorders -> " << m.codes.size() << " codes, written to " << *out << "\n";
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
