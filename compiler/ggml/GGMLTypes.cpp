//===- GGMLTypes.cpp - Type names and the reference quantizers -----------===//
#include "compiler/ggml/GGMLTypes.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ingot::ggml {

std::optional<Type> parseTypeName(std::string_view name) {
  auto lower = [](char c) {
    return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
  };
  for (const TypeInfo &info : kTypeTable) {
    std::string_view candidate = info.name;
    if (candidate.size() == name.size() &&
        std::equal(name.begin(), name.end(), candidate.begin(),
                   [&](char a, char b) { return lower(a) == lower(b); }))
      return info.type;
  }
  return std::nullopt;
}

void quantizeRowQ8_0(const float *src, void *dstVoid, int64_t n) {
  uint8_t *dst = static_cast<uint8_t *>(dstVoid);
  for (int64_t b = 0; b < n / 32; ++b, src += 32, dst += 34) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(src[j]));
    float d = amax / 127.0f;
    float id = d ? 1.0f / d : 0.0f;
    uint16_t h = floatToHalf(d);
    dst[0] = h & 0xFF;
    dst[1] = h >> 8;
    for (int j = 0; j < 32; ++j)
      dst[2 + j] =
          static_cast<uint8_t>(static_cast<int8_t>(roundf(src[j] * id)));
  }
}

void quantizeRowQ4_0(const float *src, void *dstVoid, int64_t n) {
  uint8_t *dst = static_cast<uint8_t *>(dstVoid);
  for (int64_t b = 0; b < n / 32; ++b, src += 32, dst += 18) {
    // The value of largest magnitude, with its sign, maps to -8.
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; ++j)
      if (std::fabs(src[j]) > amax) {
        amax = std::fabs(src[j]);
        max = src[j];
      }
    float d = max / -8.0f;
    float id = d ? 1.0f / d : 0.0f;
    uint16_t h = floatToHalf(d);
    dst[0] = h & 0xFF;
    dst[1] = h >> 8;
    for (int j = 0; j < 16; ++j) {
      int lo = std::min(
          15, static_cast<int>(static_cast<int8_t>(src[j] * id + 8.5f)));
      int hi = std::min(
          15, static_cast<int>(static_cast<int8_t>(src[j + 16] * id + 8.5f)));
      dst[2 + j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

} // namespace ingot::ggml
