#include <deque>
#include <mutex>

#include "model/slice_encoder.h"
#include "util/error.h"

namespace raddiag::model {

// The built-in backbones, one line each: the function, defined in the backbone's own file, returns its
// entries (a family such as the ResNet presets may return several).
#define RADDIAG_BUILTIN_SLICE_ENCODERS(X) \
  X(resnet_slice_encoders)                \
  X(vit_slice_encoders)                   \
  X(resnet_vit_slice_encoders)

#define RADDIAG_DECLARE_ENTRIES(f) std::vector<SliceEncoderEntry> f();
RADDIAG_BUILTIN_SLICE_ENCODERS(RADDIAG_DECLARE_ENTRIES)
#undef RADDIAG_DECLARE_ENTRIES

namespace {

void check_entry(const SliceEncoderEntry& e, const std::deque<SliceEncoderEntry>& existing) {
  if (e.type.empty()) throw Error("slice encoder registry", "an entry has no type name");
  if (!e.preset || !e.validate || !e.min_parameter_count || !e.build)
    throw Error("slice encoder registry", "entry '" + e.type + "' lacks preset, validate, min_parameter_count or build");
  for (const auto& o : existing)
    if (o.type == e.type) throw Error("slice encoder registry", "backbone.type '" + e.type + "' is registered twice");
}

struct Registry {
  std::mutex mutex;
  std::deque<SliceEncoderEntry> entries;  // a deque: references handed out stay valid when it grows

  Registry() {
#define RADDIAG_ADD_ENTRIES(f)       \
  for (auto& e : f()) {              \
    check_entry(e, entries);         \
    entries.push_back(std::move(e)); \
  }
    RADDIAG_BUILTIN_SLICE_ENCODERS(RADDIAG_ADD_ENTRIES)
#undef RADDIAG_ADD_ENTRIES
  }
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

const std::vector<torch::Tensor>& SliceEncoderImpl::captured_feature_maps() const {
  static const std::vector<torch::Tensor> none;
  return none;
}

const SliceEncoderEntry& slice_encoder_entry(const std::string& type) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::string list;
  for (const auto& e : r.entries) {
    if (e.type == type) return e;
    list += (list.empty() ? "" : ", ") + e.type;
  }
  throw Error("model config", "backbone.type '" + type + "' is not one of " + list);
}

std::vector<std::string> slice_encoder_types() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> out;
  for (const auto& e : r.entries) out.push_back(e.type);
  return out;
}

void register_slice_encoder(SliceEncoderEntry entry) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  check_entry(entry, r.entries);
  r.entries.push_back(std::move(entry));
}

}  // namespace raddiag::model
