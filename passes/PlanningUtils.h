//===- PlanningUtils.h - Sizes the planning passes share --------*- C++ -*-===//
//
// Small facts about activations and weight types that the weight planner,
// the memory planner, the lowering and the payload writer must agree on.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_PASSES_PLANNINGUTILS_H
#define INGOT_PASSES_PLANNINGUTILS_H

#include "compiler/dialect/IngotDialect.h"
#include "compiler/ggml/GGMLDot.h"
#include "targets/oplib/MoEBatchLayout.h"
#include "targets/x86/Kernels.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <optional>

namespace ingot {

/// A byte count or offset computed with overflow checks. A step whose
/// exact result would not fit int64 (or an operand that is negative) makes
/// the value invalid, and every later step keeps it so: one check at the end
/// tells whether the whole computation was exact.
class CheckedSize {
public:
  CheckedSize(int64_t value = 0) : value(value), valid(value >= 0) {}
  static CheckedSize invalid() {
    CheckedSize s;
    s.valid = false;
    return s;
  }

  bool isValid() const { return valid; }
  /// The exact value; only meaningful when isValid().
  int64_t get() const { return valid ? value : 0; }

  friend CheckedSize operator+(CheckedSize a, CheckedSize b) {
    int64_t r;
    if (!a.valid || !b.valid || __builtin_add_overflow(a.value, b.value, &r))
      return invalid();
    return CheckedSize(r);
  }
  friend CheckedSize operator*(CheckedSize a, CheckedSize b) {
    int64_t r;
    if (!a.valid || !b.valid || __builtin_mul_overflow(a.value, b.value, &r))
      return invalid();
    return CheckedSize(r);
  }
  CheckedSize &operator+=(CheckedSize other) { return *this = *this + other; }
  /// Rounded up to a multiple of 64 (what oplib::MoEBatchLayout calls).
  friend CheckedSize alignUp64(CheckedSize s) { return s.alignedTo(64); }
  /// Rounded up to a multiple of 4 (what oplib::kvRowLayout calls).
  friend CheckedSize alignUp4(CheckedSize s) { return s.alignedTo(4); }
  /// Rounded up to a multiple of `alignment` (a power of two).
  CheckedSize alignedTo(int64_t alignment) const {
    CheckedSize bumped = *this + (alignment - 1);
    if (!bumped.valid)
      return invalid();
    return CheckedSize(bumped.value & ~(alignment - 1));
  }
  static CheckedSize max(CheckedSize a, CheckedSize b) {
    if (!a.valid || !b.valid)
      return invalid();
    return CheckedSize(std::max(a.value, b.value));
  }

private:
  int64_t value;
  bool valid;
};

/// Values per row of an activation tensor<?xWxf32>.
inline int64_t rowWidth(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType()).getDimSize(1);
}

/// Bytes of one activation row of width k prepared for a kernel reading
/// `type` (a kernel type: WeightOp::getKernelType): ggml::activationRowBytes,
/// which the kernels and the op library use too, computed per 32 values so that
/// every step is checked (no partial sum exceeds the total).
inline CheckedSize activationBytes(GGMLType type, CheckedSize k) {
  if (!k.isValid())
    return k;
  const auto weightType = static_cast<ggml::Type>(type);
  return CheckedSize(k.get() / 32) *
             CheckedSize(ggml::activationRowBytes(weightType, 32)) +
         CheckedSize(ggml::activationRowBytes(weightType, k.get() % 32));
}

/// Bytes of one activation row of width k prepared for `weight`: for the
/// ggml dot path (WeightOp::readsGgmlDot), its vec_dot_type blocks
/// (ggml::dotActivationRowBytes, which the op library uses too); else as
/// its kernel type's kernels read it.
inline CheckedSize activationBytes(WeightOp weight, CheckedSize k) {
  if (!weight.readsGgmlDot() || !k.isValid())
    return activationBytes(weight.getKernelType(), k);
  const auto type = static_cast<ggml::Type>(weight.getKernelType());
  const int64_t block = ggml::dotActivationBlock(type);
  return CheckedSize(k.get() / block) *
         CheckedSize(ggml::dotActivationRowBytes(type, block));
}

