// Issue 18: hostile inputs against the io readers, on small files generated here (or by
// tests/py/io_hostile_inputs.py). Each must end in a raddiag::Error naming the file and the reason,
// or, where a value is checked, in the reference decoder's value.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <thread>

#include "io/image_reader.h"
#include "io/nifti_header.h"
#include "io/nifti_reader.h"
#include "io/read_scans.h"
#include "io/scan_json.h"
#include "io_test_util.h"
#include "test_support.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/input_file.h"
#include "util/mapped_file.h"
#include "util/npy.h"

using namespace raddiag;

namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile g = gzopen(path.c_str(), "wb9");
  ASSERT_NE(g, nullptr);
  ASSERT_EQ(gzwrite(g, bytes.data(), static_cast<unsigned>(bytes.size())), int(bytes.size()));
  gzclose(g);
}

// A NIfTI-1 or NIfTI-2 file, built field by field, in either byte order.
struct NiftiSpec {
  int version = 1;
  bool big_endian = false;
  bool pair = false;   // magic ni1/ni2 (voxels in a .img)
  std::array<int64_t, 8> dim{3, 4, 3, 2, 1, 1, 1, 1};
  int datatype = 16;   // float32
  int bitpix = 32;
  double vox_offset = NAN;  // NaN: the header's end (352 / 544; 0 for a pair)
  double slope = 1.0, inter = 0.0;
};

class Bytes {
 public:
  Bytes(std::size_t n, bool be) : b_(n, '\0'), be_(be) {}
  void put(std::size_t off, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b_[off + std::size_t(be_ ? n - 1 - i : i)] = char((v >> (8 * i)) & 0xFF);
  }
  void f32(std::size_t off, double v) {
    float f = float(v);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    put(off, u, 4);
  }
  void f64(std::size_t off, double v) {
    uint64_t u;
    std::memcpy(&u, &v, 8);
    put(off, u, 8);
  }
  void raw(std::size_t off, const char* s, std::size_t n) { std::memcpy(&b_[off], s, n); }
  std::string& str() { return b_; }

 private:
  std::string b_;
  bool be_;
};

std::string nifti_header(const NiftiSpec& s) {
  if (s.version == 1) {
    Bytes b(352, s.big_endian);
    b.put(0, 348, 4);
    for (int i = 0; i < 8; ++i) b.put(40 + 2 * std::size_t(i), uint64_t(s.dim[std::size_t(i)]), 2);
    b.put(70, uint64_t(s.datatype), 2);
    b.put(72, uint64_t(s.bitpix), 2);
    for (int i = 0; i < 8; ++i) b.f32(76 + 4 * std::size_t(i), 1.0);
    b.f32(108, !std::isnan(s.vox_offset) ? s.vox_offset : (s.pair ? 0 : 352));
    b.f32(112, s.slope);
    b.f32(116, s.inter);
    b.raw(344, s.pair ? "ni1\0" : "n+1\0", 4);
    return s.pair ? b.str().substr(0, 348) : b.str();
  }
  Bytes b(544, s.big_endian);
  b.put(0, 540, 4);
  b.raw(4, s.pair ? "ni2\0\r\n\032\n" : "n+2\0\r\n\032\n", 8);
  b.put(12, uint64_t(s.datatype), 2);
  b.put(14, uint64_t(s.bitpix), 2);
  for (int i = 0; i < 8; ++i) b.put(16 + 8 * std::size_t(i), uint64_t(s.dim[std::size_t(i)]), 8);
  for (int i = 0; i < 8; ++i) b.f64(104 + 8 * std::size_t(i), 1.0);
  b.put(168, uint64_t(int64_t(!std::isnan(s.vox_offset) ? s.vox_offset : (s.pair ? 0 : 544))), 8);
  b.f64(176, s.slope);
  b.f64(184, s.inter);
  return s.pair ? b.str().substr(0, 540) : b.str();
}

// float32 voxels 0, 1, 2, ... in the spec's byte order.
std::string float_voxels(int64_t n, bool big_endian) {
  Bytes b(std::size_t(n) * 4, big_endian);
  for (int64_t i = 0; i < n; ++i) b.f32(std::size_t(i) * 4, double(i));
  return b.str();
}

