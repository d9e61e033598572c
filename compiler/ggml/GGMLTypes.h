//===- GGMLTypes.h - The table of ggml tensor element types -----*- C++ -*-===//
//
// ggml's element types as ggml keeps them in type_traits: the id stored in
// GGUF tensor infos, the name, the block geometry and the decoder to f32,
// plus Ingot's own fact per type: the type the generated kernels read a
// weight of that type as (its payload is converted at compile time when that
// is another type; GGMLRepack.h).
// Every other layer (GGUF reader, dialect, interpreter, kernel packer, op
// library) reads these facts here. Block sizes follow ggml-common.h and are
// checked by tests against hand-computed blocks.
//
// Free of LLVM and of the C++ library's compiled parts: the op library
// includes it and is compiled to bitcode with only -I<root>.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_GGML_GGMLTYPES_H
#define INGOT_GGML_GGMLTYPES_H

#include "compiler/ggml/GGMLBlocks.h"

#include <optional>
#include <stdint.h>
#include <string_view>

namespace ingot::ggml {

/// ggml_type numbering (ggml.h, enum ggml_type). Gaps are types ggml has
/// removed; they are rejected as unknown. The dialect's Ingot_GGMLType
/// repeats these ids for MLIR; compiler/dialect checks they agree.
enum class Type : uint32_t {
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

/// Decodes n values (a whole number of blocks) to f32.
using DequantizeFn = void (*)(const uint8_t *src, float *dst, int64_t n);

struct TypeInfo {
  Type type;
  const char *name;
  /// Elements per block (1 for plain types).
  uint32_t blockElements;
  /// Bytes per block.
  uint32_t blockBytes;
  /// The decoder to f32; null for types Ingot cannot read yet.
  DequantizeFn dequantize;
  /// Whether dequantize is set.
  bool canDequantize;
  /// The type the kernels read a weight of this type as ("read as"): the
  /// type itself for the six the kernels read natively, else a type the
  /// payload writer converts to when it packs the weight. Only meaningful
  /// when canDequantize (kernelReadType).
  Type readAs;

