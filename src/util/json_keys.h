#pragma once
// The one way an options struct reads itself from JSON, so that every struct answers bad input alike:
//  * a missing key keeps the struct's default;
//  * an unknown key is an error naming the struct and listing the keys it knows (a typo never silently
//    trains or predicts something else);
//  * a value of the wrong type is an error naming the key and the expected type ("lr is not a number").
// Errors are raddiag::Error(subject, "<where><key> ...") where `where` is the dotted path of the object
// ("backbone.", "" at the top level) and `subject` what the user gave ("model config", a file name).
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

namespace raddiag {

// What JSON value a C++ field accepts, and how an error names it.
template <typename T, typename = void>
struct JsonFieldType;

template <>
struct JsonFieldType<bool> {
  static bool accepts(const nlohmann::json& v) { return v.is_boolean(); }
  static std::string name() { return "true or false"; }
};

template <typename T>
struct JsonFieldType<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static bool accepts(const nlohmann::json& v) {
    if constexpr (std::is_unsigned_v<T>) {
      // A non-negative integer built in C++ (json(42)) is stored signed, one parsed from text unsigned.
      if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
      return v.is_number_integer() && v.get<int64_t>() >= 0 &&
             static_cast<uint64_t>(v.get<int64_t>()) <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    } else {
      if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
      if (!v.is_number_integer()) return false;
      const int64_t x = v.get<int64_t>();
      return x >= static_cast<int64_t>(std::numeric_limits<T>::min()) && x <= static_cast<int64_t>(std::numeric_limits<T>::max());
    }
  }
  static std::string name() { return std::is_unsigned_v<T> ? "a non-negative integer" : "an integer"; }
};

template <typename T>
struct JsonFieldType<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  static bool accepts(const nlohmann::json& v) { return v.is_number(); }
  static std::string name() { return "a number"; }
};

template <>
struct JsonFieldType<std::string> {
  static bool accepts(const nlohmann::json& v) { return v.is_string(); }
  static std::string name() { return "a string"; }
};

template <typename T>
struct JsonFieldType<std::vector<T>> {
  static bool accepts(const nlohmann::json& v) {
    if (!v.is_array()) return false;
    for (const auto& e : v)
      if (!JsonFieldType<T>::accepts(e)) return false;
    return true;
  }
  static std::string name() { return "a list of elements each " + JsonFieldType<T>::name(); }
};

template <typename T>
struct JsonFieldType<std::map<std::string, T>> {
  static bool accepts(const nlohmann::json& v) {
    if (!v.is_object()) return false;
    for (const auto& e : v)
      if (!JsonFieldType<T>::accepts(e)) return false;
    return true;
  }
  static std::string name() { return "an object whose values are each " + JsonFieldType<T>::name(); }
};

// Reads the fields of one JSON object. The constructor checks the object and its keys; read() then
// takes the fields one by one.
class JsonOptionsReader {
 public:
  struct Rules {
    bool allow_unknown = false;  // foreign formats (e.g. a Hugging Face config.json) carry keys we do not use
    bool null_is_missing = false;
  };

  // Throws raddiag::Error(subject, "<where>: expected a JSON object") or (subject, "<where>: unknown key
  // '<key>' of <struct_name> (known keys: a, b, ...)"); `where` is "" at the top level or ends with '.'.
  JsonOptionsReader(const nlohmann::json& j, std::string subject, std::string where, std::string struct_name,
                    std::vector<std::string> known, Rules rules);
  JsonOptionsReader(const nlohmann::json& j, std::string subject, std::string where, std::string struct_name,
                    std::vector<std::string> known)
      : JsonOptionsReader(j, std::move(subject), std::move(where), std::move(struct_name), std::move(known), Rules{}) {}

  bool has(const std::string& key) const;
  const nlohmann::json& at(const std::string& key) const { return j_.at(key); }
  const nlohmann::json& json() const { return j_; }

  // Sets `out` from the key when present (else leaves it); returns whether it was present.
  template <typename T>
  bool read(const std::string& key, T& out) const {
    if (!has(key)) return false;
    const auto& v = j_.at(key);
    if (!JsonFieldType<T>::accepts(v)) fail(key, "is not " + JsonFieldType<T>::name());
    out = v.get<T>();
    return true;
  }

  // A string field turned into a typed value by `parse` (an enum parser that throws for a bad name).
  template <typename T, typename Parse>
  bool read_parsed(const std::string& key, T& out, Parse parse) const {
    std::string s;
    if (!read(key, s)) return false;
    out = parse(s);
    return true;
  }

  // The nested object under `key`, read by its own rules; `where` becomes "<where><key>.".
  JsonOptionsReader child(const std::string& key, std::string struct_name, std::vector<std::string> known) const;

  // raddiag::Error(subject, "<where><key> <reason>").
  [[noreturn]] void fail(const std::string& key, const std::string& reason) const;
  const std::string& subject() const { return subject_; }
  const std::string& where() const { return where_; }

 private:
  const nlohmann::json& j_;
  std::string subject_, where_, struct_name_;
  Rules rules_;
};

}  // namespace raddiag
