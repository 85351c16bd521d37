#include "io/abort_trap.h"

#include <csetjmp>
#include <csignal>
#include <mutex>

namespace raddiag::io {

namespace {

thread_local sigjmp_buf* t_jump = nullptr;
struct sigaction g_previous {};

void on_abort(int sig) {
  if (t_jump) siglongjmp(*t_jump, 1);
  // Not inside a trapped call: behave as before we were installed.
  sigaction(SIGABRT, &g_previous, nullptr);
  raise(sig);
}

void install_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = on_abort;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGABRT, &sa, &g_previous);
  });
}

struct RestoreJump {
  sigjmp_buf* previous;
  ~RestoreJump() { t_jump = previous; }
};

}  // namespace

bool run_trapping_abort(const std::function<void()>& fn) {
  install_once();
  sigjmp_buf here;
  RestoreJump restore{t_jump};
  if (sigsetjmp(here, 1) != 0) return false;
  t_jump = &here;
  fn();
  return true;
}

}  // namespace raddiag::io
