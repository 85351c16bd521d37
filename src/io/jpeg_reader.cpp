// JPEG through libjpeg (the same libjpeg-turbo Debian's PIL uses).
#include <cstdio>
// jpeglib.h needs FILE and size_t declared first.
#include <jerror.h>
#include <jpeglib.h>

#include <algorithm>
#include <climits>
#include <csetjmp>
#include <cstring>
#include <optional>

#include "io/image_reader.h"
#include "io/image_scan.h"
#include "util/error.h"
#include "util/input_budget.h"
#include "util/input_file.h"

namespace raddiag::io {

namespace {

struct JpegError {
  jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  char first_warning[JMSG_LENGTH_MAX];  // libjpeg's text for the first corrupt-data warning
  bool truncated;
};

void on_error(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegError*>(c->err);
  (*c->err->format_message)(c, e->message);
  longjmp(e->jump, 1);
}

void on_message(j_common_ptr c, int level) {
  auto* e = reinterpret_cast<JpegError*>(c->err);
  if (level < 0) {
    if (c->err->msg_code == JWRN_JPEG_EOF) e->truncated = true;
    if (c->err->num_warnings == 0) (*c->err->format_message)(c, e->first_warning);
    c->err->num_warnings++;
  }
}

struct JpegResult {
  std::vector<uint8_t> raw;
  JDIMENSION width = 0, height = 0;
  int channels = 0;
};

// Huffman-coded JPEG spends at least one bit on every 8x8 block, so a file of N bytes holds at most
// 512 N pixels; nothing so cheap bounds arithmetic coding, which only the memory budget limits.
constexpr double kMaxPixelsPerHuffmanByte = 512.0;

// State changed after setjmp lives in `r`, `cinfo`, `err` and `size_check`, owned by the caller;
// `size_check.refused` (instead of `err.message`) says why a declared size was refused.
struct SizeCheck {
  const std::string* path;
  std::size_t budget;
  std::optional<Error> refused;  // set when the header was refused for its size
};

bool decode(const std::string& bytes, SizeCheck& size_check, jpeg_decompress_struct& cinfo, JpegError& err, JpegResult& r) {
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  err.truncated = false;
  err.message[0] = 0;
  err.first_warning[0] = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  // libjpeg's own working memory (progressive coefficient buffers) stays within the budget too.
  cinfo.mem->max_memory_to_use = static_cast<long>(std::min<std::size_t>(size_check.budget, std::size_t(LONG_MAX)));
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    std::snprintf(err.message, sizeof err.message, "CMYK JPEG images are not supported");
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  // Decoded samples, their uint32 copy and the float32 voxels, all checked before any is allocated.
  const double pixels = double(cinfo.image_width) * double(cinfo.image_height);
  const double channels = cinfo.num_components == 1 ? 1.0 : 3.0;
  try {
    const std::string what = "the header's " + std::to_string(cinfo.image_width) + "x" + std::to_string(cinfo.image_height) + " image";
    if (!cinfo.arith_code) check_file_can_hold(*size_check.path, what, pixels, double(bytes.size()), kMaxPixelsPerHuffmanByte, "pixels");
    check_input_budget(*size_check.path, what, pixels * (channels * 5.0 + 4.0), size_check.budget);
  } catch (const Error& e) {
    size_check.refused = e;
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_start_decompress(&cinfo);
  r.width = cinfo.output_width;
  r.height = cinfo.output_height;
  r.channels = cinfo.output_components;
  const std::size_t stride = std::size_t(r.width) * r.channels;
  r.raw.resize(stride * r.height);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = r.raw.data() + std::size_t(cinfo.output_scanline) * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

}  // namespace

Scan read_jpeg(const std::string& path, const ReadOptions& options) {
  const std::string bytes = read_input_file(path, options.max_voxel_bytes);
  if (bytes.size() < 3 || static_cast<uint8_t>(bytes[0]) != 0xFF || static_cast<uint8_t>(bytes[1]) != 0xD8)
    throw Error(path, "not a JPEG file (no SOI marker)");
  jpeg_decompress_struct cinfo;
  JpegError err;
  JpegResult r;
  SizeCheck size_check{&path, options.max_voxel_bytes, std::nullopt};
  if (!decode(bytes, size_check, cinfo, err, r)) {
    if (size_check.refused) throw *size_check.refused;
    throw Error(path, std::string("invalid JPEG: ") + err.message);
  }
  if (err.truncated) throw Error(path, "truncated JPEG data");
  if (err.pub.num_warnings > 0 && !options.accept_corrupt_jpeg)
    throw Error(path, std::string("corrupt JPEG data (libjpeg: ") + err.first_warning + "; " + std::to_string(err.pub.num_warnings) +
                          " warning(s)); refused because the decoded pixels may be garbage");
  if (r.channels != 1 && r.channels != 3) throw Error(path, "unexpected JPEG component count " + std::to_string(r.channels));
  std::vector<uint32_t> samples(r.raw.begin(), r.raw.end());
  Scan s = detail::gray_image_scan(samples, r.height, r.width, r.channels, path, "jpeg",
                                   r.channels == 1 ? "uint8 gray" : "uint8 rgb");
  s.modality = options.modality;
  return s;
}

}  // namespace raddiag::io
