#pragma once
// One progress line for long jobs (prepare, predict, evaluate): done/total, items/s and ETA, redrawn
// in place on a terminal and printed every few seconds otherwise (logs stay readable).
#include <chrono>
#include <cstdint>
#include <string>

namespace raddiag {

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12s", "--" for NaN

class ProgressLine {
 public:
  ProgressLine(std::string label, int64_t total, std::string unit = "items", bool enabled = true);
  ~ProgressLine();
  void advance(int64_t n = 1);
  void finish();  // prints the final line (also called by the destructor)
  double rate() const;  // items per second so far

 private:
  void draw(bool final_line);
  std::string label_, unit_;
  int64_t total_, done_ = 0;
  bool enabled_, tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace raddiag