/// The kernel ISA named `text` (avx512vnni, avxvnni or avx2), as weights are
/// packed for it (amx is not a packing: see KernelISA). The one place ISA names
/// are read: pass options, the driver and tests all come through here.
inline std::optional<KernelISA> parseKernelISA(llvm::StringRef text) {
  std::optional<KernelISA> isa = symbolizeKernelISA(text);
  if (isa == KernelISA::None || isa == KernelISA::AMX)
    return std::nullopt;
  return isa;
}

/// The generators' name of the ISA whose packed layout (and small-batch
/// code) a kernel ISA other than none uses: amx reads avx512vnni's.
inline targets::ISA targetISA(KernelISA isa) {
  assert(isa != KernelISA::None && "the plain path has no generated kernel");
  switch (isa) {
  case KernelISA::AVX2:
    return targets::ISA::AVX2;
  case KernelISA::AVXVNNI:
    return targets::ISA::AVXVNNI;
  default:
    return targets::ISA::AVX512VNNI;
  }
}

/// The generators' name of a kernel type they pack and read, or nullopt.
/// Asked of a weight's kernel type (WeightOp::getKernelType), never of its
/// ggml type.
inline std::optional<targets::WeightType> targetWeightType(GGMLType type) {
  switch (type) {
  case GGMLType::F32:
    return targets::WeightType::F32;
  case GGMLType::F16:
    return targets::WeightType::F16;
  case GGMLType::BF16:
    return targets::WeightType::BF16;
  case GGMLType::Q8_0:
    return targets::WeightType::Q8_0;
  case GGMLType::Q4_0:
    return targets::WeightType::Q4_0;
  case GGMLType::Q4_K:
    return targets::WeightType::Q4_K;
  case GGMLType::Q6_K:
    return targets::WeightType::Q6_K;
  default:
    return std::nullopt;
  }
}

/// Whether the kernels read `weight` as a quantized type (generated
/// kernels), not as F32, F16 or BF16 (whose experts and per-head matrices
/// the op library's plain path multiplies).
inline bool readsQuantized(WeightOp weight) {
  GGMLType type = weight.getKernelType();
  return type != GGMLType::F32 && type != GGMLType::F16 &&
         type != GGMLType::BF16;
}

/// The dialect, whose helpers read and write the plan's discardable
/// attributes (ingot.arena_offset, ...).
inline IngotDialect &ingotDialect(mlir::MLIRContext *context) {
  return *context->getOrLoadDialect<IngotDialect>();
}

/// Places consecutive 64-byte-aligned buffers in an op's scratch area.
class ScratchCursor {
public:
  int64_t take(CheckedSize bytes) {
    CheckedSize at = next;
    next = (at + bytes).alignedTo(64);
    return at.get();
  }
  CheckedSize total() const { return next; }

private:
  CheckedSize next = 0;
};

/// Offsets of the buffers an ingot.fused_matmul uses for `batch` tokens:
/// the input prepared for its kernels and, with the swiglu epilogue, the up
/// product (the gate's goes to the result).
struct FusedMatmulScratchLayout {
  int64_t activations, swigluUp = 0;
  CheckedSize total;

  FusedMatmulScratchLayout(mlir::ModuleOp module, FusedMatmulOp op,
                           int64_t batch) {
    auto first = mlir::cast<mlir::FlatSymbolRefAttr>(op.getWeights()[0]);
    WeightOp weight = module.lookupSymbol<WeightOp>(first.getAttr());
    const CheckedSize B = batch;
    ScratchCursor cursor;
    activations =
        cursor.take(B * activationBytes(weight, rowWidth(op.getInput())));
    if (op.getSwiglu())
      swigluUp = cursor.take(B * rowWidth(op.getResult(0)) * CheckedSize(4));
    total = cursor.total();
  }
};

