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

}  // namespace raddiag
