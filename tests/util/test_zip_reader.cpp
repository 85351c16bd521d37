#include <gtest/gtest.h>

#include <zlib.h>

#include "util/error.h"
#include "util/zip_reader.h"

using namespace raddiag;

namespace {

void put16(std::string& s, uint16_t v) {
  for (int i = 0; i < 2; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}
void put32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}
void put64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}

struct Options {
  bool zip64_extra = false;  // sizes and offset only in the central ZIP64 extra field
  uint16_t method = 0;
  uint16_t flags = 0;
  std::string local_name;    // differs from the central name when set
  uint32_t crc_xor = 0;
};

// Builds ZIP images byte by byte from the APPNOTE layout, so that the reader is tested against the
// specification rather than against one writer. Options produce ZIP64 records and broken variants.
struct ZipBuilder {
  std::string body, central;
  uint16_t count = 0;

  void add(const std::string& name, const std::string& data, const Options& o = {}) {
    const uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(data.data()), data.size())) ^ o.crc_xor;
    const uint32_t offset = static_cast<uint32_t>(body.size());
    const std::string lname = o.local_name.empty() ? name : o.local_name;
    put32(body, 0x04034b50);
    put16(body, 20); put16(body, o.flags); put16(body, o.method); put16(body, 0); put16(body, 0);
    put32(body, crc); put32(body, data.size()); put32(body, data.size());
    put16(body, lname.size()); put16(body, 0);
    body += lname + data;
    put32(central, 0x02014b50);
    put16(central, 45); put16(central, 45); put16(central, o.flags); put16(central, o.method);
    put16(central, 0); put16(central, 0); put32(central, crc);
    const uint32_t sat = 0xFFFFFFFFu;
    put32(central, o.zip64_extra ? sat : data.size());
    put32(central, o.zip64_extra ? sat : data.size());
    put16(central, name.size()); put16(central, o.zip64_extra ? 28 : 0); put16(central, 0);
    put16(central, 0); put16(central, 0); put32(central, 0);
    put32(central, o.zip64_extra ? sat : offset);
    central += name;
    if (o.zip64_extra) {
      put16(central, 0x0001); put16(central, 24);
      put64(central, data.size()); put64(central, data.size()); put64(central, offset);
    }
    ++count;
  }

  std::string finish(bool zip64_end = false) const {
    std::string out = body + central;
    const uint64_t cd_offset = body.size(), cd_size = central.size();
    if (zip64_end) {
      const uint64_t rec = out.size();
      put32(out, 0x06064b50); put64(out, 44); put16(out, 45); put16(out, 45); put32(out, 0); put32(out, 0);
      put64(out, count); put64(out, count); put64(out, cd_size); put64(out, cd_offset);
      put32(out, 0x07064b50); put32(out, 0); put64(out, rec); put32(out, 1);
    }
    put32(out, 0x06054b50); put16(out, 0); put16(out, 0);
    put16(out, zip64_end ? 0xFFFF : count); put16(out, zip64_end ? 0xFFFF : count);
    put32(out, zip64_end ? 0xFFFFFFFFu : cd_size); put32(out, zip64_end ? 0xFFFFFFFFu : cd_offset);
    put16(out, 0);
    return out;
  }
};

std::string read_entry(const std::string& image, const std::string& name) {
  zip::Reader r(reinterpret_cast<const uint8_t*>(image.data()), image.size(), "t.zip");
  const zip::Entry* e = r.find(name);
  if (!e) return "<missing>";
  std::string scratch;
  return std::string(r.read(*e, scratch));
}

std::string error_of(const std::string& image, const std::string& name = "a/x") {
  try {
    read_entry(image, name);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("t.zip"), std::string::npos);
    return e.what();
  }
  ADD_FAILURE() << "accepted a broken archive";
  return "";
}

// `plain` as a raw deflate stream (ZIP method 8: no zlib header), at compression `level`.
void raw_deflate(const std::string& plain, int level, std::string* packed) {
  packed->assign(compressBound(plain.size()), '\0');
  z_stream zs{};
  ASSERT_EQ(deflateInit2(&zs, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  zs.avail_in = static_cast<uInt>(plain.size());
  zs.next_out = reinterpret_cast<Bytef*>(packed->data());
  zs.avail_out = static_cast<uInt>(packed->size());
  ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  packed->resize(zs.total_out);
  deflateEnd(&zs);
}

}  // namespace

TEST(ZipReader, ReadsPlainAndZip64Archives) {
  ZipBuilder b;
  b.add("a/x", "hello");
  b.add("a/y", "");
  b.add("a/z", std::string(1000, 'z'), {true});
  for (bool z64 : {false, true}) {
    const std::string img = b.finish(z64);
    EXPECT_EQ(read_entry(img, "a/x"), "hello");
    EXPECT_EQ(read_entry(img, "a/y"), "");
    EXPECT_EQ(read_entry(img, "a/z"), std::string(1000, 'z'));
    EXPECT_EQ(read_entry(img, "a/none"), "<missing>");
  }
}

TEST(ZipReader, ReadsDeflatedEntries) {
  const std::string plain(5000, 'q');
  std::string packed;
  ASSERT_NO_FATAL_FAILURE(raw_deflate(plain, 6, &packed));
  // Hand-patch a stored entry into a deflated one: method 8, compressed size != size.
  ZipBuilder b;
  b.add("a/x", packed, {false, 8});
  std::string img = b.finish();
  const uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(plain.data()), plain.size()));
  auto patch32 = [&](std::size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) img[at + i] = static_cast<char>(v >> (8 * i));
  };
  const std::size_t central = b.body.size();
  patch32(central + 16, crc);
  patch32(central + 24, plain.size());
  EXPECT_EQ(read_entry(img, "a/x"), plain);
  patch32(central + 24, plain.size() + 1);  // announces more than the stream holds
  EXPECT_NE(error_of(img).find("corrupt or truncated"), std::string::npos);
}

