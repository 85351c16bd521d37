#include "serve/diagnosis.h"

#include "infer/case_seed.h"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <optional>

#include "eval/icd_mapping.h"
#include "weights/safetensors.h"
#include "util/error.h"

namespace raddiag::serve {

namespace {

// Gradient x input of each class logit w.r.t. the slot embeddings: how much each scan pushes the
// logit. Fusion and head only (a few small matrix products), so it is cheap for every finding.
torch::Tensor finding_slot_relevance(model::RadDiagModel m, const model::ModelOutput& out, const torch::Tensor& mods,
                             const std::vector<int64_t>& classes) {
  torch::AutoGradMode grad(true);
  auto slots = out.slot_embeddings.detach().clone().requires_grad_(true);
  auto logits = m->logits_from_slots(slots, mods);
  std::vector<torch::Tensor> rows;
  for (std::size_t i = 0; i < classes.size(); ++i) {
    auto g = torch::autograd::grad({logits[0][classes[i]]}, {slots}, {}, /*retain_graph=*/i + 1 < classes.size())[0];
    rows.push_back((g * slots).sum(-1)[0].detach());  // [N]
  }
  return torch::stack(rows).to(torch::kCPU, torch::kDouble);  // [k, N]
}

}  // namespace

Diagnosis diagnose(infer::Predictor& predictor, const Study& study, const DiagnoseOptions& options) {
  const auto& bundle = predictor.bundle();
  const int64_t D = bundle.config.depth;
  Diagnosis d;
  data::PreprocessReport report;
  d.tensors = predictor.case_tensors(study.case_data, infer::case_seed(options.seed, study.case_data.id), &report, study.loader());
  d.warnings = report.warnings;
  if (bundle.config.fusion.mode == model::FusionMode::kEarly && !(d.tensors.mods != 0).any().item<bool>())
    throw Error(study.case_data.id, "no usable scan in this case");
  const auto batch = data::collate({d.tensors});
  const auto out = predictor.run(batch);
  auto logits = out.logits[0].to(torch::kCPU, torch::kFloat).contiguous();
  // With several draws (InferenceOptions::draws) the scores are their mean, as predict gives; the slots and
  // attention below explain the first draw.
  if (predictor.inference().draws > 1) {
    auto draws = predictor.case_draws(study.case_data, options.seed, predictor.inference().draws, study.loader());
    if (draws.size() > 1) logits = predictor.run(data::collate(draws)).logits.to(torch::kCPU, torch::kFloat).mean(0).contiguous();
  }
  const int64_t C = logits.size(0);
  // A NaN probability compares false with every threshold and would read as "negative": refuse instead.
  if (const int64_t bad = (~torch::isfinite(logits)).sum().item<int64_t>(); bad > 0)
    throw Error(study.case_data.id, "the model's output is not finite (" + std::to_string(bad) + " of " + std::to_string(C) +
                                        " logits are NaN/inf): check the model's weights and the input scans; no finding reported");
  auto probs = torch::sigmoid(logits).contiguous();
  d.probabilities.assign(probs.data_ptr<float>(), probs.data_ptr<float>() + C);
  auto attention = out.slice_attention[0].to(torch::kCPU, torch::kDouble).contiguous();  // [N, D]
  auto marks = d.tensors.marks.to(torch::kCPU);

  for (std::size_t n = 0; n < report.slots.size(); ++n) {
    const auto& rs = report.slots[n];
    SlotUse u;
    u.slot = static_cast<int64_t>(n);
    u.scan = study.scan_index(rs.sample, rs.image);
    if (u.scan < 0) throw Error(study.case_data.id, "internal: slot " + std::to_string(n) + " has no scan");
    u.modality_id = d.tensors.mods[u.slot].item<int64_t>();
    u.resampled = rs.resampled;
    const auto& scan = study.scans[static_cast<std::size_t>(u.scan)].scan;
    const int64_t valid = marks[u.slot].sum().item<int64_t>();
    for (int64_t k = 0; k < valid; ++k) {
      u.original_slice.push_back(original_slice_index(scan, k, D));
      u.attention.push_back(attention[u.slot][k].item<double>());
    }
    d.slots.push_back(std::move(u));
  }

  // Top-k by probability (ties: lower class index).
  std::vector<int64_t> order(static_cast<std::size_t>(C));
  std::iota(order.begin(), order.end(), 0);
  const int64_t k = std::clamp<int64_t>(options.top_k, 1, C);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
    const float pa = d.probabilities[static_cast<std::size_t>(a)], pb = d.probabilities[static_cast<std::size_t>(b)];
    return pa != pb ? pa > pb : a < b;
  });
  order.resize(static_cast<std::size_t>(k));

  const auto& thresholds = predictor.thresholds();
  d.thresholds_from_model = !thresholds.empty();
  std::optional<eval::IcdMapping> icd;
  if (!bundle.icd_mapping.is_null()) {
    try {
      icd = eval::icd_mapping_from_json(bundle.icd_mapping, "model ICD mapping");
    } catch (const Error& e) {
      d.warnings.push_back(std::string("ICD-10-CM codes not reported: ") + e.what());
    }
  }
  const auto relevance = d.slots.empty() ? torch::Tensor()
                                         : finding_slot_relevance(bundle.model, out, batch.mods.to(predictor.device()), order);
  for (int64_t r = 0; r < k; ++r) {
    const int64_t c = order[static_cast<std::size_t>(r)];
    Finding f;
    f.rank = r + 1;
    f.class_index = c;
    f.disorder = bundle.classes[static_cast<std::size_t>(c)];
    f.probability = d.probabilities[static_cast<std::size_t>(c)];
    f.logit = logits[c].item<double>();
    f.threshold = d.thresholds_from_model ? thresholds[static_cast<std::size_t>(c)] : 0.5;
    f.positive = f.probability >= f.threshold;
    if (icd) {
      auto it = icd->disorder_codes.find(f.disorder);
      if (it != icd->disorder_codes.end()) f.icd10cm = it->second;
    }
    // The scan: the slot with the largest relevance (late fusion: the single scan).
    const SlotUse* best = nullptr;
    for (const auto& u : d.slots) {
      const double rel = relevance[r][u.slot].item<double>();
      if (!best || rel > f.scan_relevance) {
        best = &u;
        f.scan_relevance = rel;
      }
    }
    if (best && !best->attention.empty()) {
      const auto kmax = std::max_element(best->attention.begin(), best->attention.end()) - best->attention.begin();
      f.slot = best->slot;
      f.scan = best->scan;
      f.key_slice = best->original_slice[static_cast<std::size_t>(kmax)];
      f.key_slice_attention = best->attention[static_cast<std::size_t>(kmax)];
    }
    d.findings.push_back(std::move(f));
  }
  return d;
}

