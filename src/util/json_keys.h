#pragma once
// Typed option structs read from JSON refuse keys they do not know, so that a typo never silently
// trains or predicts something else.
#include <string>

#include <nlohmann/json.hpp>

namespace raddiag {

// Throws raddiag::Error("<subject><key>", "unknown key") for the first key of the object `j` that the
// object `known` (e.g. the struct's defaults, to_json()) lacks.
void reject_unknown_keys(const nlohmann::json& j, const nlohmann::json& known, const std::string& subject);

}  // namespace raddiag