TEST(ZipReader, RejectsBrokenArchives) {
  ZipBuilder ok;
  ok.add("a/x", "hello");
  const std::string img = ok.finish();
  EXPECT_NE(error_of("").find("too short"), std::string::npos);
  EXPECT_NE(error_of(img.substr(0, img.size() - 1)).find("end-of-central-directory"), std::string::npos);
  EXPECT_NE(error_of(std::string(100, 'x') + img.substr(20)).find("t.zip"), std::string::npos);
  {
    ZipBuilder b;
    b.add("a/x", "1");
    b.add("a/x", "2");
    EXPECT_NE(error_of(b.finish()).find("duplicate"), std::string::npos);
  }
  {
    ZipBuilder b;
    b.add("a/x", "1", {false, 0, 1});
    EXPECT_NE(error_of(b.finish()).find("encrypted"), std::string::npos);
  }
  {
    ZipBuilder b;
    b.add("a/x", "1", {false, 12});
    EXPECT_NE(error_of(b.finish()).find("compression method 12"), std::string::npos);
  }
  {
    ZipBuilder b;
    b.add("a/x", "1", {false, 0, 0, "a/q"});
    EXPECT_NE(error_of(b.finish()).find("does not match"), std::string::npos);
  }
  {
    ZipBuilder b;
    b.add("a/x", "hello", {false, 0, 0, "", 1});
    EXPECT_NE(error_of(b.finish()).find("CRC-32"), std::string::npos);
  }
  {
    // Central directory offset beyond the file.
    std::string bad = img;
    bad[bad.size() - 6] = static_cast<char>(0x7f);
    EXPECT_NE(error_of(bad).find("outside the file"), std::string::npos);
  }
  {
    // Entry count larger than the central directory can hold.
    std::string bad = img;
    bad[bad.size() - 12] = static_cast<char>(0x40);
    EXPECT_NE(error_of(bad).find("more than it can hold"), std::string::npos);
  }
  // Cut anywhere: always a clean error.
  ZipBuilder b;
  b.add("a/x", "hello");
  b.add("a/z", std::string(300, 'z'), {true});
  const std::string z64 = b.finish(true);
  for (std::size_t n = 0; n < z64.size(); ++n) {
    EXPECT_THROW(
        {
          zip::Reader r(reinterpret_cast<const uint8_t*>(z64.data()), n, "t.zip");
          std::string s;
          for (const auto& e : r.entries()) r.read(e, s);
        },
        Error)
        << n;
  }
}

// Issue 18: checkpoints whose deflated records each expand to gigabytes. All entries read from one
// archive share one budget: base + ratio x the archive size, capped.
TEST(ZipReader, DeflatedEntriesShareOneInflationBudget) {
  const std::string plain(4 << 20, '\0');  // 4 MiB of zeros deflate to ~4 KB
  std::string packed;
  ASSERT_NO_FATAL_FAILURE(raw_deflate(plain, 9, &packed));
  ZipBuilder b;
  for (const char* name : {"a/0", "a/1", "a/2"}) b.add(name, packed, {false, 8});
  std::string img = b.finish();
  // Turn each stored-looking entry into a deflated one of the plain size (central directory fields).
  const uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(plain.data()), plain.size()));
  std::size_t at = b.body.size();
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 4; ++k) img[at + 16 + k] = static_cast<char>(crc >> (8 * k));
    for (int k = 0; k < 4; ++k) img[at + 24 + k] = static_cast<char>(uint32_t(plain.size()) >> (8 * k));
    at += 46 + 3;
  }
  zip::Limits limits;
  limits.max_inflated_base_bytes = 6 << 20;  // 6 MiB + 32 x ~12 KB: one entry fits, two do not
  zip::Reader r(reinterpret_cast<const uint8_t*>(img.data()), img.size(), "bomb.zip", limits);
  std::string scratch;
  EXPECT_EQ(r.read(*r.find("a/0"), scratch).size(), plain.size());
  try {
    r.read(*r.find("a/1"), scratch);
    ADD_FAILURE() << "second entry read beyond the budget";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bomb.zip"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("in total"), std::string::npos) << e.what();
  }
  // The absolute cap applies whatever the archive's size.
  limits.max_inflated_base_bytes = 1 << 30;
  limits.max_total_inflated_bytes = 1 << 20;
  zip::Reader capped(reinterpret_cast<const uint8_t*>(img.data()), img.size(), "bomb.zip", limits);
  EXPECT_THROW(capped.read(*capped.find("a/0"), scratch), Error);
  // Default limits: 64 MiB + 32 x the archive, so all three (12 MiB) are fine.
  zip::Reader plain_reader(reinterpret_cast<const uint8_t*>(img.data()), img.size(), "bomb.zip");
  for (const char* name : {"a/0", "a/1", "a/2"}) EXPECT_EQ(plain_reader.read(*plain_reader.find(name), scratch).size(), plain.size());
}
