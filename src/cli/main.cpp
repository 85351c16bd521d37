// raddiag: case-level multi-label diagnosis on radiology studies. Entry point of the CLI.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <iostream>
#include <map>

#include "cli/command.h"
#include "util/allocator_tuning.h"
#include "util/error.h"

namespace raddiag::cli {
std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}
}  // namespace raddiag::cli

int main(int argc, char** argv) {
  using namespace raddiag::cli;
  // Before any thread or large allocation: every subcommand (predict, serve, train, ...) runs with it.
  try {
    raddiag::tune_process_allocator();
  } catch (const raddiag::Error& e) {
    std::cerr << "raddiag: error: " << e.what() << "\n";
    return 1;
  }
  CLI::App app{"raddiag: case-level multi-label disease diagnosis on radiology images (RadDiag in C++)"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "debug logging");
  auto& cmds = registry();
  std::sort(cmds.begin(), cmds.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  std::map<CLI::App*, std::function<int()>> actions;
  for (auto& c : cmds) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    actions[sub] = c.setup(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  try {
    for (auto& [sub, action] : actions)
      if (sub->parsed()) return action();
  } catch (const raddiag::Error& e) {
    std::cerr << "raddiag: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "raddiag: error: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