// Writes the spec as .nii, .nii.gz or a .hdr/.img pair; returns the path to read.
std::string write_nifti(const std::string& dir, const std::string& stem, const NiftiSpec& s, const std::string& voxels, bool gz = false) {
  if (s.pair) {
    write_bytes(dir + "/" + stem + ".hdr", nifti_header(s));
    write_bytes(dir + "/" + stem + ".img", voxels);
    return dir + "/" + stem + ".hdr";
  }
  const std::string path = dir + "/" + stem + (gz ? ".nii.gz" : ".nii");
  if (gz) write_gz(path, nifti_header(s) + voxels);
  else write_bytes(path, nifti_header(s) + voxels);
  return path;
}

// The call must throw raddiag::Error whose text names `path` and contains every `parts` string.
void expect_error(const std::function<void()>& fn, const std::string& path, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << path << ": accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << "error does not name the file: " << what;
    for (const auto& p : parts) EXPECT_NE(what.find(p), std::string::npos) << "expected '" << p << "' in: " << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << ": not a raddiag::Error: " << e.what();
  }
}

// As expect_error, and within a few seconds: a reader that blocks on a FIFO or reads /dev/zero for
// gigabytes would otherwise hang the suite, so a watchdog ends the process with a message.
void expect_refused_quickly(const std::function<void()>& fn, const std::string& path, const std::vector<std::string>& parts) {
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 200 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!done) {
      std::fprintf(stderr, "FATAL: reading %s did not return within 10 s\n", path.c_str());
      std::_Exit(3);
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  expect_error(fn, path, parts);
  done = true;
  watchdog.join();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0) << path;
}

std::string generated() {
  static const std::string dir = [] {
    const std::string d = test::scratch_dir("hostile_generated");
    test::run_python_script("io_hostile_inputs.py", {d});
    return d;
  }();
  return dir;
}

}  // namespace

// ---- 1. NIfTI header validated before nifticlib sees it ----

TEST(HostileNifti, Dim0OutOfRangeIsRefusedInEveryVersionByteOrderAndContainer) {
  const std::string dir = test::scratch_dir("hostile_dim0");
  int files = 0;
  for (int version : {1, 2})
    for (bool be : {false, true})
      for (int container = 0; container < 3; ++container) {
        std::vector<int64_t> bad = {1000, -1, 100, 0, 8, 32767};
        if (version == 2) bad.insert(bad.end(), {int64_t(1) << 31, int64_t(1) << 40, -(int64_t(1) << 40)});
        for (int64_t d0 : bad) {
          NiftiSpec s;
          s.version = version;
          s.big_endian = be;
          s.pair = container == 2;
          s.dim[0] = d0;
          const std::string stem = "d0_v" + std::to_string(version) + (be ? "be" : "le") + std::to_string(container) + "_" + std::to_string(files);
          const std::string path = write_nifti(dir, stem, s, float_voxels(24, be), container == 1);
          SCOPED_TRACE(path);
          expect_error([&] { io::read_scan_file(path); }, path, {"dim[0]", std::to_string(d0)});
          ++files;
        }
      }
  EXPECT_EQ(files, 2 * 2 * 3 * 6 + 2 * 3 * 3);
}

TEST(HostileNifti, NegativeZeroAndAbsurdDimsAreRefusedBeforeAnyAllocation) {
  const std::string dir = test::scratch_dir("hostile_dims");
  struct Case { int version; int axis; int64_t value; const char* expect; };
  const Case cases[] = {
      {1, 1, -5, "dim[1] is -5"}, {1, 2, 0, "dim[2] is 0"}, {2, 3, int64_t(1) << 31, "dim[3] is 2147483648"},
      {2, 1, int64_t(1) << 40, "dim[1] is 1099511627776"}, {2, 2, -1, "dim[2] is -1"},
      // Valid sizes, but 32767^3 float32 (~140 TB) is more than this file holds (and any budget).
      {1, 0, 0, "truncated: the header declares 140724603846652 bytes"},
  };
  int n = 0;
  for (const auto& c : cases) {
    NiftiSpec s;
    s.version = c.version;
    if (c.axis > 0) s.dim[std::size_t(c.axis)] = c.value;
    else s.dim = {3, 32767, 32767, 32767, 1, 1, 1, 1};
    const std::string path = write_nifti(dir, "dims" + std::to_string(n++), s, float_voxels(24, false));
    expect_error([&] { io::read_nifti(path); }, path, {c.expect});
  }
}

