#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "weights/torch_checkpoint.h"
#include "weights/torch_pickle.h"
#include "test_support.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/npy.h"

using namespace raddiag;
using namespace std::string_literals;
using weights::NamedTensors;

namespace {

std::string python_dtype(c10::ScalarType t) {
  switch (t) {
    case c10::ScalarType::Float: return "float32";
    case c10::ScalarType::Double: return "float64";
    case c10::ScalarType::Half: return "float16";
    case c10::ScalarType::BFloat16: return "bfloat16";
    case c10::ScalarType::Long: return "int64";
    case c10::ScalarType::Int: return "int32";
    case c10::ScalarType::Short: return "int16";
    case c10::ScalarType::Char: return "int8";
    case c10::ScalarType::Byte: return "uint8";
    case c10::ScalarType::Bool: return "bool";
    default: return "other";
  }
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in);
}

// Compares what we read with what python's torch.load saw (tests/py/torch_checkpoint_reference.py
// dump): names in order, dtype, shape, strides, storage offset, storage sharing, aliases, and every
// value exactly.
void expect_matches_reference(const NamedTensors& got, const std::string& ref_dir) {
  const auto manifest = read_json(ref_dir + "/manifest.json");
  const auto& entries = manifest.at("entries");
  ASSERT_EQ(got.size(), entries.size());
  std::map<int, const void*> storage_ptr;  // python storage group -> our storage
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    const std::string name = e.at("name");
    SCOPED_TRACE(name);
    ASSERT_EQ(got.names[i], name);
    const torch::Tensor& t = got.at(name);
    EXPECT_EQ(python_dtype(t.scalar_type()), e.at("dtype").get<std::string>());
    EXPECT_EQ(t.sizes().vec(), e.at("shape").get<std::vector<int64_t>>());
    EXPECT_EQ(t.strides().vec(), e.at("stride").get<std::vector<int64_t>>());
    EXPECT_EQ(t.storage_offset(), e.at("offset").get<int64_t>());
    const std::string alias = e.at("alias_of");
    auto a = got.alias_of.find(name);
    EXPECT_EQ(a == got.alias_of.end() ? std::string() : a->second, alias);
    // Tensors python saw on one storage share memory here, and only those.
    const void* ptr = t.storage().data();
    auto [it, fresh] = storage_ptr.emplace(e.at("storage").get<int>(), ptr);
    if (!fresh) EXPECT_EQ(it->second, ptr);
    else if (t.storage().nbytes() > 0)
      for (const auto& [g, p] : storage_ptr)
        if (g != e.at("storage").get<int>()) EXPECT_NE(p, ptr);

    auto ref = npy::read(ref_dir + "/" + e.at("npy").get<std::string>());
    ASSERT_EQ(ref.shape, t.sizes().vec());
    torch::Tensor mine;
    if (ref.dtype == npy::DType::kFloat32) mine = t.to(torch::kFloat32).contiguous();
    else if (ref.dtype == npy::DType::kFloat64) mine = t.to(torch::kFloat64).contiguous();
    else if (ref.dtype == npy::DType::kInt64) mine = t.to(torch::kInt64).contiguous();
    else FAIL() << "unexpected reference dtype";
    ASSERT_EQ(static_cast<std::size_t>(mine.nbytes()), ref.data.size());
    // Bitwise equality (so -0.0, inf and denormals count too).
    EXPECT_EQ(0, std::memcmp(mine.data_ptr(), ref.data.data(), ref.data.size())) << "values differ";
  }
}

std::vector<std::string> split_tab(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string f;
  while (std::getline(ss, f, '\t')) out.push_back(f);
  if (!line.empty() && line.back() == '\t') out.push_back("");
  return out;
}

std::string official() { return test::shared_data() + "/official-parity/state_dict.bin"; }

std::string expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no raddiag::Error thrown";
  return "";
}

}  // namespace

