#include "weights/torch_checkpoint.h"

#include <cstring>
#include <deque>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "weights/torch_pickle.h"
#include "util/error.h"
#include "util/mapped_file.h"
#include "util/zip_reader.h"

namespace raddiag::weights {

namespace {

using pickle::Kind;
using pickle::Unpickled;
using pickle::Value;

bool is_tensor_dict(const Unpickled& u, const Value& d) {
  if (d.kind != Kind::Dict || d.items.empty()) return false;
  for (std::size_t i = 0; i + 1 < d.items.size(); i += 2)
    if (u.at(d.items[i]).kind != Kind::String || u.at(d.items[i + 1]).kind != Kind::Tensor) return false;
  return true;
}

std::string describe_keys(const Unpickled& u, const Value& d) {
  std::string out;
  int shown = 0;
  for (std::size_t i = 0; i + 1 < d.items.size() && shown < 12; i += 2, ++shown) {
    const Value& k = u.at(d.items[i]);
    out += (shown ? ", " : "") + (k.kind == Kind::String ? "'" + k.s + "'" : std::string(pickle::kind_name(k.kind)));
    out += std::string(" (") + pickle::kind_name(u.at(d.items[i + 1]).kind) + ")";
  }
  if (d.items.size() / 2 > 12) out += ", ...";
  return out;
}

// Finds the dict of tensors inside a (possibly nested) checkpoint; returns its value index.
int32_t find_tensor_dict(const Unpickled& u, const std::string& dict_path, const std::string& name) {
  const Value& root = u.at(u.root);
  if (!dict_path.empty()) {
    int32_t cur = u.root;
    std::size_t start = 0;
    while (start <= dict_path.size()) {
      const std::size_t slash = std::min(dict_path.find('/', start), dict_path.size());
      const std::string key = dict_path.substr(start, slash - start);
      const Value& d = u.at(cur);
      if (d.kind != Kind::Dict) throw Error(name, "dict path '" + dict_path + "': '" + key + "' is looked up in a non-dict");
      int32_t next = -1;
      for (std::size_t i = 0; i + 1 < d.items.size(); i += 2)
        if (u.at(d.items[i]).kind == Kind::String && u.at(d.items[i]).s == key) next = d.items[i + 1];
      if (next < 0) throw Error(name, "dict path '" + dict_path + "': no key '" + key + "'; keys: " + describe_keys(u, d));
      cur = next;
      start = slash + 1;
    }
    const Value& d = u.at(cur);
    if (d.kind == Kind::Dict && d.items.empty()) return cur;
    if (!is_tensor_dict(u, d)) throw Error(name, "dict path '" + dict_path + "' does not lead to a dict of tensors");
    return cur;
  }
  if (root.kind == Kind::Dict && (root.items.empty() || is_tensor_dict(u, root))) return u.root;
  if (root.kind == Kind::Tensor) throw Error(name, "file holds a single tensor, not a dict of named tensors");
  if (root.kind != Kind::Dict)
    throw Error(name, std::string("file holds a ") + pickle::kind_name(root.kind) + ", not a dict of named tensors");

  // Breadth-first through nested dicts (bounded depth; the visited set guards against cycles).
  struct Node { int32_t id; std::string path; int depth; };
  std::deque<Node> queue{{u.root, "", 0}};
  std::unordered_set<int32_t> visited{u.root};
  std::vector<Node> found;
  while (!queue.empty()) {
    Node n = queue.front();
    queue.pop_front();
    const Value& d = u.at(n.id);
    for (std::size_t i = 0; i + 1 < d.items.size(); i += 2) {
      const Value& k = u.at(d.items[i]);
      const int32_t child = d.items[i + 1];
      if (k.kind != Kind::String || u.at(child).kind != Kind::Dict || !visited.insert(child).second) continue;
      Node c{child, n.path.empty() ? k.s : n.path + "/" + k.s, n.depth + 1};
      if (is_tensor_dict(u, u.at(child))) found.push_back(c);
      else if (c.depth < 4) queue.push_back(c);
    }
  }
  if (found.size() == 1) return found[0].id;
  static const std::set<std::string> preferred = {"state_dict", "model_state_dict", "model", "module", "net",
                                                  "network", "weights"};
  std::vector<Node> pref;
  for (const auto& n : found) {
    const std::string last = n.path.substr(n.path.rfind('/') == std::string::npos ? 0 : n.path.rfind('/') + 1);
    if (preferred.count(last)) pref.push_back(n);
  }
  if (pref.size() == 1) return pref[0].id;
  if (found.empty()) throw Error(name, "no dict of tensors found; top-level keys: " + describe_keys(u, root));
  std::string paths;
  for (std::size_t i = 0; i < found.size() && i < 10; ++i) paths += (i ? ", " : "") + found[i].path;
  throw Error(name, "several dicts of tensors (" + paths + "); choose one with a dict path");
}

void check_bool_bytes(const std::string_view& bytes, const std::string& name, const std::string& what) {
  for (char c : bytes)
    if (static_cast<uint8_t>(c) > 1) throw Error(name, what + " holds a bool value other than 0 or 1");
}

}  // namespace

NamedTensors tensors_from_pickle(const uint8_t* pkl, std::size_t size, const StorageRecordFn& record,
                                 const std::string& name, const TorchCheckpointOptions& options) {
  const Unpickled u = pickle::unpickle(pkl, size, name);
  const Value& dict = u.at(find_tensor_dict(u, options.dict_path, name));

  // Python dict semantics: a repeated key keeps its first position and its last value.
  std::vector<std::string> order;
  std::unordered_map<std::string, int32_t> chosen;
  for (std::size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    const std::string& key = u.at(dict.items[i]).s;
    auto [it, fresh] = chosen.emplace(key, dict.items[i + 1]);
    if (fresh) order.push_back(key);
    else it->second = dict.items[i + 1];
  }

  std::unordered_map<int32_t, torch::Tensor> storages;
  std::map<std::tuple<int32_t, int64_t, std::vector<int64_t>, std::vector<int64_t>>, std::string> first_name;
  NamedTensors out;
  for (const std::string& key : order) {
    const Value& t = u.at(chosen.at(key));
    auto sit = storages.find(t.storage);
    if (sit == storages.end()) {
      const Value& st = u.at(t.storage);
      const std::string record_name = "data/" + st.s;
      std::string_view bytes;
      if (!record(st.s, &bytes)) throw Error(name, "storage record '" + record_name + "' (of '" + key + "') is missing");
      const int64_t elem = static_cast<int64_t>(c10::elementSize(st.dtype));
      int64_t nbytes;
      if (__builtin_mul_overflow(st.i, elem, &nbytes) || static_cast<uint64_t>(nbytes) != bytes.size())
        throw Error(name, "storage record '" + record_name + "' holds " + std::to_string(bytes.size()) +
                              " bytes, but the pickle announces " + std::to_string(st.i) + " elements of " +
                              std::to_string(elem) + " bytes");
      if (st.dtype == c10::ScalarType::Bool) check_bool_bytes(bytes, name, "storage record '" + record_name + "'");
      torch::Tensor flat = torch::empty({st.i}, torch::TensorOptions().dtype(st.dtype));
      if (nbytes > 0) std::memcpy(flat.data_ptr(), bytes.data(), bytes.size());
      sit = storages.emplace(t.storage, flat).first;
    }
    torch::Tensor view = sit->second.as_strided(t.sizes, t.strides, t.offset);
    auto [fit, fresh] = first_name.emplace(std::make_tuple(t.storage, t.offset, t.sizes, t.strides), key);
    if (!fresh) out.alias_of[key] = fit->second;
    out.add(key, view);
  }
  return out;
}

NamedTensors parse_torch_checkpoint(const uint8_t* bytes, std::size_t size, const std::string& name,
                                    const TorchCheckpointOptions& options) {
  if (!zip::Reader::has_zip_signature(bytes, size)) {
    // Legacy torch.save (PyTorch < 1.6) starts with a pickled magic number 0x1950a86a20f9469cfc6c;
    // the even older tar variant has "ustar" at byte 257.
    static const uint8_t legacy_magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    const bool legacy = (size >= sizeof legacy_magic && std::memcmp(bytes, legacy_magic, sizeof legacy_magic) == 0) ||
                        (size >= 262 && std::memcmp(bytes + 257, "ustar", 5) == 0);
    if (legacy)
      throw Error(name, "unsupported legacy torch.save format (PyTorch < 1.6); re-save it with torch>=1.6: "
                        "torch.save(torch.load(f), f_new)");
    throw Error(name, "not a PyTorch checkpoint (no ZIP signature; truncated or another format?)");
  }
  zip::Reader zip(bytes, size, name, options.archive);

  // Records live under one top-level folder named after the file torch.save wrote ("archive/",
  // "pytorch_model/", ...); data.pkl marks it.
  std::string prefix;
  int pickles = 0;
  bool torchscript = false;
  for (const auto& e : zip.entries()) {
    const std::size_t slash = e.name.find('/');
    if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      prefix = e.name.substr(0, slash + 1);
      ++pickles;
    }
    if (slash != std::string::npos && (e.name.compare(slash, std::string::npos, "/constants.pkl") == 0 ||
                                       e.name.compare(slash, 6, "/code/") == 0))
      torchscript = true;
  }
  if (torchscript)
    throw Error(name, "this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint");
  if (pickles == 0) throw Error(name, "ZIP archive has no <folder>/data.pkl record: not a torch.save checkpoint");
  if (pickles > 1) throw Error(name, "ZIP archive has several data.pkl records");

