#include "weights/torch_pickle.h"

#include <cstdio>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "util/error.h"

namespace raddiag::weights::pickle {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::BigInt: return "big int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

namespace {

// Storage classes torch.save names in persistent ids, and the tensor element type each holds.
bool storage_dtype(const std::string& global, c10::ScalarType* out) {
  static const std::pair<const char*, c10::ScalarType> table[] = {
      {"torch.FloatStorage", c10::ScalarType::Float},   {"torch.DoubleStorage", c10::ScalarType::Double},
      {"torch.HalfStorage", c10::ScalarType::Half},     {"torch.BFloat16Storage", c10::ScalarType::BFloat16},
      {"torch.LongStorage", c10::ScalarType::Long},     {"torch.IntStorage", c10::ScalarType::Int},
      {"torch.ShortStorage", c10::ScalarType::Short},   {"torch.CharStorage", c10::ScalarType::Char},
      {"torch.ByteStorage", c10::ScalarType::Byte},     {"torch.BoolStorage", c10::ScalarType::Bool},
  };
  for (const auto& [n, t] : table)
    if (global == n) {
      *out = t;
      return true;
    }
  return false;
}

bool allowed_global(const std::string& g) {
  static const char* const allowed[] = {
      "collections.OrderedDict",          "torch._utils._rebuild_tensor_v2",
      "torch._utils._rebuild_tensor",     "torch._utils._rebuild_parameter",
      "torch._utils._rebuild_parameter_with_state",
      // Tensors with Python attributes are wrapped in _rebuild_from_type_v2(func, type, args, state);
      // the types are only accepted as that call's type argument, never called.
      "torch._tensor._rebuild_from_type_v2", "torch._tensor.Tensor", "torch.Tensor",
      "torch.nn.parameter.Parameter",
      "builtins.set",                     "builtins.frozenset",
      "__builtin__.set",                  "__builtin__.frozenset",
      // Protocol 2 pickles bytes as _codecs.encode(latin-1 text, 'latin1') and b'' as bytes().
      "_codecs.encode",                   "builtins.bytes",
      "__builtin__.bytes",
  };
  for (const char* a : allowed)
    if (g == a) return true;
  c10::ScalarType t;
  return storage_dtype(g, &t);
}

class Machine {
 public:
  Machine(const uint8_t* data, std::size_t size, const std::string& name, const Limits& limits)
      : p_(data), size_(size), name_(name), limits_(limits) {
    std::size_t budget;
    if (__builtin_mul_overflow(limits.memory_per_input_byte, size, &budget) ||
        __builtin_add_overflow(budget, limits.memory_base_bytes, &budget))
      budget = limits.max_memory_bytes;
    memory_budget_ = std::min(budget, limits.max_memory_bytes);
  }

  Unpickled run() {
    while (true) {
      if (pos_ >= size_) fail("pickle data ends without STOP (truncated)");
      op_pos_ = pos_;
      const uint8_t op = p_[pos_++];
      if (step(op)) break;
    }
    Unpickled out;
    out.root = root_;
    out.values = std::move(values_);
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(name_, "pickle: " + why + " (opcode at byte " + std::to_string(op_pos_) + ")");
  }

  const uint8_t* take(std::size_t n) {
    if (n > size_ - pos_) fail("pickle data truncated");
    const uint8_t* at = p_ + pos_;
    pos_ += n;
    return at;
  }
  uint64_t le(std::size_t n) {
    const uint8_t* b = take(n);
    uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(b[i]) << (8 * i);
    return v;
  }
  std::string line() {
    const void* nl = std::memchr(p_ + pos_, '\n', size_ - pos_);
    if (!nl) fail("pickle data truncated inside a GLOBAL");
    const std::size_t n = static_cast<const uint8_t*>(nl) - (p_ + pos_);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n + 1;
    return s;
  }