  /// `readAs` defaults to Q8_0: a decodable quantized type without kernels of
  /// its own is dequantized exactly and rounded to Q8_0 at compile time
  /// (32-value blocks with an f16 scale and int8 quants: at most amax/254 off
  /// per block, finer than every 2..6-bit source format, and exact where the
  /// source values are int8 multiples of the source block's scale).
  constexpr TypeInfo(Type type, const char *name, uint32_t blockElements,
                     uint32_t blockBytes, DequantizeFn dequantize,
                     Type readAs = Type::Q8_0)
      : type(type), name(name), blockElements(blockElements),
        blockBytes(blockBytes), dequantize(dequantize),
        canDequantize(dequantize != nullptr), readAs(readAs) {}
};

// Block sizes in bytes follow the struct layouts of ggml-common.h, e.g.
// block_q8_0 = {f16 d; int8 qs[32]} = 34 bytes for 32 values. The last
// column is the read-as type where it is not Q8_0.
inline constexpr TypeInfo kTypeTable[] = {
    {Type::F32, "F32", 1, 4, dequantizeF32, Type::F32},
    {Type::F16, "F16", 1, 2, dequantizeF16, Type::F16},
    {Type::Q4_0, "Q4_0", 32, 18, dequantizeQ4_0, Type::Q4_0},
    {Type::Q4_1, "Q4_1", 32, 20, dequantizeQ4_1},
    {Type::Q5_0, "Q5_0", 32, 22, dequantizeQ5</*withMin=*/false>},
    {Type::Q5_1, "Q5_1", 32, 24, dequantizeQ5</*withMin=*/true>},
    {Type::Q8_0, "Q8_0", 32, 34, dequantizeQ8_0, Type::Q8_0},
    {Type::Q8_1, "Q8_1", 32, 36, nullptr},
    {Type::Q2_K, "Q2_K", 256, 84, dequantizeQ2_K},
    {Type::Q3_K, "Q3_K", 256, 110, dequantizeQ3_K},
    {Type::Q4_K, "Q4_K", 256, 144, dequantizeQ45_K</*five=*/false>, Type::Q4_K},
    {Type::Q5_K, "Q5_K", 256, 176, dequantizeQ45_K</*five=*/true>},
    {Type::Q6_K, "Q6_K", 256, 210, dequantizeQ6_K, Type::Q6_K},
    {Type::Q8_K, "Q8_K", 256, 292, nullptr},
    {Type::IQ2_XXS, "IQ2_XXS", 256, 66, nullptr},
    {Type::IQ2_XS, "IQ2_XS", 256, 74, nullptr},
    {Type::IQ3_XXS, "IQ3_XXS", 256, 98, nullptr},
    {Type::IQ1_S, "IQ1_S", 256, 50, nullptr},
    {Type::IQ4_NL, "IQ4_NL", 32, 18, dequantizeIQ4_NL},
    {Type::IQ3_S, "IQ3_S", 256, 110, nullptr},
    {Type::IQ2_S, "IQ2_S", 256, 82, nullptr},
    {Type::IQ4_XS, "IQ4_XS", 256, 136, dequantizeIQ4_XS},
    {Type::I8, "I8", 1, 1, nullptr},
    {Type::I16, "I16", 1, 2, nullptr},
    {Type::I32, "I32", 1, 4, nullptr},
    {Type::I64, "I64", 1, 8, nullptr},
    {Type::F64, "F64", 1, 8, nullptr},
    {Type::IQ1_M, "IQ1_M", 256, 56, nullptr},
    {Type::BF16, "BF16", 1, 2, dequantizeBF16, Type::BF16},
    {Type::TQ1_0, "TQ1_0", 256, 54, nullptr},
    {Type::TQ2_0, "TQ2_0", 256, 66, nullptr},
    {Type::MXFP4, "MXFP4", 32, 17, nullptr},
};

/// The description of a raw type id, or nullptr for an id ggml does not (or
/// no longer) define.
constexpr const TypeInfo *lookupType(uint32_t rawType) {
  for (const TypeInfo &info : kTypeTable)
    if (static_cast<uint32_t>(info.type) == rawType)
      return &info;
  return nullptr;
}
constexpr const TypeInfo &getTypeInfo(Type type) {
  return *lookupType(static_cast<uint32_t>(type));
}
constexpr const char *typeName(Type type) { return getTypeInfo(type).name; }

/// Parses a type name such as "Q8_0" or "f32" (case-insensitive).
std::optional<Type> parseTypeName(std::string_view name);

/// Bytes a row of `elements` values takes; nullopt when `elements` is not a
/// whole number of blocks or the size overflows.
inline std::optional<uint64_t> rowBytes(Type type, uint64_t elements) {
  const TypeInfo &info = getTypeInfo(type);
  if (elements % info.blockElements)
    return std::nullopt;
  uint64_t bytes;
  if (__builtin_mul_overflow(elements / info.blockElements, info.blockBytes,
                             &bytes))
    return std::nullopt;
  return bytes;
}

/// Converts `elements` values (a whole number of blocks) starting at `src` to
/// f32. The type must be one that canDequantize.
inline void dequantizeRow(Type type, const void *src, float *dst,
                          int64_t elements) {
  getTypeInfo(type).dequantize(static_cast<const uint8_t *>(src), dst,
                               elements);
}

/// Quantizes `elements` f32 values to Q8_0 or Q4_0 blocks, rounding as
/// ggml's reference quantizers do.
void quantizeRowQ8_0(const float *src, void *dst, int64_t elements);
void quantizeRowQ4_0(const float *src, void *dst, int64_t elements);

/// The type the kernels read a weight of `type` as (TypeInfo::readAs), or
/// nullopt for a type Ingot cannot decode. Every question "which kernel,
/// which activation format, which packed layout" about a weight asks this
/// of the weight's ggml type.
constexpr std::optional<Type> kernelReadType(Type type) {
  const TypeInfo &info = getTypeInfo(type);
  if (!info.canDequantize)
    return std::nullopt;
  return info.readAs;
}

/// The weight types the matmul and expert kernels (targets/x86) and the op
/// library's matmul drivers read: those the table reads as themselves.
constexpr bool isKernelWeightType(Type type) {
  return kernelReadType(type) == type;
}

/// Whether the payload writer converts weights of `type` to another type
/// (its kernelReadType) before packing them.
constexpr bool isRepackedType(Type type) {
  std::optional<Type> readAs = kernelReadType(type);
  return readAs && *readAs != type;
}

/// Whether the kernels of weight (kernel) type `weightType` read the
/// activations as int8 quants with a float scale per 32 values
/// (activationRowBytes): Q8_0 and Q4_0 rounded to Q8_0 blocks of 32, as
/// ggml's vec_dot_type; Q4_K and Q6_K rounded to Q8_K blocks of 256, as
/// ggml's vec_dot_type for them, each block's scale written into its 8
/// per-32 slots (kernelActivationBlock).
constexpr bool readsQ8Activations(Type weightType) {
  return weightType == Type::Q8_0 || weightType == Type::Q4_0 ||
         weightType == Type::Q4_K || weightType == Type::Q6_K;
}

/// Values per scale of the activations the kernels of `weightType` read
/// (readsQ8Activations): 256 for Q4_K and Q6_K (ggml's Q8_K: one scale per
/// super-block lets the AVX2 Q4_K kernels fold the sub-block scales into
/// their integer sums), 32 for the others.
constexpr int64_t kernelActivationBlock(Type weightType) {
  return weightType == Type::Q4_K || weightType == Type::Q6_K ? 256 : 32;
}

/// Bytes of one activation row of k values as a kernel of weight type
/// `weightType` reads it: for the types that readsQ8Activations, k int8
/// quants then k/32 f32 scales; for F32 / F16 weights, k floats (F16 ones
/// already rounded to f16); for BF16 weights, k floats rounded to bf16, then
/// the same k values as bf16 and a zero bf16 when k is odd (the pairs that
/// vdpbf16ps multiplies).
constexpr int64_t activationRowBytes(Type weightType, int64_t k) {
  if (readsQ8Activations(weightType))
    return k + 4 * (k / 32);
  if (weightType == Type::BF16)
    return 4 * k + 2 * (k + k % 2);
  return 4 * k;
}

} // namespace ingot::ggml

#endif // INGOT_GGML_GGMLTYPES_H
