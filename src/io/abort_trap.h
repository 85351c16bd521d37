#pragma once
// Debian builds GDCM with assertions enabled, and some malformed (or merely unusual) DICOM files make
// GDCM call abort() (failed assert, or an explicit abort() in a codec). So that one bad file cannot
// kill a whole run, GDCM calls are made through run_trapping_abort(): a SIGABRT raised by the calling
// thread inside `fn` jumps back here and the call reports failure. The objects GDCM had on the stack
// are abandoned (leaked), which is the price of surviving; nothing else is trapped (SIGSEGV still
// crashes, by design). Outside these calls SIGABRT keeps its previous behaviour.
#include <functional>

namespace raddiag::io {

// Runs fn(); returns false if it aborted. Exceptions thrown by fn propagate normally.
bool run_trapping_abort(const std::function<void()>& fn);

}  // namespace raddiag::io
