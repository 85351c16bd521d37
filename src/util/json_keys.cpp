#include "util/json_keys.h"

#include "util/error.h"

namespace raddiag {

void reject_unknown_keys(const nlohmann::json& j, const nlohmann::json& known, const std::string& subject) {
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.contains(it.key())) throw Error(subject + it.key(), "unknown key");
}

}  // namespace raddiag
