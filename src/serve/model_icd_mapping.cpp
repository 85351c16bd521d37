#include "serve/model_icd_mapping.h"

#include <set>

#include "eval/icd_mapping.h"
#include "model/model_file.h"
#include "util/error.h"

namespace raddiag::serve {

SetIcdResult set_model_icd_mapping(const std::string& model_path, const std::string& mapping_path,
                                   const std::string& out_path) {
  model::ModelBundle bundle = model::load_model_file(model_path);
  SetIcdResult r;
  r.classes = static_cast<int64_t>(bundle.classes.size());
  if (mapping_path.empty()) {
    bundle.icd_mapping = nullptr;
  } else {
    eval::IcdMapping m = eval::read_icd_mapping(mapping_path);
    const std::set<std::string> classes(bundle.classes.begin(), bundle.classes.end());
    for (auto it = m.disorder_codes.begin(); it != m.disorder_codes.end();) {
      if (classes.count(it->first)) {
        ++r.mapped_classes;
        ++it;
      } else {
        ++r.dropped_disorders;
        it = m.disorder_codes.erase(it);
      }
    }
    if (r.mapped_classes == 0)
      throw Error(mapping_path, "none of its " + std::to_string(r.dropped_disorders) + " disorders is one of the " +
                                    std::to_string(r.classes) + " classes of " + model_path +
                                    " (a mapping for another vocabulary, or a model trained at ICD level?)");
    r.codes = static_cast<int64_t>(m.codes.size());
    if (!m.rule.is_object()) m.rule = m.rule.is_null() ? nlohmann::json::object() : nlohmann::json{{"derivation", m.rule}};
    m.rule["stored_by"] = "raddiag model set-icd";
    m.rule["source_file"] = mapping_path;
    bundle.icd_mapping = eval::icd_mapping_to_json(m);
  }
  model::save_model_file(out_path.empty() ? model_path : out_path, bundle);  // atomic (temp + rename)
  return r;
}

}  // namespace raddiag::serve
