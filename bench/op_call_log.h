#pragma once
// Every call of one operator (e.g. "aten::threshold_backward") while an OpCallLog lives: its wall time
// and each tensor input's dtype, sizes and strides, printed on destruction. For finding why one call of an
// operator is slower than the same call elsewhere (a layout or dtype the kernel has no fast path for),
// which a profile of self times cannot say. A bench tool (bench_train --op-calls NAME), not library code.
#include <ATen/record_function.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace raddiag::bench {

class OpCallLog {
 public:
  // One log at a time: RecordFunction callbacks are plain function pointers, so the state is global.
  explicit OpCallLog(std::string op) {
    std::lock_guard<std::mutex> lock(state().mutex);
    state().op = std::move(op);
    state().lines.clear();
    handle_ = at::addGlobalCallback(at::RecordFunctionCallback(&on_start, &on_end).needsInputs(true));
  }
  ~OpCallLog() {
    at::removeCallback(handle_);
    std::lock_guard<std::mutex> lock(state().mutex);
    std::fprintf(stderr, "%s: %zu calls\n", state().op.c_str(), state().lines.size());
    for (const auto& l : state().lines) std::fprintf(stderr, "  %s\n", l.c_str());
  }
  OpCallLog(const OpCallLog&) = delete;
  OpCallLog& operator=(const OpCallLog&) = delete;

 private:
  struct Call : at::ObserverContext {
    std::chrono::steady_clock::time_point started;
    std::vector<std::string> inputs;
  };
  struct State {
    std::string op;
    std::mutex mutex;
    std::vector<std::string> lines;
  };
  static State& state() {
    static State s;
    return s;
  }
  static std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
    if (state().op != fn.name()) return nullptr;
    auto ctx = std::make_unique<Call>();
    ctx->started = std::chrono::steady_clock::now();
    for (const auto& v : fn.inputs()) {
      if (!v.isTensor()) continue;
      const auto& t = v.toTensor();
      std::ostringstream s;
      s << c10::toString(t.scalar_type()) << t.sizes() << " strides " << t.strides();
      ctx->inputs.push_back(s.str());
    }
    return ctx;
  }
  static void on_end(const at::RecordFunction&, at::ObserverContext* ctx) {
    if (!ctx) return;
    auto* call = static_cast<Call*>(ctx);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - call->started).count();
    std::ostringstream s;
    s << ms << " ms";
    for (const auto& in : call->inputs) s << " | " << in;
    std::lock_guard<std::mutex> lock(state().mutex);
    state().lines.push_back(s.str());
  }
  at::CallbackHandle handle_ = 0;
};

}  // namespace raddiag::bench
