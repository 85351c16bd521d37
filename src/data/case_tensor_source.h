#pragma once
// What the training loop needs from a dataset, and nothing more: how many cases, the tensors of one
// case (decoded, preprocessed; random choices drawn from the given generator) and its positive classes
// (for class-aware sampling, without decoding any image). The manifest-backed dataset implements this;
// tests implement it over random tensors.
#include <cstdint>
#include <string>
#include <vector>

#include "data/case_rng.h"
#include "data/case_tensors.h"

namespace raddiag::data {

class CaseTensorSource {
 public:
  virtual ~CaseTensorSource() = default;
  virtual int64_t size() const = 0;
  // Called concurrently from several loader threads: must be thread-safe. Throws raddiag::Error on a
  // bad case; the loader then skips it and counts it.
  virtual CaseTensors get(int64_t index, CaseRng& rng) const = 0;
  // Positive class ids of a case (empty = no finding / unlabelled).
  virtual std::vector<int64_t> labels_of(int64_t index) const = 0;
  // A human-readable identifier for logs and error messages.
  virtual std::string case_id(int64_t index) const { return "case #" + std::to_string(index); }
};

}  // namespace raddiag::data
