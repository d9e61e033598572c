//===- OpLibABI.h - LLVM signatures from the op library's C header -*- C++
//-*-===//
//
// The lowering calls the op library (targets/oplib/OpLib.h) and reads the
// IngotContext (runtime/include/ingot/ModelABI.h). Both are declared once,
// in those C headers: every LLVM signature here is derived from a C
// prototype by its parameter types, and the context's field offsets come
// from offsetof, so a change to either header changes what the lowering
// emits (or fails to compile) instead of silently disagreeing.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_PASSES_OPLIBABI_H
#define INGOT_PASSES_OPLIBABI_H

#include "targets/oplib/OpLib.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <type_traits>

namespace ingot::abi {

/// The LLVM type of a C parameter type of the op library's ABI.
template <typename T> mlir::Type llvmTypeOf(mlir::MLIRContext *c) {
  if constexpr (std::is_pointer_v<T>)
    return mlir::LLVM::LLVMPointerType::get(c);
  else if constexpr (std::is_same_v<T, int64_t>)
    return mlir::IntegerType::get(c, 64);
  else if constexpr (std::is_same_v<T, int32_t>)
    return mlir::IntegerType::get(c, 32);
  else if constexpr (std::is_same_v<T, float>)
    return mlir::Float32Type::get(c);
  else
    static_assert(!sizeof(T), "a C type the model ABI does not use");
}

/// The LLVM function type of a C function type returning void.
template <typename Fn> struct Signature;
template <typename... Args> struct Signature<void(Args...)> {
  static mlir::LLVM::LLVMFunctionType get(mlir::MLIRContext *c) {
    return mlir::LLVM::LLVMFunctionType::get(mlir::LLVM::LLVMVoidType::get(c),
                                             {llvmTypeOf<Args>(c)...});
  }
};

template <typename Fn>
mlir::LLVM::LLVMFunctionType signatureOf(mlir::MLIRContext *c) {
  return Signature<Fn>::get(c);
}

/// The signature of the op library function `name`, or null when the op
/// library has none of that name.
inline mlir::LLVM::LLVMFunctionType opSignature(llvm::StringRef name,
                                                mlir::MLIRContext *c) {
#define INGOT_OPLIB_FUNCTION(fn)                                               \
  if (name == #fn)                                                             \
    return signatureOf<decltype(fn)>(c);
  INGOT_OPLIB_FUNCTION(ingot_op_matmul)
  INGOT_OPLIB_FUNCTION(ingot_op_fused_matmul)
  INGOT_OPLIB_FUNCTION(ingot_op_embedding)
  INGOT_OPLIB_FUNCTION(ingot_op_rms_norm)
  INGOT_OPLIB_FUNCTION(ingot_op_rope)
  INGOT_OPLIB_FUNCTION(ingot_op_attention)
  INGOT_OPLIB_FUNCTION(ingot_op_mla_core)
  INGOT_OPLIB_FUNCTION(ingot_op_per_head_matmul)
  INGOT_OPLIB_FUNCTION(ingot_op_moe_route)
  INGOT_OPLIB_FUNCTION(ingot_op_moe_experts)
  INGOT_OPLIB_FUNCTION(ingot_op_slice)
  INGOT_OPLIB_FUNCTION(ingot_op_silu)
  INGOT_OPLIB_FUNCTION(ingot_op_gelu)
  INGOT_OPLIB_FUNCTION(ingot_op_swiglu)
  INGOT_OPLIB_FUNCTION(ingot_op_add)
#undef INGOT_OPLIB_FUNCTION
  return nullptr;
}

/// The generated kernels' signatures (IngotMatmulKernel, IngotExpertKernel).
inline mlir::LLVM::LLVMFunctionType
matmulKernelSignature(mlir::MLIRContext *c) {
  return signatureOf<std::remove_pointer_t<IngotMatmulKernel>>(c);
}
inline mlir::LLVM::LLVMFunctionType
expertKernelSignature(mlir::MLIRContext *c) {
  return signatureOf<std::remove_pointer_t<IngotExpertKernel>>(c);
}

/// IngotMoEExpertsArgs as an LLVM struct, field by field in declaration
/// order; LLVM's natural layout of it is C's (checked below).
inline mlir::LLVM::LLVMStructType moeExpertsArgsType(mlir::MLIRContext *c) {
  using A = IngotMoEExpertsArgs;
  return mlir::LLVM::LLVMStructType::getLiteral(
      c,
      {llvmTypeOf<decltype(A::gateUpKernel)>(c),
       llvmTypeOf<decltype(A::downKernel)>(c), llvmTypeOf<decltype(A::gate)>(c),
       llvmTypeOf<decltype(A::up)>(c), llvmTypeOf<decltype(A::down)>(c),
       llvmTypeOf<decltype(A::gateUpStride)>(c),
       llvmTypeOf<decltype(A::downStride)>(c), llvmTypeOf<decltype(A::dim)>(c),
       llvmTypeOf<decltype(A::ffn)>(c),
       llvmTypeOf<decltype(A::granuleGateUp)>(c),
       llvmTypeOf<decltype(A::granuleDown)>(c),
       llvmTypeOf<decltype(A::used)>(c), llvmTypeOf<decltype(A::gateUpType)>(c),
       llvmTypeOf<decltype(A::downType)>(c),
       llvmTypeOf<decltype(A::gateUpBatchKernel)>(c),
       llvmTypeOf<decltype(A::downBatchKernel)>(c)});
}
/// Field indices of IngotMoEExpertsArgs in moeExpertsArgsType.
enum MoEExpertsField : int32_t {
  kGateUpKernel,
  kDownKernel,
  kGate,
  kUp,
  kDown,
  kGateUpStride,
  kDownStride,
  kDim,
  kFfn,
  kGranuleGateUp,
  kGranuleDown,
  kUsed,
  kGateUpType,
  kDownType,
  kGateUpBatchKernel,
  kDownBatchKernel
};
static_assert(offsetof(IngotMoEExpertsArgs, gateUpKernel) == 0 &&
                  offsetof(IngotMoEExpertsArgs, down) == 4 * 8 &&
                  offsetof(IngotMoEExpertsArgs, gateUpStride) == 5 * 8 &&
                  offsetof(IngotMoEExpertsArgs, used) == 11 * 8 &&
                  offsetof(IngotMoEExpertsArgs, gateUpType) == 12 * 8 &&
                  offsetof(IngotMoEExpertsArgs, downType) == 12 * 8 + 4 &&
                  offsetof(IngotMoEExpertsArgs, gateUpBatchKernel) == 13 * 8 &&
                  offsetof(IngotMoEExpertsArgs, downBatchKernel) == 14 * 8 &&
                  sizeof(IngotMoEExpertsArgs) == 15 * 8,
              "IngotMoEExpertsArgs changed: update moeExpertsArgsType");

/// IngotPerHeadMatmulArgs as an LLVM struct, as moeExpertsArgsType; the
/// lowering stores its fields by their position here.
inline mlir::LLVM::LLVMStructType perHeadMatmulArgsType(mlir::MLIRContext *c) {
  using A = IngotPerHeadMatmulArgs;
  return mlir::LLVM::LLVMStructType::getLiteral(
      c, {llvmTypeOf<decltype(A::kernel)>(c), llvmTypeOf<decltype(A::stack)>(c),
          llvmTypeOf<decltype(A::stride)>(c), llvmTypeOf<decltype(A::heads)>(c),
          llvmTypeOf<decltype(A::rows)>(c), llvmTypeOf<decltype(A::cols)>(c),
          llvmTypeOf<decltype(A::granule)>(c),
          llvmTypeOf<decltype(A::xHeadStride)>(c),
          llvmTypeOf<decltype(A::xTokenStride)>(c),
          llvmTypeOf<decltype(A::outHeadStride)>(c),
          llvmTypeOf<decltype(A::outTokenStride)>(c),
          llvmTypeOf<decltype(A::wtype)>(c),
          llvmTypeOf<decltype(A::batchKernel)>(c)});
}
static_assert(offsetof(IngotPerHeadMatmulArgs, kernel) == 0 &&
                  offsetof(IngotPerHeadMatmulArgs, stride) == 2 * 8 &&
                  offsetof(IngotPerHeadMatmulArgs, outTokenStride) == 10 * 8 &&
                  offsetof(IngotPerHeadMatmulArgs, wtype) == 11 * 8 &&
                  offsetof(IngotPerHeadMatmulArgs, batchKernel) == 12 * 8 &&
                  sizeof(IngotPerHeadMatmulArgs) == 13 * 8,
              "IngotPerHeadMatmulArgs changed: update perHeadMatmulArgsType");

/// IngotFusedSegment as an LLVM struct, as moeExpertsArgsType; an array of
/// them is the segments of an IngotFusedMatmulArgs.
inline mlir::LLVM::LLVMStructType fusedSegmentType(mlir::MLIRContext *c) {
  using S = IngotFusedSegment;
  return mlir::LLVM::LLVMStructType::getLiteral(
      c, {llvmTypeOf<decltype(S::kernel)>(c),
          llvmTypeOf<decltype(S::packed)>(c), llvmTypeOf<decltype(S::bias)>(c),
          llvmTypeOf<decltype(S::y)>(c), llvmTypeOf<decltype(S::rows)>(c)});
}
enum FusedSegmentField : int32_t {
  kSegmentKernel,
  kSegmentPacked,
  kSegmentBias,
  kSegmentY,
  kSegmentRows
};
static_assert(offsetof(IngotFusedSegment, kernel) == 0 &&
                  offsetof(IngotFusedSegment, y) == 3 * 8 &&
                  offsetof(IngotFusedSegment, rows) == 4 * 8 &&
                  sizeof(IngotFusedSegment) == 5 * 8,
              "IngotFusedSegment changed: update fusedSegmentType");

/// IngotFusedMatmulArgs as an LLVM struct.
inline mlir::LLVM::LLVMStructType fusedMatmulArgsType(mlir::MLIRContext *c) {
  using A = IngotFusedMatmulArgs;
  return mlir::LLVM::LLVMStructType::getLiteral(
      c,
      {llvmTypeOf<decltype(A::segments)>(c), llvmTypeOf<decltype(A::count)>(c),
       llvmTypeOf<decltype(A::cols)>(c), llvmTypeOf<decltype(A::granule)>(c),
       llvmTypeOf<decltype(A::normScale)>(c),
       llvmTypeOf<decltype(A::residual)>(c),
       llvmTypeOf<decltype(A::swigluUp)>(c),
       llvmTypeOf<decltype(A::normEps)>(c), llvmTypeOf<decltype(A::wtype)>(c)});
}
enum FusedMatmulField : int32_t {
  kFusedSegments,
  kFusedCount,
  kFusedCols,
  kFusedGranule,
  kFusedNormScale,
  kFusedResidual,
  kFusedSwigluUp,
  kFusedNormEps,
  kFusedWtype
};
static_assert(offsetof(IngotFusedMatmulArgs, segments) == 0 &&
                  offsetof(IngotFusedMatmulArgs, normScale) == 4 * 8 &&
                  offsetof(IngotFusedMatmulArgs, swigluUp) == 6 * 8 &&
                  offsetof(IngotFusedMatmulArgs, normEps) == 7 * 8 &&
                  offsetof(IngotFusedMatmulArgs, wtype) == 7 * 8 + 4 &&
                  sizeof(IngotFusedMatmulArgs) == 8 * 8,
              "IngotFusedMatmulArgs changed: update fusedMatmulArgsType");

/// The IngotContext fields the model code reads, where it reads them.
constexpr int64_t kContextWeights = offsetof(IngotContext, weights);
constexpr int64_t kContextArena = offsetof(IngotContext, arena);
constexpr int64_t kContextKV = offsetof(IngotContext, kv);
constexpr int64_t kContextLength = offsetof(IngotContext, context_length);
constexpr int64_t kContextKVKeyType = offsetof(IngotContext, kv_key_type);
// The layout binaries of this ABI version were built with.
static_assert(kContextWeights == 0 && kContextArena == 8 && kContextKV == 16 &&
                  kContextLength == 24 && kContextKVKeyType == 56,
              "IngotContext changed: bump INGOT_MODEL_ABI_VERSION");
static_assert(
    std::is_pointer_v<decltype(IngotContext::weights)> &&
        std::is_pointer_v<decltype(IngotContext::arena)> &&
        std::is_pointer_v<decltype(IngotContext::kv)> &&
        std::is_same_v<decltype(IngotContext::context_length), int64_t> &&
        std::is_same_v<decltype(IngotContext::kv_key_type), int32_t>,
    "IngotContext field types changed: update the lowering");

} // namespace ingot::abi

#endif // INGOT_PASSES_OPLIBABI_H