TEST(HostileNifti, ValidGeneratedHeadersReadInBothVersionsByteOrdersAndContainers) {
  const std::string dir = test::scratch_dir("hostile_valid");
  int n = 0;
  for (int version : {1, 2})
    for (bool be : {false, true})
      for (int container = 0; container < 3; ++container) {
        NiftiSpec s;
        s.version = version;
        s.big_endian = be;
        s.pair = container == 2;
        const std::string path = write_nifti(dir, "ok" + std::to_string(n++), s, float_voxels(24, be), container == 1);
        SCOPED_TRACE(path);
        const io::Scan scan = io::read_scan_file(path);
        ASSERT_EQ(scan.dims, (std::array<int64_t, 3>{4, 3, 2}));
        for (int i = 0; i < 24; ++i) EXPECT_EQ(scan.voxels[std::size_t(i)], float(i));
      }
}

TEST(HostileNifti, HeaderParserRefusesEveryTruncationWithoutReadingPastTheBuffer) {
  NiftiSpec s;
  s.version = 2;
  const std::string h = nifti_header(s);
  for (std::size_t n = 0; n < 540; n += 7)
    EXPECT_THROW(io::parse_nifti_header(reinterpret_cast<const uint8_t*>(h.data()), n, "cut.nii"), Error) << n;
  EXPECT_NO_THROW(io::parse_nifti_header(reinterpret_cast<const uint8_t*>(h.data()), 540, "whole.nii"));
}

// ---- 9. vox_offset, scaling: errors instead of shifted or silently rescaled volumes ----

TEST(HostileNifti, VoxOffsetBeyondTheFileOrNegativeIsAnError) {
  const std::string dir = test::scratch_dir("hostile_voxoffset");
  for (double off : {1e12, -1000.0, 4000.0}) {
    for (bool gz : {false, true}) {
      NiftiSpec s;
      s.vox_offset = off;
      const std::string path = write_nifti(dir, "off" + std::to_string(int64_t(off)) + (gz ? "gz" : ""), s, float_voxels(24, false), gz);
      SCOPED_TRACE(path);
      expect_error([&] { io::read_nifti(path); }, path, {"vox_offset"});
    }
  }
  // 0 means "unset": nibabel reads the data right after the header, so do we.
  NiftiSpec s;
  s.vox_offset = 0;
  const io::Scan scan = io::read_nifti(write_nifti(dir, "off0", s, float_voxels(24, false)));
  EXPECT_EQ(scan.voxels[5], 5.0f);
}

TEST(HostileNifti, NonFiniteInterceptIsRefusedAndNonFiniteSlopeMeansUnscaledAsInNibabel) {
  const std::string dir = test::scratch_dir("hostile_scaling");
  for (double inter : {INFINITY, -INFINITY, NAN}) {
    NiftiSpec s;
    s.slope = 2.0;
    s.inter = inter;
    const std::string path = write_nifti(dir, "inter" + std::to_string(int(std::isnan(inter) ? 0 : inter > 0 ? 1 : 2)), s, float_voxels(24, false));
    expect_error([&] { io::read_nifti(path); }, path, {"scl_inter"});
  }
  // nibabel's get_slope_inter(): slope NaN/inf/0 -> (None, None), i.e. raw values.
  int n = 0;
  for (double slope : {double(NAN), double(INFINITY), 0.0}) {
    NiftiSpec s;
    s.slope = slope;
    s.inter = 7.0;
    const io::Scan scan = io::read_nifti(write_nifti(dir, "slope" + std::to_string(n++), s, float_voxels(24, false)));
    EXPECT_EQ(scan.voxels[3], 3.0f);
  }
}

// ---- 7. NaN voxels kept (nifticlib's loader turned them into 0) ----

TEST(HostileNifti, ConvertKeepsNibabelsNanValuesOfResampledAnatMoved) {
  const std::string src = "/usr/lib/python3/dist-packages/nibabel/tests/data/resampled_anat_moved.nii";
  const std::string dir = test::scratch_dir("hostile_nan");
  std::string out;
  ASSERT_EQ(test::run_command(test::shell_quote(test::cli_path()) + " convert " + test::shell_quote(src) + " " + test::shell_quote(dir + "/out.npy"), &out), 0) << out;
  // nibabel's get_fdata() against the converted file: same NaN positions, same finite values.
  const std::string script =
      "import sys, nibabel as nib, numpy as np\n"
      "a = nib.load(sys.argv[1]).get_fdata(); b = np.load(sys.argv[2])\n"
      "assert a.shape == b.shape, (a.shape, b.shape)\n"
      "na, nb = np.isnan(a), np.isnan(b)\n"
      "assert (na == nb).all(), ('NaN positions differ', na.sum(), nb.sum())\n"
      "assert np.allclose(a[~na], b[~nb], rtol=1e-6, atol=0), 'values differ'\n"
      "print(int(na.sum()))\n";
  write_bytes(dir + "/check.py", script);
  ASSERT_EQ(test::run_command(test::shell_quote(test::python()) + " " + test::shell_quote(dir + "/check.py") + " " + test::shell_quote(src) + " " +
                                  test::shell_quote(dir + "/out.npy"), &out), 0) << out;
  const auto last = out.find_last_not_of("\n");
  const auto line = out.rfind('\n', last);
  EXPECT_GT(std::stol(out.substr(line == std::string::npos ? 0 : line + 1)), 0) << "the reference file has NaN voxels: " << out;
}

