//===- GGMLQuantize.cpp - ggml's reference quantizers ---------------------===//
//
// Each quantizer follows the arithmetic of ggml's quantize_row_*_ref step by
// step: the same float operations in the same order (no fused multiply-add:
// this library is built without -march, so nothing is contracted), the same
// integer truncations, the same tie-breaking. A change of evaluation order
// here changes bytes of the output; test/unit/GGMLQuantizeTest.cpp compares
// them with llama-quantize's files.
//
//===----------------------------------------------------------------------===//
#include "compiler/ggml/GGMLQuantize.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

namespace ingot::ggml {

namespace {

constexpr int kSuperBlock = 256;
/// ggml's GROUP_MAX_EPS: a group whose largest |value| is below it is zero.
constexpr float kGroupMaxEps = 1e-15f;

void storeU16(uint8_t *p, uint16_t v) {
  p[0] = v & 0xFF;
  p[1] = v >> 8;
}
void storeHalf(uint8_t *p, float v) { storeU16(p, floatToHalf(v)); }

/// ggml's nearest_int: rounds through the float addition of 1.5 * 2^23, so
/// ties go to even, as the FPU rounds that sum.
int nearestInt(float value) {
  const float shifted = value + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof(bits));
  return (bits & 0x007FFFFF) - 0x00400000;
}

/// Q4_1 and Q5_1: a block's min and (max - min) / (2^bits - 1) as f16, each
/// value (x - min) / d rounded by adding 0.5 and truncating.
template <int bits>
void quantizeWithMin(const float *x, uint8_t *dst, int64_t n) {
  constexpr int kBlockBytes = bits == 4 ? 20 : 24;
  for (int64_t b = 0; b < n / 32; ++b, x += 32, dst += kBlockBytes) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < 32; ++j) {
      if (x[j] < min)
        min = x[j];
      if (x[j] > max)
        max = x[j];
    }
    const float d = (max - min) / ((1 << bits) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    storeHalf(dst, d);
    storeHalf(dst + 2, min);
    uint8_t *qs = dst + (bits == 4 ? 4 : 8);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[j + 16] - min) * id;
      uint8_t lo, hi;
      if constexpr (bits == 4) {
        lo = std::min(15, int(static_cast<int8_t>(x0 + 0.5f)));
        hi = std::min(15, int(static_cast<int8_t>(x1 + 0.5f)));
      } else {
        lo = static_cast<uint8_t>(x0 + 0.5f);
        hi = static_cast<uint8_t>(x1 + 0.5f);
      }
      qs[j] = (lo & 0x0F) | ((hi & 0x0F) << 4);
      qh |= ((lo & 0x10u) >> 4) << j;
      qh |= ((hi & 0x10u) >> 4) << (j + 16);
    }
    if constexpr (bits == 5)
      std::memcpy(dst + 4, &qh, 4);
  }
}

/// Q5_0: the value of largest magnitude, with its sign, maps to -16.
void quantizeQ5_0(const float *x, uint8_t *dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, x += 32, dst += 22) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; ++j)
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    const float d = max / -16;
    const float id = d ? 1.0f / d : 0.0f;
    storeHalf(dst, d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const uint8_t lo =
          std::min(31, int(static_cast<int8_t>(x[j] * id + 16.5f)));
      const uint8_t hi =
          std::min(31, int(static_cast<int8_t>(x[j + 16] * id + 16.5f)));
      dst[6 + j] = (lo & 0x0F) | ((hi & 0x0F) << 4);
      qh |= ((lo & 0x10u) >> 4) << j;
      qh |= ((hi & 0x10u) >> 4) << (j + 16);
    }
    std::memcpy(dst + 2, &qh, 4);
  }
}

/// ggml's make_qkx2_quants: the scale and min of a group of `n` values with
/// levels 0..nmax that minimise the weighted squared error, searched over
/// nstep + 1 trial scales around nmax / (max - min). Writes the levels to
/// `levels` and -min to `negMin`; returns the scale.
float fitScaleAndMin(int n, int nmax, const float *x, const float *weights,
                     uint8_t *levels, float *negMin, float rmin, float rdelta,
                     int nstep) {
  float min = x[0], max = x[0];
  float sumW = weights[0];
  float sumX = sumW * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min)
      min = x[i];
    if (x[i] > max)
      max = x[i];
    const float w = weights[i];
    sumW += w;
    sumX += w * x[i];
  }
  if (min > 0)
    min = 0;
  if (max == min) {
    std::fill(levels, levels + n, 0);
    *negMin = -min;
    return 0.0f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float bestError = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearestInt(iscale * (x[i] - min));
    levels[i] = std::max(0, std::min(nmax, l));
    const float diff = scale * levels[i] + min - x[i];
    bestError += weights[i] * (diff * diff);
  }
  uint8_t trial[32];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sumL = 0, sumL2 = 0, sumXL = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearestInt(iscale * (x[i] - min));
      l = std::max(0, std::min(nmax, l));
      trial[i] = l;
      const float w = weights[i];
      sumL += w * l;
      sumL2 += w * l * l;
      sumXL += w * l * x[i];
    }
    const float det = sumW * sumL2 - sumL * sumL;
    if (det > 0) {
      float thisScale = (sumW * sumXL - sumX * sumL) / det;
      float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = sumXL / sumL2;
      }
      float error = 0;
      for (int i = 0; i < n; ++i) {
        const float diff = thisScale * trial[i] + thisMin - x[i];
        error += weights[i] * (diff * diff);
      }
      if (error < bestError) {
        std::copy(trial, trial + n, levels);
        bestError = error;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  *negMin = -min;
  return scale;
}

