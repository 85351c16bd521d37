#pragma once
// Shared helpers for the test suite: where the real data lives, a scratch folder per test, and
// running Debian's Python as an independent reference implementation.
#include <functional>
#include <string>
#include <vector>

namespace raddiag::test {

// ../shared/data (or $RADDIAG_SHARED_DATA).
std::string shared_data();
std::string source_dir();
std::string cli_path();
std::string python();
// A fresh empty directory under the system temp dir, unique to this test. Removed when the test program
// ends with every test passed (a failing run keeps and names them; RADDIAG_KEEP_TEST_DIRS=1 keeps all):
// suites cache models in function-local statics across tests, so nothing goes before the program ends.
std::string scratch_dir(const std::string& tag);
// Runs a command through the shell; returns its exit status and fills `output` with stdout+stderr.
int run_command(const std::string& cmd, std::string* output = nullptr);
// Runs `python tests/py/<script> args...`; fails the current test when it exits non-zero.
std::string run_python_script(const std::string& script, const std::vector<std::string>& args);
// True when Debian's Python has the given modules (tests that need them skip with a message otherwise).
bool python_has(const std::vector<std::string>& modules);
std::string shell_quote(const std::string& s);

// The message of the raddiag::Error that `f` throws, or "" when it throws none.
std::string error_text(const std::function<void()>& f);

}  // namespace raddiag::test
