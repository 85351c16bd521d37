#include "export/dicom_sr_writer.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmsr/codes/dcm.h>
#include <dcmtk/dcmsr/codes/sct.h>
#include <dcmtk/dcmsr/codes/umls.h>
#include <dcmtk/dcmsr/dsrdoc.h>

#include <cstdio>
#include <map>
#include <set>

#include "export/derived_dicom.h"
#include "util/error.h"

namespace raddiag::exports {

namespace {

using T = DSRTypes;

struct SrBuilder {
  const std::string& path;
  DSRDocumentTree& tree;

  void check(const OFCondition& c, const std::string& what) {
    if (c.bad()) throw Error(path, "DICOM SR: " + what + ": " + c.text());
  }
  // Adds an item below the node `parent` (after its last child) and leaves the cursor on it.
  size_t add(size_t parent, T::E_RelationshipType rel, T::E_ValueType type, const DSRCodedEntryValue& concept, const std::string& what) {
    if (tree.gotoNode(parent) == 0) throw Error(path, "DICOM SR: internal: lost node " + std::to_string(parent));
    if (tree.goDown() > 0) {  // after the last child
      while (tree.gotoNext() > 0) {
      }
      check(tree.addContentItem(rel, type, concept), what);
    } else {
      check(tree.addChildContentItem(rel, type, concept), what);
    }
    return tree.getNodeID();
  }
  DSRContentItem& item() { return tree.getCurrentContentItem(); }
};

// Values of DICOM code meanings (LO) are at most 64 characters.
std::string lo(const std::string& s) { return s.substr(0, 64); }

std::string ds_value(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

const DSRCodedEntryValue kUnitOne("1", "UCUM", "no units");
const DSRCodedEntryValue kThresholdConcept("decision-threshold", kModelCodingScheme, "Decision threshold");

}  // namespace

SrWritten write_dicom_sr(const std::string& path, const ResultInputs& in) {
  const io::DicomIdentity& source = single_dicom_study(in, path);
  const io::DicomStudyIdentity& st = source.study;
  const ModelIdentity model = model_identity(in.report);
  if (!in.report.contains("findings") || !in.report["findings"].is_array()) throw Error(path, "the report has no findings");

  DSRDocument doc(T::DT_Comprehensive3DSR);
  auto must = [&](const OFCondition& c, const std::string& what) {
    if (c.bad()) throw Error(path, "DICOM SR: " + what + ": " + c.text());
  };
  must(doc.createNewSeriesInStudy(st.study_instance_uid.c_str()), "new series");
  if (!st.specific_character_set.empty()) must(doc.setSpecificCharacterSet(st.specific_character_set.c_str(), OFFalse), "character set");
  // Values are copied as stored in the source; they were valid there, so no re-check here.
  must(doc.setPatientName(st.patient_name.c_str(), OFFalse), "PatientName");
  must(doc.setPatientID(st.patient_id.c_str(), OFFalse), "PatientID");
  must(doc.setPatientBirthDate(st.patient_birth_date.c_str(), OFFalse), "PatientBirthDate");
  must(doc.setPatientSex(st.patient_sex.c_str(), OFFalse), "PatientSex");
  must(doc.setStudyDate(st.study_date.c_str(), OFFalse), "StudyDate");
  must(doc.setStudyTime(st.study_time.c_str(), OFFalse), "StudyTime");
  must(doc.setAccessionNumber(st.accession_number.c_str(), OFFalse), "AccessionNumber");
  must(doc.setReferringPhysicianName(st.referring_physician_name.c_str(), OFFalse), "ReferringPhysicianName");
  must(doc.setStudyID(st.study_id.c_str(), OFFalse), "StudyID");
  if (!st.study_description.empty()) must(doc.setStudyDescription(lo(st.study_description).c_str(), OFFalse), "StudyDescription");
  must(doc.setSeriesDescription(lo(std::string(kNotForDiagnosticUse) + ": " + model.name).c_str(), OFFalse), "SeriesDescription");
  must(doc.setSeriesNumber(kSrSeriesNumber), "SeriesNumber");
  must(doc.setInstanceNumber("1"), "InstanceNumber");
  must(doc.setPreliminaryFlag(T::PF_Preliminary), "PreliminaryFlag");
  must(doc.completeDocument(), "CompletionFlag");   // the content is complete; Verification stays UNVERIFIED
  must(doc.setManufacturer(lo(in.producer.manufacturer).c_str(), OFFalse), "Manufacturer");

  DSRDocumentTree& tree = doc.getTree();
  SrBuilder b{path, tree};
  b.check(tree.addContentItem(T::RT_isRoot, T::VT_Container, CODE_DCM_ImagingMeasurementReport), "root");
  const size_t root = tree.getNodeID();
  b.check(tree.setTemplateIdentification("1500", "DCMR"), "template identification");

  b.add(root, T::RT_hasConceptMod, T::VT_Code, CODE_DCM_LanguageOfContentItemAndDescendants, "language");
  b.check(b.item().setCodeValue(DSRCodedEntryValue("en", "RFC5646", "English")), "language");
  b.add(root, T::RT_hasObsContext, T::VT_Code, CODE_DCM_ObserverType, "observer type");
  b.check(b.item().setCodeValue(CODE_DCM_Device), "observer type");
  b.add(root, T::RT_hasObsContext, T::VT_UIDRef, CODE_DCM_DeviceObserverUID, "device observer UID");
  b.check(b.item().setStringValue(model_device_uid(model).c_str()), "device observer UID");
  b.add(root, T::RT_hasObsContext, T::VT_Text, CODE_DCM_DeviceObserverName, "device observer name");
  b.check(b.item().setStringValue(lo(model.name).c_str(), OFFalse), "device observer name");
  b.add(root, T::RT_hasObsContext, T::VT_Text, CODE_DCM_DeviceObserverManufacturer, "device observer manufacturer");
  b.check(b.item().setStringValue(lo(in.producer.manufacturer).c_str(), OFFalse), "device observer manufacturer");
  b.add(root, T::RT_hasObsContext, T::VT_Text, CODE_DCM_DeviceObserverModelName, "device observer model name");
  b.check(b.item().setStringValue(lo(model.name).c_str(), OFFalse), "device observer model name");
  b.add(root, T::RT_hasConceptMod, T::VT_Code, CODE_DCM_ProcedureReported, "procedure reported");
  b.check(b.item().setCodeValue(CODE_SCT_ImagingProcedure), "procedure reported");

  // Image library: every distinct key slice once.
  const auto& findings = in.report["findings"];
  std::vector<KeySliceRef> refs;
  for (const auto& f : findings) refs.push_back(key_slice_ref(in, f));
  std::set<std::pair<std::string, int>> listed;
  for (const auto& r : refs)
    if (r.instance) listed.insert({r.instance->sop_instance_uid, r.instance->frame});
  auto image_value = [&](const KeySliceRef& r) {
    DSRImageReferenceValue v(r.instance->sop_class_uid.c_str(), r.instance->sop_instance_uid.c_str(), OFFalse);
    if (r.instance->frame > 0) v.getFrameList().addItem(static_cast<Sint32>(r.instance->frame));
    return v;
  };
  SrWritten out;
  if (!listed.empty()) {
    const size_t library = b.add(root, T::RT_contains, T::VT_Container, CODE_DCM_ImageLibrary, "image library");
    const size_t group = b.add(library, T::RT_contains, T::VT_Container, CODE_DCM_ImageLibraryGroup, "image library group");
    std::set<std::pair<std::string, int>> done;
    for (const auto& r : refs) {
      if (!r.instance || !done.insert({r.instance->sop_instance_uid, r.instance->frame}).second) continue;
      b.add(group, T::RT_contains, T::VT_Image, DSRCodedEntryValue(), "image library entry");
      b.check(b.item().setImageReference(image_value(r), OFFalse), "image library entry");
      b.check(doc.getCurrentRequestedProcedureEvidence().addItem(st.study_instance_uid.c_str(), r.scan->series.series_instance_uid.c_str(),
                                                                r.instance->sop_class_uid.c_str(), r.instance->sop_instance_uid.c_str(), OFFalse),
              "evidence");
    }
  }

  const size_t evaluations = b.add(root, T::RT_contains, T::VT_Container, CODE_UMLS_QualitativeEvaluations, "qualitative evaluations");
  bool private_scheme = true;  // the threshold concept is always from the model's scheme
  for (std::size_t i = 0; i < findings.size(); ++i) {
    const auto& f = findings[i];
    const FindingCode code = finding_code(f);
    const DSRCodedEntryValue concept(code.value.c_str(), code.scheme.c_str(), lo(code.meaning).c_str());
    const size_t ev = b.add(evaluations, T::RT_contains, T::VT_Code, concept, "finding '" + code.meaning + "'");
    const bool positive = f.value("positive", false);
    b.check(b.item().setCodeValue(positive ? DSRCodedEntryValue("52101004", "SCT", "Present") : DSRCodedEntryValue("2667000", "SCT", "Absent")),
            "decision");
    b.add(ev, T::RT_hasProperties, T::VT_Num, CODE_DCM_Probability, "probability");
    b.check(b.item().setNumericValue(DSRNumericMeasurementValue(ds_value(f.value("probability", 0.0)).c_str(), kUnitOne)), "probability");
    b.add(ev, T::RT_hasProperties, T::VT_Num, kThresholdConcept, "threshold");
    b.check(b.item().setNumericValue(DSRNumericMeasurementValue(ds_value(f.value("threshold", 0.5)).c_str(), kUnitOne)), "threshold");
    b.add(ev, T::RT_hasConceptMod, T::VT_Text, CODE_DCM_AlgorithmName, "algorithm name");
    b.check(b.item().setStringValue(model.name.c_str(), OFFalse), "algorithm name");
    b.add(ev, T::RT_hasConceptMod, T::VT_Text, CODE_DCM_AlgorithmVersion, "algorithm version");
    b.check(b.item().setStringValue(("raddiag " + in.producer.software_version + ", model " + model.checksum).c_str(), OFFalse),
            "algorithm version");
    if (refs[i].instance) {
      b.add(ev, T::RT_inferredFrom, T::VT_Image, CODE_DCM_BestIllustrationOfFinding, "key slice");
      b.check(b.item().setImageReference(image_value(refs[i]), OFFalse), "key slice");
      ++out.image_references;
    }
    ++out.findings;
  }

  if (private_scheme) {
    auto& schemes = doc.getCodingSchemeIdentification();
    b.check(schemes.addItem(kModelCodingScheme), "coding scheme");
    b.check(schemes.setCodingSchemeName(("raddiag model classes: " + model.name).c_str(), OFFalse), "coding scheme name");
    b.check(schemes.setCodingSchemeVersion(model.checksum.substr(0, 16).c_str(), OFFalse), "coding scheme version");
    b.check(schemes.setCodingSchemeResponsibleOrganization(in.producer.manufacturer.c_str(), OFFalse), "coding scheme organization");
  }

  DcmFileFormat file;
  DcmDataset* ds = file.getDataset();
  must(doc.write(*ds), "encoding the document");
  put_equipment(*ds, model, in.producer);
  OFString series, instance;
  doc.getSeriesInstanceUID(series);
  doc.getSOPInstanceUID(instance);
  out.series_uid = series.c_str();
  out.sop_instance_uid = instance.c_str();
  save_dicom(file, path);
  return out;
}

}  // namespace raddiag::exports