// ---- 10. A .hdr without its .img; a symlink loop ----

TEST(HostileNifti, HeaderWithoutItsImageSaysCompanionMissing) {
  const std::string dir = test::scratch_dir("hostile_pair");
  NiftiSpec s;
  s.pair = true;
  const std::string hdr = write_nifti(dir, "lonely", s, float_voxels(24, false));
  ::unlink((dir + "/lonely.img").c_str());
  expect_error([&] { io::read_scan_file(hdr); }, hdr, {"companion .img missing", "lonely.img"});
}

// ---- 5. Memory bombs: every allocation bounded by the file and by the per-input budget ----

TEST(HostileImages, HugeDeclaredJpegAndPngSizesAreRefusedBeforeAllocation) {
  const std::string g = generated();
  expect_error([&] { io::read_scan_file(g + "/huge_46000.jpg"); }, g + "/huge_46000.jpg", {"46000x46000", "2116000000 pixels", "maximal ratio of 512 pixels per stored byte"});
  expect_error([&] { io::read_scan_file(g + "/huge_65535.png"); }, g + "/huge_65535.png", {"65535x65535", "maximal ratio of 1032 bytes"});
  // Without the file bound (arithmetic-coded JPEG has none), the budget still refuses it.
  io::ReadOptions tiny;
  tiny.max_voxel_bytes = 16 << 10;
  expect_error([&] { io::read_jpeg(g + "/small.jpg", tiny); }, g + "/small.jpg", {"64x64", "per-input memory budget"});
  tiny.max_voxel_bytes = 1 << 20;
  expect_error([&] { io::read_png(g + "/zeros_3000.png", tiny); }, g + "/zeros_3000.png", {"3000x3000", "per-input memory budget", "1048576 bytes"});
  // A genuine PNG that inflates ~1000-fold reads under the default budget.
  const io::Scan ok = io::read_scan_file(g + "/zeros_3000.png");
  EXPECT_EQ(ok.dims, (std::array<int64_t, 3>{3000, 3000, 1}));
}

TEST(HostileNifti, GzipThatCannotHoldItsHeadersVoxelsAndBudgetBombs) {
  const std::string dir = test::scratch_dir("hostile_gz");
  // 2000^3 uint8 declared in a few hundred bytes: beyond deflate's 1032:1.
  NiftiSpec s;
  s.dim = {3, 2000, 2000, 2000, 1, 1, 1, 1};
  s.datatype = 2;
  s.bitpix = 8;
  const std::string bomb = write_nifti(dir, "bomb", s, std::string(1000, '\0'), true);
  expect_error([&] { io::read_nifti(bomb); }, bomb, {"vox_offset + voxels", "maximal ratio of 1032"});
  // A genuine 1000-fold file (16 MiB of zeros in ~16 KiB) against a 32 MiB budget: 64 MiB of float32.
  s.dim = {3, 256, 256, 256, 1, 1, 1, 1};
  const std::string real = write_nifti(dir, "zeros", s, std::string(size_t(256) * 256 * 256, '\0'), true);
  io::ReadOptions small;
  small.max_voxel_bytes = std::size_t(32) << 20;
  expect_error([&] { io::read_nifti(real, small); }, real, {"256x256x256", "per-input memory budget"});
  EXPECT_EQ(io::read_nifti(real).dims, (std::array<int64_t, 3>{256, 256, 256}));
}

