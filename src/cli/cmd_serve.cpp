// raddiag serve: the diagnosis service (docs/serve.md). The model is loaded once; worker threads take
// jobs from the durable store (src/jobs) and run the diagnose use case (serve/run_diagnose.h); the HTTP
// layer (src/http) never sees torch. `raddiag serve token create` makes an API token.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <iostream>
#include <memory>
#include <mutex>
#include <regex>
#include <thread>

#include "cli/command.h"
#include "cli/common_options.h"
#include "cli/version.h"
#include "http/api_server.h"
#include "http/job_runner.h"
#include "http/metrics.h"
#include "http/slice_images.h"
#include "infer/predictor.h"
#include "jobs/audit_log.h"
#include "jobs/job_store.h"
#include "jobs/sha256.h"
#include "jobs/token_store.h"
#include "pacs/dicomweb_client.h"
#include "pacs/study_layout.h"
#include "serve/model_loading.h"
#include "serve/run_diagnose.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/utf8.h"

namespace raddiag::cli {
namespace {

using Json = nlohmann::json;

void make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) throw Error(path, std::string("cannot create: ") + std::strerror(errno));
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) throw Error(path, "not a folder (a link or a file is refused)");
}

std::shared_ptr<jobs::Database> open_data(const std::string& data_dir) {
  make_dir(data_dir);
  make_dir(data_dir + "/jobs");
  return std::make_shared<jobs::Database>(data_dir + "/serve.sqlite");
}

// Strings in the result that name files of the job folder become relative to it: clients never see
// the server's paths.
void relativize(nlohmann::ordered_json& j, const std::string& prefix) {
  if (j.is_string()) {
    std::string s = j.get<std::string>();
    for (std::size_t p; (p = s.find(prefix)) != std::string::npos;) s.erase(p, prefix.size());
    j = s;
  } else if (j.is_structured()) {
    for (auto& x : j) relativize(x, prefix);
  }
}

bool has_dicom_file(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return false;
  bool found = false;
  while (dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".dcm") == 0) found = true;
  }
  ::closedir(d);
  return found;
}

// Job folders left by uploads whose job was never recorded (killed between writing and committing).
void remove_orphan_job_dirs(const std::string& data_dir, jobs::JobStore& store) {
  static const std::regex id("[0-9a-f]{32}");
  DIR* d = ::opendir((data_dir + "/jobs").c_str());
  if (!d) return;
  std::vector<std::string> orphans;
  while (dirent* e = ::readdir(d))
    if (std::regex_match(e->d_name, id) && !store.get(e->d_name)) orphans.push_back(e->d_name);
  ::closedir(d);
  for (const auto& o : orphans) remove_tree(http::job_dir_of(data_dir, o));
}

struct ServeArgs {
  std::string model, classes, data = "raddiag-serve-data", token_label;
  http::ServeOptions http;
  int workers = 1;
  int64_t queue_size = 64;
  int64_t top_k = 10;
  uint64_t max_upload_bytes = uint64_t(512) << 20;
  int64_t max_files = 2000;
  bool shared_predictor = false;
  DeviceOptions runtime;
};