TEST(TorchCheckpoint, ReadsTheOfficialStateDictLikeTheKeyList) {
  const NamedTensors sd = weights::read_torch_checkpoint(official());
  std::ifstream tsv(test::shared_data() + "/official-parity/official-keys-reduced.tsv");
  std::string line;
  std::getline(tsv, line);
  EXPECT_EQ(line, "name\tshape\talias_of\tdtype");
  std::size_t i = 0, aliases = 0;
  while (std::getline(tsv, line)) {
    const auto f = split_tab(line);
    ASSERT_EQ(f.size(), 4u) << line;
    SCOPED_TRACE(f[0]);
    ASSERT_LT(i, sd.size());
    EXPECT_EQ(sd.names[i], f[0]);
    const torch::Tensor& t = sd.at(f[0]);
    EXPECT_EQ(t.sizes().vec(), nlohmann::json::parse(f[1]).get<std::vector<int64_t>>());
    EXPECT_EQ(python_dtype(t.scalar_type()), f[3]);
    auto a = sd.alias_of.find(f[0]);
    EXPECT_EQ(a == sd.alias_of.end() ? "" : a->second, f[2]);
    if (!f[2].empty()) {
      ++aliases;
      EXPECT_EQ(t.data_ptr(), sd.at(f[2]).data_ptr());  // the same memory, not a copy
    }
    ++i;
  }
  EXPECT_EQ(i, 190u);
  EXPECT_EQ(sd.size(), 190u);
  EXPECT_EQ(aliases, 24u);
  EXPECT_EQ(sd.alias_of.size(), 24u);
}

TEST(TorchCheckpoint, OfficialValuesEqualPythonTorchLoad) {
  const std::string dir = test::scratch_dir("ckpt");
  test::run_python_script("torch_checkpoint_reference.py", {"dump", official(), dir});
  expect_matches_reference(weights::read_torch_checkpoint(official()), dir);
}

TEST(TorchCheckpoint, MatchesPythonOnFilesItWrites) {
  // Every case torch.save (or a hand-made zip) produced: valid ones must equal torch.load's view,
  // broken and hostile ones must fail with an Error naming the file and saying why.
  const std::string dir = test::scratch_dir("ckpt");
  test::run_python_script("torch_checkpoint_reference.py", {"write", dir});
  const auto cases = read_json(dir + "/cases.json");
  int valid = 0, invalid = 0;
  for (const auto& c : cases) {
    const std::string file = dir + "/" + c.at("file").get<std::string>();
    const std::string error = c.at("error");
    SCOPED_TRACE(file);
    weights::TorchCheckpointOptions opt;
    opt.dict_path = c.at("dict_path");
    if (error.empty()) {
      NamedTensors got;
      try {
        got = weights::read_torch_checkpoint(file, opt);
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        continue;
      }
      const std::string stem = c.at("file").get<std::string>();
      expect_matches_reference(got, dir + "/" + stem.substr(0, stem.size() - 3));
      ++valid;
    } else {
      const std::string what = expect_error([&] { weights::read_torch_checkpoint(file, opt); });
      EXPECT_NE(what.find(file), std::string::npos) << what;
      EXPECT_NE(what.find(error), std::string::npos) << "expected '" << error << "' in: " << what;
      ++invalid;
    }
  }
  EXPECT_GE(valid, 13);
  EXPECT_GE(invalid, 20);

  // A small valid file cut at (nearly) every length fails cleanly.
  const std::string bytes = read_file_bytes(dir + "/views.pt");
  ASSERT_NO_THROW(weights::parse_torch_checkpoint(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "v"));
  for (std::size_t n = 0; n < bytes.size(); n += 7)
    EXPECT_THROW(weights::parse_torch_checkpoint(reinterpret_cast<const uint8_t*>(bytes.data()), n, "v"), Error) << n;
}

TEST(TorchCheckpoint, TruncatedOrCorruptedImagesFailCleanly) {
  const std::string bytes = read_file_bytes(official());
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  // Truncation anywhere: no end-of-central-directory, or records past the end.
  for (std::size_t n : {std::size_t(0), std::size_t(3), std::size_t(30), std::size_t(1000), bytes.size() / 2,
                        bytes.size() - 5000, bytes.size() - 23, bytes.size() - 1}) {
    SCOPED_TRACE(n);
    const std::string what = expect_error([&] { weights::parse_torch_checkpoint(p, n, "cut.bin"); });
    EXPECT_NE(what.find("cut.bin"), std::string::npos) << what;
  }
  // Random byte flips in the pickle and the directories, CRC check off so that they reach the
  // parsers: either a clean Error or a result, never a crash (ASan builds check memory safety).
  std::mt19937 rng(7);
  const std::size_t pickle_end = 38141 + 100;  // data.pkl is the first record
  const std::size_t tail = bytes.size() - 20000; // central directory
  weights::TorchCheckpointOptions opt;
  opt.verify_crc = false;
  int errors = 0;
  std::string bad = bytes;
  for (int round = 0; round < 60; ++round) {
    std::vector<std::size_t> flipped;
    for (int k = 0; k < 4; ++k) {
      const std::size_t at = round % 2 ? rng() % pickle_end : tail + rng() % 20000;
      bad[at] = static_cast<char>(rng());
      flipped.push_back(at);
    }
    try {
      weights::parse_torch_checkpoint(reinterpret_cast<const uint8_t*>(bad.data()), bad.size(), "flip.bin", opt);
    } catch (const Error& e) {
      ++errors;
    }
    for (std::size_t at : flipped) bad[at] = bytes[at];
  }
  EXPECT_GT(errors, 10);
}