  // Approximate bytes held now: values (with their strings and lists), stack, marks and memo.
  void check_memory() const {
    const std::size_t used = value_bytes_ + stack_.size() * sizeof(int32_t) + marks_.size() * sizeof(std::size_t) +
                             memo_.size() * 48;
    if (used > memory_budget_)
      fail("the program needs more than " + std::to_string(memory_budget_ >> 20) + " MiB of memory (bounded by its size of " +
           std::to_string(size_) + " bytes; a torch.save state dict needs far less): refusing it");
  }
  int32_t make(Value v) {
    if (values_.size() >= limits_.max_values) fail("too many objects (limit " + std::to_string(limits_.max_values) + ")");
    value_bytes_ += sizeof(Value) + v.s.size() + v.items.size() * sizeof(int32_t) +
                    (v.sizes.size() + v.strides.size()) * sizeof(int64_t);
    values_.push_back(std::move(v));
    check_memory();
    return static_cast<int32_t>(values_.size() - 1);
  }
  int32_t make_kind(Kind k) {
    Value v;
    v.kind = k;
    return make(std::move(v));
  }
  // None, True, False and () are immutable: one shared value each, however often a program pushes them.
  int32_t shared(Kind k, int64_t i = 0) {
    int32_t& slot = k == Kind::None ? none_ : k == Kind::Tuple ? empty_tuple_ : i ? true_ : false_;
    if (slot < 0) {
      Value v;
      v.kind = k;
      v.i = i;
      slot = make(std::move(v));
    }
    return slot;
  }
  void push(int32_t v) {
    if (stack_.size() >= limits_.max_values) fail("stack too deep (limit " + std::to_string(limits_.max_values) + ")");
    stack_.push_back(v);
    if ((stack_.size() & 1023) == 0) check_memory();
  }
  int32_t pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    int32_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  int32_t top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // Pops everything down to the last MARK (and the mark itself).
  std::vector<int32_t> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<int32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  Value& val(int32_t i) { return values_[static_cast<std::size_t>(i)]; }

  int32_t make_int(int64_t i) {
    Value v;
    v.kind = Kind::Int;
    v.i = i;
    return make(std::move(v));
  }
  int32_t make_str(Kind k, std::size_t n) {
    if (n > size_ - pos_) fail("pickle data truncated inside a string");
    Value v;
    v.kind = k;
    v.s.assign(reinterpret_cast<const char*>(take(n)), n);
    return make(std::move(v));
  }
  int32_t make_seq(Kind k, std::vector<int32_t> items) {
    Value v;
    v.kind = k;
    v.items = std::move(items);
    return make(std::move(v));
  }
  int32_t make_global(const std::string& module, const std::string& attr) {
    const std::string g = module + "." + attr;
    if (!allowed_global(g))
      fail("global '" + g +
           "' is not allowed: a torch.save state dict only needs collections.OrderedDict and torch's "
           "tensor/storage rebuild functions; refusing to load (the file may be malicious, or a "
           "pickled object that is not a state dict)");
    Value v;
    v.kind = Kind::Global;
    v.s = g;
    return make(std::move(v));
  }

  void memo_put(uint64_t idx) {
    const int32_t v = top();
    if (memo_.size() >= limits_.max_values && !memo_.count(idx)) fail("memo too large");
    memo_[idx] = v;
    check_memory();
  }
  void memo_get(uint64_t idx) {
    auto it = memo_.find(idx);
    if (it == memo_.end()) fail("memo index " + std::to_string(idx) + " was never stored");
    push(it->second);
  }

  void set_items(int32_t dict, const std::vector<int32_t>& kv) {
    if (val(dict).kind != Kind::Dict) fail(std::string("SETITEM(S) on a ") + kind_name(val(dict).kind));
    if (kv.size() % 2) fail("SETITEMS with an odd number of items");
    auto& items = val(dict).items;
    items.insert(items.end(), kv.begin(), kv.end());
    value_bytes_ += kv.size() * sizeof(int32_t);
    check_memory();
  }
  void append_items(int32_t list, const std::vector<int32_t>& xs) {
    if (val(list).kind != Kind::List) fail(std::string("APPEND(S)/ADDITEMS on a ") + kind_name(val(list).kind));
    auto& items = val(list).items;
    items.insert(items.end(), xs.begin(), xs.end());
    value_bytes_ += xs.size() * sizeof(int32_t);
    check_memory();
  }

