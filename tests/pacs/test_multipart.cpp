// The multipart reader against bodies built by hand: every split of the input into two chunks gives the
// same parts, and malformed, truncated or oversized bodies are errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pacs/multipart.h"
#include "util/error.h"

namespace raddiag::pacs {
namespace {

struct Parsed {
  std::vector<PartHeaders> headers;
  std::vector<std::string> bodies;
};

Parsed parse(const std::string& boundary, const std::vector<std::string>& chunks, MultipartLimits limits = {}) {
  Parsed p;
  MultipartReader::Callbacks cb;
  cb.begin = [&](size_t, const PartHeaders& h) {
    p.headers.push_back(h);
    p.bodies.emplace_back();
  };
  cb.data = [&](const char* d, size_t n) { p.bodies.back().append(d, n); };
  MultipartReader r(boundary, limits, cb, "test body");
  for (const auto& c : chunks) r.feed(c.data(), c.size());
  r.finish();
  return p;
}

// Binary payloads that contain CRLF, dashes and a near-boundary ("--abc" without the CRLF before it).
const std::string kPart1 = std::string("DICM\0\r\n--ab\r\n-", 14) + "--abc";
const std::string kPart2 = "\r\n\r\nsecond\r\n";
const std::string kBody = "preamble to ignore\r\n--abc\r\nContent-Type: application/dicom\r\nX-Extra:  v \r\n\r\n" + kPart1 +
                          "\r\n--abc  \r\ncontent-type: application/dicom\r\n\r\n" + kPart2 + "\r\n--abc--\r\nepilogue";

TEST(Multipart, ContentTypeParametersAndBoundary) {
  ContentType ct = parse_content_type("Multipart/Related; type=\"application/dicom\"; boundary=\"a b;c\"");
  EXPECT_EQ(ct.media_type, "multipart/related");
  EXPECT_EQ(ct.params["type"], "application/dicom");
  EXPECT_EQ(ct.params["boundary"], "a b;c");
  EXPECT_EQ(multipart_boundary("multipart/related; boundary=xyz; type=application/dicom", "t"), "xyz");
  EXPECT_THROW(multipart_boundary("application/dicom", "t"), Error);
  EXPECT_THROW(multipart_boundary("multipart/related; type=application/dicom", "t"), Error);
  EXPECT_THROW(multipart_boundary("multipart/related; boundary=" + std::string(71, 'x'), "t"), Error);
}

TEST(Multipart, SameResultForEverySplitOfTheBody) {
  for (size_t cut = 0; cut <= kBody.size(); ++cut) {
    Parsed p = parse("abc", {kBody.substr(0, cut), kBody.substr(cut)});
    ASSERT_EQ(p.bodies.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(p.bodies[0], kPart1) << "cut at " << cut;
    EXPECT_EQ(p.bodies[1], kPart2) << "cut at " << cut;
    EXPECT_EQ(p.headers[0].at("content-type"), "application/dicom");
    EXPECT_EQ(p.headers[0].at("x-extra"), "v");
  }
  // One byte at a time.
  std::vector<std::string> bytes;
  for (char c : kBody) bytes.emplace_back(1, c);
  Parsed p = parse("abc", bytes);
  ASSERT_EQ(p.bodies.size(), 2u);
  EXPECT_EQ(p.bodies[0], kPart1);
}

TEST(Multipart, BodyStartingWithTheDelimiterAndEmptyHeaders) {
  Parsed p = parse("b", {"--b\r\n\r\nxyz\r\n--b--"});
  ASSERT_EQ(p.bodies.size(), 1u);
  EXPECT_EQ(p.bodies[0], "xyz");
  EXPECT_TRUE(p.headers[0].empty());
}

TEST(Multipart, TruncatedBodiesAreErrors) {
  // Cut anywhere before the closing delimiter is complete.
  size_t close = kBody.find("\r\n--abc--");
  for (size_t cut : {size_t(0), size_t(10), kBody.size() / 2, close, close + 6}) {
    try {
      parse("abc", {kBody.substr(0, cut)});
      ADD_FAILURE() << "no error for a body cut at " << cut;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("test body"), std::string::npos) << e.what();
    }
  }
}

TEST(Multipart, MalformedBodiesAreErrors) {
  EXPECT_THROW(parse("b", {"--b\r\nno colon here\r\n\r\nx\r\n--b--"}), Error);
  EXPECT_THROW(parse("b", {"--bXX\r\n\r\nx\r\n--b--"}), Error);  // boundary followed by junk
  EXPECT_THROW(parse("b", {std::string(40000, 'x')}), Error);    // no opening boundary in sight
}

TEST(Multipart, LimitsAreEnforced) {
  MultipartLimits few_parts;
  few_parts.max_parts = 1;
  EXPECT_THROW(parse("abc", {kBody}, few_parts), Error);
  MultipartLimits few_bytes;
  few_bytes.max_total_bytes = kBody.size() - 1;
  EXPECT_THROW(parse("abc", {kBody}, few_bytes), Error);
  MultipartLimits short_headers;
  short_headers.max_header_bytes = 16;
  EXPECT_THROW(parse("b", {"--b\r\nContent-Type: application/dicom\r\n\r\nx\r\n--b--"}, short_headers), Error);
  few_bytes.max_total_bytes = kBody.size();
  EXPECT_NO_THROW(parse("abc", {kBody}, few_bytes));
}

}  // namespace
}  // namespace raddiag::pacs
