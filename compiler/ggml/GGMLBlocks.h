//===- GGMLBlocks.h - ggml's block formats, decoded -------------*- C++ -*-===//
//
// The half/bfloat conversions and the block decoders of every type Ingot
// reads, in ggml's arithmetic (ggml-quants.c, dequantize_row_*). Header only
// and free of LLVM and the C++ library, because two sides use it: the
// compiler (GGUF reader, interpreter, packer) and the op library, which is
// compiled to bitcode and runs inside every emitted binary. The type table
// (GGMLTypes.h) says which decoder reads which type.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_GGML_GGMLBLOCKS_H
#define INGOT_GGML_GGMLBLOCKS_H

#include <stdint.h>
#include <string.h>

namespace ingot::ggml {

/// The bits of a float, and the float of some bits.
inline uint32_t floatBits(float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof(bits));
  return bits;
}
inline float bitsFloat(uint32_t bits) {
  float value;
  memcpy(&value, &bits, sizeof(value));
  return value;
}

/// IEEE half to float (exact).
inline float halfToFloat(uint16_t h) {
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
  return bitsFloat(bits);
}

/// Float to IEEE half, rounding to nearest even (as F16C's vcvtps2ph).
inline uint16_t floatToHalf(float value) {
  uint32_t bits = floatBits(value);
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

/// bfloat16 to float (exact: the top half of the float's bits).
inline float bf16ToFloat(uint16_t h) {
  return bitsFloat(static_cast<uint32_t>(h) << 16);
}

/// Float to bfloat16, rounding to nearest even (NaN kept quiet).
inline uint16_t floatToBf16(float value) {
  uint32_t bits = floatBits(value);
  if ((bits & 0x7FFFFFFF) > 0x7F800000)
    return static_cast<uint16_t>((bits >> 16) | 64); // quiet NaN
  return static_cast<uint16_t>((bits + (0x7FFF + ((bits >> 16) & 1))) >> 16);
}

inline uint16_t loadU16(const uint8_t *p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
inline float loadHalf(const uint8_t *p) { return halfToFloat(loadU16(p)); }

/// The 6-bit scale and min of sub-block j of a Q4_K/Q5_K super-block, packed
/// into 12 bytes as ggml's get_scale_min_k4 describes.
inline void scaleMinK4(int j, const uint8_t *q, uint8_t &sc, uint8_t &m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// The decoders below convert `n` values (a whole number of blocks) from
// `src` to f32 in `dst`; the type table (GGMLTypes.h) names them.

inline void dequantizeF32(const uint8_t *src, float *dst, int64_t n) {
  if (n > 0) // an empty tensor's pointer may be null
    memcpy(dst, src, n * sizeof(float));
}

inline void dequantizeF16(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    dst[i] = loadHalf(src + 2 * i);
}

inline void dequantizeBF16(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    dst[i] = bf16ToFloat(loadU16(src + 2 * i));
}

/// {f16 d; u8 qs[16]}
inline void dequantizeQ4_0(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += 18, dst += 32) {
    float d = loadHalf(src);
    const uint8_t *qs = src + 2;
    for (int j = 0; j < 16; ++j) {
      dst[j] = ((qs[j] & 0xF) - 8) * d;
      dst[j + 16] = ((qs[j] >> 4) - 8) * d;
    }
  }
}

/// {f16 d; f16 m; u8 qs[16]}
inline void dequantizeQ4_1(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += 20, dst += 32) {
    float d = loadHalf(src), m = loadHalf(src + 2);
    const uint8_t *qs = src + 4;
    for (int j = 0; j < 16; ++j) {
      dst[j] = (qs[j] & 0xF) * d + m;
      dst[j + 16] = (qs[j] >> 4) * d + m;
    }
  }
}

/// {f16 d; (Q5_1: f16 m;) u8 qh[4]; u8 qs[16]}: the fifth bit of value j is
/// bit j of the 32-bit qh word.
template <bool withMin>
inline void dequantizeQ5(const uint8_t *src, float *dst, int64_t n) {
  const int bytes = withMin ? 24 : 22;
  for (int64_t b = 0; b < n / 32; ++b, src += bytes, dst += 32) {
    float d = loadHalf(src);
    float m = withMin ? loadHalf(src + 2) : 0.0f;
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

/// {f16 d; i8 qs[32]}
inline void dequantizeQ8_0(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += 34, dst += 32) {
    float d = loadHalf(src);
    const int8_t *qs = reinterpret_cast<const int8_t *>(src + 2);
    for (int j = 0; j < 32; ++j)
      dst[j] = qs[j] * d;
  }
}

/// {f16 d; f16 dmin; u8 scales[12]; (Q5_K: u8 qh[32];) u8 qs[128]}
template <bool five>
inline void dequantizeQ45_K(const uint8_t *src, float *dst, int64_t n) {
  const int bytes = five ? 176 : 144;
  for (int64_t b = 0; b < n / 256; ++b, src += bytes) {
    float d = loadHalf(src), dmin = loadHalf(src + 2);
    const uint8_t *scales = src + 4;
    const uint8_t *qh = src + 16;
    const uint8_t *q = src + (five ? 48 : 16);
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
      uint8_t sc, m;
      scaleMinK4(is, scales, sc, m);
      float d1 = d * sc, m1 = dmin * m;
      scaleMinK4(is + 1, scales, sc, m);
      float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l)
        *dst++ = d1 * ((q[l] & 0xF) + (five && (qh[l] & u1) ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l)
        *dst++ = d2 * ((q[l] >> 4) + (five && (qh[l] & u2) ? 16 : 0)) - m2;
      u1 <<= 2;
      u2 <<= 2;
    }
  }
}

/// {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}
inline void dequantizeQ6_K(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t b = 0; b < n / 256; ++b, src += 210, dst += 256) {
    const uint8_t *ql = src;
    const uint8_t *qh = src + 128;
    const int8_t *sc = reinterpret_cast<const int8_t *>(src + 192);
    float d = loadHalf(src + 208);
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
  }
}

