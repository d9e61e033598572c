//===- GGMLTypes.cpp - ggml tensor element types --------------------------===//
#include "compiler/gguf/GGMLTypes.h"

#include "llvm/ADT/StringExtras.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace llvm;

namespace ingot::gguf {

namespace {

// Block sizes in bytes follow the struct layouts of ggml-common.h, e.g.
// block_q8_0 = {f16 d; int8 qs[32]} = 34 bytes for 32 values.
const GGMLTypeInfo typeTable[] = {
    {GGMLType::F32, "F32", 1, 4, true},
    {GGMLType::F16, "F16", 1, 2, true},
    {GGMLType::Q4_0, "Q4_0", 32, 18, true},
    {GGMLType::Q4_1, "Q4_1", 32, 20, true},
    {GGMLType::Q5_0, "Q5_0", 32, 22, true},
    {GGMLType::Q5_1, "Q5_1", 32, 24, true},
    {GGMLType::Q8_0, "Q8_0", 32, 34, true},
    {GGMLType::Q8_1, "Q8_1", 32, 36, false},
    {GGMLType::Q2_K, "Q2_K", 256, 84, false},
    {GGMLType::Q3_K, "Q3_K", 256, 110, false},
    {GGMLType::Q4_K, "Q4_K", 256, 144, true},
    {GGMLType::Q5_K, "Q5_K", 256, 176, true},
    {GGMLType::Q6_K, "Q6_K", 256, 210, true},
    {GGMLType::Q8_K, "Q8_K", 256, 292, false},
    {GGMLType::IQ2_XXS, "IQ2_XXS", 256, 66, false},
    {GGMLType::IQ2_XS, "IQ2_XS", 256, 74, false},
    {GGMLType::IQ3_XXS, "IQ3_XXS", 256, 98, false},
    {GGMLType::IQ1_S, "IQ1_S", 256, 50, false},
    {GGMLType::IQ4_NL, "IQ4_NL", 32, 18, false},
    {GGMLType::IQ3_S, "IQ3_S", 256, 110, false},
    {GGMLType::IQ2_S, "IQ2_S", 256, 82, false},
    {GGMLType::IQ4_XS, "IQ4_XS", 256, 136, false},
    {GGMLType::I8, "I8", 1, 1, false},
    {GGMLType::I16, "I16", 1, 2, false},
    {GGMLType::I32, "I32", 1, 4, false},
    {GGMLType::I64, "I64", 1, 8, false},
    {GGMLType::F64, "F64", 1, 8, false},
    {GGMLType::IQ1_M, "IQ1_M", 256, 56, false},
    {GGMLType::BF16, "BF16", 1, 2, true},
    {GGMLType::TQ1_0, "TQ1_0", 256, 54, false},
    {GGMLType::TQ2_0, "TQ2_0", 256, 66, false},
    {GGMLType::MXFP4, "MXFP4", 32, 17, false},
};

uint16_t readU16(const uint8_t *p) { return p[0] | (p[1] << 8); }
float readHalf(const uint8_t *p) { return halfToFloat(readU16(p)); }

void dequantQ4_0(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += 18, dst += 32) {
    float d = readHalf(src);
    const uint8_t *qs = src + 2;
    for (int j = 0; j < 16; ++j) {
      dst[j] = ((qs[j] & 0xF) - 8) * d;
      dst[j + 16] = ((qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantQ4_1(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += 20, dst += 32) {
    float d = readHalf(src), m = readHalf(src + 2);
    const uint8_t *qs = src + 4;
    for (int j = 0; j < 16; ++j) {
      dst[j] = (qs[j] & 0xF) * d + m;
      dst[j + 16] = (qs[j] >> 4) * d + m;
    }
  }
}

// Q5_0/Q5_1: the fifth bit of value j is bit j of the 32-bit qh word.
void dequantQ5(const uint8_t *src, float *dst, int64_t n, bool withMin) {
  const int bytes = withMin ? 24 : 22;
  for (int64_t b = 0; b < n / 32; ++b, src += bytes, dst += 32) {
    float d = readHalf(src);
    float m = withMin ? readHalf(src + 2) : 0.0f;
    const uint8_t *qhp = src + (withMin ? 4 : 2);
    uint32_t qh = qhp[0] | (qhp[1] << 8) | (qhp[2] << 16) |
                  (static_cast<uint32_t>(qhp[3]) << 24);
    const uint8_t *qs = qhp + 4;
    for (int j = 0; j < 16; ++j) {
      int lo = (qs[j] & 0xF) | (((qh >> j) & 1) << 4);
      int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      if (withMin) {
        dst[j] = lo * d + m;
        dst[j + 16] = hi * d + m;
      } else {
        dst[j] = (lo - 16) * d;
        dst[j + 16] = (hi - 16) * d;
      }
    }
  }
}

void dequantQ8_0(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += 34, dst += 32) {
    float d = readHalf(src);
    const int8_t *qs = reinterpret_cast<const int8_t *>(src + 2);
    for (int j = 0; j < 32; ++j)
      dst[j] = qs[j] * d;
  }
}

// The 6-bit scale and min of sub-block j of a Q4_K/Q5_K super-block, packed
// into 12 bytes as ggml's get_scale_min_k4 describes.
void scaleMinK4(int j, const uint8_t *q, uint8_t &sc, uint8_t &m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q4_K block: {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}.
void dequantQ4_K(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t b = 0; b < n / 256; ++b, src += 144) {
    float d = readHalf(src), dmin = readHalf(src + 2);
    const uint8_t *scales = src + 4;
    const uint8_t *q = src + 16;
    for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
      uint8_t sc, m;
      scaleMinK4(is, scales, sc, m);
      float d1 = d * sc, m1 = dmin * m;
      scaleMinK4(is + 1, scales, sc, m);
      float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l)
        *dst++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l)
        *dst++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

// Q5_K block: {f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}.
void dequantQ5_K(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t b = 0; b < n / 256; ++b, src += 176) {
    float d = readHalf(src), dmin = readHalf(src + 2);
    const uint8_t *scales = src + 4;
    const uint8_t *qh = src + 16;
    const uint8_t *ql = src + 48;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0, is = 0; j < 256; j += 64, is += 2, ql += 32) {
      uint8_t sc, m;
      scaleMinK4(is, scales, sc, m);
      float d1 = d * sc, m1 = dmin * m;
      scaleMinK4(is + 1, scales, sc, m);
      float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l)
        *dst++ = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l)
        *dst++ = d2 * ((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
      u1 <<= 2;
      u2 <<= 2;
    }
  }
}

// Q6_K block: {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}.
void dequantQ6_K(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t b = 0; b < n / 256; ++b, src += 210) {
    const uint8_t *ql = src;
    const uint8_t *qh = src + 128;
    const int8_t *sc = reinterpret_cast<const int8_t *>(src + 192);
    float d = readHalf(src + 208);
    for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8) {
      float *y = dst + 128 * half;
      for (int l = 0; l < 32; ++l) {
        int is = l / 16;
        int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
    }
    dst += 256;
  }
}

} // namespace

