#include "util/json_keys.h"

#include <algorithm>

#include "util/error.h"

namespace raddiag {

JsonOptionsReader::JsonOptionsReader(const nlohmann::json& j, std::string subject, std::string where,
                                     std::string struct_name, std::vector<std::string> known, Rules rules)
    : j_(j), subject_(std::move(subject)), where_(std::move(where)), struct_name_(std::move(struct_name)), rules_(rules) {
  // `where` ends with '.' below the top level; the object itself is named without it.
  const std::string self = where_.empty() ? struct_name_ : where_.substr(0, where_.size() - 1);
  if (!j_.is_object()) throw Error(subject_, self + ": expected a JSON object");
  if (rules_.allow_unknown) return;
  for (auto it = j_.begin(); it != j_.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) != known.end()) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    throw Error(subject_, (where_.empty() ? "" : self + ": ") + "unknown key '" + it.key() + "' of " + struct_name_ +
                              " (known keys: " + list + ")");
  }
}

bool JsonOptionsReader::has(const std::string& key) const {
  auto it = j_.find(key);
  return it != j_.end() && !(rules_.null_is_missing && it->is_null());
}

JsonOptionsReader JsonOptionsReader::child(const std::string& key, std::string struct_name, std::vector<std::string> known) const {
  return JsonOptionsReader(j_.at(key), subject_, where_ + key + ".", std::move(struct_name), std::move(known), rules_);
}

void JsonOptionsReader::fail(const std::string& key, const std::string& reason) const {
  throw Error(subject_, where_ + key + " " + reason);
}

}  // namespace raddiag
