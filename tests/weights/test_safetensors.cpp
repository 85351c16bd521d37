#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <fstream>

#include <nlohmann/json.hpp>

#include "weights/safetensors.h"
#include "weights/tensor_file.h"
#include "test_support.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/npy.h"

using namespace raddiag;
using weights::NamedTensors;

namespace {

// A file image from header text and data bytes.
std::string image(const std::string& header, const std::string& data = "") {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(uint64_t(header.size()) >> (8 * i));
  return out + header + data;
}

std::string parse_error(const std::string& bytes) {
  try {
    weights::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "bad.safetensors");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted a malformed file";
  return "";
}

// Tensors of every supported dtype, some non-contiguous, a scalar and an empty one.
NamedTensors sample_tensors() {
  torch::manual_seed(3);
  NamedTensors t;
  t.add("f32", torch::randn({3, 4}));
  t.add("f32.transposed", torch::randn({4, 5}).t());  // non-contiguous: written as a contiguous copy
  t.add("f64", torch::randn({2}, torch::kFloat64));
  t.add("f16", torch::randn({3}).to(torch::kHalf));
  t.add("bf16", torch::randn({2, 2}).to(torch::kBFloat16));
  t.add("i64", torch::tensor({int64_t(-1) << 40, int64_t(7)}));
  t.add("i32", torch::randint(-1000, 1000, {3}, torch::kInt32));
  t.add("i16", torch::randint(-1000, 1000, {3}, torch::kInt16));
  t.add("i8", torch::randint(-128, 127, {4}, torch::kInt8));
  t.add("u8", torch::randint(0, 255, {2, 3}, torch::kUInt8));
  t.add("bool", torch::rand({5}) > 0.5);
  t.add("scalar", torch::tensor(2.5f));
  t.add("empty", torch::zeros({0, 7}));
  t.add("step", torch::arange(10, torch::kFloat32).slice(0, 1, 10, 3));  // strided view
  return t;
}

void expect_same_tensors(const NamedTensors& a, const NamedTensors& b) {
  ASSERT_EQ(a.names, b.names);
  for (const auto& n : a.names) {
    SCOPED_TRACE(n);
    const auto& x = a.at(n);
    const auto& y = b.at(n);
    EXPECT_EQ(x.scalar_type(), y.scalar_type());
    EXPECT_EQ(x.sizes(), y.sizes());
    EXPECT_TRUE(torch::equal(x.contiguous(), y.contiguous()));
  }
}

}  // namespace

TEST(Safetensors, RoundTripsEveryDtypeAndTheMetadata) {
  const std::string path = test::scratch_dir("st") + "/m.safetensors";
  const NamedTensors in = sample_tensors();
  const std::map<std::string, std::string> meta = {
      {"config", R"({"hidden": 512, "labels": ["Pneumonia", "Segond fracture"]})"},
      {"vocabulary", "a\nb\n\"quoted\"\tRé✓"},
      {"empty", ""}};
  weights::write_safetensors(path, in, meta);
  const auto out = weights::read_safetensors(path);
  expect_same_tensors(in, out.tensors);
  EXPECT_EQ(out.metadata, meta);
  EXPECT_EQ(weights::read_safetensors_metadata(path), meta);
  // The data area starts 8-byte aligned (header padded with spaces).
  const std::string bytes = read_file_bytes(path);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(static_cast<uint8_t>(bytes[i])) << (8 * i);
  EXPECT_EQ((8 + n) % 8, 0u);
  // No temporary files left beside it.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(Safetensors, ReadsAFileWrittenByTheIndependentPythonWriter) {
  const std::string dir = test::scratch_dir("st");
  test::run_python_script("safetensors_reference.py", {"write", dir});
  const auto got = weights::read_safetensors(dir + "/py.safetensors");
  std::ifstream in(dir + "/manifest.json");
  const auto manifest = nlohmann::json::parse(in);
  EXPECT_EQ(got.metadata, (manifest.at("metadata").get<std::map<std::string, std::string>>()));
  const auto& entries = manifest.at("entries");
  ASSERT_EQ(got.tensors.size(), entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string name = entries[i].at("name");
    SCOPED_TRACE(name);
    EXPECT_EQ(got.tensors.names[i], name);  // data order
    const auto& t = got.tensors.at(name);
    EXPECT_EQ(weights::safetensors_dtype_name(t.scalar_type()), entries[i].at("dtype").get<std::string>());
    EXPECT_EQ(t.sizes().vec(), entries[i].at("shape").get<std::vector<int64_t>>());
    const auto ref = npy::read(dir + "/" + entries[i].at("npy").get<std::string>());
    torch::Tensor mine = ref.dtype == npy::DType::kFloat32   ? t.to(torch::kFloat32).contiguous()
                         : ref.dtype == npy::DType::kFloat64 ? t.to(torch::kFloat64).contiguous()
                                                             : t.to(torch::kInt64).contiguous();
    ASSERT_EQ(static_cast<std::size_t>(mine.nbytes()), ref.data.size());
    EXPECT_EQ(0, std::memcmp(mine.data_ptr(), ref.data.data(), ref.data.size()));
  }
}