/// Offsets (from the op's scratch offset) of the buffers an ingot.moe uses
/// for `batch` tokens. The memory planner sizes the scratch with `total`
/// (and refuses the plan when it is not valid: a size overflowed), the
/// lowering hands out the pieces: one definition keeps them in step.
struct MoEScratchLayout {
  /// Whether batches of `batch` tokens may run the experts bucketed by
  /// expert: more than one token, and quantized experts, each read by
  /// generated kernels (ingot-select-kernels then gives the op their batch
  /// kernels) or by the op library's ggml dot path (WeightOp::readsGgmlDot,
  /// which multiplies a bucket's rows one by one as ggml's gemv does).
  static bool runsBucketed(WeightOp gate, WeightOp down, int64_t batch) {
    return batch > 1 && readsQuantized(gate) && readsQuantized(down);
  }

  int64_t routerLogits, routerActivations, ids, weights, experts;
  int64_t sharedGate = 0, sharedUp = 0, sharedDown = 0, sharedActivations = 0;
  CheckedSize total;

  MoEScratchLayout(mlir::ModuleOp module, MoEOp op, int64_t batch) {
    auto weight = [&](mlir::FlatSymbolRefAttr ref) {
      return module.lookupSymbol<WeightOp>(ref.getAttr());
    };
    const CheckedSize B = batch, dim = rowWidth(op.getInput()),
                      experts_ = op.getNumExperts(), used = op.getExpertsUsed(),
                      f32 = 4;
    WeightOp gate = weight(op.getGateAttr()), down = weight(op.getDownAttr());
    const CheckedSize ffn = gate.getShape()[1];
    ScratchCursor cursor;
    routerLogits = cursor.take(B * experts_ * f32);
    routerActivations = cursor.take(B * activationBytes(GGMLType::F32, dim));
    ids = cursor.take(B * used * 4);
    weights = cursor.take(B * used * f32);
    CheckedSize expertBytes = CheckedSize(2) * used * ffn * f32 +
                              used * dim * f32 + activationBytes(gate, dim) +
                              used * activationBytes(down, ffn);
    if (runsBucketed(gate, down, batch))
      expertBytes = CheckedSize::max(
          expertBytes, oplib::MoEBatchLayout<CheckedSize>(
                           B, used, dim, ffn, activationBytes(gate, dim),
                           activationBytes(down, ffn))
                           .total);
    experts = cursor.take(expertBytes);
    if (auto sharedGateRef = op.getSharedGateAttr()) {
      const CheckedSize shared = weight(sharedGateRef).getShape()[0];
      sharedGate = cursor.take(B * shared * f32);
      sharedUp = cursor.take(B * shared * f32);
      sharedDown = cursor.take(B * dim * f32);
      // F32 activation rows are the largest any shared-expert kernel reads.
      sharedActivations = cursor.take(
          B * CheckedSize::max(activationBytes(GGMLType::F32, dim),
                               activationBytes(GGMLType::F32, shared)));
    }
    total = cursor.total();
  }
};

/// Offsets of the buffers an ingot.mla_attention uses for `batch` tokens:
/// the absorbed queries, the attention context, and the per-head matmul
/// scratch.
struct MLAScratchLayout {
  int64_t queryAbsorbed, context, perHead;
  CheckedSize total;

  MLAScratchLayout(mlir::ModuleOp module, MLAAttentionOp op, int64_t batch) {
    const CheckedSize B = batch, heads = op.getNumHeads(),
                      rank = op.getKvLoraRank(), nope = op.getNopeDim(),
                      vDim = op.getVHeadDim(), f32 = 4;
    WeightOp kB = module.lookupSymbol<WeightOp>(op.getKBAttr().getAttr());
    WeightOp vB = module.lookupSymbol<WeightOp>(op.getVBAttr().getAttr());
    ScratchCursor cursor;
    queryAbsorbed = cursor.take(B * heads * rank * f32);
    context = cursor.take(B * heads * rank * f32);
    // Per token, or (batches with generated kernels, which then multiply
    // each head's matrix by all tokens at once) per token of the batch.
    const CheckedSize tokens =
        batch > 1 && readsQuantized(kB) && readsQuantized(vB) ? B
                                                              : CheckedSize(1);
    perHead = cursor.take(
        tokens * (heads * CheckedSize::max(rank, vDim) * f32 +
                  heads * CheckedSize::max(activationBytes(kB, nope),
                                           activationBytes(vB, rank))));
    total = cursor.total();
  }
};

} // namespace ingot

#endif // INGOT_PASSES_PLANNINGUTILS_H
