//===- Activations.h - Activation rows in the kernels' layout ----*- C++ -*-===//
//
// Plain C++ (no intrinsics, header-only) preparation of activation rows for
// the generated matmul kernels (Kernels.h): once per matmul, per token.
//   Q8_0 / Q4_0 weights: K int8 quants, then K/32 f32 scales d, rounded as
//     ggml's x86 quantize_row_q8_0 does: d = f16(max|x| / 127), q =
//     round-half-even(x * 127 / max|x|) (bit-identical with
//     ingot::interp::quantizeActivationsQ8_0).
//   F16 weights: K floats rounded to f16 (nearest even) and back.
//   F32 weights: K floats, copied.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_TARGETS_X86_ACTIVATIONS_H
#define INGOT_TARGETS_X86_ACTIVATIONS_H

#include "targets/x86/Kernels.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace ingot::targets {

/// IEEE binary16 bits of `f`, rounded to nearest even (overflow to inf,
/// NaN kept quiet).
inline uint16_t floatToHalfBits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t absx = x & 0x7FFFFFFFu;
  if (absx >= 0x7F800000u) // inf or NaN
    return uint16_t(sign | 0x7C00u | (absx > 0x7F800000u ? 0x200u : 0u));
  if (absx >= 0x477FF000u) // rounds to >= 65520: overflow
    return uint16_t(sign | 0x7C00u);
  if (absx < 0x38800000u) { // result subnormal (or zero) in f16
    if (absx < 0x33000000u) // below half of the smallest subnormal
      return uint16_t(sign);
    const uint32_t exp = absx >> 23;
    const uint32_t mant = (absx & 0x7FFFFFu) | 0x800000u;
    const uint32_t shift = 126 - exp; // 14 .. 24
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (h & 1)))
      ++h;
    return uint16_t(sign | h);
  }
  uint32_t h = ((absx >> 13) - (112u << 10)); // rebias 127 -> 15
  const uint32_t rem = absx & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
    ++h; // may carry into the exponent, which is correct
  return uint16_t(sign | h);
}

inline float halfBitsToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t x;
  if (exp == 0x1F) {
    x = sign | 0x7F800000u | (mant << 13);
  } else if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else { // subnormal: normalise
      exp = 113;
      while (!(mant & 0x400u)) {
        mant <<= 1;
        --exp;
      }
      x = sign | (exp << 23) | ((mant & 0x3FFu) << 13);
    }
  } else {
    x = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

/// Writes one token's activations (K values) in the layout the kernels for
/// `type` read; `out` has activationBytesPerToken(type, K) bytes.
inline void prepareActivationRow(WeightType type, const float *x, int64_t K,
                                 uint8_t *out) {
  switch (type) {
  case WeightType::Q8_0:
  case WeightType::Q4_0: {
    int8_t *q = reinterpret_cast<int8_t *>(out);
    uint8_t *scales = out + K;
    for (int64_t b = 0; b < K / 32; ++b) {
      const float *xb = x + 32 * b;
      float amax = 0.0f;
      for (int j = 0; j < 32; ++j)
        amax = std::fmax(amax, std::fabs(xb[j]));
      const float d = halfBitsToFloat(floatToHalfBits(amax / 127.0f));
      const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
      for (int j = 0; j < 32; ++j)
        q[32 * b + j] = static_cast<int8_t>(std::nearbyintf(xb[j] * id));
      std::memcpy(scales + 4 * b, &d, 4);
    }
    return;
  }
  case WeightType::F16:
    for (int64_t k = 0; k < K; ++k) {
      const float r = halfBitsToFloat(floatToHalfBits(x[k]));
      std::memcpy(out + 4 * k, &r, 4);
    }
    return;
  case WeightType::F32:
    std::memcpy(out, x, size_t(K) * 4);
    return;
  }
}

/// prepareActivationRow for `nTokens` rows of K floats (row t at x + t * K),
/// written back to back.
inline void prepareActivations(WeightType type, const float *x, int64_t K,
                               int64_t nTokens, uint8_t *out) {
  const uint64_t stride = activationBytesPerToken(type, K);
  for (int64_t t = 0; t < nTokens; ++t)
    prepareActivationRow(type, x + t * K, K, out + uint64_t(t) * stride);
}

} // namespace ingot::targets

#endif // INGOT_TARGETS_X86_ACTIVATIONS_H
