//===- IngotDialect.cpp - The ingot dialect -------------------------------===//
#include "compiler/dialect/IngotDialect.h"

#include "compiler/ggml/GGMLDot.h"
#include "compiler/ggml/GGMLTypes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace ingot;

#include "compiler/dialect/IngotDialect.cpp.inc"
#include "compiler/dialect/IngotEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "compiler/dialect/IngotAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "compiler/dialect/IngotTypes.cpp.inc"

void IngotDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "compiler/dialect/IngotOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "compiler/dialect/IngotAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "compiler/dialect/IngotTypes.cpp.inc"
      >();
}

LogicalResult KVCacheType::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t kvHeads, int64_t keyDim,
                                  int64_t valueDim) {
  if (kvHeads <= 0)
    return emitError() << "kv_cache needs at least one KV head, got "
                       << kvHeads;
  if (keyDim <= 0)
    return emitError() << "kv_cache key_dim must be positive, got " << keyDim;
  if (valueDim < 0)
    return emitError() << "kv_cache value_dim must not be negative, got "
                       << valueDim;
  // 32-bit quantities, as the attention ops' (the planner multiplies them).
  if (kvHeads > INT32_MAX || keyDim > INT32_MAX || valueDim > INT32_MAX)
    return emitError() << "kv_cache dimensions must be at most " << INT32_MAX;
  return success();
}

//===----------------------------------------------------------------------===//
// Plan attributes
//===----------------------------------------------------------------------===//

LogicalResult LayoutAttr::verify(
    function_ref<InFlightDiagnostic()> emitError,
    std::optional<int64_t> packedOffset, std::optional<int64_t> packedBytes,
    std::optional<int64_t> packedStride, std::optional<int64_t> granule,
    std::optional<KernelISA> isa, std::optional<int64_t> rawOffset,
    std::optional<int64_t> rawBytes, std::optional<int64_t> f32Offset,
    std::optional<int64_t> f32Bytes) {
  auto negative = [](std::optional<int64_t> v) { return v && *v < 0; };
  for (auto v : {packedOffset, packedBytes, packedStride, granule, rawOffset,
                 rawBytes, f32Offset, f32Bytes})
    if (negative(v))
      return emitError() << "layout offsets and sizes must not be negative";
  bool packed = packedOffset || packedBytes || packedStride || granule || isa;
  if (packed &&
      !(packedOffset && packedBytes && packedStride && granule && isa))
    return emitError() << "a packed form needs packed_offset, packed_bytes, "
                          "packed_stride, granule and isa";
  if (packed) {
    if (*granule == 0)
      return emitError() << "layout granule must be positive";
    // isa none: the GGUF rows as they are, for the op library's ggml dot
    // path (WeightOp::readsGgmlDot).
    if (*isa == KernelISA::AMX)
      return emitError()
             << "a packed form is packed for a vector ISA or none, not amx";
    if (*packedStride == 0 || *packedBytes % *packedStride)
      return emitError() << "packed_bytes must be a whole number of "
                            "packed_stride matrices";
  }
  if (bool(rawOffset) != bool(rawBytes))
    return emitError() << "a raw form needs raw_offset and raw_bytes";
  if (bool(f32Offset) != bool(f32Bytes))
    return emitError() << "an f32 form needs f32_offset and f32_bytes";
  return success();
}

std::optional<LayoutAttr::Form> LayoutAttr::getPacked() const {
  if (!getPackedOffset())
    return std::nullopt;
  return Form{*getPackedOffset(), *getPackedBytes()};
}
std::optional<LayoutAttr::Form> LayoutAttr::getRaw() const {
  if (!getRawOffset())
    return std::nullopt;
  return Form{*getRawOffset(), *getRawBytes()};
}
std::optional<LayoutAttr::Form> LayoutAttr::getF32() const {
  if (!getF32Offset())
    return std::nullopt;
  return Form{*getF32Offset(), *getF32Bytes()};
}

LogicalResult KernelAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 KernelKind kind, GGMLType type, int64_t rows,
                                 int64_t cols, KernelISA isa, int64_t granule) {
  if (rows <= 0 || cols <= 0)
    return emitError() << "kernel rows and cols must be positive, got " << rows
                       << "x" << cols;
  if (granule <= 0)
    return emitError() << "kernel granule must be positive, got " << granule;
  // The plain path multiplies F32, F16 and BF16 weights in ggml's order,
  // and the types of its ggml dot path (ggml::takesGgmlDotPath) as ggml
  // does; the generated kernels read the other quantized types, and F16 and
  // BF16 matrices of models that do not keep ggml's order.
  const auto ggmlType = static_cast<ggml::Type>(type);
  const bool half = type == GGMLType::F16 || type == GGMLType::BF16;
  bool plainType = type == GGMLType::F32 || half;
  if (isa == KernelISA::None && !plainType && !ggml::takesGgmlDotPath(ggmlType))
    return emitError() << "only f32, f16, bf16 and the types of the ggml dot "
                          "path take the plain path (isa none), not "
                       << stringifyGGMLType(type);
  // A generated kernel reads a kernel type (a type the table reads as
  // itself); a weight of another type is read as its kernel type
  // (WeightOp::getKernelType), which is what the attribute names.
  if (isa != KernelISA::None && !ggml::isKernelWeightType(ggmlType))
    return emitError() << "no kernel reads " << stringifyGGMLType(type)
                       << ": a kernel names the type its weight is read as";
  if (isa != KernelISA::None && type == GGMLType::F32)
    return emitError() << stringifyGGMLType(type)
                       << " weights take the plain path (isa none)";
  if (isa != KernelISA::None && half && kind != KernelKind::Matmul)
    return emitError() << stringifyGGMLType(type)
                       << " weights have generated matmul kernels only";
  if (isa == KernelISA::AMX &&
      (kind != KernelKind::Matmul ||
       (type != GGMLType::Q8_0 && type != GGMLType::Q4_0) || granule != 16))
    return emitError() << "amx kernels are q8_0 or q4_0 matmuls over the "
                          "avx512vnni layout (granule 16)";
  return success();
}

std::string KernelAttr::getSymbol() const {
  if (!isGenerated())
    return "";
  return (Twine("ingot_k_") + (getKind() == KernelKind::Matmul ? "mm" : "ex") +
          "_" + stringifyGGMLType(getType()) + "_" + Twine(getRows()) + "x" +
          Twine(getCols()) + "_" + stringifyKernelISA(getIsa()))
      .str();
}
