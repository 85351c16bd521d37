#include "weights/tensor_file.h"

#include "weights/safetensors.h"
#include "util/mapped_file.h"

namespace raddiag::weights {

TensorFile read_tensor_file(const std::string& path, const TorchCheckpointOptions& torch_options) {
  MappedFile file(path);
  const uint8_t* p = file.data();
  TensorFile out;
  // torch.save: "PK" (ZIP) or, for the legacy format, a pickle starting with PROTO 2 (0x80 0x02).
  // A safetensors file starts with its header length, whose high bytes are zero.
  if (file.size() >= 2 && ((p[0] == 'P' && p[1] == 'K') || (p[0] == 0x80 && p[1] == 0x02))) {
    out.format = "torch";
    out.tensors = parse_torch_checkpoint(p, file.size(), path, torch_options);
  } else {
    out.format = "safetensors";
    SafetensorsFile st = parse_safetensors(p, file.size(), path);
    out.tensors = std::move(st.tensors);
    out.metadata = std::move(st.metadata);
  }
  return out;
}

}  // namespace raddiag::weights
