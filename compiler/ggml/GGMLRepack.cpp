//===- GGMLRepack.cpp - Weights converted to the type kernels read --------===//
#include "compiler/ggml/GGMLRepack.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ingot::ggml {

namespace {

/// Values converted per step: whole blocks of every type (1, 32 or 256
/// values), small enough for the stack.
constexpr int64_t kChunk = 4096;
/// The values a Q8_0 block holds, and the groups errors are relative to.
constexpr int64_t kBlock = 32;

/// Writes the Q8_0 block {d, x[j] / d} for the 32 values `x` when every one
/// is an int8 multiple of `d` exactly; false (nothing written) otherwise.
bool encodeQ8_0WithScale(const float *x, uint16_t halfScale, uint8_t *dst) {
  const float d = halfToFloat(halfScale);
  if (!std::isfinite(d) || d == 0.0f)
    return false;
  int8_t quants[kBlock];
  for (int j = 0; j < kBlock; ++j) {
    const float q = x[j] / d;
    if (!(std::fabs(q) <= 127.0f) || q != std::nearbyint(q) || q * d != x[j])
      return false;
    quants[j] = static_cast<int8_t>(q);
  }
  dst[0] = halfScale & 0xFF;
  dst[1] = halfScale >> 8;
  std::memcpy(dst + 2, quants, kBlock);
  return true;
}

/// Encodes `n` values (whole blocks of `target`) from `x` at `dst`. For Q8_0,
/// `source` (the bytes the values were decoded from, of type `sourceType`)
/// offers each block's own scale first.
void encode(Type target, const float *x, uint8_t *dst, int64_t n,
            Type sourceType, const uint8_t *source, RepackError &error) {
  switch (target) {
  case Type::F32:
    std::memcpy(dst, x, n * sizeof(float));
    return;
  case Type::F16:
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t h = floatToHalf(x[i]);
      dst[2 * i] = h & 0xFF;
      dst[2 * i + 1] = h >> 8;
    }
    return;
  case Type::Q4_0:
    quantizeRowQ4_0(x, dst, n);
    return;
  case Type::Q8_0: {
    // Blocks of 32 values whose format starts with an f16 scale d (every
    // 32-value ggml format but MXFP4); encodeQ8_0WithScale checks exactness,
    // so a scale that is not one only means rounding.
    const TypeInfo &info = getTypeInfo(sourceType);
    const bool sourceScale = info.blockElements == kBlock;
    for (int64_t b = 0; b < n / kBlock; ++b) {
      uint8_t *block = dst + b * 34;
      ++error.blocks;
      if (sourceScale &&
          encodeQ8_0WithScale(x + b * kBlock,
                              loadU16(source + b * info.blockBytes), block)) {
        ++error.exactBlocks;
        continue;
      }
      quantizeRowQ8_0(x + b * kBlock, block, kBlock);
    }
    return;
  }
  default:
    return; // canRepack refused it
  }
}

/// Adds how far `converted` is from `original` (n values) to `error`.
void measure(const float *original, const float *converted, int64_t n,
             RepackError &error) {
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t end = std::min(n, start + kBlock);
    double amax = 0, worst = 0;
    for (int64_t i = start; i < end; ++i) {
      amax = std::max(amax, std::fabs(double(original[i])));
      worst = std::max(worst,
                       std::fabs(double(converted[i]) - double(original[i])));
    }
    error.maxAbs = std::max(error.maxAbs, worst);
    if (amax > 0)
      error.maxRelativeToBlockAmax =
          std::max(error.maxRelativeToBlockAmax, worst / amax);
  }
  error.values += n;
}

} // namespace

void RepackError::merge(const RepackError &other) {
  maxAbs = std::max(maxAbs, other.maxAbs);
  maxRelativeToBlockAmax =
      std::max(maxRelativeToBlockAmax, other.maxRelativeToBlockAmax);
  values += other.values;
  exactBlocks += other.exactBlocks;
  blocks += other.blocks;
}

bool canRepack(Type source, Type target) {
  return getTypeInfo(source).canDequantize &&
         (target == Type::F32 || target == Type::F16 || target == Type::Q8_0 ||
          target == Type::Q4_0);
}

bool repackValues(Type source, Type target, const uint8_t *src, uint8_t *dst,
                  int64_t elements, RepackError &error) {
  const TypeInfo &from = getTypeInfo(source), &to = getTypeInfo(target);
  if (!canRepack(source, target) || elements < 0 ||
      elements % from.blockElements || elements % to.blockElements)
    return false;
  float values[kChunk], converted[kChunk];
  for (int64_t done = 0; done < elements; done += kChunk) {
    const int64_t n = std::min(kChunk, elements - done);
    const uint8_t *in = src + done / from.blockElements * from.blockBytes;
    uint8_t *out = dst + done / to.blockElements * to.blockBytes;
    from.dequantize(in, values, n);
    encode(target, values, out, n, source, in, error);
    to.dequantize(out, converted, n);
    measure(values, converted, n, error);
  }
  return true;
}

} // namespace ingot::ggml