TEST(Safetensors, PythonReadsWhatWeWrite) {
  const std::string dir = test::scratch_dir("st");
  const NamedTensors in = sample_tensors();
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"config", "{\"a\": [1, 2]}"}};
  weights::write_safetensors(dir + "/ours.safetensors", in, meta);
  std::filesystem::create_directories(dir + "/ref");
  for (const auto& n : in.names) {
    const torch::Tensor& t = in.at(n);
    npy::Array a;
    if (t.is_floating_point()) {
      auto c = t.to(torch::kFloat64).contiguous();
      a.dtype = npy::DType::kFloat64;
      a.data.assign(static_cast<uint8_t*>(c.data_ptr()), static_cast<uint8_t*>(c.data_ptr()) + c.nbytes());
    } else {
      auto c = t.to(torch::kInt64).contiguous();
      a.dtype = npy::DType::kInt64;
      a.data.assign(static_cast<uint8_t*>(c.data_ptr()), static_cast<uint8_t*>(c.data_ptr()) + c.nbytes());
    }
    a.shape = t.sizes().vec();
    npy::write(dir + "/ref/" + n + ".npy", a);
  }
  write_bytes_atomically(dir + "/ref/metadata.json", nlohmann::json(meta).dump());
  const std::string out =
      test::run_python_script("safetensors_reference.py", {"verify", dir + "/ours.safetensors", dir + "/ref"});
  EXPECT_NE(out.find("verified 14 tensors"), std::string::npos) << out;
}