nlohmann::ordered_json model_identity_json(const std::string& model_path, const model::ModelBundle& bundle) {
  nlohmann::ordered_json j;
  const auto meta = weights::read_safetensors_metadata(model_path);
  auto get = [&](const char* key) { auto it = meta.find(key); return it == meta.end() ? std::string() : it->second; };
  const auto& card = bundle.card;
  j["name"] = card.is_object() && card.contains("name") && card["name"].is_string()
                  ? card["name"].get<std::string>()
                  : std::filesystem::path(model_path).stem().string();
  j["file"] = model_path;
  j["format"] = get("format");
  j["format_version"] = get("format_version");
  j["checksum"] = "crc32:" + get("checksum");
  j["fusion"] = model::fusion_mode_name(bundle.config.fusion.mode);
  j["backbone"] = bundle.config.backbone.type;
  j["classes"] = bundle.classes.size();
  j["provenance"] = card.is_object() && card.contains("provenance") ? card["provenance"] : nlohmann::json(nullptr);
  j["intended_use"] = card.is_object() && card.contains("intended_use") ? card["intended_use"] : nlohmann::json(nullptr);
  const auto trained = card_training_modalities(card);
  j["training_modalities"] = trained.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(trained);
  return j;
}

nlohmann::ordered_json diagnosis_json(const std::string& model_path, const infer::Predictor& predictor,
                                      const std::vector<std::string>& inputs, const Study& study,
                                      const Diagnosis& d) {
  nlohmann::ordered_json j;
  j["schema"] = "raddiag.diagnosis";
  j["schema_version"] = kDiagnosisSchemaVersion;
  j["model"] = model_identity_json(model_path, predictor.bundle());
  // Scores are the mean logits of these files; explanations (slot relevance, Grad-CAM) are the first model's.
  if (!predictor.ensemble_members().empty()) j["model"]["ensemble"] = predictor.ensemble_members();
  j["study"] = {{"inputs", inputs}, {"case_id", study.case_data.id}};
  nlohmann::ordered_json used = nlohmann::ordered_json::array();
  std::vector<std::string> warnings = study.warnings;
  for (std::size_t i = 0; i < study.scans.size(); ++i) {
    const auto& s = study.scans[i];
    nlohmann::ordered_json u;
    u["scan"] = i;
    u["path"] = s.scan.source.path;
    u["input"] = s.input;
    u["format"] = s.scan.source.format;
    u["series_uid"] = s.scan.source.series_uid.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s.scan.source.series_uid);
    u["files"] = s.scan.source.files.empty() ? 1 : s.scan.source.files.size();
    u["modality"] = s.scan.modality;
    u["plane"] = s.scan.plane.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s.scan.plane);
    u["dims"] = s.scan.dims;
    u["spacing_mm"] = s.scan.spacing;
    const SlotUse* slot = nullptr;
    for (const auto& x : d.slots)
      if (x.scan == static_cast<int64_t>(i)) slot = &x;
    u["in_model"] = slot != nullptr;
    if (slot) {
      u["slot"] = slot->slot;
      u["modality_id"] = slot->modality_id;
      u["slices_in_model"] = slot->original_slice.size();
      u["resampled"] = slot->resampled;
      u["original_slices"] = slot->original_slice;
      u["slice_attention"] = slot->attention;
    } else {
      u["slot"] = nullptr;
      warnings.push_back(s.scan.source.path + ": read but not given to the model (the model takes " +
                         std::to_string(predictor.preprocess().n_image) +
                         " scans per case and the first 3 CT/MRI, 2 X-ray, 1 of any other modality per study)");
    }
    used.push_back(std::move(u));
  }
  j["inputs_used"] = std::move(used);
  nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
  for (const auto& s : study.skipped) skipped.push_back({{"path", s.path}, {"reason", s.reason}});
  j["inputs_skipped"] = std::move(skipped);
  for (const auto& w : d.warnings) warnings.push_back(w);
  const bool ensemble = !predictor.ensemble_members().empty();
  if (!d.thresholds_from_model)
    warnings.push_back(ensemble ? "a model of the ensemble stores no decision thresholds: 0.5 is used for every class"
                                : "the model stores no decision thresholds: 0.5 is used for every class");
  j["warnings"] = warnings;
  j["decision"] = {{"threshold_source", !d.thresholds_from_model ? "default" : ensemble ? "ensemble_mean" : "model"},
                   {"default_threshold", 0.5}};
  nlohmann::ordered_json findings = nlohmann::ordered_json::array();
  for (const auto& f : d.findings) {
    nlohmann::ordered_json x;
    x["rank"] = f.rank;
    x["class_index"] = f.class_index;
    x["disorder"] = f.disorder;
    x["probability"] = f.probability;
    x["logit"] = f.logit;
    x["threshold"] = f.threshold;
    x["positive"] = f.positive;
    x["icd10cm"] = f.icd10cm;
    if (f.scan >= 0) {
      x["scan"] = f.scan;
      x["scan_path"] = study.scans[static_cast<std::size_t>(f.scan)].scan.source.path;
      x["key_slice"] = f.key_slice;
      x["key_slice_attention"] = f.key_slice_attention;
      x["scan_relevance"] = f.scan_relevance;
    } else {
      x["scan"] = nullptr;
      x["scan_path"] = nullptr;
      x["key_slice"] = nullptr;
      x["key_slice_attention"] = nullptr;
      x["scan_relevance"] = nullptr;
    }
    findings.push_back(std::move(x));
  }
  j["findings"] = std::move(findings);
  return j;
}

}  // namespace raddiag::serve