TEST(HostileNpy, ArrayClaimingMoreThanTheFileHoldsIsRefused) {
  const std::string dir = test::scratch_dir("hostile_npy");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }";
  header.append(64 - (10 + header.size() + 1) % 64, ' ');
  header.push_back('\n');
  std::string file = std::string("\x93NUMPY\x01\x00", 8);
  file.push_back(char(header.size() & 0xFF));
  file.push_back(char(header.size() >> 8));
  write_bytes(dir + "/big.npy", file + header + std::string(64, '\0'));
  expect_error([&] { io::read_scan_file(dir + "/big.npy"); }, dir + "/big.npy", {"(100000, 100000)", "the file has"});
}

// ---- 6. Only regular files are read ----

TEST(HostileFiles, FifoDevZeroSymlinkAndLoopsAreRefusedAtOnceByEveryReader) {
  const std::string dir = test::scratch_dir("hostile_special");
  const std::string fifo = dir + "/scan.nii", zero = dir + "/zero.npy", loop = dir + "/loop.dcm", dangling = dir + "/gone.png";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_EQ(::symlink("/dev/zero", zero.c_str()), 0);
  ASSERT_EQ(::symlink(loop.c_str(), loop.c_str()), 0);
  ASSERT_EQ(::symlink((dir + "/nothing.png").c_str(), dangling.c_str()), 0);
  for (const std::string& p : {fifo, zero}) {
    const std::vector<std::string> why = {"not a regular file", p == fifo ? "FIFO" : "character device"};
    expect_refused_quickly([&] { io::read_scan_file(p); }, p, why);
    expect_refused_quickly([&] { io::read_path(p); }, p, why);
    expect_refused_quickly([&] { npy::read(p); }, p, why);
    expect_refused_quickly([&] { npy::read_header(p); }, p, why);
    expect_refused_quickly([&] { MappedFile m(p); }, p, why);
    expect_refused_quickly([&] { read_input_file(p); }, p, why);
    expect_refused_quickly([&] { read_file_bytes(p); }, p, why);  // every JSON/CSV reader's path
    expect_refused_quickly([&] { io::read_nifti(p); }, p, why);
    expect_refused_quickly([&] { io::read_png(p); }, p, why);
    expect_refused_quickly([&] { io::read_jpeg(p); }, p, why);
  }
  expect_refused_quickly([&] { io::read_scan_file(loop); }, loop, {"symlink loop"});
  expect_refused_quickly([&] { io::read_path(loop); }, loop, {"symlink loop"});
  expect_refused_quickly([&] { npy::read(loop); }, loop, {"symlink loop"});
  expect_refused_quickly([&] { io::read_scan_file(dangling); }, dangling, {"dangling symbolic link", "nothing.png"});
  expect_refused_quickly([&] { io::read_scan_file(dir + "/absent.nii"); }, dir + "/absent.nii", {"no such file"});
}

TEST(HostileFiles, FolderWithSpecialEntriesListsThemAsSkippedWithoutOpeningThem) {
  const std::string dir = test::scratch_dir("hostile_folder");
  ASSERT_EQ(::mkfifo((dir + "/a_fifo.dcm").c_str(), 0600), 0);
  ASSERT_EQ(::symlink("/dev/zero", (dir + "/b_zero.nii").c_str()), 0);
  ASSERT_EQ(::symlink((dir + "/c_loop").c_str(), (dir + "/c_loop").c_str()), 0);
  const float v[6] = {1, 2, 3, 4, 5, 6};
  npy::write(dir + "/d_ok.npy", npy::make_float32({2, 3}, v));
  io::ReadReport r;
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 200 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!done) std::_Exit(3);
  });
  r = io::read_path(dir);
  done = true;
  watchdog.join();
  ASSERT_EQ(r.scans.size(), 1u);
  ASSERT_EQ(r.skipped.size(), 3u);
  EXPECT_NE(r.skipped[0].reason.find("FIFO"), std::string::npos) << r.skipped[0].reason;
  EXPECT_NE(r.skipped[1].reason.find("character device"), std::string::npos) << r.skipped[1].reason;
  EXPECT_NE(r.skipped[2].reason.find("symlink loop"), std::string::npos) << r.skipped[2].reason;
}

