#include "util/input_budget.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "util/error.h"

namespace raddiag {

namespace {
std::string bytes_text(double b) {
  char buf[64];
  if (b >= double(1ull << 30)) std::snprintf(buf, sizeof buf, "%.0f bytes (%.2f GiB)", b, b / double(1ull << 30));
  else if (b >= double(1ull << 20)) std::snprintf(buf, sizeof buf, "%.0f bytes (%.1f MiB)", b, b / double(1ull << 20));
  else std::snprintf(buf, sizeof buf, "%.0f bytes", b);
  return buf;
}
}  // namespace

std::size_t parse_byte_size(const std::string& text) {
  std::size_t i = 0;
  uint64_t v = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (v > (std::numeric_limits<uint64_t>::max() - 9) / 10) throw Error("'" + text + "'", "byte size too large");
    v = v * 10 + uint64_t(text[i++] - '0');
  }
  if (i == 0) throw Error("'" + text + "'", "expected a byte size such as 4G, 512M or 1048576");
  int shift = 0;
  if (i < text.size()) {
    switch (std::toupper(static_cast<unsigned char>(text[i]))) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      default: throw Error("'" + text + "'", "expected a byte size such as 4G, 512M or 1048576");
    }
    ++i;
    if (i < text.size() && (text[i] == 'i' || text[i] == 'I')) ++i;
    if (i < text.size() && (text[i] == 'b' || text[i] == 'B')) ++i;
  }
  if (i != text.size() || v == 0) throw Error("'" + text + "'", "expected a positive byte size such as 4G, 512M or 1048576");
  if (v > (std::numeric_limits<uint64_t>::max() >> shift)) throw Error("'" + text + "'", "byte size too large");
  return static_cast<std::size_t>(v << shift);
}

std::size_t default_input_budget() {
  static const std::size_t budget = [] {
    const std::size_t fallback = std::size_t(4) << 30;
    const char* env = std::getenv("RADDIAG_MAX_INPUT_BYTES");
    if (!env || !*env) return fallback;
    try {
      return parse_byte_size(env);
    } catch (const Error& e) {
      // Read while options are being set up, where an exception could not be reported properly.
      std::fprintf(stderr, "raddiag: warning: ignoring RADDIAG_MAX_INPUT_BYTES=%s (%s); using 4G\n", env, e.reason().c_str());
      return fallback;
    }
  }();
  return budget;
}

void check_input_budget(const std::string& path, const std::string& what, double bytes, std::size_t budget) {
  if (bytes <= double(budget)) return;
  throw Error(path, what + " needs " + bytes_text(bytes) + ", more than the per-input memory budget of " + bytes_text(double(budget)) +
                        " (raise it with --max-input-bytes or RADDIAG_MAX_INPUT_BYTES if the file is genuine)");
}

void check_file_can_hold(const std::string& path, const std::string& what, double declared, double file_bytes, double ratio,
                         const std::string& unit) {
  if (declared <= file_bytes * ratio) return;
  const std::string amount = unit == "bytes" ? bytes_text(declared) : std::to_string(int64_t(declared)) + " " + unit;
  const std::string how = ratio > 1.0 ? ", impossible even at the format's maximal ratio of " + std::to_string(int64_t(ratio)) + " " + unit +
                                            " per stored byte"
                                      : "";
  throw Error(path, what + " declares " + amount + " but the file has only " + bytes_text(file_bytes) + how + " (corrupt or hostile header)");
}

}  // namespace raddiag
