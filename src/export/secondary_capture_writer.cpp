#include "export/secondary_capture_writer.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <cstdio>
#include <filesystem>

#include "export/derived_dicom.h"
#include "util/error.h"

namespace raddiag::exports {

namespace {

void put(DcmItem& ds, const DcmTagKey& tag, const std::string& value, const std::string& where) {
  const OFCondition c = ds.putAndInsertString(tag, value.c_str());
  if (c.bad()) throw Error(where, std::string("cannot set ") + DcmTag(tag).getTagName() + ": " + c.text());
}

void put_u16(DcmItem& ds, const DcmTagKey& tag, Uint16 v, const std::string& where) {
  if (ds.putAndInsertUint16(tag, v).bad()) throw Error(where, std::string("cannot set ") + DcmTag(tag).getTagName());
}

std::string finding_line(const nlohmann::ordered_json& f) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "#%lld %s p=%.3f %s @ %.3f", static_cast<long long>(f.value("rank", 0)),
                f.value("disorder", std::string("?")).c_str(), f.value("probability", 0.0), f.value("positive", false) ? "POSITIVE" : "negative",
                f.value("threshold", 0.5));
  return buf;
}

}  // namespace

ScWritten write_secondary_captures(const std::string& dir, const std::vector<OverlayImage>& overlays, const ResultInputs& in) {
  const io::DicomIdentity& source = single_dicom_study(in, dir);
  const ModelIdentity model = model_identity(in.report);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir, "cannot create the folder: " + ec.message());
  ScWritten out;
  out.series_uid = new_dicom_uid();
  const DicomNow now = dicom_now();
  const std::string description = (std::string(kNotForDiagnosticUse) + ": " + model.name).substr(0, 64);
  for (const auto& o : overlays) {
    const int64_t rank = o.finding.value("rank", static_cast<int64_t>(out.files.size() + 1));
    const std::string path = dir + "/finding" + std::to_string(rank) + ".dcm";
    if (o.rgb.rows < 1 || o.rgb.cols < 1 || o.rgb.pixels.size() != static_cast<std::size_t>(o.rgb.rows * o.rgb.cols * 3))
      throw Error(path, "internal: overlay of " + std::to_string(o.rgb.rows) + "x" + std::to_string(o.rgb.cols) + " has " +
                            std::to_string(o.rgb.pixels.size()) + " bytes");
    const int factor = o.rgb.cols >= kScMinColumns ? 1 : static_cast<int>((kScMinColumns + o.rgb.cols - 1) / o.rgb.cols);
    const RgbImage image = with_text_band(enlarge_nearest(o.rgb, factor), "AI RESULT - NOT FOR DIAGNOSTIC USE. " + finding_line(o.finding),
                                          o.rgb.cols * factor >= 768 ? 2 : 1);
    if (image.rows > 65535 || image.cols > 65535) throw Error(path, "image too large for DICOM (" + std::to_string(image.rows) + " rows)");

    DcmFileFormat file;
    DcmDataset& ds = *file.getDataset();
    const std::string uid = new_dicom_uid();
    put(ds, DCM_SOPClassUID, UID_SecondaryCaptureImageStorage, path);
    put(ds, DCM_SOPInstanceUID, uid, path);
    put_patient_and_study(ds, source.study);
    put(ds, DCM_Modality, "OT", path);
    put(ds, DCM_SeriesInstanceUID, out.series_uid, path);
    put(ds, DCM_SeriesNumber, kScSeriesNumber, path);
    put(ds, DCM_SeriesDescription, description, path);
    put(ds, DCM_Laterality, "", path);   // type 2C: unknown here (the source's body part may be paired)
    put(ds, DCM_SeriesDate, now.date, path);
    put(ds, DCM_SeriesTime, now.time, path);
    put_equipment(ds, model, in.producer);
    put(ds, DCM_ConversionType, "WSD", path);
    put(ds, DCM_InstanceNumber, std::to_string(rank), path);
    put(ds, DCM_PatientOrientation, "", path);
    put(ds, DCM_ContentDate, now.date, path);
    put(ds, DCM_ContentTime, now.time, path);
    put(ds, DCM_InstanceCreationDate, now.date, path);
    put(ds, DCM_InstanceCreationTime, now.time, path);
    put(ds, DCM_ImageType, "DERIVED\\SECONDARY", path);
    put(ds, DCM_BurnedInAnnotation, "YES", path);
    put(ds, DCM_LossyImageCompression, "00", path);
    put(ds, DCM_DerivationDescription, "Grad-CAM overlay (jet colour map on the slice's gray values) of finding " + finding_line(o.finding), path);
    put(ds, DCM_ImageComments, std::string(kNotForDiagnosticUse) + ". " + finding_line(o.finding), path);
    const KeySliceRef ref = key_slice_ref(in, o.finding);
    if (ref.instance) {
      DcmItem* src = nullptr;
      if (ds.findOrCreateSequenceItem(DCM_SourceImageSequence, src, -2).bad() || !src) throw Error(path, "cannot create the Source Image Sequence");
      put(*src, DCM_ReferencedSOPClassUID, ref.instance->sop_class_uid, path);
      put(*src, DCM_ReferencedSOPInstanceUID, ref.instance->sop_instance_uid, path);
      if (ref.instance->frame > 0) put(*src, DCM_ReferencedFrameNumber, std::to_string(ref.instance->frame), path);
    }
    put_u16(ds, DCM_SamplesPerPixel, 3, path);
    put(ds, DCM_PhotometricInterpretation, "RGB", path);
    put_u16(ds, DCM_PlanarConfiguration, 0, path);
    put_u16(ds, DCM_Rows, static_cast<Uint16>(image.rows), path);
    put_u16(ds, DCM_Columns, static_cast<Uint16>(image.cols), path);
    put_u16(ds, DCM_BitsAllocated, 8, path);
    put_u16(ds, DCM_BitsStored, 8, path);
    put_u16(ds, DCM_HighBit, 7, path);
    put_u16(ds, DCM_PixelRepresentation, 0, path);
    if (ds.putAndInsertUint8Array(DCM_PixelData, image.pixels.data(), static_cast<unsigned long>(image.pixels.size())).bad())
      throw Error(path, "cannot set the pixel data");
    save_dicom(file, path);
    out.files.push_back(path);
    out.sop_instance_uids.push_back(uid);
  }
  return out;
}

}  // namespace raddiag::exports
