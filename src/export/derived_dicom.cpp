#include "export/derived_dicom.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>

#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::exports {

namespace {

void put(DcmItem& ds, const DcmTagKey& tag, const std::string& value, const std::string& where) {
  const OFCondition c = ds.putAndInsertString(tag, value.c_str());
  if (c.bad()) throw Error(where, std::string("cannot set ") + DcmTag(tag).getTagName() + ": " + c.text());
}

uint64_t fnv1a64(const std::string& s, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::string new_dicom_uid() {
  char buf[100];
  dcmGenerateUniqueIdentifier(buf, SITE_INSTANCE_UID_ROOT);
  return buf;
}

std::string model_device_uid(const ModelIdentity& model) {
  const std::string key = model.name + "\n" + model.checksum;
  unsigned __int128 v = (static_cast<unsigned __int128>(fnv1a64(key, 14695981039346656037ull)) << 64) | fnv1a64(key, 1469598103934665603ull);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  return "2.25." + digits;
}

DicomNow dicom_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char d[16], h[16];
  std::strftime(d, sizeof d, "%Y%m%d", &tm);
  std::strftime(h, sizeof h, "%H%M%S", &tm);
  return {d, h};
}

void put_patient_and_study(DcmItem& ds, const io::DicomStudyIdentity& s) {
  const std::string w = "DICOM output";
  if (!s.specific_character_set.empty()) put(ds, DCM_SpecificCharacterSet, s.specific_character_set, w);
  put(ds, DCM_PatientName, s.patient_name, w);
  put(ds, DCM_PatientID, s.patient_id, w);
  put(ds, DCM_PatientBirthDate, s.patient_birth_date, w);
  put(ds, DCM_PatientSex, s.patient_sex, w);
  put(ds, DCM_StudyInstanceUID, s.study_instance_uid, w);
  put(ds, DCM_StudyDate, s.study_date, w);
  put(ds, DCM_StudyTime, s.study_time, w);
  put(ds, DCM_ReferringPhysicianName, s.referring_physician_name, w);
  put(ds, DCM_StudyID, s.study_id, w);
  put(ds, DCM_AccessionNumber, s.accession_number, w);
  if (!s.study_description.empty()) put(ds, DCM_StudyDescription, s.study_description, w);
}

void put_equipment(DcmItem& ds, const ModelIdentity& model, const Producer& producer) {
  const std::string w = "DICOM output";
  const std::string software = "raddiag " + producer.software_version;
  const std::string model_version = "model " + model.checksum;
  put(ds, DCM_Manufacturer, producer.manufacturer, w);
  put(ds, DCM_ManufacturerModelName, model.name.substr(0, 64), w);
  put(ds, DCM_SoftwareVersions, software + "\\" + model_version, w);
  DcmItem* eq = nullptr;
  if (ds.findOrCreateSequenceItem(DCM_ContributingEquipmentSequence, eq, -2).bad() || !eq)
    throw Error(w, "cannot create the Contributing Equipment Sequence");
  DcmItem* purpose = nullptr;
  if (eq->findOrCreateSequenceItem(DCM_PurposeOfReferenceCodeSequence, purpose, -2).bad() || !purpose)
    throw Error(w, "cannot create the Purpose of Reference Code Sequence");
  // IHE AI Results (AIR) Trial Implementation: the algorithm as contributing equipment; DICOM has not
  // assigned a standard code for "Processing Algorithm" yet, so AIR's interim code is used.
  put(*purpose, DCM_CodeValue, "Newcode1", w);
  put(*purpose, DCM_CodingSchemeDesignator, "99IHE", w);
  put(*purpose, DCM_CodeMeaning, "Processing Algorithm", w);
  put(*eq, DCM_Manufacturer, producer.manufacturer, w);
  put(*eq, DCM_ManufacturerModelName, model.name.substr(0, 64), w);
  put(*eq, DCM_SoftwareVersions, software + "\\" + model_version, w);
  put(*eq, DCM_DeviceUID, model_device_uid(model), w);
  const DicomNow now = dicom_now();
  put(*eq, DCM_ContributionDateTime, now.date + now.time, w);
  put(*eq, DCM_ContributionDescription, "AI inference: " + model.name.substr(0, 40) + " (" + model.checksum + ")", w);
}

void save_dicom(DcmFileFormat& file, const std::string& path) {
  namespace fs = std::filesystem;
  std::random_device rd;
  const fs::path tmp = fs::temp_directory_path() / ("raddiag-dcm-" + std::to_string(rd()) + std::to_string(rd()) + ".dcm");
  const OFCondition c = file.saveFile(tmp.c_str(), EXS_LittleEndianExplicit);
  if (c.bad()) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error(path, std::string("DCMTK could not encode the DICOM file: ") + c.text());
  }
  std::ifstream in(tmp, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  std::error_code ec;
  fs::remove(tmp, ec);
  write_bytes_atomically(path, bytes);
}

}  // namespace raddiag::exports