TEST(Safetensors, RejectsMalformedFilesWithClearErrors) {
  const std::string f32x2 = std::string(8, '\0');
  auto tensor = [](const std::string& name, const std::string& dtype, const std::string& shape, uint64_t b, uint64_t e) {
    return "\"" + name + "\": {\"dtype\": \"" + dtype + "\", \"shape\": " + shape + ", \"data_offsets\": [" +
           std::to_string(b) + ", " + std::to_string(e) + "]}";
  };
  EXPECT_NE(parse_error("abc").find("shorter than"), std::string::npos);
  std::string huge(8, '\0');
  huge[4] = 1;  // 2^32 bytes of header
  EXPECT_NE(parse_error(huge + "{}").find("exceeds the limit"), std::string::npos);
  std::string past = image("{}");
  past[0] = 100;
  EXPECT_NE(parse_error(past).find("exceeds the file size"), std::string::npos);
  EXPECT_NE(parse_error(image("[1, 2]")).find("start with '{'"), std::string::npos);
  EXPECT_NE(parse_error(image("{\"a\": ")).find("not valid JSON"), std::string::npos);
  EXPECT_NE(parse_error(image("{\"a\": \"\xff\xfe\"}")).find("not valid JSON"), std::string::npos);
  EXPECT_NE(parse_error(image("{} trailing")).find("not valid JSON"), std::string::npos);
  EXPECT_NE(parse_error(image("{\"__metadata__\": {\"a\": [[[[[1]]]]]}}")).find("nested too deeply"), std::string::npos);
  EXPECT_NE(parse_error(image("{\"__metadata__\": {\"a\": 1}}")).find("is not a string"), std::string::npos);
  EXPECT_NE(parse_error(image("{" + tensor("x", "F32", "[2]", 0, 8) + ", " + tensor("x", "F32", "[2]", 8, 16) + "}",
                              f32x2 + f32x2))
                .find("repeats the key 'x'"),
            std::string::npos);
  EXPECT_NE(parse_error(image("{" + tensor("x", "F32", "[20]", 0, 80) + "}", f32x2)).find("truncated"), std::string::npos);
  EXPECT_NE(parse_error(image("{" + tensor("x", "F32", "[2]", 0, 8) + "}", f32x2 + "junk")).find("trailing"),
            std::string::npos);
  EXPECT_NE(parse_error(image("{" + tensor("x", "F32", "[3]", 0, 8) + "}", f32x2)).find("needs 12"), std::string::npos);
  EXPECT_NE(parse_error(image("{" + tensor("x", "F32", "[2]", 8, 0) + "}", f32x2)).find("end before"), std::string::npos);
  EXPECT_NE(parse_error(image("{" + tensor("x", "F32", "[2]", 0, 8) + ", " + tensor("y", "F32", "[2]", 4, 12) + "}",
                              f32x2 + "1234"))
                .find("overlap"),
            std::string::npos);
  EXPECT_NE(parse_error(image("{" + tensor("x", "F32", "[2]", 4, 12) + "}", "1234" + f32x2)).find("gap"),
            std::string::npos);
  EXPECT_NE(parse_error(image("{" + tensor("x", "U32", "[2]", 0, 8) + "}", f32x2)).find("'U32' is not supported"),
            std::string::npos);
  EXPECT_NE(parse_error(image("{" + tensor("x", "F32", "[1099511627776, 1099511627776]", 0, 8) + "}", f32x2))
                .find("overflows"),
            std::string::npos);
  EXPECT_NE(parse_error(image("{" + tensor("x", "F32", "[-2]", 0, 8) + "}", f32x2)).find("non-negative"),
            std::string::npos);
  EXPECT_NE(parse_error(image("{" + tensor("x", "F32", "[2.0]", 0, 8) + "}", f32x2)).find("non-negative integer"),
            std::string::npos);
  EXPECT_NE(parse_error(image("{\"x\": {\"dtype\": \"F32\", \"shape\": [2]}}", f32x2)).find("needs"), std::string::npos);
  EXPECT_NE(parse_error(image("{\"x\": [1]}", f32x2)).find("not an object"), std::string::npos);
  EXPECT_NE(parse_error(image("{" + tensor("x", "BOOL", "[2]", 0, 2) + "}", std::string("\x01\x02", 2))).find("bool value"),
            std::string::npos);
  // The header may be padded with spaces; zero-size tensors may share an offset.
  const auto ok = image("{" + tensor("e", "F32", "[0, 3]", 0, 0) + ", " + tensor("x", "F32", "[2]", 0, 8) + ", " +
                            tensor("z", "I8", "[0]", 8, 8) + "}     ",
                        f32x2);
  const auto parsed = weights::parse_safetensors(reinterpret_cast<const uint8_t*>(ok.data()), ok.size(), "ok");
  EXPECT_EQ(parsed.tensors.names, (std::vector<std::string>{"e", "x", "z"}));
}

TEST(Safetensors, TruncationAnywhereIsAnError) {
  const std::string path = test::scratch_dir("st") + "/m.safetensors";
  weights::write_safetensors(path, sample_tensors(), {{"k", "v"}});
  const std::string bytes = read_file_bytes(path);
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_THROW(weights::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), n, "cut"), Error) << n;
}

TEST(Safetensors, WriterRefusesWhatTheFormatCannotHold) {
  const std::string dir = test::scratch_dir("st");
  NamedTensors c;
  c.add("complex", torch::zeros({2}, torch::kComplexFloat));
  EXPECT_THROW(weights::write_safetensors(dir + "/c.safetensors", c), Error);
  NamedTensors m;
  m.add("__metadata__", torch::zeros({2}));
  EXPECT_THROW(weights::write_safetensors(dir + "/m.safetensors", m), Error);
  NamedTensors u;
  u.add("bad\xff", torch::zeros({2}));
  EXPECT_THROW(weights::write_safetensors(dir + "/u.safetensors", u), Error);
  EXPECT_TRUE(std::filesystem::is_empty(dir));  // nothing half-written left behind
}