  int64_t as_int(int32_t i, const char* what) {
    const Value& v = val(i);
    if (v.kind == Kind::Int) return v.i;
    if (v.kind == Kind::Bool) return v.i;
    fail(std::string(what) + " must be an int, got " + kind_name(v.kind));
  }
  std::vector<int64_t> as_int_tuple(int32_t i, const char* what) {
    if (val(i).kind != Kind::Tuple && val(i).kind != Kind::List)
      fail(std::string(what) + " must be a tuple, got " + kind_name(val(i).kind));
    std::vector<int32_t> items = val(i).items;
    if (items.size() > limits_.max_dims) fail(std::string(what) + " has too many dimensions");
    std::vector<int64_t> out;
    for (int32_t x : items) out.push_back(as_int(x, what));
    return out;
  }

  // The persistent id of a storage: ('storage', StorageClass, key, location, numel).
  int32_t persistent_load(int32_t pid) {
    const Value& t = val(pid);
    if (t.kind != Kind::Tuple || t.items.size() != 5) fail("persistent id is not a ('storage', type, key, location, numel) tuple");
    const Value& tag = val(t.items[0]);
    const Value& type = val(t.items[1]);
    const Value& key = val(t.items[2]);
    const Value& loc = val(t.items[3]);
    if (tag.kind != Kind::String || tag.s != "storage") fail("persistent id is not a storage");
    c10::ScalarType dtype;
    if (type.kind != Kind::Global || !storage_dtype(type.s, &dtype)) fail("persistent id names an unsupported storage type");
    if (key.kind != Kind::String || key.s.empty() || key.s.find('/') != std::string::npos)
      fail("storage key must be a plain non-empty string");
    if (loc.kind != Kind::String) fail("storage location must be a string");
    const int64_t numel = as_int(t.items[4], "storage size");
    if (numel < 0) fail("negative storage size");
    auto it = storages_.find(key.s);
    if (it != storages_.end()) {
      const Value& prev = val(it->second);
      if (prev.dtype != dtype || prev.i != numel)
        fail("storage '" + key.s + "' is referenced with different types or sizes");
      return it->second;
    }
    Value v;
    v.kind = Kind::Storage;
    v.s = key.s;
    v.i = numel;
    v.dtype = dtype;
    const int32_t id = make(std::move(v));
    storages_.emplace(val(id).s, id);
    return id;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  int32_t rebuild_tensor(const std::vector<int32_t>& args, const std::string& fn) {
    if (args.size() < 4 || args.size() > 7) fail(fn + " called with " + std::to_string(args.size()) + " arguments");
    if (val(args[0]).kind != Kind::Storage) fail(fn + ": first argument is not a storage");
    Value t;
    t.kind = Kind::Tensor;
    t.storage = args[0];
    t.offset = as_int(args[1], "storage offset");
    t.sizes = as_int_tuple(args[2], "tensor size");
    t.strides = as_int_tuple(args[3], "tensor stride");
    if (t.sizes.size() != t.strides.size()) fail("tensor size and stride have different lengths");
    if (t.offset < 0) fail("negative storage offset");
    // The view must lie inside its storage: offset + sum((size-1)*stride) < numel, overflow-checked.
    const int64_t numel = val(t.storage).i;
    bool empty = false;
    int64_t last = t.offset;
    for (std::size_t d = 0; d < t.sizes.size(); ++d) {
      if (t.sizes[d] < 0) fail("negative tensor size");
      if (t.strides[d] < 0) fail("negative tensor stride");
      if (t.sizes[d] == 0) empty = true;
    }
    if (!empty) {
      for (std::size_t d = 0; d < t.sizes.size(); ++d) {
        int64_t span;
        if (__builtin_mul_overflow(t.sizes[d] - 1, t.strides[d], &span) || __builtin_add_overflow(last, span, &last))
          fail("tensor view size overflows");
      }
      if (last >= numel)
        fail("tensor view (offset " + std::to_string(t.offset) + ") reaches element " + std::to_string(last) +
             " of storage '" + val(t.storage).s + "' which has only " + std::to_string(numel) + " elements");
    } else if (t.offset > numel) {
      fail("storage offset beyond the storage");
    }
    int64_t count = 1;
    for (int64_t s : t.sizes)
      if (__builtin_mul_overflow(count, s, &count)) fail("tensor element count overflows");
    return make(std::move(t));
  }

  // _codecs.encode(text, 'latin1'): the text's code points (all < 256) are the bytes.
  int32_t latin1_bytes(const std::vector<int32_t>& args) {
    if (args.size() != 2 || val(args[0]).kind != Kind::String || val(args[1]).kind != Kind::String ||
        (val(args[1]).s != "latin1" && val(args[1]).s != "latin-1"))
      fail("_codecs.encode is only allowed as encode(str, 'latin1')");
    const std::string& text = val(args[0]).s;
    Value v;
    v.kind = Kind::Bytes;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const uint8_t c = static_cast<uint8_t>(text[i]);
      if (c < 0x80) {
        v.s.push_back(static_cast<char>(c));
      } else if ((c == 0xC2 || c == 0xC3) && i + 1 < text.size() && (static_cast<uint8_t>(text[i + 1]) & 0xC0) == 0x80) {
        v.s.push_back(static_cast<char>(((c & 0x03) << 6) | (static_cast<uint8_t>(text[i + 1]) & 0x3F)));
        ++i;
      } else {
        fail("_codecs.encode: text is not latin-1");
      }
    }
    return make(std::move(v));
  }

