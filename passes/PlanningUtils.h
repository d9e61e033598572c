//===- PlanningUtils.h - Sizes the planning passes share --------*- C++ -*-===//
//
// Small facts about activations and weight types that the weight planner,
// the memory planner, the lowering and the payload writer must agree on.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_PASSES_PLANNINGUTILS_H
#define INGOT_PASSES_PLANNINGUTILS_H

#include "compiler/dialect/IngotDialect.h"
#include "targets/x86/Kernels.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <optional>

namespace ingot {

/// Values per row of an activation tensor<?xWxf32>.
inline int64_t rowWidth(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType()).getDimSize(1);
}

/// Bytes of one activation row of width k prepared for a kernel reading
/// `type` (targets::activationBytesPerToken; the op library agrees).
inline int64_t activationBytes(GGMLType type, int64_t k) {
  if (type == GGMLType::Q8_0 || type == GGMLType::Q4_0)
    return k + 4 * (k / 32);
  return 4 * k;
}

/// The kernel weight type of a ggml type, or nullopt when no generated
/// kernel reads it.
inline std::optional<targets::WeightType> kernelWeightType(GGMLType type) {
  switch (type) {
  case GGMLType::F32: return targets::WeightType::F32;
  case GGMLType::F16: return targets::WeightType::F16;
  case GGMLType::Q8_0: return targets::WeightType::Q8_0;
  case GGMLType::Q4_0: return targets::WeightType::Q4_0;
  default: return std::nullopt;
  }
}

/// Places consecutive 64-byte-aligned buffers in an op's scratch area.
class ScratchCursor {
public:
  int64_t take(int64_t bytes) {
    int64_t at = next;
    next = llvm::alignTo(at + bytes, 64);
    return at;
  }
  int64_t total() const { return next; }

private:
  int64_t next = 0;
};

/// Offsets (from the op's scratch offset) of the buffers an ingot.moe uses
/// for `batch` tokens. The memory planner sizes the scratch with `total`,
/// the lowering hands out the pieces: one definition keeps them in step.
struct MoEScratchLayout {
  int64_t routerLogits, routerActivations, ids, weights, experts;
  int64_t sharedGate = 0, sharedUp = 0, sharedDown = 0,
          sharedActivations = 0;
  int64_t total;

  MoEScratchLayout(mlir::ModuleOp module, MoEOp op, int64_t batch) {
    auto weight = [&](mlir::FlatSymbolRefAttr ref) {
      return module.lookupSymbol<WeightOp>(ref.getAttr());
    };
    const int64_t dim = rowWidth(op.getInput()), experts_ = op.getNumExperts(),
                  used = op.getExpertsUsed();
    WeightOp gate = weight(op.getGateAttr()), down = weight(op.getDownAttr());
    const int64_t ffn = gate.getShape()[1];
    ScratchCursor cursor;
    routerLogits = cursor.take(batch * experts_ * 4);
    routerActivations = cursor.take(batch * activationBytes(GGMLType::F32, dim));
    ids = cursor.take(batch * used * 4);
    weights = cursor.take(batch * used * 4);
    experts = cursor.take(2 * used * ffn * 4 + used * dim * 4 +
                          activationBytes(gate.getGgmlType(), dim) +
                          used * activationBytes(down.getGgmlType(), ffn));
    if (auto sharedGateRef = op.getSharedGateAttr()) {
      const int64_t shared = weight(sharedGateRef).getShape()[0];
      sharedGate = cursor.take(batch * shared * 4);
      sharedUp = cursor.take(batch * shared * 4);
      sharedDown = cursor.take(batch * dim * 4);
      // F32 activation rows are the largest any shared-expert kernel reads.
      sharedActivations =
          cursor.take(batch * std::max(activationBytes(GGMLType::F32, dim),
                                       activationBytes(GGMLType::F32, shared)));
    }
    total = cursor.total();
  }
};

/// Offsets of the buffers an ingot.mla_attention uses for `batch` tokens:
/// the absorbed queries, the attention context, and the per-head matmul
/// scratch.
struct MLAScratchLayout {
  int64_t queryAbsorbed, context, perHead, total;

  MLAScratchLayout(mlir::ModuleOp module, MLAAttentionOp op, int64_t batch) {
    const int64_t heads = op.getNumHeads(), rank = op.getKvLoraRank(),
                  nope = op.getNopeDim(), vDim = op.getVHeadDim();
    WeightOp kB = module.lookupSymbol<WeightOp>(op.getKBAttr().getAttr());
    WeightOp vB = module.lookupSymbol<WeightOp>(op.getVBAttr().getAttr());
    ScratchCursor cursor;
    queryAbsorbed = cursor.take(batch * heads * rank * 4);
    context = cursor.take(batch * heads * rank * 4);
    perHead = cursor.take(heads * std::max(rank, vDim) * 4 +
                          heads * std::max(activationBytes(kB.getGgmlType(), nope),
                                           activationBytes(vB.getGgmlType(), rank)));
    total = cursor.total();
  }
};

} // namespace ingot

#endif // INGOT_PASSES_PLANNINGUTILS_H
