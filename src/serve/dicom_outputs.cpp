#include "serve/dicom_outputs.h"

#include <algorithm>

#include "export/dicom_sr_writer.h"
#include "export/fhir_bundle.h"
#include "export/secondary_capture_writer.h"
#include "serve/saliency.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::serve {

void check_result_outputs(const infer::Predictor& predictor, const Study& study, const ResultOutputOptions& options) {
  if (!options.dicom_sc.empty() && !predictor.bundle().model->resnet())
    throw Error("--dicom-sc " + options.dicom_sc, "the overlays are Grad-CAM maps of a CNN slice encoder, and this model's is a ViT "
                                                  "(" + predictor.bundle().config.backbone.type + "); --dicom-sr and --fhir work without");
  const std::pair<const char*, const std::string*> dicom_outputs[] = {{"--dicom-sr", &options.dicom_sr}, {"--dicom-sc", &options.dicom_sc}};
  for (const auto& [flag, value] : dicom_outputs) {
    if (value->empty()) continue;
    if (!study.dicom_identity())
      throw Error(std::string(flag) + " " + *value,
                  "the study has no DICOM identity (no input is a DICOM file), so there is no patient and study to put a DICOM "
                  "result into; --fhir works without");
    if (study.dicom_studies.size() > 1)
      throw Error(std::string(flag) + " " + *value, "the inputs belong to " + std::to_string(study.dicom_studies.size()) +
                                                        " patients/studies (--allow-mixed-studies): a DICOM result goes into exactly one study");
  }
}

exports::ResultInputs result_inputs(const Study& study, const nlohmann::ordered_json& report, const std::string& software_version) {
  exports::ResultInputs in;
  in.report = report;
  for (const auto& s : study.scans) in.scans.push_back(s.scan.source.dicom);
  in.producer.software_version = software_version;
  return in;
}

namespace {

// Grad-CAM overlays of every finding's key slice (in the slot the finding was attributed to).
std::vector<exports::OverlayImage> key_slice_overlays(infer::Predictor& predictor, const Study& study, const Diagnosis& d,
                                                      const nlohmann::ordered_json& report) {
  std::vector<exports::OverlayImage> out;
  std::vector<int64_t> classes;
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < d.findings.size(); ++i)
    if (d.findings[i].scan >= 0 && d.findings[i].slot >= 0) {
      classes.push_back(d.findings[i].class_index);
      which.push_back(i);
    }
  if (classes.empty()) return out;
  const auto cams = grad_cam(predictor, d.tensors, classes);
  for (std::size_t n = 0; n < which.size(); ++n) {
    const Finding& f = d.findings[which[n]];
    const auto slot = std::find_if(d.slots.begin(), d.slots.end(), [&](const SlotUse& u) { return u.slot == f.slot; });
    if (slot == d.slots.end() || slot->attention.empty()) continue;
    const int64_t k = std::max_element(slot->attention.begin(), slot->attention.end()) - slot->attention.begin();
    const auto& scan = study.scans[static_cast<std::size_t>(f.scan)].scan;
    const auto map = cam_to_slice(cams[n][f.slot][k], scan.dims[0], scan.dims[1]);
    exports::OverlayImage o;
    o.rgb.rows = scan.dims[0];
    o.rgb.cols = scan.dims[1];
    // overlay_rgb gives (row, column) rows of pixels: the slice as a viewer shows it.
    o.rgb.pixels = overlay_rgb(scan, f.key_slice, map);
    o.finding = report["findings"][which[n]];
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

std::vector<std::string> write_result_outputs(infer::Predictor& predictor, const Study& study, const Diagnosis& diagnosis,
                                              const nlohmann::ordered_json& report, const ResultOutputOptions& options) {
  check_result_outputs(predictor, study, options);
  std::vector<std::string> lines;
  const exports::ResultInputs in = result_inputs(study, report, options.software_version);
  if (!options.dicom_sr.empty()) {
    const auto w = exports::write_dicom_sr(options.dicom_sr, in);
    lines.push_back("wrote DICOM SR " + options.dicom_sr + " (" + std::to_string(w.findings) + " findings, " +
                    std::to_string(w.image_references) + " image references; series " + w.series_uid + ")");
  }
  if (!options.dicom_sc.empty()) {
    const auto w = exports::write_secondary_captures(options.dicom_sc, key_slice_overlays(predictor, study, diagnosis, report), in);
    lines.push_back("wrote " + std::to_string(w.files.size()) + " DICOM Secondary Capture image(s) to " + options.dicom_sc + " (series " +
                    w.series_uid + ")");
  }
  if (!options.fhir.empty()) {
    const auto bundle = exports::fhir_bundle(in);
    // Values copied from DICOM may not be UTF-8 (e.g. a Latin-1 PatientID): replaced, never a crash.
    write_bytes_atomically(options.fhir, bundle.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
    lines.push_back("wrote FHIR R4 Bundle " + options.fhir);
  }
  return lines;
}

}  // namespace raddiag::serve
