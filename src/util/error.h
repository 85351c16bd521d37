#pragma once
// One error type for every layer: it always names the input (file, case, key) and the reason,
// so a user reading a log line knows what to fix.
#include <stdexcept>
#include <string>

namespace raddiag {

class Error : public std::runtime_error {
 public:
  Error(std::string subject, std::string reason)
      : std::runtime_error(subject.empty() ? reason : subject + ": " + reason),
        subject_(std::move(subject)),
        reason_(std::move(reason)) {}
  const std::string& subject() const { return subject_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string subject_;
  std::string reason_;
};

}  // namespace raddiag