  int32_t call(int32_t callable, int32_t args_id) {
    const Value& c = val(callable);
    if (c.kind != Kind::Global) fail(std::string("REDUCE on a ") + kind_name(c.kind) + ", not a callable");
    if (val(args_id).kind != Kind::Tuple) fail("REDUCE arguments are not a tuple");
    const std::string fn = c.s;
    const std::vector<int32_t> args = val(args_id).items;
    if (fn == "collections.OrderedDict") {
      const int32_t d = make_kind(Kind::Dict);
      if (args.empty()) return d;
      if (args.size() == 1 && (val(args[0]).kind == Kind::List || val(args[0]).kind == Kind::Tuple)) {
        const std::vector<int32_t> pairs = val(args[0]).items;
        for (int32_t p : pairs) {
          const Value& pv = val(p);
          if ((pv.kind != Kind::Tuple && pv.kind != Kind::List) || pv.items.size() != 2) fail("OrderedDict item is not a pair");
          const std::vector<int32_t> kv = pv.items;
          set_items(d, kv);
        }
        return d;
      }
      fail("unsupported OrderedDict arguments");
    }
    if (fn == "_codecs.encode") return latin1_bytes(args);
    if (fn == "builtins.bytes" || fn == "__builtin__.bytes") {
      if (!args.empty()) fail("bytes() with arguments");
      return make_kind(Kind::Bytes);
    }
    if (fn.rfind("builtins.", 0) == 0 || fn.rfind("__builtin__.", 0) == 0) {  // set / frozenset
      const int32_t l = make_kind(Kind::List);
      if (args.size() == 1 && (val(args[0]).kind == Kind::List || val(args[0]).kind == Kind::Tuple)) {
        const std::vector<int32_t> xs = val(args[0]).items;
        append_items(l, xs);
      } else if (!args.empty()) {
        fail("unsupported set arguments");
      }
      return l;
    }
    if (fn == "torch._utils._rebuild_tensor_v2" || fn == "torch._utils._rebuild_tensor") return rebuild_tensor(args, fn);
    if (fn == "torch._tensor._rebuild_from_type_v2") {
      if (args.size() != 4 || val(args[0]).kind != Kind::Global || val(args[1]).kind != Kind::Global)
        fail(fn + ": expected (function, type, args, state)");
      const std::string& type = val(args[1]).s;
      if (type != "torch._tensor.Tensor" && type != "torch.Tensor" && type != "torch.nn.parameter.Parameter")
        fail(fn + ": tensor type '" + type + "' is not supported");
      const std::string& inner = val(args[0]).s;
      if (inner.rfind("torch._utils._rebuild_", 0) != 0) fail(fn + ": unexpected rebuild function '" + inner + "'");
      const int32_t result = call(args[0], args[2]);
      if (val(result).kind != Kind::Tensor) fail(fn + " did not produce a tensor");
      return result;
    }
    if (fn == "torch._utils._rebuild_parameter" || fn == "torch._utils._rebuild_parameter_with_state") {
      if (args.size() < 2 || val(args[0]).kind != Kind::Tensor) fail(fn + ": first argument is not a tensor");
      return args[0];
    }
    fail("global '" + fn + "' cannot be called");
  }

