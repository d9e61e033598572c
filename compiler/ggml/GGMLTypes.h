//===- GGMLTypes.h - ggml tensor element types ------------------*- C++ -*-===//
//
// The element types a GGUF tensor can have, with their block geometry, and
// conversions between them and f32. Block layouts follow ggml's definitions
// (ggml-common.h); every size here is checked by tests against hand-computed
// blocks.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_GGML_GGMLTYPES_H
#define INGOT_GGML_GGMLTYPES_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace ingot::gguf {

/// ggml_type numbering as stored in GGUF tensor infos. Gaps are types ggml
/// has removed; they are rejected as unknown.
enum class GGMLType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
};

struct GGMLTypeInfo {
  GGMLType type;
  const char *name;
  /// Elements per block (1 for plain types).
  uint32_t blockElements;
  /// Bytes per block.
  uint32_t blockBytes;
  /// Whether dequantizeRow supports it.
  bool canDequantize;
};

/// Returns the description of a raw type id, or nullptr for an id ggml does
/// not (or no longer) define.
const GGMLTypeInfo *lookupType(uint32_t rawType);
inline const GGMLTypeInfo &getTypeInfo(GGMLType type) {
  return *lookupType(static_cast<uint32_t>(type));
}
/// Parses a type name such as "Q8_0" or "f32" (case-insensitive).
std::optional<GGMLType> parseTypeName(llvm::StringRef name);
inline const char *typeName(GGMLType type) { return getTypeInfo(type).name; }

/// Bytes a row of `elements` values takes; nullopt when `elements` is not a
/// whole number of blocks or the size overflows.
std::optional<uint64_t> rowBytes(GGMLType type, uint64_t elements);

/// Converts `elements` values (a whole number of blocks) starting at `src` to
/// f32. The type must have canDequantize set.
void dequantizeRow(GGMLType type, const void *src, float *dst,
                   int64_t elements);

/// Quantizes `elements` f32 values to Q8_0 or Q4_0 blocks, rounding as
/// ggml's reference quantizers do.
void quantizeRowQ8_0(const float *src, void *dst, int64_t elements);
void quantizeRowQ4_0(const float *src, void *dst, int64_t elements);

float halfToFloat(uint16_t bits);
uint16_t floatToHalf(float value);
inline float bf16ToFloat(uint16_t bits) {
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  __builtin_memcpy(&value, &wide, sizeof(value));
  return value;
}
uint16_t floatToBf16(float value);

} // namespace ingot::gguf

#endif // INGOT_GGML_GGMLTYPES_H
