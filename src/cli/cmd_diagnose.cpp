// raddiag diagnose: a study folder (or files) in, a findings report out (docs/diagnose-json.md).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "cli/common_options.h"
#include "serve/diagnosis.h"
#include "serve/dicom_outputs.h"
#include "serve/saliency.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/utf8.h"

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
    std::vector<std::string> study, saliency_classes;
    std::string model, json, saliency, classes;
    serve::StudyOptions study_options;
    serve::ResultOutputOptions outputs;
    DeviceOptions runtime;
    int64_t top_k = 10;
    uint64_t seed = 42;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("study", a->study, "files and folders of one study")->required();
  sub.add_option("--model", a->model, "raddiag model file")->required();
  add_classes_option(sub, a->classes, "rank only these classes");
  sub.add_option("--top-k", a->top_k, "findings to report (default 10)");
  sub.add_option("--json", a->json, "write the report as JSON to this file ('-' = stdout)");
  sub.add_option("--saliency", a->saliency, "write Grad-CAM overlays and attention curves to this folder");
  sub.add_option("--saliency-class", a->saliency_classes, "class (name or index) to explain (repeatable; default: the top finding)")
      ->allow_extra_args(false);
  sub.add_option("--modality", a->study_options.modality,
                 "modality of inputs that do not record one (M), or of one input (PATH=M); repeatable")
      ->allow_extra_args(false);
  sub.add_option("--plane", a->study_options.plane, "plane of inputs (P or PATH=P); repeatable")->allow_extra_args(false);
  sub.add_option("--dicom-sr", a->outputs.dicom_sr, "write the findings as a DICOM Structured Report (TID 1500) into the input study");
  sub.add_option("--dicom-sc", a->outputs.dicom_sc,
                 "write each finding's Grad-CAM key-slice overlay as DICOM Secondary Capture images to this folder");
  sub.add_option("--fhir", a->outputs.fhir, "write the findings as a FHIR R4 Bundle (DiagnosticReport, Observations, Device)");
  sub.add_flag("--allow-mixed-studies", a->study_options.allow_mixed_studies,
               "diagnose DICOM inputs of several patients or studies as one case (refused otherwise)");
  add_device_options(sub, a->runtime);
  sub.add_option("--seed", a->seed, "seed of the preprocessing's random choices (as predict --seed)");
  return std::function<int()>([a] {
    // With the JSON on stdout, log lines must not mix into it.
    if (a->json == "-") spdlog::set_default_logger(spdlog::stderr_color_mt("diagnose"));
    if (a->top_k < 1) throw Error("--top-k", "must be at least 1");
    apply_device_options(a->runtime);
    model::ModelBundle bundle = load_model_with_classes(a->model, a->classes, a->json == "-" ? std::cerr : std::cout, "classes");
    serve::Predictor predictor(std::move(bundle), a->runtime.device);
    serve::StudyModelInfo info{predictor.preprocess().modality_ids, serve::card_training_modalities(predictor.bundle().card)};
    a->study_options.threads = a->runtime.threads;
    auto study = serve::build_study(a->study, a->study_options, info);
    a->outputs.software_version = RADDIAG_VERSION;
    serve::check_result_outputs(predictor, study, a->outputs);
    serve::DiagnoseOptions dopt;
    dopt.top_k = a->top_k;
    dopt.seed = a->seed;
    auto d = serve::diagnose(predictor, study, dopt);
    auto report = serve::diagnosis_json(a->model, predictor, a->study, study, d);
    if (!a->saliency.empty()) {
      serve::SaliencyOptions so;
      so.out_dir = a->saliency;
      const auto& names = predictor.bundle().classes;
      for (const auto& c : a->saliency_classes) {
        auto it = std::find(names.begin(), names.end(), c);
        if (it != names.end()) {
          so.classes.push_back(it - names.begin());
          continue;
        }
        try {
          std::size_t used = 0;
          const long long idx = std::stoll(c, &used);
          if (used == c.size() && idx >= 0 && idx < static_cast<long long>(names.size())) {
            so.classes.push_back(idx);
            continue;
          }
        } catch (const std::exception&) {
        }
        throw Error("--saliency-class '" + c + "'", "not a class name or index of this model");
      }
      report["saliency"] = serve::write_saliency(predictor, study, d, so);
    }
    backslashreplace_json_strings(report);  // file names and labels are bytes; the JSON must serialise
    std::ostream& table = a->json == "-" ? std::cerr : std::cout;
    for (const auto& w : report["warnings"]) table << "warning: " << w.get<std::string>() << "\n";
    for (const auto& s : study.skipped) table << "skipped: " << s.path << ": " << s.reason << "\n";
    print_findings_table(table, study, d);
    if (a->json == "-") {
      std::cout << report.dump(2) << "\n";
    } else if (!a->json.empty()) {
      write_bytes_atomically(a->json, report.dump(2) + "\n");
      std::cerr << "wrote " << a->json << "\n";
    }
    if (!a->saliency.empty()) {
      std::cerr << "wrote saliency maps to " << a->saliency << "\n";
      for (const auto& m : report["saliency"]["maps"])
        if (m.contains("note"))
          table << "saliency: " << m["disorder"].get<std::string>() << ", scan " << m["scan"].get<int64_t>() << " slice "
                << m["slice"].get<int64_t>() << ": " << m["note"].get<std::string>() << "\n";
    }
    for (const auto& line : serve::write_result_outputs(predictor, study, d, report, a->outputs)) std::cerr << line << "\n";
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
