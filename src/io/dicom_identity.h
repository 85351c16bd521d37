#pragma once
// Who and what a DICOM scan belongs to: the patient and study modules, the series, and the SOP instance
// (and frame) behind every slice. Kept through reading so results can go back into the same study
// (DICOM SR / Secondary Capture / FHIR) and so scans of different patients are never fused into one case.
#include <string>
#include <vector>

namespace raddiag::io {

// Patient and General Study modules, values as stored (trimmed; person names in DICOM's PN form).
struct DicomStudyIdentity {
  std::string patient_id, patient_name, patient_birth_date, patient_sex;
  std::string study_instance_uid, accession_number, study_date, study_time, study_description;
  std::string referring_physician_name, study_id;
  std::string specific_character_set;   // (0008,0005) of the file the values came from ("" = ASCII)
};

// General Series module: the parts a derived series needs to point back to its source.
struct DicomSeriesIdentity {
  std::string series_instance_uid, modality, body_part_examined, series_number;
};

// The stored image behind one slice of a scan.
struct DicomInstanceRef {
  std::string sop_class_uid, sop_instance_uid;
  int frame = 0;   // 1-based frame number in a multi-frame instance; 0 for a single-frame instance
};

struct DicomIdentity {
  bool present = false;   // false for scans that are not DICOM
  DicomStudyIdentity study;
  DicomSeriesIdentity series;
  std::vector<DicomInstanceRef> slices;   // slice k of the scan -> its instance (same order as the voxels)
};

// "PatientID/StudyInstanceUID", the key under which scans may share one case.
inline std::string dicom_study_key(const DicomStudyIdentity& s) { return s.patient_id + "/" + s.study_instance_uid; }

}  // namespace raddiag::io
