// PNG through libpng's classic API (the simplified API would apply gamma to 16-bit data).
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <optional>

#include "io/image_reader.h"
#include "io/image_scan.h"
#include "util/error.h"
#include "util/input_budget.h"
#include "util/input_file.h"

namespace raddiag::io {

namespace {

struct PngInput {
  const uint8_t* data;
  std::size_t size;
  std::size_t pos;
};

struct PngResult {
  std::vector<uint8_t> raw;        // decoded rows, 8- or 16-bit (host order) samples
  std::vector<png_bytep> rows;
  png_uint_32 width = 0, height = 0;
  int channels = 0, bit_depth = 0, color_type = 0, source_depth = 0;
  char message[256] = {0};
  std::optional<Error> refused;    // set when the header was refused for its size
};

void read_from_memory(png_structp png, png_bytep out, png_size_t n) {
  auto* in = static_cast<PngInput*>(png_get_io_ptr(png));
  if (in->size - in->pos < n) png_error(png, "truncated PNG data");
  std::memcpy(out, in->data + in->pos, n);
  in->pos += n;
}

void on_error(png_structp png, png_const_charp msg) {
  auto* r = static_cast<PngResult*>(png_get_error_ptr(png));
  std::snprintf(r->message, sizeof r->message, "%s", msg);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}

// All state that changes after setjmp lives in `r` or `in`, owned by the caller, so libpng's
// longjmp on a decoding error skips no destructor and leaves nothing indeterminate.
bool decode(PngInput& in, const std::string& path, std::size_t budget, PngResult& r) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_error, on_warning);
  if (!png) {
    std::snprintf(r.message, sizeof r.message, "out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    return false;
  }
  png_set_user_limits(png, 1u << 20, 1u << 20);
  // Ancillary chunks (zTXt, iCCP) are inflated by libpng itself: cap each, and their number.
  png_set_chunk_malloc_max(png, 16u << 20);
  png_set_chunk_cache_max(png, 1000);
  png_set_read_fn(png, &in, read_from_memory);
  png_read_info(png, info);
  r.width = png_get_image_width(png, info);
  r.height = png_get_image_height(png, info);
  r.color_type = png_get_color_type(png, info);
  r.source_depth = png_get_bit_depth(png, info);
  if (r.color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (r.color_type == PNG_COLOR_TYPE_GRAY && r.source_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (r.color_type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
  if (r.source_depth == 16) png_set_swap(png);
  // The stored (filtered, deflated) rows can be no more than deflate's maximal ratio times the file.
  const double stored_bytes = double(png_get_rowbytes(png, info)) * double(r.height);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  r.channels = png_get_channels(png, info);
  r.bit_depth = png_get_bit_depth(png, info);
  const std::size_t rowbytes = png_get_rowbytes(png, info);
  // Decoded rows, their uint32 copy and the float32 voxels, all checked before any is allocated.
  const double pixels = double(r.width) * double(r.height);
  try {
    const std::string what = "the header's " + std::to_string(r.width) + "x" + std::to_string(r.height) + " image";
    check_file_can_hold(path, what + " (its inflated rows)", stored_bytes, double(in.size), kMaxDeflateRatio);
    check_input_budget(path, what, double(rowbytes) * double(r.height) + pixels * r.channels * 4.0 + pixels * 4.0, budget);
  } catch (const Error& e) {
    r.refused = e;
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  if (r.width == 0 || r.height == 0) {
    std::snprintf(r.message, sizeof r.message, "image of %ux%u pixels", unsigned(r.width), unsigned(r.height));
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  r.raw.resize(rowbytes * r.height);
  r.rows.resize(r.height);
  for (png_uint_32 y = 0; y < r.height; ++y) r.rows[y] = r.raw.data() + y * rowbytes;
  png_read_image(png, r.rows.data());
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

}  // namespace

Scan read_png(const std::string& path, const ReadOptions& options) {
  const std::string bytes = read_input_file(path, options.max_voxel_bytes);
  if (bytes.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) != 0)
    throw Error(path, "not a PNG file (bad signature)");
  PngInput in{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 0};
  PngResult r;
  if (!decode(in, path, options.max_voxel_bytes, r)) {
    if (r.refused) throw *r.refused;
    throw Error(path, std::string("invalid PNG: ") + r.message);
  }
  if (r.channels != 1 && r.channels != 3) throw Error(path, "unexpected PNG channel count " + std::to_string(r.channels));
  const std::size_t n = std::size_t(r.width) * r.height * r.channels;
  std::vector<uint32_t> samples(n);
  if (r.bit_depth == 16) {
    for (std::size_t i = 0; i < n; ++i) {
      uint16_t v;
      std::memcpy(&v, r.raw.data() + 2 * i, 2);
      samples[i] = v;
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) samples[i] = r.raw[i];
  }
  std::string dtype = r.bit_depth == 16 ? "uint16" : "uint8";
  static const char* kinds[] = {"gray", "?", "rgb", "palette", "gray+alpha", "?", "rgba"};
  dtype += std::string(" ") + (r.color_type >= 0 && r.color_type <= 6 ? kinds[r.color_type] : "?");
  Scan s = detail::gray_image_scan(samples, r.height, r.width, r.channels, path, "png", dtype);
  s.modality = options.modality;
  return s;
}

}  // namespace raddiag::io