/// Q4_K and Q5_K (nmax 15 or 31): eight 32-value groups per super-block,
/// each fitted a scale and a min, both quantized to 6 bits against the
/// super-block's largest ones (f16 d and dmin), then every value re-rounded
/// against its group's quantized scale and min.
template <int nmax> void quantizeK45(const float *x, uint8_t *dst, int64_t n) {
  constexpr bool five = nmax == 31;
  constexpr int kBlockBytes = five ? 176 : 144;
  for (int64_t b = 0; b < n / kSuperBlock;
       ++b, x += kSuperBlock, dst += kBlockBytes) {
    uint8_t levels[kSuperBlock];
    float scales[8], mins[8], weights[32];
    float maxScale = 0, maxMin = 0;
    for (int j = 0; j < 8; ++j) {
      const float *group = x + 32 * j;
      float sumX2 = 0;
      for (int l = 0; l < 32; ++l)
        sumX2 += group[l] * group[l];
      const float averageMagnitude = std::sqrt(sumX2 / 32);
      for (int l = 0; l < 32; ++l)
        weights[l] = averageMagnitude + std::fabs(group[l]);
      scales[j] =
          fitScaleAndMin(32, nmax, group, weights, levels + 32 * j, &mins[j],
                         five ? -0.5f : -1.0f, 0.1f, five ? 15 : 20);
      maxScale = std::max(maxScale, scales[j]);
      maxMin = std::max(maxMin, mins[j]);
    }
    const float inverseScale = maxScale > 0 ? 63.f / maxScale : 0.f;
    const float inverseMin = maxMin > 0 ? 63.f / maxMin : 0.f;
    uint8_t *packed = dst + 4;
    std::memset(packed, 0, 12);
    for (int j = 0; j < 8; ++j) {
      const uint8_t ls = std::min<uint8_t>(
          63, static_cast<uint8_t>(nearestInt(inverseScale * scales[j])));
      const uint8_t lm = std::min<uint8_t>(
          63, static_cast<uint8_t>(nearestInt(inverseMin * mins[j])));
      if (j < 4) {
        packed[j] = ls;
        packed[j + 4] = lm;
      } else {
        packed[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4);
        packed[j - 4] |= (ls >> 4) << 6;
        packed[j] |= (lm >> 4) << 6;
      }
    }
    storeHalf(dst, maxScale / 63.f);
    storeHalf(dst + 2, maxMin / 63.f);
    const float superScale = loadHalf(dst), superMin = loadHalf(dst + 2);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      scaleMinK4(j, packed, sc, m);
      const float d = superScale * sc;
      if (!d)
        continue; // keeps the fitted levels, as ggml does
      const float dm = superMin * m;
      for (int i = 0; i < 32; ++i) {
        const int l = nearestInt((x[32 * j + i] + dm) / d);
        levels[32 * j + i] = std::max(0, std::min(nmax, l));
      }
    }
    if constexpr (five) {
      uint8_t *qh = dst + 16, *ql = dst + 48;
      std::memset(qh, 0, 32);
      uint8_t m1 = 1, m2 = 2;
      for (int start = 0; start < kSuperBlock; start += 64) {
        for (int j = 0; j < 32; ++j) {
          int l1 = levels[start + j], l2 = levels[start + j + 32];
          if (l1 > 15) {
            l1 -= 16;
            qh[j] |= m1;
          }
          if (l2 > 15) {
            l2 -= 16;
            qh[j] |= m2;
          }
          ql[j] = l1 | (l2 << 4);
        }
        m1 <<= 2;
        m2 <<= 2;
        ql += 32;
      }
    } else {
      uint8_t *q = dst + 16;
      for (int start = 0; start < kSuperBlock; start += 64, q += 32)
        for (int l = 0; l < 32; ++l)
          q[l] = levels[start + l] | (levels[start + l + 32] << 4);
    }
  }
}

/// ggml's make_qx_quants with rmse_type 1 and no importance weights: the
/// symmetric scale of `n` values with levels -nmax..nmax-1, the value of
/// largest magnitude mapped to -nmax, refined over 18 trial scales by the
/// x^2-weighted least-squares fit. Writes level + nmax to `levels`.
float fitSymmetricScale(int n, int nmax, const float *x, int8_t *levels) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(levels, levels + n, 0);
    return 0.f;
  }
  float iscale = -nmax / max;
  float sumLX = 0, sumL2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearestInt(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    levels[i] = l + nmax;
    const float w = x[i] * x[i];
    sumLX += w * x[i] * l;
    sumL2 += w * l * l;
  }
  float scale = sumL2 ? sumLX / sumL2 : 0.0f;
  float best = scale * sumLX;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0)
      continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumLX = sumL2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearestInt(iscale * x[i]);
      l = std::max(-nmax, std::min(nmax - 1, l));
      const float w = x[i] * x[i];
      sumLX += w * x[i] * l;
      sumL2 += w * l * l;
    }
    if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
      for (int i = 0; i < n; ++i) {
        const int l = nearestInt(iscale * x[i]);
        levels[i] = nmax + std::max(-nmax, std::min(nmax - 1, l));
      }
      scale = sumLX / sumL2;
      best = scale * sumLX;
    }
  }
  return scale;
}

