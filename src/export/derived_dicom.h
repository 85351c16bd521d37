#pragma once
// The parts every DICOM object raddiag derives from a study shares: new UIDs, the patient and study
// modules copied from the source, the producing equipment (IHE AI Results: Contributing Equipment with
// the algorithm's name, version and model checksum), and writing the file.
#include <string>

#include "export/result_inputs.h"

class DcmItem;
class DcmFileFormat;

namespace raddiag::exports {

// A new UID under DCMTK's registered root (a different one on every call).
std::string new_dicom_uid();
// A UID that stays the same for the same model file: "2.25." + a 128-bit hash of name and checksum.
std::string model_device_uid(const ModelIdentity& model);

// DICOM DA / TM of the current local time.
struct DicomNow {
  std::string date, time;
};
DicomNow dicom_now();

// Patient module, General Study module and Specific Character Set, as stored in the source.
void put_patient_and_study(DcmItem& ds, const io::DicomStudyIdentity& study);
// Manufacturer / model / software version of the producing equipment, and the Contributing Equipment
// Sequence item of the algorithm (Purpose of Reference = IHE AIR's ("Newcode1", 99IHE, "Processing Algorithm")).
void put_equipment(DcmItem& ds, const ModelIdentity& model, const Producer& producer);

// Writes explicit VR little endian with the file meta header; throws raddiag::Error naming `path`.
void save_dicom(DcmFileFormat& file, const std::string& path);

}  // namespace raddiag::exports