std::string run_job(infer::Predictor& predictor, std::mutex& predictor_mutex, const ServeArgs& a, const jobs::Job& job,
                    const std::string& dir, const http::ProgressFn& progress) {
  const Json src = Json::parse(job.source);
  const std::string out = dir + "/output";
  remove_tree(out);  // a re-run after a crash starts clean
  make_dir(out);
  std::string input = dir + "/input";
  bool dicom = false;
  serve::DiagnoseRequest r;
  std::unique_ptr<pacs::DicomwebClient> client;
  std::string study_uid;
  if (src.contains("dicomweb")) {
    progress(0.05, "pulling the study by DICOMweb");
    pacs::DicomwebOptions w;
    w.url = src["dicomweb"].get<std::string>();
    study_uid = src["study"].get<std::string>();
    try {
      pacs::validate_dicomweb_options(w);
      client = std::make_unique<pacs::DicomwebClient>(w);
      remove_tree(dir + "/pull");
      client->retrieve_study(study_uid, dir + "/pull");
    } catch (const Error& e) {
      throw http::JobFailure("pull", std::string("DICOMweb pull failed: ") + e.what());
    }
    input = dir + "/pull/" + pacs::uid_file_component(study_uid);
    dicom = true;
  } else {
    dicom = has_dicom_file(input);
    const Json& up = src.at("upload");
    if (up.contains("modality")) r.study.modality = {up["modality"].get<std::string>()};
    if (up.contains("plane")) r.study.plane = {up["plane"].get<std::string>()};
  }
  progress(0.2, "diagnosing");
  r.inputs = {input};
  r.top_k = a.top_k;
  r.study.threads = 1;
  r.saliency_dir = out + "/saliency";
  r.outputs.fhir = out + "/fhir.json";
  if (dicom) r.outputs.dicom_sr = out + "/sr.dcm";
  r.outputs.software_version = RADDIAG_VERSION;
  serve::DiagnoseResult d = [&] {
    std::lock_guard<std::mutex> lock(predictor_mutex);
    return serve::run_diagnose(predictor, a.model, r);
  }();
  progress(0.8, "rendering slices");
  make_dir(out + "/slices");
  nlohmann::ordered_json slices = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < d.study.scans.size(); ++i) {
    const int64_t n = http::write_slice_pngs(d.study.scans[i].scan, out + "/slices/scan" + std::to_string(i));
    slices.push_back({{"scan", i}, {"rendered", n}, {"depth", d.study.scans[i].scan.dims[2]}});
  }
  d.report["slice_images"] = std::move(slices);
  if (client) {
    progress(0.9, "storing the SR back by STOW-RS");
    try {
      const auto stored = client->store({r.outputs.dicom_sr});
      d.report["stored_back"] = {{"ok", true}, {"instances", stored.referenced.size()}};
    } catch (const Error& e) {
      d.report["stored_back"] = {{"ok", false}, {"error", e.what()}};
    }
  }
  relativize(d.report, dir + "/");
  backslashreplace_json_strings(d.report);
  return d.report.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// SIGINT/SIGTERM stop the server gracefully. The handler only writes to a pipe (async-signal-safe) and
// may run on any thread (libraries start threads of their own); a watcher thread reads it and stops.
int g_stop_pipe[2] = {-1, -1};

void on_serve_stop_signal(int sig) {
  const unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] const ssize_t n = ::write(g_stop_pipe[1], &b, 1);
}

void watch_stop_pipe(http::ApiServer& server) {
  unsigned char sig = 0;
  while (::read(g_stop_pipe[0], &sig, 1) < 0 && errno == EINTR) {
  }
  if (sig != 0) spdlog::info("signal {}: stopping (running jobs finish first)", static_cast<int>(sig));
  server.stop();
}

