#pragma once
// Base of the SAX passes that check a JSON document's structure (nesting, keys) before or instead of a
// DOM parse: every value event is accepted as it is, so a pass overrides only the events it checks.
#include <cstddef>

#include <nlohmann/json.hpp>

namespace raddiag {

template <class BasicJson>
struct JsonStructureSax : nlohmann::json_sax<BasicJson> {
  using typename nlohmann::json_sax<BasicJson>::number_integer_t;
  using typename nlohmann::json_sax<BasicJson>::number_unsigned_t;
  using typename nlohmann::json_sax<BasicJson>::number_float_t;
  using typename nlohmann::json_sax<BasicJson>::string_t;
  using typename nlohmann::json_sax<BasicJson>::binary_t;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
};

}  // namespace raddiag