// Hand-written pickle programs against the interpreter itself, with one fake 24-byte float storage.
namespace {
NamedTensors run_pickle(const std::string& program) {
  const std::string storage(24, '\0');
  auto record = [&](const std::string& key, std::string_view* out) {
    if (key != "0"s) return false;
    *out = storage;
    return true;
  };
  return weights::tensors_from_pickle(reinterpret_cast<const uint8_t*>(program.data()), program.size(), record,
                                    "prog.pkl"s);
}
std::string pickle_error(const std::string& program) { return expect_error([&] { run_pickle(program); }); }

// {'w': tensor(storage '0', offset, size, stride)} in protocol 2, as torch.save writes it.
std::string tensor_dict_program(const std::string& sizes_tuple, const std::string& strides_tuple) {
  std::string p = "\x80\x02}q\x00X\x01\x00\x00\x00w"s;
  p += "ctorch._utils\n_rebuild_tensor_v2\n("s;
  p += "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x06tQ"s;
  p += "K\x00"s + sizes_tuple + strides_tuple + "\x89}tR"s;
  p += "s."s;
  return p;
}
}  // namespace

TEST(TorchPickle, RunsAHandWrittenProgram) {
  const NamedTensors t = run_pickle(tensor_dict_program("K\x02K\x03\x86"s, "K\x03K\x01\x86"s));
  ASSERT_EQ(t.names, std::vector<std::string>{"w"s});
  EXPECT_EQ(t.at("w"s).sizes().vec(), (std::vector<int64_t>{2, 3}));
}

TEST(TorchPickle, RejectsHostilePrograms) {
  EXPECT_NE(pickle_error("\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00lsK\x01R."s).find("'os.system' is not allowed"s),
            std::string::npos);
  EXPECT_NE(pickle_error("\x80\x02" "cbuiltins\ngetattr\n."s).find("not allowed"s), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x02X\x02\x00\x00\x00" "os\x8c\x06system\x93."s).find("not allowed"s), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x02}h\x05."s).find("memo index 5"s), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x02s."s).find("underflow"s), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x02}"s).find("truncated"s), std::string::npos);
  EXPECT_NE(pickle_error(""s).find("truncated"s), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x02X\xff\xff\xff\x7f" "abc"s).find("truncated"s), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x02\x8b\xff\xff\xff\xff."s).find("truncated"s), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x02}\xff."s).find("unknown opcode 0xff"s), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x02I1\n."s).find("opcode 0x49 'I'"s), std::string::npos);  // text protocol
  EXPECT_NE(pickle_error("\x80\x09}."s).find("protocol"s), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x02K\x01."s).find("int, not a dict"s), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x02(."s).find("open MARK"s), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x02}(X\x01\x00\x00\x00" "au."s).find("odd number"s), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x02]K\x01K\x02s."s).find("SETITEM(S) on a list"s), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x02K\x01)R."s).find("not a callable"s), std::string::npos);
  // The tensor program with a storage record that does not exist / a view beyond its storage.
  std::string missing = tensor_dict_program("K\x02\x85"s, "K\x01\x85"s);
  missing.replace(missing.find("X\x01\x00\x00\x00" "0X"s), 7, "X\x01\x00\x00\x00" "9X"s);
  EXPECT_NE(pickle_error(missing).find("'data/9'"s), std::string::npos);
  EXPECT_NE(pickle_error(tensor_dict_program("K\x07\x85"s, "K\x01\x85"s)).find("only 6 elements"s), std::string::npos);
  EXPECT_NE(pickle_error(tensor_dict_program("K\x02K\x02\x86"s, "K\x01\x85"s)).find("different lengths"s), std::string::npos);
}

