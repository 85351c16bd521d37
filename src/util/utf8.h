#pragma once
// File names and labels are bytes; JSON output needs UTF-8. Invalid bytes are written the way
// Python's 'backslashreplace' does (\xNN), so one odd name neither fails the whole JSON document nor
// becomes indistinguishable from another name.
#include <string>
#include <string_view>

namespace raddiag {

bool is_valid_utf8(std::string_view s);
// `s` unchanged when it is valid UTF-8; otherwise each byte that is not part of a valid sequence becomes
// the four characters \xNN (lower-case hex). Backslashes already in `s` are kept as they are.
std::string utf8_backslashreplace(std::string_view s);

// Every string and object key of a nlohmann JSON document through utf8_backslashreplace, so a document
// that gathers names from files (paths, labels, reasons) always serialises.
template <class Json>
void backslashreplace_json_strings(Json& j) {
  if (j.is_string()) {
    auto& s = j.template get_ref<typename Json::string_t&>();
    if (!is_valid_utf8(s)) s = utf8_backslashreplace(s);
  } else if (j.is_array()) {
    for (auto& v : j) backslashreplace_json_strings(v);
  } else if (j.is_object()) {
    bool keys_ok = true;
    for (auto it = j.begin(); it != j.end(); ++it) {
      keys_ok = keys_ok && is_valid_utf8(it.key());
      backslashreplace_json_strings(it.value());
    }
    if (keys_ok) return;
    Json fixed = Json::object();
    for (auto it = j.begin(); it != j.end(); ++it) fixed[utf8_backslashreplace(it.key())] = std::move(it.value());
    j = std::move(fixed);
  }
}

}  // namespace raddiag