int serve_main(const ServeArgs& a) {
  if (a.workers < 1 || a.workers > 64) throw Error("--workers", "must be between 1 and 64");
  if (a.top_k < 1) throw Error("--top-k", "must be at least 1");
  if (a.max_files < 1) throw Error("--max-files", "must be at least 1");
  if (a.max_upload_bytes < 1024) throw Error("--max-upload-bytes", "must be at least 1024");
  http::ServeOptions o = a.http;
  o.data_dir = a.data;
  o.limits.max_bytes = a.max_upload_bytes;
  o.limits.max_files = a.max_files;
  if (o.no_auth && !http::is_loopback_host(o.host))
    throw Error("--no-auth", "only allowed when listening on a loopback address (127.0.0.1, ::1), not on '" + o.host + "'");

  if (::pipe(g_stop_pipe) != 0) throw Error("serve", "cannot create the stop pipe");
  struct sigaction sa {};
  sa.sa_handler = on_serve_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  auto db = open_data(a.data);
  jobs::JobStore store(db, a.queue_size);
  jobs::TokenStore tokens(db);
  jobs::AuditLog audit(db);
  const int64_t requeued = store.recover();
  remove_orphan_job_dirs(a.data, store);
  if (requeued > 0) spdlog::info("recovered {} job(s) interrupted by the last stop", requeued);
  if (!o.no_auth && tokens.list().empty())
    spdlog::warn("no API token yet: create one with `raddiag serve token create --data {}`", a.data);

  apply_device_options(a.runtime);
  std::vector<std::unique_ptr<infer::Predictor>> predictors;
  // One model copy per worker by default: Grad-CAM captures feature maps in the ResNet module itself
  // (model::ResNet's capture state), so two diagnoses on one copy at once corrupt each other (measured:
  // 9 of 61 jobs failed with 2 workers on a shared copy). --shared-predictor saves the memory and runs
  // one diagnosis at a time on the single copy.
  const int n_predictors = a.shared_predictor ? 1 : a.workers;
  for (int i = 0; i < n_predictors; ++i) {
    predictors.push_back(std::make_unique<infer::Predictor>(serve::load_model_with_classes(a.model, a.classes), a.runtime.device,
                                                            inference_options(a.runtime)));
    serve::add_ensemble_members(*predictors.back(), a.runtime.ensemble, a.classes);
  }
  std::vector<std::mutex> predictor_mutex(static_cast<std::size_t>(n_predictors));
  const auto& bundle = predictors[0]->bundle();
  // The idempotency key's model half: the file's bytes and every option that changes a result.
  std::string model_identity = jobs::sha256_file_hex(a.model) + "|classes=" + a.classes + "|top_k=" + std::to_string(a.top_k) +
                               "|precision=" + a.runtime.precision + "|tta=" + a.runtime.tta +
                               "|draws=" + std::to_string(a.runtime.draws);
  for (const auto& m : a.runtime.ensemble) model_identity += "|ensemble=" + jobs::sha256_file_hex(m);
  const std::string model_key = jobs::sha256_hex(model_identity);
  Json info = Json::parse(serve::model_identity_json(a.model, bundle).dump());
  info.erase("file");
  info["classes"] = bundle.classes;
  info["thresholds"] = predictors[0]->thresholds().empty() ? Json(nullptr) : Json(predictors[0]->thresholds());
  if (!a.runtime.ensemble.empty()) info["ensemble"] = a.runtime.ensemble;
  info["card"] = bundle.card;
  info["sha256"] = jobs::sha256_file_hex(a.model);
  info["serve"] = {{"top_k", a.top_k}, {"workers", a.workers}, {"shared_predictor", a.shared_predictor}};

  http::Metrics metrics;
  http::WorkerPool workers(store, audit, metrics, a.data,
                           [&](const jobs::Job& job, const std::string& dir, int worker, const http::ProgressFn& progress) {
                             const std::size_t p = a.shared_predictor ? 0 : static_cast<std::size_t>(worker);
                             return run_job(*predictors[p], predictor_mutex[p], a, job, dir, progress);
                           });
  http::ServeContext ctx;
  ctx.jobs = &store;
  ctx.tokens = &tokens;
  ctx.audit = &audit;
  ctx.metrics = &metrics;
  ctx.model_info = info;
  ctx.model_key = model_key;
  http::ApiServer server(o, ctx);
  server.bind();
  workers.start(a.workers);
  std::thread stopper(watch_stop_pipe, std::ref(server));
  std::cout << "raddiag serve: listening on http://" << o.host << ":" << o.port << " (" << a.workers << " worker(s), "
            << (o.no_auth ? "no authentication" : "bearer tokens required") << ", data in " << a.data << ")" << std::endl;
  audit.record("server", "start", "", "listening");
  server.listen();
  // listen() returned: a signal stopped it (the watcher is done), or the server broke (wake the watcher).
  const unsigned char none = 0;
  [[maybe_unused]] const ssize_t n = ::write(g_stop_pipe[1], &none, 1);
  stopper.join();
  workers.stop();
  audit.record("server", "stop", "", "stopped");
  return 0;
}

