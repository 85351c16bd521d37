// Secondary Capture overlays: dciodvfy finds no error; pydicom reads back the RGB pixels (the overlay,
// enlarged, unchanged above the text band; white text in the band), the study, the new series with the
// "not for diagnostic use" description, and the Source Image Sequence pointing at the key slice.
#include <gtest/gtest.h>

#include <fstream>

#include "export/secondary_capture_writer.h"
#include "export_test_util.h"
#include "util/error.h"

using namespace raddiag;
using Json = nlohmann::json;

namespace {

// A 20 x 30 gradient overlay for each finding that has a key slice.
std::vector<exports::OverlayImage> sample_overlays(const exports::ResultInputs& in) {
  std::vector<exports::OverlayImage> out;
  for (const auto& f : in.report["findings"]) {
    if (f["scan"].is_null()) continue;
    exports::OverlayImage o;
    o.rgb.rows = 20;
    o.rgb.cols = 30;
    for (int r = 0; r < 20; ++r)
      for (int c = 0; c < 30; ++c) {
        o.rgb.pixels.push_back(static_cast<uint8_t>(r * 10));
        o.rgb.pixels.push_back(static_cast<uint8_t>(c * 8));
        o.rgb.pixels.push_back(static_cast<uint8_t>(100 + f["rank"].get<int>()));
      }
    o.finding = f;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

TEST(SecondaryCaptureWriter, ValidAndReadBack) {
  const auto in = test::sample_result_inputs();
  const auto overlays = sample_overlays(in);
  const std::string dir = test::scratch_dir("sc_write") + "/sc";
  const auto w = exports::write_secondary_captures(dir, overlays, in);
  ASSERT_EQ(w.files.size(), 2u);
  EXPECT_EQ(w.files[0], dir + "/finding1.dcm");
  if (test::have_tool("dciodvfy")) {
    for (const auto& f : w.files) {
      const auto v = test::run_dciodvfy(f);
      EXPECT_TRUE(v.errors.empty()) << v.log;
      std::cout << "dciodvfy warnings on " << f << ":\n" << test::joined(v.warnings);
    }
  } else {
    std::cout << "dciodvfy (Debian dicom3tools) not installed: validity not checked\n";
  }
  if (!test::python_has({"pydicom", "numpy"})) GTEST_SKIP() << "Debian python3-pydicom missing";
  const std::string script = test::scratch_dir("sc_write_py") + "/read.py";
  std::ofstream(script) << R"(import json, sys
import numpy as np, pydicom
ds = pydicom.dcmread(sys.argv[1])
px = ds.pixel_array
src = ds.SourceImageSequence[0]
print(json.dumps({"sop_class": ds.SOPClassUID, "study": ds.StudyInstanceUID, "series": ds.SeriesInstanceUID,
  "patient": ds.PatientID, "description": ds.SeriesDescription, "burned": ds.BurnedInAnnotation, "pi": ds.PhotometricInterpretation,
  "shape": list(px.shape), "type": list(ds.ImageType), "src_class": src.ReferencedSOPClassUID, "src_instance": src.ReferencedSOPInstanceUID,
  "src_frame": int(src.ReferencedFrameNumber) if "ReferencedFrameNumber" in src else None,
  "top_left": px[0, 0].tolist(), "pixel_r9c9": px[9, 9].tolist(), "pixel_last_image_row": px[179, 269].tolist(),
  "band_white": int((px[180:] == 255).all(axis=2).sum()), "band_other": int(((px[180:] != 255) & (px[180:] != 0)).sum()),
  "purpose": ds.ContributingEquipmentSequence[0].PurposeOfReferenceCodeSequence[0].CodeMeaning}))
)";
  for (std::size_t i = 0; i < w.files.size(); ++i) {
    std::string out;
    ASSERT_EQ(test::run_command(test::python() + " " + test::shell_quote(script) + " " + test::shell_quote(w.files[i]), &out), 0) << out;
    const Json r = Json::parse(out);
    const auto& f = overlays[i].finding;
    const auto& ref = in.scans[f["scan"].get<std::size_t>()].slices[f["key_slice"].get<std::size_t>()];
    EXPECT_EQ(r["sop_class"], "1.2.840.10008.5.1.4.1.1.7");
    EXPECT_EQ(r["study"], "1.2.826.0.1.3680043.8.498.1001");
    EXPECT_EQ(r["series"], w.series_uid);
    EXPECT_EQ(r["patient"], "PAT-0042");
    EXPECT_NE(r["description"].get<std::string>().find("AI result - not for diagnostic use"), std::string::npos);
    EXPECT_EQ(r["burned"], "YES");
    EXPECT_EQ(r["pi"], "RGB");
    EXPECT_EQ(r["type"], Json::array({"DERIVED", "SECONDARY"}));
    EXPECT_EQ(r["purpose"], "Processing Algorithm");
    EXPECT_EQ(r["src_class"], ref.sop_class_uid);
    EXPECT_EQ(r["src_instance"], ref.sop_instance_uid);
    EXPECT_EQ(r["src_frame"], ref.frame > 0 ? Json(ref.frame) : Json(nullptr));
    // 30 columns enlarged 9x to 270 (>= 256); 20 rows -> 180, then the text band.
    ASSERT_EQ(r["shape"][1], 270);
    ASSERT_EQ(r["shape"][2], 3);
    EXPECT_GT(r["shape"][0].get<int>(), 180);
    const int rank = f["rank"];
    EXPECT_EQ(r["top_left"], Json::array({0, 0, 100 + rank}));
    EXPECT_EQ(r["pixel_r9c9"], Json::array({(9 / 9) * 10, (9 / 9) * 8, 100 + rank}));
    EXPECT_EQ(r["pixel_last_image_row"], Json::array({19 * 10, 29 * 8, 100 + rank}));
    EXPECT_GT(r["band_white"].get<int>(), 200);   // the text
    EXPECT_EQ(r["band_other"], 0);                // only black and white in the band
  }
}

TEST(SecondaryCaptureWriter, RefusesInputsWithoutDicomIdentity) {
  auto in = test::sample_result_inputs();
  for (auto& s : in.scans) s.present = false;
  EXPECT_THROW(exports::write_secondary_captures(test::scratch_dir("sc_nodicom") + "/sc", sample_overlays(in), in), Error);
}