  std::string scratch;
  if (const zip::Entry* e = zip.find(prefix + "byteorder")) {
    std::string_view order = zip.read(*e, scratch, options.verify_crc);
    if (order != "little")
      throw Error(name, "checkpoint byte order is '" + std::string(order.substr(0, 16)) + "'; only little-endian is supported");
  }
  const zip::Entry* version = zip.find(prefix + "version");
  if (!version) version = zip.find(prefix + ".data/version");
  if (version) {
    std::string_view v = zip.read(*version, scratch, options.verify_crc);
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) v.remove_suffix(1);
    if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string_view::npos)
      throw Error(name, "corrupt version record");
  }

  const zip::Entry* pk = zip.find(prefix + "data.pkl");
  if (pk->size > options.max_pickle_bytes)
    throw Error(name, "data.pkl is " + std::to_string(pk->size) + " bytes, above the limit of " +
                          std::to_string(options.max_pickle_bytes));
  std::string pickle_scratch;
  const std::string_view pickle_bytes = zip.read(*pk, pickle_scratch, options.verify_crc);

  std::string record_scratch;
  auto record = [&](const std::string& key, std::string_view* out) {
    const zip::Entry* e = zip.find(prefix + "data/" + key);
    if (!e) return false;
    *out = zip.read(*e, record_scratch, options.verify_crc);
    return true;
  };
  return tensors_from_pickle(reinterpret_cast<const uint8_t*>(pickle_bytes.data()), pickle_bytes.size(), record, name,
                             options);
}

NamedTensors read_torch_checkpoint(const std::string& path, const TorchCheckpointOptions& options) {
  MappedFile file(path);
  return parse_torch_checkpoint(file.data(), file.size(), path, options);
}

}  // namespace raddiag::weights
