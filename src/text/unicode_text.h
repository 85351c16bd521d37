#pragma once
// The small part of Unicode a BERT/MPNet tokeniser needs, without ICU: UTF-8 decoding/encoding and
// character classes (punctuation, control, whitespace, CJK, combining marks), lower-casing and accent
// stripping (the base letter left after NFD and dropping non-spacing marks).
//
// Tables were generated from Python's unicodedata (Unicode 14.0). Coverage and known limits:
// * punctuation / control (all C* categories, unassigned included) / space / combining-mark classes:
//   the whole code space, as of Unicode 14.0 (later assignments still count as unassigned);
// * lower-casing: ASCII, Latin-1 Supplement, Latin Extended-A/B, IPA, Greek, Cyrillic (U+00C0-U+052F,
//   single-code-point mappings only; U+0130 'İ' lower-cases to plain 'i' instead of Python's "i̇");
// * accent stripping: Latin-1 Supplement, Latin Extended-A/B, Greek, Cyrillic, Latin Extended
//   Additional (U+1E00-U+1EFF), plus dropping every combining mark; other decomposable characters
//   (e.g. Hangul syllables, which NFD splits into jamo) are kept as they are.
// This covers the disorder names and ICD-10 descriptions the project encodes ("Ménétrier disease").
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace raddiag::text {

// Decodes UTF-8; each invalid or truncated sequence becomes U+FFFD (which the tokeniser removes).
std::u32string utf8_decode(std::string_view s);
std::string utf8_encode(std::u32string_view s);
std::string utf8_encode(char32_t c);

bool is_punctuation(char32_t c);     // ASCII symbols (BERT's rule) or any Unicode P* category
bool is_control(char32_t c);         // any C* category (Cc, Cf, Cn, Co, Cs) except \t \n \r
bool is_whitespace(char32_t c);      // space, \t, \n, \r or category Zs
bool is_cjk(char32_t c);             // CJK Unified Ideographs blocks, as BERT defines them
bool is_combining_mark(char32_t c);  // category Mn

char32_t to_lower(char32_t c);
// Base character after NFD with marks dropped; returns 0 when `c` itself is a combining mark.
char32_t strip_accent(char32_t c);

}  // namespace raddiag::text
