//===- GGMLTypes.cpp - ggml tensor element types --------------------------===//
#include "compiler/ggml/GGMLTypes.h"
#include "compiler/ggml/GGMLBlocks.h"

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

void dequantizeRow(GGMLType type, const void *src, float *dst, int64_t n) {
  if (!ggml::dequantizeBlocks(static_cast<uint32_t>(type),
                              static_cast<const uint8_t *>(src), dst, n))
    llvm_unreachable("dequantizeRow: type without dequantization");
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

float halfToFloat(uint16_t h) { return ggml::halfToFloat(h); }

uint16_t floatToHalf(float value) { return ggml::floatToHalf(value); }

uint16_t floatToBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7FFFFFFF) > 0x7F800000)
    return static_cast<uint16_t>((bits >> 16) | 64); // quiet NaN
  return static_cast<uint16_t>((bits + (0x7FFF + ((bits >> 16) & 1))) >> 16);
}

} // namespace ingot::gguf