TEST(HostileFiles, CliInspectOfAFifoFailsAtOnceNamingIt) {
  const std::string dir = test::scratch_dir("hostile_cli_fifo");
  const std::string fifo = dir + "/pipe.nii";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string out;
  const int rc = test::run_command("timeout 20 " + test::shell_quote(test::cli_path()) + " inspect " + test::shell_quote(fifo), &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(rc, 124) << "timed out";
  EXPECT_NE(out.find(fifo), std::string::npos) << out;
  EXPECT_NE(out.find("not a regular file"), std::string::npos) << out;
}

// ---- 9. DICOM frame counts, npy bools, corrupt JPEG data ----

TEST(HostileDicom, NumberOfFramesMustMatchTheStoredFrames) {
  const std::string g = generated();
  expect_error([&] { io::read_scan_file(g + "/frames_2_of_4.dcm"); }, g + "/frames_2_of_4.dcm", {"Number of Frames", "is 2", "holds 4 frames"});
  expect_error([&] { io::read_scan_file(g + "/frames_abc.dcm"); }, g + "/frames_abc.dcm", {"Number of Frames", "'abc'"});
  const io::Scan ok = io::read_scan_file(g + "/frames_4_of_4.dcm");
  EXPECT_EQ(ok.dims, (std::array<int64_t, 3>{4, 5, 4}));
}

TEST(HostileNpy, BoolArrayHoldingAByteOtherThanZeroOrOneIsRefused) {
  const std::string dir = test::scratch_dir("hostile_bool");
  npy::Array a;
  a.dtype = npy::DType::kBool;
  a.shape = {2, 3};
  a.data = {0, 1, 1, 0, 7, 1};
  npy::write(dir + "/bad.npy", a);
  expect_error([&] { npy::read(dir + "/bad.npy"); }, dir + "/bad.npy", {"byte 7", "element 4"});
  expect_error([&] { io::read_scan_file(dir + "/bad.npy"); }, dir + "/bad.npy", {"byte 7"});
  a.data[4] = 1;
  npy::write(dir + "/good.npy", a);
  EXPECT_EQ(io::read_scan_file(dir + "/good.npy").voxels[2 * 1 + 1], 1.0f);  // element (1, 1), column-major
}

TEST(HostileImages, BitFlippedJpegsThatLibjpegWarnsAboutAreErrors) {
  // Ten single-bit flips in the entropy-coded data: every one decodes when warnings are accepted
  // (libjpeg reports corrupt data as warnings, not errors); by default those it warns about are refused
  // with libjpeg's message, the others (a flipped coefficient is valid data) decode.
  const std::string g = generated();
  io::ReadOptions lax;
  lax.accept_corrupt_jpeg = true;
  int refused = 0;
  for (int k = 0; k < 10; ++k) {
    const std::string p = g + "/bitflip_" + std::to_string(k) + ".jpg";
    ASSERT_NO_THROW(io::read_jpeg(p, lax)) << p;
    try {
      io::read_scan_file(p);
    } catch (const Error& e) {
      ++refused;
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
      EXPECT_NE(e.reason().find("corrupt JPEG data (libjpeg: Corrupt JPEG data"), std::string::npos) << e.reason();
    }
  }
  EXPECT_GE(refused, 3);
  EXPECT_NO_THROW(io::read_scan_file(g + "/small.jpg"));
}

// ---- 10. DICOM without preamble; non-UTF-8 names in JSON ----

TEST(HostileDicom, FileWithoutPreambleIsReadLikePydicomReadsIt) {
  const std::string g = generated();
  for (const char* name : {"no_preamble.dcm", "no_meta.dcm"}) {
    SCOPED_TRACE(name);
    const io::Scan s = io::read_scan_file(g + "/" + name);
    test::expect_voxels_near(s, g + "/ref_ct_small.npy", 0, 1e-3);
  }
}

TEST(HostileFiles, NonUtf8FileNamesInAFolderGiveValidJson) {
  const std::string dir = test::scratch_dir("hostile_utf8");
  const float v[4] = {1, 2, 3, 4};
  npy::write(dir + "/caf\xe9.npy", npy::make_float32({2, 2}, v));
  write_bytes(dir + "/notes_\xff.txt", "not an image");
  const io::ReadReport r = io::read_path(dir);
  ASSERT_EQ(r.scans.size(), 1u);
  ASSERT_EQ(r.skipped.size(), 1u);
  std::string text;
  ASSERT_NO_THROW(text = io::describe_report(r).dump(2));
  EXPECT_NE(text.find("caf\\\\xe9.npy"), std::string::npos) << text;
  EXPECT_NE(text.find("notes_\\\\xff.txt"), std::string::npos) << text;
  std::string out;
  EXPECT_EQ(test::run_command(test::shell_quote(test::cli_path()) + " inspect " + test::shell_quote(dir), &out), 0) << out;
  EXPECT_NE(out.find("caf\\\\xe9.npy"), std::string::npos) << out;
}