/// {u8 scales[16]; u8 qs[64]; f16 d; f16 dmin}: 16 sub-blocks of 16 values;
/// scales[i] holds sub-block i's 4-bit scale (low nibble) and 4-bit min
/// (high nibble). Each qs byte holds four 2-bit quants: bits 2j..2j+1 of
/// qs[32h + l] belong to value 128h + 32j + l.
inline void dequantizeQ2_K(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t b = 0; b < n / 256; ++b, src += 84) {
    const uint8_t *scales = src;
    const uint8_t *q = src + 16;
    float d = loadHalf(src + 80), dmin = loadHalf(src + 82);
    int is = 0;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part) {
          uint8_t sc = scales[is++];
          float dl = d * (sc & 0xF), ml = dmin * (sc >> 4);
          for (int l = 16 * part; l < 16 * part + 16; ++l)
            *dst++ = dl * ((q[l] >> shift) & 3) - ml;
        }
      }
    }
  }
}

/// The 6-bit scale (0..63, used minus 32) of sub-block i of a Q3_K
/// super-block: low 4 bits from a nibble of bytes 0..7 (low nibbles for
/// i < 8, high ones for i >= 8), high 2 bits from byte 8 + i % 4 at bit
/// 2 * (i / 4).
inline int scaleQ3_K(int i, const uint8_t *scales) {
  int low = i < 8 ? scales[i] & 0xF : scales[i - 8] >> 4;
  int high = (scales[8 + i % 4] >> (2 * (i / 4))) & 3;
  return low | (high << 4);
}

/// {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}: 16 sub-blocks of 16
/// values. Value 128h + 32j + l has its low 2 bits at bits 2j..2j+1 of
/// qs[32h + l] and its high bit at bit 4h + j of hmask[l]; a clear high bit
/// subtracts 4 (quants -4..3).
inline void dequantizeQ3_K(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t b = 0; b < n / 256; ++b, src += 110) {
    const uint8_t *hmask = src;
    const uint8_t *q = src + 32;
    const uint8_t *scales = src + 96;
    float d = loadHalf(src + 108);
    int is = 0;
    uint8_t m = 1;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (int part = 0; part < 2; ++part) {
          float dl = d * (scaleQ3_K(is++, scales) - 32);
          for (int l = 16 * part; l < 16 * part + 16; ++l)
            *dst++ = dl * (((q[l] >> shift) & 3) - ((hmask[l] & m) ? 0 : 4));
        }
      }
    }
  }
}

/// The 16 non-linear levels an IQ4_NL / IQ4_XS 4-bit index selects
/// (ggml-common.h, kvalues_iq4nl).
inline constexpr int8_t kIQ4NLValues[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/// {f16 d; u8 qs[16]}: as Q4_0 (low nibbles values 0..15, high 16..31), the
/// nibble selecting a level of kIQ4NLValues.
inline void dequantizeIQ4_NL(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += 18, dst += 32) {
    float d = loadHalf(src);
    const uint8_t *qs = src + 2;
    for (int j = 0; j < 16; ++j) {
      dst[j] = d * kIQ4NLValues[qs[j] & 0xF];
      dst[j + 16] = d * kIQ4NLValues[qs[j] >> 4];
    }
  }
}

/// {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]}: 8 sub-blocks of 32,
/// each laid out as an IQ4_NL block, with a 6-bit scale (used minus 32):
/// low 4 bits the nibble ib % 2 of scales_l[ib / 2], high 2 bits at bit
/// 2 * ib of scales_h.
inline void dequantizeIQ4_XS(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t b = 0; b < n / 256; ++b, src += 136) {
    float d = loadHalf(src);
    uint16_t scalesHigh = loadU16(src + 2);
    const uint8_t *scalesLow = src + 4;
    const uint8_t *qs = src + 8;
    for (int ib = 0; ib < 8; ++ib, qs += 16, dst += 32) {
      int ls = ((scalesLow[ib / 2] >> (4 * (ib % 2))) & 0xF) |
               (((scalesHigh >> (2 * ib)) & 3) << 4);
      float dl = d * (ls - 32);
      for (int j = 0; j < 16; ++j) {
        dst[j] = dl * kIQ4NLValues[qs[j] & 0xF];
        dst[j + 16] = dl * kIQ4NLValues[qs[j] >> 4];
      }
    }
  }
}

} // namespace ingot::ggml

#endif // INGOT_GGML_GGMLBLOCKS_H
