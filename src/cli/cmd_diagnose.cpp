// raddiag diagnose: a study folder (or files) in, a findings report out (docs/diagnose-json.md).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "cli/common_options.h"
#include "cli/version.h"
#include "serve/model_loading.h"
#include "serve/run_diagnose.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::cli {
namespace {

void print_findings_table(std::ostream& os, const serve::Study& study, const serve::Diagnosis& d) {
  os << "rank  probability  decision@threshold  ICD-10-CM        disorder  [scan: key slice]\n";
  for (const auto& f : d.findings) {
    char head[96];
    std::snprintf(head, sizeof head, "%4lld  %11.4f  %-8s @ %-7.3f  ", static_cast<long long>(f.rank), f.probability,
                  f.positive ? "POSITIVE" : "negative", f.threshold);
    std::string icd;
    for (const auto& c : f.icd10cm) icd += (icd.empty() ? "" : ",") + c;
    if (icd.empty()) icd = "-";
    char icd_col[24];
    std::snprintf(icd_col, sizeof icd_col, "%-15s  ", icd.c_str());
    os << head << icd_col << f.disorder;
    if (f.scan >= 0)
      os << "  [scan " << f.scan << " " << study.scans[static_cast<std::size_t>(f.scan)].scan.source.path << ": slice "
         << f.key_slice << "]";
    os << "\n";
  }
  if (!d.thresholds_from_model) os << "note: the model stores no decision thresholds; 0.5 is used for every class\n";
}

Registrar register_diagnose({"diagnose", "diagnose a study (DICOM/NIfTI/PNG/JPEG/npy files or folders): top findings, JSON report, saliency", [](CLI::App& sub) {
  struct Args {
    std::string model, json, classes;
    serve::DiagnoseRequest request;
    DeviceOptions runtime;
  };
  auto a = std::make_shared<Args>();
  serve::DiagnoseRequest& r = a->request;
  sub.add_option("study", r.inputs, "files and folders of one study")->required();
  sub.add_option("--model", a->model, "raddiag model file")->required();
  add_classes_option(sub, a->classes, "rank only these classes");
  sub.add_option("--top-k", r.top_k, "findings to report (default 10)");
  sub.add_option("--json", a->json, "write the report as JSON to this file ('-' = stdout)");
  sub.add_option("--saliency", r.saliency_dir, "write Grad-CAM overlays and attention curves to this folder");
  sub.add_option("--saliency-class", r.saliency_classes, "class (name or index) to explain (repeatable; default: the top finding)")
      ->allow_extra_args(false);
  sub.add_option("--modality", r.study.modality,
                 "modality of inputs that do not record one (M), or of one input (PATH=M); repeatable")
      ->allow_extra_args(false);
  sub.add_option("--plane", r.study.plane, "plane of inputs (P or PATH=P); repeatable")->allow_extra_args(false);
  sub.add_option("--dicom-sr", r.outputs.dicom_sr, "write the findings as a DICOM Structured Report (TID 1500) into the input study");
  sub.add_option("--dicom-sc", r.outputs.dicom_sc,
                 "write each finding's Grad-CAM key-slice overlay as DICOM Secondary Capture images to this folder");
  sub.add_option("--fhir", r.outputs.fhir, "write the findings as a FHIR R4 Bundle (DiagnosticReport, Observations, Device)");
  sub.add_flag("--allow-mixed-studies", r.study.allow_mixed_studies,
               "diagnose DICOM inputs of several patients or studies as one case (refused otherwise)");
  add_device_options(sub, a->runtime);
  sub.add_option("--seed", r.seed, "seed of the preprocessing's random choices (as predict --seed)");
  return std::function<int()>([a] {
    // With the JSON on stdout, log lines must not mix into it.
    if (a->json == "-") spdlog::set_default_logger(spdlog::stderr_color_mt("diagnose"));
    std::ostream& table = a->json == "-" ? std::cerr : std::cout;
    if (a->request.top_k < 1) throw Error("--top-k", "must be at least 1");
    apply_device_options(a->runtime);
    infer::Predictor predictor(load_model_logged(a->model, a->classes, table, "classes"), a->runtime.device,
                               inference_options(a->runtime));
    serve::add_ensemble_members(predictor, a->runtime.ensemble, a->classes);
    a->request.study.threads = a->runtime.threads;
    a->request.outputs.software_version = RADDIAG_VERSION;
    const serve::DiagnoseResult d = serve::run_diagnose(predictor, a->model, a->request);
    for (const auto& w : d.report["warnings"]) table << "warning: " << w.get<std::string>() << "\n";
    for (const auto& s : d.study.skipped) table << "skipped: " << s.path << ": " << s.reason << "\n";
    print_findings_table(table, d.study, d.diagnosis);
    if (a->json == "-") {
      std::cout << d.report.dump(2) << "\n";
    } else if (!a->json.empty()) {
      write_bytes_atomically(a->json, d.report.dump(2) + "\n");
      std::cerr << "wrote " << a->json << "\n";
    }
    if (!a->request.saliency_dir.empty()) {
      std::cerr << "wrote saliency maps to " << a->request.saliency_dir << "\n";
      for (const auto& m : d.report["saliency"]["maps"])
        if (m.contains("note"))
          table << "saliency: " << m["disorder"].get<std::string>() << ", scan " << m["scan"].get<int64_t>() << " slice "
                << m["slice"].get<int64_t>() << ": " << m["note"].get<std::string>() << "\n";
    }
    for (const auto& line : d.written) std::cerr << line << "\n";
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