Registrar register_serve({"serve", "the diagnosis service: HTTP API, web page, durable jobs (docs/serve.md)", [](CLI::App& sub) {
  auto a = std::make_shared<ServeArgs>();
  sub.add_option("--model", a->model, "raddiag model file (required to serve)");
  add_classes_option(sub, a->classes, "rank only these classes");
  sub.add_option("--host", a->http.host, "address to listen on (default 127.0.0.1)");
  sub.add_option("--port", a->http.port, "TCP port (default 8080)");
  sub.add_option("--workers", a->workers, "diagnosis worker threads (default 1)");
  sub.add_option("--data", a->data, "folder of the job database, uploads and results (default raddiag-serve-data)");
  sub.add_flag("--no-auth", a->http.no_auth, "no API tokens (refused unless --host is a loopback address)");
  sub.add_option("--max-upload-bytes", a->max_upload_bytes, "largest study upload, and zip contents once inflated (default 512 MiB)");
  sub.add_option("--max-files", a->max_files, "most files (or zip entries) in one study (default 2000)");
  sub.add_option("--queue-size", a->queue_size, "jobs that may wait; more get 429 + Retry-After (default 64)");
  sub.add_option("--top-k", a->top_k, "findings per result (default 10)");
  sub.add_option("--dicomweb-allow", a->http.dicomweb_allow,
                 "URL prefix a {\"dicomweb\": URL} job may pull from (repeatable; none = DICOMweb jobs refused)")
      ->allow_extra_args(false);
  sub.add_option("--http-threads", a->http.http_threads, "connections served at once (default 16)");
  sub.add_option("--read-timeout", a->http.read_timeout_s, "seconds a client may stall while sending (default 20)");
  sub.add_flag("--shared-predictor", a->shared_predictor,
               "one model copy for all workers (less memory; diagnoses then run one at a time)");
  add_device_options(sub, a->runtime);
  CLI::App* token = sub.add_subcommand("token", "API tokens");
  CLI::App* create = token->add_subcommand("create", "create a token and print it (shown only this once)");
  create->add_option("--data", a->data, "the serve data folder")->required();
  create->add_option("--label", a->token_label, "a note stored with the token");
  CLI::App* list = token->add_subcommand("list", "token ids, labels and creation times (never the secrets)");
  list->add_option("--data", a->data, "the serve data folder")->required();
  CLI::App* revoke = token->add_subcommand("revoke", "remove a token (by its id, the part after rdg_)");
  revoke->add_option("id", a->token_label, "token id")->required();
  revoke->add_option("--data", a->data, "the serve data folder")->required();
  token->require_subcommand(1);
  return std::function<int()>([a, create, list, revoke] {
    if (create->parsed() || list->parsed() || revoke->parsed()) {
      auto db = open_data(a->data);
      jobs::TokenStore tokens(db);
      if (create->parsed()) {
        std::cout << tokens.create(a->token_label) << std::endl;
        std::cerr << "store this token now: only its SHA-256 is kept in " << a->data << "/serve.sqlite\n";
      } else if (list->parsed()) {
        for (const auto& t : tokens.list()) std::cout << t.id << "\t" << t.created_ms << "\t" << t.label << "\n";
      } else if (!tokens.revoke(a->token_label)) {
        throw Error("serve token revoke", "no token with id '" + a->token_label + "'");
      }
      return 0;
    }
    if (a->model.empty()) throw Error("serve", "--model is required");
    return serve_main(*a);
  });
}});

}  // namespace
}  // namespace raddiag::cli
