//===- FuseSiblingMatmuls.cpp - Matmuls of one input as one op ------------===//
//
// Q, K and V (and gate and up) each multiply the same normalised input.
// Separately, each prepares (quantizes) that input and waits for its own
// parallel dispatch; as one ingot.fused_matmul they share both. Siblings
// are grouped by what one dispatch needs in common: the weight type, the
// packed layout's ISA and granule, and whether they add a bias.
//
//===----------------------------------------------------------------------===//
#include "passes/FusionUtils.h"
#include "passes/Passes.h"

#include "compiler/dialect/IngotDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"

#include <tuple>

namespace ingot {
#define GEN_PASS_DEF_INGOTFUSESIBLINGMATMULS
#include "passes/Passes.h.inc"
} // namespace ingot

using namespace mlir;
using namespace ingot;

namespace {

/// What matmuls must share to run as segments of one fused op.
using SiblingKey = std::tuple<Value, int32_t, int32_t, int64_t, int32_t>;

struct FuseSiblingMatmulsPass
    : public ingot::impl::IngotFuseSiblingMatmulsBase<FuseSiblingMatmulsPass> {
  using IngotFuseSiblingMatmulsBase::IngotFuseSiblingMatmulsBase;

  SiblingKey keyOf(ModuleOp module, MatmulOp op) {
    auto weight = module.lookupSymbol<WeightOp>(op.getWeightAttr().getAttr());
    LayoutAttr layout = weight.getLayoutAttr();
    auto isa = layout ? layout.getIsa() : std::nullopt;
    auto granule = layout ? layout.getGranule() : std::nullopt;
    // The kernel type, not the ggml type: q3_k and q5_k siblings (as a
    // Q3_K_M file mixes them) both run q8_0 kernels.
    return {op.getInput(), static_cast<int32_t>(weight.getKernelType()),
            isa ? static_cast<int32_t>(*isa) : -1, granule.value_or(-1),
            op.getBiasAttr() ? 1 : 0};
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Groups in program order of their first matmul; matmuls in program
    // order within a group.
    llvm::MapVector<SiblingKey, SmallVector<MatmulOp>> groups;
    module.walk([&](MatmulOp op) {
      // A kernel already chosen must agree too; before ingot-select-kernels
      // (the pipeline's order) none is.
      groups[keyOf(module, op)].push_back(op);
    });
    for (auto &[key, matmuls] : groups) {
      if (matmuls.size() < 2)
        continue;
      FusedMatmulParts parts = FusedMatmulParts::of(matmuls.front());
      for (MatmulOp op : ArrayRef(matmuls).drop_front()) {
        FusedMatmulParts next = FusedMatmulParts::of(op);
        llvm::append_range(parts.weights, next.weights);
        llvm::append_range(parts.biases, next.biases);
        llvm::append_range(parts.kernels, next.kernels);
        llvm::append_range(parts.resultTypes, next.resultTypes);
      }
      if (parts.kernels.size() != parts.weights.size())
        parts.kernels.clear();
      // The first sibling's place: the input is defined before it and every
      // sibling's users come after their own matmul.
      OpBuilder b(matmuls.front());
      FusedMatmulOp fused = parts.build(b, matmuls.front().getLoc());
      for (auto [op, result] : llvm::zip(matmuls, fused.getResults())) {
        op.getResult().replaceAllUsesWith(result);
        op.erase();
      }
    }
  }
};

} // namespace