TEST(TensorFile, DetectsTheFormat) {
  const std::string dir = test::scratch_dir("st");
  NamedTensors t;
  t.add("w", torch::arange(6, torch::kFloat32).reshape({2, 3}));
  weights::write_safetensors(dir + "/a.safetensors", t, {{"k", "v"}});
  const auto st = weights::read_tensor_file(dir + "/a.safetensors");
  EXPECT_EQ(st.format, "safetensors");
  EXPECT_EQ(st.metadata.at("k"), "v");
  EXPECT_TRUE(torch::equal(st.tensors.at("w"), t.at("w")));
  const auto pt = weights::read_tensor_file(test::shared_data() + "/official-parity/state_dict.bin");
  EXPECT_EQ(pt.format, "torch");
  EXPECT_EQ(pt.tensors.size(), 190u);
  write_bytes_atomically(dir + "/junk.bin", "junk junk junk");
  EXPECT_THROW(weights::read_tensor_file(dir + "/junk.bin"), Error);
}

namespace {
// A header of n one-byte U8 tensors; `offset(i)` gives tensor i's begin.
std::string many_tensors_image(int n, const std::function<uint64_t(int)>& offset) {
  std::string h = "{";
  for (int i = 0; i < n; ++i) {
    const uint64_t b = offset(i);
    h += (i ? ",\"t" : "\"t") + std::to_string(i) + "\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[" +
         std::to_string(b) + "," + std::to_string(b + 1) + "]}";
  }
  h += "}";
  return image(h, std::string(static_cast<std::size_t>(n), '\x01'));
}
}  // namespace

// Issue 18: the header parse was quadratic in the number of tensors (200k: 54 s). Not a timing test:
// a quadratic parse would take minutes and hit the test timeout.
TEST(Safetensors, ParsesTwoHundredThousandTensors) {
  const int n = 200000;
  const std::string img = many_tensors_image(n, [&](int i) { return uint64_t(n - 1 - i); });  // reverse data order
  const auto f = weights::parse_safetensors(reinterpret_cast<const uint8_t*>(img.data()), img.size(), "many.safetensors");
  ASSERT_EQ(f.tensors.size(), std::size_t(n));
  EXPECT_EQ(f.tensors.names.front(), "t" + std::to_string(n - 1));  // data order
  EXPECT_EQ(f.tensors.names.back(), "t0");
}

TEST(Safetensors, ErrorMessagesStayShortOnHugeHeaders) {
  // 200k tensors all at offset 0: every one but the first overlaps.
  std::string what = parse_error(many_tensors_image(200000, [](int) { return uint64_t(0); }));
  EXPECT_LT(what.size(), 1024u) << what.substr(0, 2000);
  EXPECT_NE(what.find("overlap another tensor"), std::string::npos) << what;
  EXPECT_NE(what.find("and 199996 more tensors out of place"), std::string::npos) << what;
  // A 2 MB tensor name with an unknown dtype.
  const std::string big(2 << 20, 'n');
  what = parse_error(image("{\"" + big + "\":{\"dtype\":\"X9\",\"shape\":[1],\"data_offsets\":[0,1]}}", "\x01"));
  EXPECT_LT(what.size(), 1024u);
  EXPECT_NE(what.find("dtype 'X9' is not supported"), std::string::npos) << what;
  // A header cut inside a 2 MB string: the JSON error quotes the token it read.
  what = parse_error(image("{\"" + big, ""));
  EXPECT_LT(what.size(), 1024u);
  EXPECT_NE(what.find("not valid JSON"), std::string::npos) << what;
  // A repeated 2 MB key.
  const std::string entry = "{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}";
  what = parse_error(image("{\"" + big + "\":" + entry + ",\"" + big + "\":" + entry + "}", "\x01"));
  EXPECT_LT(what.size(), 1024u);
  EXPECT_NE(what.find("repeats the key"), std::string::npos) << what;
}
