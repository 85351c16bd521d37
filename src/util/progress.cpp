#include "util/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace raddiag {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "--";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

ProgressLine::ProgressLine(std::string label, int64_t total, std::string unit, bool enabled)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(enabled),
      tty_(::isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

ProgressLine::~ProgressLine() { finish(); }

double ProgressLine::rate() const {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return s > 0 ? done_ / s : 0.0;
}

void ProgressLine::advance(int64_t n) {
  done_ += n;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since >= (tty_ ? 0.2 : 5.0)) {
    last_draw_ = now;
    draw(false);
  }
}

void ProgressLine::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void ProgressLine::draw(bool final_line) {
  if (!enabled_) return;
  const double r = rate();
  const double eta = r > 0 ? (total_ - done_) / r : NAN;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "%s%s: %lld/%lld %s, %.2f %s/s, %s %s%s", tty_ ? "\r" : "", label_.c_str(),
               static_cast<long long>(done_), static_cast<long long>(total_), unit_.c_str(), r, unit_.c_str(),
               final_line ? "took" : "ETA", format_duration(final_line ? elapsed : eta).c_str(),
               (final_line || !tty_) ? "\n" : "   ");
  std::fflush(stderr);
}

}  // namespace raddiag
