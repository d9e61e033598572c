//===- Utf8.h - UTF-8 helpers for Python string semantics -------*- C++ -*-===//
//
// Python strings index, slice, measure and strip by code point; templates
// rely on that (`s[:-1]`, `|length`, `strip()` of Unicode spaces).
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CHAT_UTF8_H
#define INGOT_RUNTIME_CHAT_UTF8_H

#include <cstdint>
#include <string>
#include <string_view>

namespace ingot::chat {

void appendUtf8(std::string &out, uint32_t codePoint);
/// Decodes UTF-8 (invalid bytes become U+FFFD, one per byte).
std::u32string decodeUtf8(std::string_view text);
std::string encodeUtf8(std::u32string_view text);
/// Python's str.isspace() for one code point.
bool isPythonSpace(uint32_t codePoint);
/// Simple (one to one) Unicode case mappings for the Latin, Greek, Cyrillic,
/// Armenian and full-width letters; other code points map to themselves.
char32_t toUpperCodePoint(char32_t c);
char32_t toLowerCodePoint(char32_t c);
/// Number of code points.
size_t utf8Length(std::string_view text);

} // namespace ingot::chat

#endif // INGOT_RUNTIME_CHAT_UTF8_H
