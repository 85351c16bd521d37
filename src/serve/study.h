#pragma once
// A study as a user hands it to `raddiag diagnose` (files and folders: DICOM series, NIfTI, PNG/JPEG,
// npy) turned into the data::Case the model was trained on: one Sample per modality, the scans of each
// modality in the order read. The scans are decoded once here; loader() hands them to preprocessing
// instead of reading the files again. Everything that cannot be used is kept with its reason.
#include <string>
#include <vector>

#include "data/case.h"
#include "data/modality.h"
#include "data/preprocess.h"
#include "io/read_options.h"
#include "io/scan.h"

namespace raddiag::serve {

struct StudyOptions {
  // Each entry is "M" (the modality of every scan whose format does not say, e.g. PNG/JPEG/NIfTI) or
  // "PATH=M" (the modality of every scan read from the file or folder PATH, overriding DICOM tags).
  std::vector<std::string> modality;
  std::vector<std::string> plane;           // the same forms, for the plane ("Axial", "Frontal", ...)
  int threads = 0;                          // DICOM decoding threads (0 = default)
  // DICOM inputs of more than one (PatientID, StudyInstanceUID) are refused unless this is set
  // (`diagnose --allow-mixed-studies`); then they form one case and a warning says so.
  bool allow_mixed_studies = false;
};

struct StudyScan {
  io::Scan scan;               // decoded, real-world intensities, original geometry
  std::string input;           // the command-line path it was read from
  std::string ref;             // its ImageRef::path inside the case (unique per scan)
  std::size_t sample = 0;      // position in the case
  std::size_t image = 0;
};

struct Study {
  data::Case case_data;
  std::vector<StudyScan> scans;             // usable scans, in case order (sample, then image)
  std::vector<io::SkippedFile> skipped;     // files and scans not used, with why
  std::vector<std::string> warnings;
  // Distinct "PatientID/StudyInstanceUID" keys of the DICOM scans read (more than one only with
  // StudyOptions::allow_mixed_studies).
  std::vector<std::string> dicom_studies;

  // The DICOM identity of the study (of its first DICOM scan), or nullptr when no scan is DICOM.
  const io::DicomIdentity* dicom_identity() const;
  // Returns (a copy of) the decoded scan of an ImageRef of case_data; throws for an unknown ref.
  data::ImageLoader loader() const;
  // Index into `scans` of (sample, image); -1 when none.
  int64_t scan_index(std::size_t sample, std::size_t image) const;
};

struct StudyModelInfo {
  std::vector<data::ModalityIds> modality_ids;   // what the model has embeddings for
  std::vector<std::string> trained_modalities;   // from the model card; empty = not recorded
};

// Throws raddiag::Error with one clear message when nothing usable is left: an empty folder, only
// unreadable files, or no scan whose modality is known to the model.
Study build_study(const std::vector<std::string>& paths, const StudyOptions& options, const StudyModelInfo& model);

// Modalities named by a model card ("training_modalities" or "training_data.modalities"); empty if none.
std::vector<std::string> card_training_modalities(const nlohmann::json& card);

// Index of the original slice that slot slice `k` of a scan shows: 2D images (replicated to several
// identical slices) -> 0; volumes deeper than `depth` were subsampled uniformly (data/resample.h).
int64_t original_slice_index(const io::Scan& scan, int64_t k, int64_t depth);

}  // namespace raddiag::serve