const GGMLTypeInfo *lookupType(uint32_t rawType) {
  for (const GGMLTypeInfo &info : typeTable)
    if (static_cast<uint32_t>(info.type) == rawType)
      return &info;
  return nullptr;
}

std::optional<GGMLType> parseTypeName(StringRef name) {
  for (const GGMLTypeInfo &info : typeTable)
    if (name.equals_insensitive(info.name))
      return info.type;
  return std::nullopt;
}

std::optional<uint64_t> rowBytes(GGMLType type, uint64_t elements) {
  const GGMLTypeInfo &info = getTypeInfo(type);
  if (elements % info.blockElements)
    return std::nullopt;
  uint64_t blocks = elements / info.blockElements;
  uint64_t bytes;
  if (__builtin_mul_overflow(blocks, info.blockBytes, &bytes))
    return std::nullopt;
  return bytes;
}

void dequantizeRow(GGMLType type, const void *srcVoid, float *dst,
                   int64_t n) {
  if (n <= 0) // empty tensors are legal; their pointers may be null
    return;
  const uint8_t *src = static_cast<const uint8_t *>(srcVoid);
  switch (type) {
  case GGMLType::F32:
    std::memcpy(dst, src, n * sizeof(float));
    return;
  case GGMLType::F16:
    for (int64_t i = 0; i < n; ++i)
      dst[i] = readHalf(src + 2 * i);
    return;
  case GGMLType::BF16:
    for (int64_t i = 0; i < n; ++i)
      dst[i] = bf16ToFloat(readU16(src + 2 * i));
    return;
  case GGMLType::Q4_0:
    return dequantQ4_0(src, dst, n);
  case GGMLType::Q4_1:
    return dequantQ4_1(src, dst, n);
  case GGMLType::Q5_0:
    return dequantQ5(src, dst, n, /*withMin=*/false);
  case GGMLType::Q5_1:
    return dequantQ5(src, dst, n, /*withMin=*/true);
  case GGMLType::Q8_0:
    return dequantQ8_0(src, dst, n);
  case GGMLType::Q4_K:
    return dequantQ4_K(src, dst, n);
  case GGMLType::Q5_K:
    return dequantQ5_K(src, dst, n);
  case GGMLType::Q6_K:
    return dequantQ6_K(src, dst, n);
  default:
    llvm_unreachable("dequantizeRow: type without dequantization");
  }
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
      dst[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(roundf(src[j] * id)));
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
      int lo = std::min(15, static_cast<int>(static_cast<int8_t>(src[j] * id + 8.5f)));
      int hi = std::min(15, static_cast<int>(static_cast<int8_t>(src[j + 16] * id + 8.5f)));
      dst[2 + j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FF;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {
      // Subnormal half: normalise into an f32 exponent.
      int shift = 0;
      while (!(mantissa & 0x400)) {
        mantissa <<= 1;
        ++shift;
      }
      mantissa &= 0x3FF;
      bits = sign | ((127 - 15 + 1 - shift) << 23) | (mantissa << 13);
    }
  } else if (exponent == 0x1F) {
    bits = sign | 0x7F800000 | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

uint16_t floatToHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  uint32_t sign = (bits >> 16) & 0x8000;
  uint32_t absBits = bits & 0x7FFFFFFF;
  if (absBits > 0x7F800000) // NaN: keep it a quiet NaN
    return static_cast<uint16_t>(sign | 0x7E00);
  if (absBits >= 0x477FF000) // rounds to or beyond 65520: infinity
    return static_cast<uint16_t>(sign | 0x7C00);
  if (absBits < 0x38800000) {
    // Result is subnormal (or zero): round to nearest even at 2^-24.
    if (absBits < 0x33000000)
      return static_cast<uint16_t>(sign);
    uint32_t mantissa = (absBits & 0x7FFFFF) | 0x800000;
    int shift = 126 - static_cast<int>(absBits >> 23); // 14..24
    uint32_t halfMant = mantissa >> shift;
    uint32_t rest = mantissa & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (halfMant & 1)))
      ++halfMant;
    return static_cast<uint16_t>(sign | halfMant);
  }
  // Normal: rebias the exponent and round the mantissa to nearest even.
  uint32_t rounded = absBits + 0xFFF + ((absBits >> 13) & 1);
  return static_cast<uint16_t>(sign | ((rounded - 0x38000000) >> 13));
}

uint16_t floatToBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7FFFFFFF) > 0x7F800000)
    return static_cast<uint16_t>((bits >> 16) | 64); // quiet NaN
  return static_cast<uint16_t>((bits + (0x7FFF + ((bits >> 16) & 1))) >> 16);
}

} // namespace ingot::gguf
