//===- Unicode.cpp - Unicode helpers of the tokenizer runtime -------------===//
#include "runtime/tokenizer/Unicode.h"

#include <algorithm>
#include <array>

namespace ingot::tokenizer::unicode {
namespace {

struct CategoryRange {
  uint32_t first;
  uint8_t flags;
};
struct CodePointPair {
  uint32_t from, to;
};

#include "runtime/tokenizer/UnicodeTables.inc"

template <size_t N>
uint32_t lookupPair(const CodePointPair (&table)[N], uint32_t cp) {
  auto it = std::lower_bound(
      std::begin(table), std::end(table), cp,
      [](const CodePointPair &p, uint32_t v) { return p.from < v; });
  return it != std::end(table) && it->from == cp ? it->to : cp;
}

struct ByteMap {
  std::array<uint32_t, 256> toCp{};
  std::array<int16_t, 512> toByte{}; // code points below 512 -> byte or -1
  ByteMap() {
    toByte.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable =
          (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      toCp[b] = printable ? static_cast<uint32_t>(b)
                          : static_cast<uint32_t>(256 + n++);
      toByte[toCp[b]] = static_cast<int16_t>(b);
    }
  }
};
const ByteMap &byteMap() {
  static const ByteMap map;
  return map;
}

} // namespace

uint8_t flags(uint32_t cp) {
  if (cp >= 0x110000)
    return 0;
  auto it = std::upper_bound(
      std::begin(kCategoryRanges), std::end(kCategoryRanges), cp,
      [](uint32_t v, const CategoryRange &r) { return v < r.first; });
  return (it - 1)->flags;
}

uint32_t toLower(uint32_t cp) { return lookupPair(kLowercase, cp); }
uint32_t nfdFirst(uint32_t cp) { return lookupPair(kNfdFirst, cp); }

size_t sequenceLength(unsigned char lead) {
  static const uint8_t lengths[16] = {1, 1, 1, 1, 1, 1, 1, 1,
                                      1, 1, 1, 1, 2, 2, 3, 4};
  return lengths[lead >> 4];
}

std::vector<uint32_t> decode(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  auto cont = [&](size_t k) {
    return i + k < s.size() &&
           (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(c);
      i += 1;
    } else if ((c & 0xE0) == 0xC0 && cont(1)) {
      out.push_back(((c & 0x1Fu) << 6) | (s[i + 1] & 0x3F));
      i += 2;
    } else if ((c & 0xF0) == 0xE0 && cont(1) && cont(2)) {
      out.push_back(((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) |
                    (s[i + 2] & 0x3F));
      i += 3;
    } else if ((c & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
      out.push_back(((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) |
                    ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3F));
      i += 4;
    } else {
      out.push_back(0xFFFD);
      i += 1;
    }
  }
  return out;
}

void append(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | ((cp >> 18) & 0x07)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode(const std::vector<uint32_t> &cps, size_t begin, size_t end) {
  std::string out;
  out.reserve(end - begin);
  for (size_t i = begin; i < end; ++i)
    append(out, cps[i]);
  return out;
}

uint32_t byteToCodePoint(uint8_t byte) { return byteMap().toCp[byte]; }

int codePointToByte(uint32_t cp) {
  return cp < 512 ? byteMap().toByte[cp] : -1;
}

size_t incompleteSuffix(std::string_view bytes) {
  // Walk back over at most three continuation bytes to the lead byte.
  size_t n = bytes.size();
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    unsigned char c = static_cast<unsigned char>(bytes[n - back]);
    if ((c & 0xC0) == 0x80)
      continue;
    if (c < 0x80)
      return 0;
    size_t need = (c & 0xE0) == 0xC0   ? 2
                  : (c & 0xF0) == 0xE0 ? 3
                  : (c & 0xF8) == 0xF0 ? 4
                                       : 0;
    return need > back ? back : 0;
  }
  return 0;
}

} // namespace ingot::tokenizer::unicode
