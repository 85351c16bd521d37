// raddiag dicom echo|send|listen: DIMSE with a PACS or modality (src/pacs/dimse_scu.h, store_scp.h).
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "pacs/dimse_scu.h"
#include "pacs/store_scp.h"
#include "util/error.h"

namespace raddiag::cli {
namespace {

std::atomic<bool> g_stop_listening{false};
extern "C" void on_stop_signal(int) { g_stop_listening.store(true); }

void add_peer_options(CLI::App& app, pacs::DimseOptions& o) {
  app.add_option("--host", o.host, "peer host (default 127.0.0.1)");
  app.add_option("--port", o.port, "peer DICOM port")->required();
  app.add_option("--aet", o.calling_aet, "our (calling) AE title (default RADDIAG)");
  app.add_option("--called-aet", o.called_aet, "the peer's AE title")->required();
  app.add_option("--timeout", o.dimse_timeout_s, "seconds to wait for each answer (1-3600, default 60)");
  app.add_option("--connect-timeout", o.connect_timeout_s, "seconds to wait for the connection (default 10)");
}

// Files, and the files inside given folders (recursively), in a stable order.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(in, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file()) found.push_back(it->path().string());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(in, ec)) {
      files.push_back(in);
    } else {
      throw Error(in, "no such file or folder");
    }
  }
  return files;
}

Registrar register_dicom({"dicom", "DIMSE networking: C-ECHO, C-STORE a study to a PACS, receive studies (C-STORE SCP)",
                          [](CLI::App& sub) {
  sub.require_subcommand(1);
  auto echo_opts = std::make_shared<pacs::DimseOptions>();
  CLI::App* echo = sub.add_subcommand("echo", "C-ECHO a DICOM peer");
  add_peer_options(*echo, *echo_opts);

  auto send_opts = std::make_shared<pacs::DimseOptions>();
  auto send_inputs = std::make_shared<std::vector<std::string>>();
  CLI::App* send = sub.add_subcommand("send", "C-STORE DICOM files (or folders of them) to a peer, one status per file");
  add_peer_options(*send, *send_opts);
  send->add_option("files", *send_inputs, "DICOM files or folders")->required();

  auto scp = std::make_shared<pacs::StoreScpOptions>();
  auto max_object_mb = std::make_shared<double>(4096);
  auto max_association_mb = std::make_shared<double>(65536);
  CLI::App* listen = sub.add_subcommand("listen", "C-STORE SCP: receive studies into OUT/<StudyUID>/<SeriesUID>/<SOPUID>.dcm "
                                                  "until SIGINT/SIGTERM");
  listen->add_option("--aet", scp->aet, "our AE title; associations calling another title are rejected")->required();
  listen->add_option("--port", scp->port, "TCP port to listen on")->required();
  listen->add_option("--out", scp->out_dir, "output folder")->required();
  listen->add_option("--max-associations", scp->max_associations, "stop after this many associations (0: until stopped)");
  listen->add_option("--max-object-mb", *max_object_mb, "refuse (status A700) instances larger than this (default 4096)");
  listen->add_option("--max-association-mb", *max_association_mb, "refuse instances once an association brought this much (default 65536)");
  listen->add_option("--timeout", scp->dimse_timeout_s, "seconds to wait for each message within an association (default 60)");

  return std::function<int()>([=]() -> int {
    pacs::set_dcmtk_logging(spdlog::get_level() <= spdlog::level::debug);
    if (echo->parsed()) {
      pacs::dimse_echo(*echo_opts);
      std::cout << "C-ECHO " << echo_opts->called_aet << "@" << echo_opts->host << ":" << echo_opts->port << ": success\n";
      return 0;
    }
    if (send->parsed()) {
      auto files = expand_inputs(*send_inputs);
      if (files.empty()) throw Error("dicom send", "no files to send");
      auto results = pacs::dimse_store(*send_opts, files);
      size_t stored = 0;
      for (const auto& r : results) {
        stored += r.stored();
        std::cout << (r.stored() ? "stored  " : "FAILED  ") << r.message << "  " << r.file
                  << (r.sop_instance.empty() ? "" : "  " + r.sop_instance) << "\n";
      }
      std::cout << stored << " of " << results.size() << " file(s) stored on " << send_opts->called_aet << "@"
                << send_opts->host << ":" << send_opts->port << "\n";
      if (stored != results.size()) {
        std::cerr << "raddiag: error: " << results.size() - stored << " file(s) were not stored\n";
        return 1;
      }
      return 0;
    }
    scp->max_object_bytes = static_cast<uint64_t>(*max_object_mb * 1048576.0);
    scp->max_association_bytes = static_cast<uint64_t>(*max_association_mb * 1048576.0);
    g_stop_listening.store(false);
    struct sigaction sa{}, old_int{}, old_term{};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    std::cout << "listening as " << scp->aet << " on port " << scp->port << ", storing into " << scp->out_dir << std::endl;
    pacs::ScpSummary summary;
    try {
      summary = pacs::run_store_scp(*scp, g_stop_listening, [](const std::string& path) { std::cout << "received " << path << std::endl; });
    } catch (...) {
      sigaction(SIGINT, &old_int, nullptr);
      sigaction(SIGTERM, &old_term, nullptr);
      throw;
    }
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    std::cout << "stopped: " << summary.associations << " association(s), " << summary.stored << " instance(s) stored ("
              << summary.bytes << " bytes), " << summary.refused << " refused" << std::endl;
    return 0;
  });
}});

}  // namespace
}  // namespace raddiag::cli
