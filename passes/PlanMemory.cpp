//===- PlanMemory.cpp - Static arena and KV cache offsets -----------------===//
//
// @forward is one block of ops in execution order, so lifetimes are
// intervals: a value lives from its defining op to its last use. Buffers are
// placed first-fit in address order among the live ones, each sized for
// max-batch rows. Scratch lives only during its op.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/PlanningUtils.h"

#include "compiler/dialect/IngotDialect.h"
#include "targets/x86/Kernels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/MathExtras.h"

#include <map>

namespace ingot {
#define GEN_PASS_DEF_INGOTPLANMEMORY
#include "passes/Passes.h.inc"
} // namespace ingot

using namespace mlir;
using namespace ingot;

namespace {

/// First-fit allocator over [0, inf) with 64-byte alignment.
class Arena {
public:
  int64_t allocate(int64_t bytes) {
    bytes = llvm::alignTo(bytes, 64);
    int64_t at = 0;
    for (auto [start, size] : live) {
      if (start - at >= bytes)
        break;
      at = std::max(at, start + size);
    }
    live.emplace(at, bytes);
    peak = std::max(peak, at + bytes);
    return at;
  }
  void release(int64_t at) { live.erase(at); }
  int64_t peakBytes() const { return peak; }

private:
  std::map<int64_t, int64_t> live; // start -> size
  int64_t peak = 0;
};

struct PlanMemoryPass : public ingot::impl::IngotPlanMemoryBase<PlanMemoryPass> {
  using IngotPlanMemoryBase::IngotPlanMemoryBase;

  WeightOp lookup(ModuleOp module, FlatSymbolRefAttr ref) {
    return module.lookupSymbol<WeightOp>(ref.getAttr());
  }

  /// Scratch bytes an op needs besides its result, for B tokens.
  int64_t scratchBytes(ModuleOp module, Operation *op, int64_t B) {
    if (auto m = dyn_cast<MatmulOp>(op))
      return B * activationBytes(lookup(module, m.getWeightAttr()).getGgmlType(),
                          rowWidth(m.getInput()));
    if (auto m = dyn_cast<MoEOp>(op))
      return MoEScratchLayout(module, m, B).total;
    if (auto m = dyn_cast<MLAAttentionOp>(op))
      return MLAScratchLayout(module, m, B).total;
    return 0;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward) {
      module.emitError() << "no func.func @forward to plan";
      return signalPassFailure();
    }
    if (maxBatch < 1) {
      module.emitError() << "max-batch must be at least 1";
      return signalPassFailure();
    }
    Builder b(module.getContext());
    Block &body = forward.getBody().front();

    // Last use of every value, by op index.
    llvm::DenseMap<Operation *, int64_t> index;
    for (auto [i, op] : llvm::enumerate(body))
      index[&op] = i;
    llvm::DenseMap<Value, int64_t> lastUse;
    for (Operation &op : body)
      for (Value operand : op.getOperands())
        lastUse[operand] = index[&op];
    Value logits = body.getTerminator()->getOperand(0);

    // KV cache: per position, the layers one after another.
    int64_t kvPerPosition = 0;
    Arena arena;
    llvm::DenseMap<Value, int64_t> offsetOf;
    for (Operation &op : body) {
      int64_t i = index[&op];
      if (isa<AttentionOp, MLAAttentionOp>(op)) {
        auto cache = cast<KVCacheType>(op.getOperand(4).getType());
        op.setAttr("ingot.kv_offset", b.getI64IntegerAttr(kvPerPosition));
        kvPerPosition += 4 * cache.getKvHeads() *
                         (cache.getKeyDim() + cache.getValueDim());
      }
      if (op.getNumResults() && isa<RankedTensorType>(op.getResult(0).getType())) {
        Value result = op.getResult(0);
        if (result == logits) {
          op.setAttr("ingot.arena_offset", b.getI64IntegerAttr(-1));
        } else {
          int64_t at = arena.allocate(maxBatch * rowWidth(result) * 4);
          offsetOf[result] = at;
          op.setAttr("ingot.arena_offset", b.getI64IntegerAttr(at));
        }
      }
      // Scratch overlaps neither the inputs (still live) nor the result,
      // and is free again after the op.
      if (int64_t scratch = scratchBytes(module, &op, maxBatch)) {
        int64_t at = arena.allocate(scratch);
        op.setAttr("ingot.scratch_offset", b.getI64IntegerAttr(at));
        arena.release(at);
      }
      // Free the operands whose last use this was.
      for (Value operand : op.getOperands())
        if (lastUse[operand] == i && offsetOf.count(operand)) {
          arena.release(offsetOf[operand]);
          offsetOf.erase(operand);
        }
      // A value nobody uses is dead right away.
      for (Value result : op.getResults())
        if (result.use_empty() && offsetOf.count(result)) {
          arena.release(offsetOf[result]);
          offsetOf.erase(result);
        }
    }
    module->setAttr("ingot.max_batch", b.getI64IntegerAttr(maxBatch));
    module->setAttr("ingot.arena_bytes",
                    b.getI64IntegerAttr(llvm::alignTo(arena.peakBytes(), 4096)));
    module->setAttr("ingot.kv_bytes_per_position",
                    b.getI64IntegerAttr(kvPerPosition));
  }
};

} // namespace
