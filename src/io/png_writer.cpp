#include "io/png_writer.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>

#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::io {

namespace {

struct PngOutput {
  std::string bytes;
  char message[256] = {0};
};

void write_to_memory(png_structp png, png_bytep data, png_size_t n) {
  static_cast<PngOutput*>(png_get_io_ptr(png))->bytes.append(reinterpret_cast<const char*>(data), n);
}
void flush_memory(png_structp) {}
void on_error(png_structp png, png_const_charp msg) {
  std::snprintf(static_cast<PngOutput*>(png_get_error_ptr(png))->message, 256, "%s", msg);
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

// Encodes into `out`; false (with out.message) on a libpng error. No C++ objects with destructors
// live in this frame, so the longjmp is safe.
bool encode(PngOutput& out, const uint8_t* pixels, png_uint_32 height, png_uint_32 width, int channels,
            png_bytep* rows) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &out, on_error, on_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info ? &info : nullptr);
    return false;
  }
  png_set_write_fn(png, &out, write_to_memory, flush_memory);
  png_set_IHDR(png, info, width, height, 8, channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  for (png_uint_32 r = 0; r < height; ++r)
    rows[r] = const_cast<png_bytep>(pixels + static_cast<std::size_t>(r) * width * static_cast<std::size_t>(channels));
  png_set_rows(png, info, rows);
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

void write_png(const std::string& path, const std::vector<uint8_t>& pixels, int64_t height, int64_t width, int channels) {
  if (channels != 1 && channels != 3) throw Error(path, "PNG output supports 1 or 3 channels");
  if (height <= 0 || width <= 0 || height > (1 << 24) || width > (1 << 24))
    throw Error(path, "bad PNG size " + std::to_string(height) + "x" + std::to_string(width));
  if (pixels.size() != static_cast<std::size_t>(height * width * channels))
    throw Error(path, "pixel buffer does not match the PNG size");
  PngOutput out;
  std::vector<png_bytep> rows(static_cast<std::size_t>(height));
  if (!encode(out, pixels.data(), static_cast<png_uint_32>(height), static_cast<png_uint_32>(width), channels, rows.data()))
    throw Error(path, std::string("cannot encode PNG: ") + out.message);
  write_bytes_atomically(path, out.bytes);
}

}  // namespace raddiag::io
