//===- Unicode.h - Unicode helpers of the tokenizer runtime -----*- C++ -*-===//
//
// UTF-8 decoding/encoding, general-category flags, simple lowercase, the
// first code point of a canonical decomposition (accent stripping) and the
// GPT-2 byte <-> code point map. Plain C++20: linked into emitted binaries.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_TOKENIZER_UNICODE_H
#define INGOT_RUNTIME_TOKENIZER_UNICODE_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ingot::tokenizer::unicode {

/// General-category class of a code point (one of the first seven bits) plus
/// the White_Space property. Unassigned code points have no category bit.
enum CategoryFlag : uint8_t {
  Number = 1,
  Letter = 2,
  Separator = 4,
  Mark = 8,
  Punctuation = 16,
  Symbol = 32,
  Control = 64,
  Whitespace = 128,
};
constexpr uint8_t kCategoryMask = 127;

uint8_t flags(uint32_t cp);
uint32_t toLower(uint32_t cp);
/// The first code point of the NFD decomposition of `cp` (cp itself if none).
uint32_t nfdFirst(uint32_t cp);

/// Length of the UTF-8 sequence a lead byte announces (1 for stray bytes).
size_t sequenceLength(unsigned char lead);

/// Decodes UTF-8; every byte of an invalid sequence becomes U+FFFD.
std::vector<uint32_t> decode(std::string_view utf8);
void append(std::string &out, uint32_t cp);
std::string encode(const std::vector<uint32_t> &cps, size_t begin, size_t end);

/// GPT-2's reversible byte -> printable code point map and its inverse
/// (returns -1 for code points outside the 256 images).
uint32_t byteToCodePoint(uint8_t byte);
int codePointToByte(uint32_t cp);

/// Number of bytes at the end of `bytes` that form an incomplete but so far
/// valid UTF-8 sequence (0 when the text ends on a code point boundary).
size_t incompleteSuffix(std::string_view bytes);

} // namespace ingot::tokenizer::unicode

#endif // INGOT_RUNTIME_TOKENIZER_UNICODE_H