/// Q6_K: sixteen 16-value groups per super-block, each fitted a symmetric
/// scale, the scales quantized to int8 against the largest (f16 d), then
/// every value re-rounded to -32..31 against its group's quantized scale.
void quantizeQ6_K(const float *x, uint8_t *dst, int64_t n) {
  for (int64_t b = 0; b < n / kSuperBlock; ++b, x += kSuperBlock, dst += 210) {
    int8_t levels[kSuperBlock];
    float scales[16];
    float maxScale = 0, maxAbsScale = 0;
    for (int g = 0; g < 16; ++g) {
      scales[g] = fitSymmetricScale(16, 32, x + 16 * g, levels + 16 * g);
      if (std::fabs(scales[g]) > maxAbsScale) {
        maxAbsScale = std::fabs(scales[g]);
        maxScale = scales[g];
      }
    }
    uint8_t *ql = dst, *qh = dst + 128;
    int8_t *groupScales = reinterpret_cast<int8_t *>(dst + 192);
    if (maxAbsScale < kGroupMaxEps) {
      std::memset(dst, 0, 210);
      continue;
    }
    const float iscale = -128.f / maxScale;
    storeHalf(dst + 208, 1 / iscale);
    for (int g = 0; g < 16; ++g)
      groupScales[g] =
          static_cast<int8_t>(std::min(127, nearestInt(iscale * scales[g])));
    const float superScale = loadHalf(dst + 208);
    for (int g = 0; g < 16; ++g) {
      const float d = superScale * groupScales[g];
      if (!d)
        continue; // keeps the fitted levels, as ggml does
      for (int i = 0; i < 16; ++i) {
        int l = nearestInt(x[16 * g + i] / d);
        l = std::max(-32, std::min(31, l));
        levels[16 * g + i] = l + 32;
      }
    }
    for (int start = 0; start < kSuperBlock; start += 128) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = levels[start + l] & 0xF;
        const uint8_t q2 = levels[start + l + 32] & 0xF;
        const uint8_t q3 = levels[start + l + 64] & 0xF;
        const uint8_t q4 = levels[start + l + 96] & 0xF;
        ql[l] = q1 | (q3 << 4);
        ql[l + 32] = q2 | (q4 << 4);
        qh[l] = (levels[start + l] >> 4) |
                ((levels[start + l + 32] >> 4) << 2) |
                ((levels[start + l + 64] >> 4) << 4) |
                ((levels[start + l + 96] >> 4) << 6);
      }
      ql += 64;
      qh += 32;
    }
  }
}

} // namespace

bool canQuantize(Type type) {
  switch (type) {
  case Type::F32:
  case Type::F16:
  case Type::BF16:
  case Type::Q4_0:
  case Type::Q4_1:
  case Type::Q5_0:
  case Type::Q5_1:
  case Type::Q8_0:
  case Type::Q4_K:
  case Type::Q5_K:
  case Type::Q6_K:
    return true;
  default:
    return false;
  }
}

bool quantizeValues(Type type, const float *src, uint8_t *dst,
                    int64_t elements) {
  if (!canQuantize(type) || elements < 0 ||
      elements % getTypeInfo(type).blockElements)
    return false;
  switch (type) {
  case Type::F32:
    std::memcpy(dst, src, elements * sizeof(float));
    break;
  case Type::F16:
    for (int64_t i = 0; i < elements; ++i)
      storeU16(dst + 2 * i, floatToHalf(src[i]));
    break;
  case Type::BF16:
    for (int64_t i = 0; i < elements; ++i)
      storeU16(dst + 2 * i, floatToBf16(src[i]));
    break;
  case Type::Q4_0:
    quantizeRowQ4_0(src, dst, elements);
    break;
  case Type::Q8_0:
    quantizeRowQ8_0(src, dst, elements);
    break;
  case Type::Q4_1:
    quantizeWithMin<4>(src, dst, elements);
    break;
  case Type::Q5_1:
    quantizeWithMin<5>(src, dst, elements);
    break;
  case Type::Q5_0:
    quantizeQ5_0(src, dst, elements);
    break;
  case Type::Q4_K:
    quantizeK45<15>(src, dst, elements);
    break;
  case Type::Q5_K:
    quantizeK45<31>(src, dst, elements);
    break;
  case Type::Q6_K:
    quantizeQ6_K(src, dst, elements);
    break;
  default:
    return false;
  }
  return true;
}

} // namespace ingot::ggml
