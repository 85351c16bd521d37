"""Reads a raddiag DICOM SR with pydicom (independently of DCMTK) and prints what the tests compare with
the diagnosis JSON: header identity, the verification/completion flags, template, contributing equipment,
coding schemes, and per qualitative evaluation the finding code, decision, probability, threshold and the
referenced image. Usage: read_dicom_sr.py SR.dcm"""
import json
import sys

import pydicom


def code(seq):
    if not seq:
        return None
    c = seq[0]
    value = c.get("CodeValue") or c.get("LongCodeValue") or c.get("URNCodeValue")
    return {"value": value, "scheme": c.CodingSchemeDesignator, "meaning": c.CodeMeaning}


ds = pydicom.dcmread(sys.argv[1])
out = {k: str(ds.get(k, "")) for k in ["SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "PatientID",
                                        "PatientName", "PatientBirthDate", "PatientSex", "AccessionNumber", "StudyDate",
                                        "StudyTime", "StudyID", "ReferringPhysicianName", "VerificationFlag", "CompletionFlag",
                                        "PreliminaryFlag", "Modality", "SeriesDescription", "SeriesNumber"]}
out["title"] = code(ds.ConceptNameCodeSequence)
tpl = ds.get("ContentTemplateSequence")
out["template"] = [tpl[0].TemplateIdentifier, tpl[0].MappingResource] if tpl else None
eq = ds.ContributingEquipmentSequence[0]
out["equipment"] = {"purpose": code(eq.PurposeOfReferenceCodeSequence), "manufacturer": str(eq.Manufacturer),
                    "model": str(eq.ManufacturerModelName), "software": [str(v) for v in eq.SoftwareVersions] if eq["SoftwareVersions"].VM > 1 else [str(eq.SoftwareVersions)],
                    "device_uid": str(eq.get("DeviceUID", ""))}
out["coding_schemes"] = [{"designator": s.CodingSchemeDesignator, "version": str(s.get("CodingSchemeVersion", ""))}
                         for s in ds.get("CodingSchemeIdentificationSequence", [])]
evidence = []
for st in ds.get("CurrentRequestedProcedureEvidenceSequence", []):
    for se in st.ReferencedSeriesSequence:
        for sop in se.ReferencedSOPSequence:
            evidence.append([str(st.StudyInstanceUID), str(se.SeriesInstanceUID), str(sop.ReferencedSOPInstanceUID)])
out["evidence"] = evidence


def image_ref(item):
    sop = item.ReferencedSOPSequence[0]
    frames = sop.get("ReferencedFrameNumber")
    if frames is None:
        frames = []
    elif not isinstance(frames, (list, pydicom.multival.MultiValue)):
        frames = [int(frames)]
    return {"class": str(sop.ReferencedSOPClassUID), "instance": str(sop.ReferencedSOPInstanceUID), "frames": [int(f) for f in frames]}


evaluations, library = [], []
for item in ds.ContentSequence:
    name = code(item.get("ConceptNameCodeSequence"))
    if item.ValueType == "CONTAINER" and name["value"] == "111028":
        for group in item.ContentSequence:
            for entry in group.ContentSequence:
                if entry.ValueType == "IMAGE":
                    library.append(image_ref(entry))
    if item.ValueType == "CONTAINER" and name["value"] == "C0034375":
        for ev in item.ContentSequence:
            e = {"relationship": ev.RelationshipType, "finding": code(ev.ConceptNameCodeSequence), "decision": code(ev.ConceptCodeSequence)}
            for child in ev.get("ContentSequence", []):
                cname = code(child.ConceptNameCodeSequence)
                if child.ValueType == "NUM":
                    mv = child.MeasuredValueSequence[0]
                    e[cname["meaning"]] = {"value": float(mv.NumericValue), "unit": code(mv.MeasurementUnitsCodeSequence),
                                           "relationship": child.RelationshipType}
                elif child.ValueType == "IMAGE":
                    e["image"] = image_ref(child)
                    e["image"]["relationship"] = child.RelationshipType
                    e["image"]["concept"] = cname["meaning"]
                elif child.ValueType == "TEXT":
                    e[cname["meaning"]] = str(child.TextValue)
            evaluations.append(e)
out["evaluations"] = evaluations
out["image_library"] = library
print(json.dumps(out, indent=1))