  // Executes one opcode; returns true at STOP.
  bool step(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        const uint64_t v = le(1);
        if (v > 5) fail("unsupported pickle protocol " + std::to_string(v));
        return false;
      }
      case 0x95: le(8); return false;  // FRAME: a length hint only
      case '.':                       // STOP
        if (!marks_.empty() && marks_.back() == stack_.size()) fail("STOP with an open MARK");
        root_ = pop();
        return true;
      case '(':
        if (marks_.size() >= limits_.max_values) fail("too many MARKs");
        marks_.push_back(stack_.size());
        if ((marks_.size() & 1023) == 0) check_memory();
        return false;
      case '0': pop(); return false;                   // POP
      case '1': pop_mark(); return false;              // POP_MARK
      case '2': push(top()); return false;             // DUP
      case 'N': push(shared(Kind::None)); return false;
      case 0x88:
      case 0x89: push(shared(Kind::Bool, op == 0x88)); return false;  // NEWTRUE / NEWFALSE
      case 'J': push(make_int(static_cast<int32_t>(static_cast<uint32_t>(le(4))))); return false;  // BININT
      case 'K': push(make_int(static_cast<int64_t>(le(1)))); return false;                         // BININT1
      case 'M': push(make_int(static_cast<int64_t>(le(2)))); return false;                         // BININT2
      case 0x8a:                                                                                    // LONG1
      case 0x8b: {                                                                                  // LONG4
        const uint64_t n = op == 0x8a ? le(1) : le(4);
        if (n > size_ - pos_) fail("pickle data truncated inside a LONG");
        const uint8_t* b = take(static_cast<std::size_t>(n));
        if (n > 8) {  // beyond int64: kept as an opaque value, never needed for tensors
          Value v;
          v.kind = Kind::BigInt;
          v.s.assign(reinterpret_cast<const char*>(b), static_cast<std::size_t>(n));
          push(make(std::move(v)));
          return false;
        }
        uint64_t u = 0;
        for (uint64_t i = 0; i < n; ++i) u |= static_cast<uint64_t>(b[i]) << (8 * i);
        if (n > 0 && n < 8 && (b[n - 1] & 0x80)) u |= ~uint64_t(0) << (8 * n);  // sign-extend
        push(make_int(static_cast<int64_t>(u)));
        return false;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const uint8_t* b = take(8);
        uint64_t u = 0;
        for (int i = 0; i < 8; ++i) u = (u << 8) | b[i];
        Value v;
        v.kind = Kind::Float;
        std::memcpy(&v.f, &u, 8);
        push(make(std::move(v)));
        return false;
      }
      case 'X': { const uint64_t n = le(4); push(make_str(Kind::String, n)); return false; }     // BINUNICODE
      case 0x8c: { const uint64_t n = le(1); push(make_str(Kind::String, n)); return false; }    // SHORT_BINUNICODE
      case 0x8d: { const uint64_t n = le(8); push(make_str(Kind::String, n)); return false; }    // BINUNICODE8
      case 'T': {                                                                                 // BINSTRING
        const int32_t n = static_cast<int32_t>(static_cast<uint32_t>(le(4)));
        if (n < 0) fail("negative string length");
        push(make_str(Kind::String, static_cast<std::size_t>(n)));
        return false;
      }
      case 'U': { const uint64_t n = le(1); push(make_str(Kind::String, n)); return false; }     // SHORT_BINSTRING
      case 'B': { const uint64_t n = le(4); push(make_str(Kind::Bytes, n)); return false; }      // BINBYTES
      case 'C': { const uint64_t n = le(1); push(make_str(Kind::Bytes, n)); return false; }      // SHORT_BINBYTES
      case 0x8e:                                                                                   // BINBYTES8
      case 0x96: { const uint64_t n = le(8); push(make_str(Kind::Bytes, n)); return false; }    // BYTEARRAY8
      case ')': push(shared(Kind::Tuple)); return false;                                           // EMPTY_TUPLE
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        const std::size_t n = op - 0x84;
        std::vector<int32_t> items(n);
        for (std::size_t i = n; i-- > 0;) items[i] = pop();
        push(make_seq(Kind::Tuple, std::move(items)));
        return false;
      }
      case 't': push(make_seq(Kind::Tuple, pop_mark())); return false;  // TUPLE
      case ']': push(make_kind(Kind::List)); return false;              // EMPTY_LIST
      case 'l': push(make_seq(Kind::List, pop_mark())); return false;   // LIST
      case 'a': {                                                        // APPEND
        const int32_t x = pop();
        append_items(top(), {x});
        return false;
      }
      case 'e':     // APPENDS
      case 0x90: {  // ADDITEMS
        std::vector<int32_t> xs = pop_mark();
        append_items(top(), xs);
        return false;
      }
      case 0x8f: push(make_kind(Kind::List)); return false;              // EMPTY_SET
      case 0x91: push(make_seq(Kind::List, pop_mark())); return false;   // FROZENSET
      case '}': push(make_kind(Kind::Dict)); return false;               // EMPTY_DICT
      case 'd': {                                                         // DICT
        std::vector<int32_t> kv = pop_mark();
        const int32_t d = make_kind(Kind::Dict);
        set_items(d, kv);
        push(d);
        return false;
      }
      case 's': {  // SETITEM
        const int32_t v = pop();
        const int32_t k = pop();
        set_items(top(), {k, v});
        return false;
      }
      case 'u': {  // SETITEMS
        std::vector<int32_t> kv = pop_mark();
        set_items(top(), kv);
        return false;
      }
      case 'c': {  // GLOBAL
        const std::string module = line();
        const std::string attr = line();
        push(make_global(module, attr));
        return false;
      }
      case 0x93: {  // STACK_GLOBAL
        const int32_t attr = pop();
        const int32_t module = pop();
        if (val(module).kind != Kind::String || val(attr).kind != Kind::String) fail("STACK_GLOBAL needs two strings");
        push(make_global(val(module).s, val(attr).s));
        return false;
      }
      case 'R': {  // REDUCE
        const int32_t args = pop();
        const int32_t fn = pop();
        push(call(fn, args));
        return false;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        const int32_t args = pop();
        const int32_t cls = pop();
        push(call(cls, args));
        return false;
      }
      case 0x92: {  // NEWOBJ_EX
        const int32_t kwargs = pop();
        const int32_t args = pop();
        const int32_t cls = pop();
        if (val(kwargs).kind != Kind::Dict || !val(kwargs).items.empty()) fail("NEWOBJ_EX with keyword arguments");
        push(call(cls, args));
        return false;
      }
      case 'b': {  // BUILD: object state (e.g. a state dict's _metadata); validated, not applied
        pop();
        top();
        return false;
      }
      case 'Q': {  // BINPERSID
        const int32_t pid = pop();
        push(persistent_load(pid));
        return false;
      }
      case 'q': memo_put(le(1)); return false;  // BINPUT
      case 'r': memo_put(le(4)); return false;  // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); return false;  // MEMOIZE
      case 'h': memo_get(le(1)); return false;  // BINGET
      case 'j': memo_get(le(4)); return false;  // LONG_BINGET
      default: break;
    }
    char printable[8] = "";
    if (op >= 0x20 && op < 0x7f) std::snprintf(printable, sizeof printable, " '%c'", op);
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", op);
    fail(std::string("unsupported or unknown opcode ") + hex + printable);
  }

  const uint8_t* p_;
  std::size_t size_;
  const std::string& name_;
  Limits limits_;
  std::size_t pos_ = 0, op_pos_ = 0;
  std::vector<Value> values_;
  std::vector<int32_t> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<uint64_t, int32_t> memo_;
  std::unordered_map<std::string, int32_t> storages_;
  int32_t root_ = -1;
  int32_t none_ = -1, true_ = -1, false_ = -1, empty_tuple_ = -1;
  std::size_t value_bytes_ = 0, memory_budget_ = 0;
};

}  // namespace

Unpickled unpickle(const uint8_t* data, std::size_t size, const std::string& name, const Limits& limits) {
  return Machine(data, size, name, limits).run();
}

}  // namespace raddiag::weights::pickle
