// The one JSON options reader (util/json_keys.h): missing keys keep defaults, unknown keys name the
// struct and list the known ones, wrong types name the key and the expected type.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/json_keys.h"

using namespace raddiag;
using nlohmann::json;

namespace {

struct Demo {
  int64_t count = 3;
  int small = 1;
  uint64_t seed = 7;
  double rate = 0.5;
  bool on = false;
  std::string name = "x";
  std::vector<int64_t> sizes{1, 2};
  std::map<std::string, double> weights;
  int64_t inner = 4;
};

Demo read_demo(const json& j) {
  Demo d;
  const JsonOptionsReader r(j, "demo options", "", "Demo",
                            {"count", "small", "seed", "rate", "on", "name", "sizes", "weights", "nested"});
  r.read("count", d.count);
  r.read("small", d.small);
  r.read("seed", d.seed);
  r.read("rate", d.rate);
  r.read("on", d.on);
  r.read("name", d.name);
  r.read("sizes", d.sizes);
  r.read("weights", d.weights);
  if (r.has("nested")) r.child("nested", "Inner", {"inner"}).read("inner", d.inner);
  return d;
}

std::string error_of(const json& j) {
  try {
    read_demo(j);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(JsonOptionsReader, MissingKeysKeepDefaultsAndPresentOnesAreRead) {
  const Demo d = read_demo(json::object());
  EXPECT_EQ(d.count, 3);
  EXPECT_EQ(d.name, "x");
  EXPECT_EQ(d.sizes, (std::vector<int64_t>{1, 2}));
  const Demo e = read_demo({{"count", 9}, {"rate", 2}, {"on", true}, {"name", "y"}, {"sizes", {5}},
                            {"weights", {{"a", 1.5}}}, {"seed", 11}, {"nested", {{"inner", 8}}}});
  EXPECT_EQ(e.count, 9);
  EXPECT_EQ(e.rate, 2.0);  // an integer is a number
  EXPECT_TRUE(e.on);
  EXPECT_EQ(e.name, "y");
  EXPECT_EQ(e.sizes, (std::vector<int64_t>{5}));
  EXPECT_EQ(e.weights.at("a"), 1.5);
  EXPECT_EQ(e.seed, 11u);
  EXPECT_EQ(e.inner, 8);
}

TEST(JsonOptionsReader, UnknownKeyNamesTheStructAndListsTheKnownKeys) {
  EXPECT_EQ(error_of({{"cuont", 1}}),
            "demo options: unknown key 'cuont' of Demo (known keys: count, small, seed, rate, on, name, sizes, "
            "weights, nested)");
  EXPECT_EQ(error_of({{"nested", {{"iner", 1}}}}), "demo options: nested: unknown key 'iner' of Inner (known keys: inner)");
  EXPECT_EQ(error_of(json::array()), "demo options: Demo: expected a JSON object");
  EXPECT_EQ(error_of({{"nested", 3}}), "demo options: nested: expected a JSON object");
}

TEST(JsonOptionsReader, WrongTypeNamesTheKeyAndTheExpectedType) {
  EXPECT_EQ(error_of({{"count", "many"}}), "demo options: count is not an integer");
  EXPECT_EQ(error_of({{"count", 2.5}}), "demo options: count is not an integer");
  EXPECT_EQ(error_of({{"rate", "fast"}}), "demo options: rate is not a number");
  EXPECT_EQ(error_of({{"on", 1}}), "demo options: on is not true or false");
  EXPECT_EQ(error_of({{"name", 4}}), "demo options: name is not a string");
  EXPECT_EQ(error_of({{"sizes", {1, "2"}}}), "demo options: sizes is not a list of elements each an integer");
  EXPECT_EQ(error_of({{"weights", {{"a", "b"}}}}), "demo options: weights is not an object whose values are each a number");
  EXPECT_EQ(error_of({{"seed", -1}}), "demo options: seed is not a non-negative integer");
  EXPECT_EQ(error_of({{"small", int64_t(1) << 40}}), "demo options: small is not an integer");  // beyond int
  EXPECT_EQ(error_of({{"nested", {{"inner", false}}}}), "demo options: nested.inner is not an integer");
}

TEST(JsonOptionsReader, ForeignFormatsMayCarryUnknownKeysAndNulls) {
  const json j = {{"hidden_size", nullptr}, {"architectures", {"BertModel"}}};
  const JsonOptionsReader r(j, "config.json", "", "config", {}, {/*allow_unknown=*/true, /*null_is_missing=*/true});
  int64_t hidden = 768;
  EXPECT_FALSE(r.read("hidden_size", hidden));
  EXPECT_EQ(hidden, 768);
  const JsonOptionsReader strict(j, "config.json", "", "config", {"hidden_size", "architectures"});
  EXPECT_THROW(strict.read("hidden_size", hidden), Error);  // null is a value of the wrong type here
}

TEST(JsonOptionsReader, ParsedFieldsGoThroughTheirParser) {
  enum class Mode { kA, kB };
  const json j = {{"mode", "b"}};
  const JsonOptionsReader r(j, "demo", "", "Demo", {"mode"});
  Mode m = Mode::kA;
  EXPECT_TRUE(r.read_parsed("mode", m, [](const std::string& s) { return s == "b" ? Mode::kB : Mode::kA; }));
  EXPECT_EQ(m, Mode::kB);
}