TEST(TorchPickle, DeepNestingAndCyclesNeitherRecurseNorHang) {
  // 200k nested lists: the flat value table means no recursion anywhere.
  std::string deep = "\x80\x02"s;
  for (int i = 0; i < 200000; ++i) deep += "]"s;
  for (int i = 0; i < 199999; ++i) deep += "a"s;
  deep += "."s;
  EXPECT_NE(pickle_error(deep).find("list, not a dict"s), std::string::npos);
  // A dict that contains itself, and a list that contains itself, under a dict.
  const std::string cyc = "\x80\x02}q\x00X\x01\x00\x00\x00" "ah\x00s" "X\x01\x00\x00\x00" "b]q\x01h\x01" "as."s;
  EXPECT_NE(pickle_error(cyc).find("no dict of tensors"s), std::string::npos);
  // Too many objects for the limit.
  std::string many = "\x80\x02]"s;
  weights::pickle::Limits small;
  small.max_values = 1000;
  for (int i = 0; i < 2000; ++i) many += "N"s;
  many += "."s;
  EXPECT_THROW(weights::pickle::unpickle(reinterpret_cast<const uint8_t*>(many.data()), many.size(), "m"s, small), Error);
}

TEST(TorchCheckpoint, MissingFileIsAnErrorNamingIt) {
  const std::string what = expect_error([] { weights::read_torch_checkpoint("/nonexistent/x.bin"); });
  EXPECT_NE(what.find("/nonexistent/x.bin"), std::string::npos);
}

// Issue 18: memory bombs. A 9 MB program of None opcodes filled 1.4 GB.
TEST(TorchPickle, MemoryIsBoundedByTheProgramSize) {
  // 9 MB of None is refused by the stack bound, and cheaply: None (like True, False and ()) is one
  // shared value however often it is pushed.
  const std::string nones = "\x80\x02"s + std::string(9'000'000, 'N') + "."s;
  EXPECT_NE(pickle_error(nones).find("stack too deep"s), std::string::npos);
  const std::string fewer = "\x80\x02"s + std::string(1'000'000, 'N') + "."s;
  const auto u = weights::pickle::unpickle(reinterpret_cast<const uint8_t*>(fewer.data()), fewer.size(), "nones.pkl"s);
  EXPECT_LT(u.values.size(), 4u);
  EXPECT_NE(pickle_error(fewer).find("holds a None, not a dict"s), std::string::npos);
  // 1-byte opcodes that each make a new object (empty lists) hit the memory budget, which grows with
  // the program: here 1 MiB + 4 bytes per program byte.
  weights::pickle::Limits small;
  small.memory_base_bytes = 1u << 20;
  small.memory_per_input_byte = 4;
  const std::string lists = "\x80\x02"s + std::string(100'000, ']') + "."s;
  const std::string what = expect_error([&] {
    weights::pickle::unpickle(reinterpret_cast<const uint8_t*>(lists.data()), lists.size(), "lists.pkl"s, small);
  });
  EXPECT_NE(what.find("lists.pkl"s), std::string::npos) << what;
  EXPECT_NE(what.find("MiB of memory"s), std::string::npos) << what;
  // The same program within the default budget (64 MiB + 48 x its size) is fine.
  EXPECT_NO_THROW(weights::pickle::unpickle(reinterpret_cast<const uint8_t*>(lists.data()), lists.size(), "lists.pkl"s));
}

// Issue 18: a checkpoint's deflated records share one expansion budget (TorchCheckpointOptions::archive).
TEST(TorchCheckpoint, DeflatedRecordsShareOneExpansionBudget) {
  const std::string dir = test::scratch_dir("deflated_ckpt");
  const std::string packed = dir + "/deflated.bin";
  // The official checkpoint re-zipped with every record deflated (torch.save stores them).
  const std::string script =
      "import sys, zipfile\n"
      "src = zipfile.ZipFile(sys.argv[1])\n"
      "with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as out:\n"
      "    for n in src.namelist(): out.writestr(n, src.read(n))\n";
  std::string log;
  ASSERT_EQ(test::run_command(test::shell_quote(test::python()) + " -c " + test::shell_quote(script) + " " +
                                  test::shell_quote(official()) + " " + test::shell_quote(packed),
                              &log),
            0)
      << log;
  const NamedTensors plain = weights::read_torch_checkpoint(official());
  EXPECT_EQ(weights::read_torch_checkpoint(packed).names, plain.names);  // default budget: fine
  weights::TorchCheckpointOptions tight;
  tight.archive.max_inflated_base_bytes = 0;
  tight.archive.max_inflation_ratio = 1;  // less than the weights expand to
  const std::string what = expect_error([&] { weights::read_torch_checkpoint(packed, tight); });
  EXPECT_NE(what.find("deflated.bin"), std::string::npos) << what;
  EXPECT_NE(what.find("in total"), std::string::npos) << what;
}
