#pragma once
// Subcommands register themselves here; each lives in its own cmd_*.cpp file, a thin layer that
// parses arguments and calls library code. The CLI sources are linked into the executable directly,
// so the static registrars are never dropped by the linker.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace raddiag::cli {

struct Command {
  std::string name;
  std::string help;
  // Adds options to `sub` and returns the action run when the subcommand is chosen (exit code).
  std::function<std::function<int()>(CLI::App& sub)> setup;
};

std::vector<Command>& registry();

struct Registrar {
  explicit Registrar(Command c) { registry().push_back(std::move(c)); }
};

}  // namespace raddiag::cli
