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
#include "targets/oplib/KVCacheLayout.h"
#include "targets/x86/Kernels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/MathExtras.h"

#include <array>
#include <map>
#include <optional>

namespace ingot {
#define GEN_PASS_DEF_INGOTPLANMEMORY
#include "passes/Passes.h.inc"
} // namespace ingot

using namespace mlir;
using namespace ingot;

namespace {

/// First-fit allocator over [0, INT64_MAX) with 64-byte alignment. Sizes
/// come in checked; a placement whose end would not fit int64 fails.
class Arena {
public:
  std::optional<int64_t> allocate(CheckedSize size) {
    CheckedSize bytes = size.alignedTo(64);
    if (!bytes.isValid())
      return std::nullopt;
    int64_t at = 0;
    for (auto [start, length] : live) {
      if (start - at >= bytes.get())
        break;
      at = std::max(at, start + length);
    }
    CheckedSize end = CheckedSize(at) + bytes;
    if (!end.isValid())
      return std::nullopt;
    live.emplace(at, bytes.get());
    peak = std::max(peak, end.get());
    return at;
  }
  void release(int64_t at) { live.erase(at); }
  int64_t peakBytes() const { return peak; }

private:
  std::map<int64_t, int64_t> live; // start -> size
  int64_t peak = 0;
};

/// Plans one @forward body for `maxBatch` tokens: walks the ops in order,
/// giving each result its arena offset, each op its scratch and each
/// attention layer its KV offset, and freeing values after their last use.
class ForwardPlanner {
public:
  ForwardPlanner(ModuleOp module, Block &body, int64_t maxBatch)
      : module(module), body(body), maxBatch(maxBatch), b(module.getContext()),
        dialect(ingotDialect(module.getContext())) {}

  LogicalResult run() {
    findLastUses();
    for (Operation &op : body)
      if (failed(planKVCache(op)) || failed(planResult(op)) ||
          failed(planScratch(op)))
        return failure();
      else
        releaseDeadValues(op);
    return recordModuleFacts();
  }

private:
  /// Every size is exact or the plan is refused: a wrapped size would give
  /// the binary a smaller arena than its ops write.
  LogicalResult tooLarge(Operation *op, StringRef what, bool perBatch = true) {
    auto diag = op->emitError() << what;
    if (perBatch)
      diag << " for max-batch " << maxBatch;
    diag << " does not fit in 64 bits";
    return failure();
  }

  /// The index of every op and the index of every value's last use.
  void findLastUses() {
    for (auto [i, op] : llvm::enumerate(body))
      index[&op] = i;
    for (Operation &op : body)
      for (Value operand : op.getOperands())
        lastUse[operand] = index[&op];
  }

  /// KV cache: per position, the layers one after another, laid out once
  /// for every key type the runtime may choose (targets/oplib/
  /// KVCacheLayout.h). A type some layer cannot store is unavailable for
  /// the whole model.
  LogicalResult planKVCache(Operation &op) {
    if (!isa<AttentionOp, MLAAttentionOp>(op))
      return success();
    auto cache = cast<KVCacheType>(op.getOperand(4).getType());
    SmallVector<int64_t, INGOT_KV_KEY_TYPES> offsets;
    for (int32_t keyType = 0; keyType < INGOT_KV_KEY_TYPES; ++keyType) {
      oplib::KVRowLayout<CheckedSize> row = oplib::kvRowLayout(
          keyType, CheckedSize(cache.getKvHeads()), cache.getKeyDim(),
          CheckedSize(cache.getValueDim()));
      if (!row.valid)
        keyTypeStorable[keyType] = false;
      if (!keyTypeStorable[keyType]) {
        offsets.push_back(-1);
        continue;
      }
      offsets.push_back(kvPerPosition[keyType].get());
      kvPerPosition[keyType] += row.rowBytes;
      if (!kvPerPosition[keyType].isValid())
        return tooLarge(&op, "the KV cache row", /*perBatch=*/false);
    }
    dialect.getKvOffsetsAttrHelper().setAttr(&op,
                                             b.getDenseI64ArrayAttr(offsets));
    return success();
  }

  /// Each result's buffer: max-batch rows in the arena; the logits go to
  /// the caller's buffer (offset -1). One result's offset is recorded as
  /// `ingot.arena_offset`, several results' as `ingot.arena_offsets`.
  LogicalResult planResult(Operation &op) {
    if (!op.getNumResults() ||
        !isa<RankedTensorType>(op.getResult(0).getType()))
      return success();
    SmallVector<int64_t> offsets;
    for (Value result : op.getResults()) {
      if (!isa<RankedTensorType>(result.getType()))
        continue;
      if (result == body.getTerminator()->getOperand(0)) {
        offsets.push_back(-1);
        continue;
      }
      if (ShapedType::isDynamic(rowWidth(result)))
        return op.emitError()
               << "result rows need a static width to be planned";
      auto at = arena.allocate(CheckedSize(maxBatch) * rowWidth(result) * 4);
      if (!at)
        return tooLarge(&op, "the result buffer");
      offsetOf[result] = *at;
      offsets.push_back(*at);
    }
    if (offsets.size() == 1)
      dialect.getArenaOffsetAttrHelper().setAttr(
          &op, b.getI64IntegerAttr(offsets.front()));
    else
      dialect.getArenaOffsetsAttrHelper().setAttr(
          &op, b.getDenseI64ArrayAttr(offsets));
    return success();
  }

  /// Scratch bytes an op needs besides its result, for maxBatch tokens.
  CheckedSize scratchBytes(Operation &op) {
    if (auto m = dyn_cast<MatmulOp>(op))
      return CheckedSize(maxBatch) *
             activationBytes(module.lookupSymbol<WeightOp>(m.getWeightAttr()),
                             rowWidth(m.getInput()));
    if (auto m = dyn_cast<FusedMatmulOp>(op))
      return FusedMatmulScratchLayout(module, m, maxBatch).total;
    if (auto m = dyn_cast<MoEOp>(op))
      return MoEScratchLayout(module, m, maxBatch).total;
    if (auto m = dyn_cast<MLAAttentionOp>(op))
      return MLAScratchLayout(module, m, maxBatch).total;
    return 0;
  }

  /// Scratch overlaps neither the inputs (still live) nor the result, and is
  /// free again after the op.
  LogicalResult planScratch(Operation &op) {
    CheckedSize scratch = scratchBytes(op);
    if (!scratch.isValid())
      return tooLarge(&op, "the scratch buffer");
    if (!scratch.get())
      return success();
    auto at = arena.allocate(scratch);
    if (!at)
      return tooLarge(&op, "the scratch buffer");
    dialect.getScratchOffsetAttrHelper().setAttr(&op, b.getI64IntegerAttr(*at));
    arena.release(*at);
    return success();
  }

  /// Frees the operands whose last use `op` is, and results nobody uses.
  void releaseDeadValues(Operation &op) {
    auto release = [&](Value v) {
      auto it = offsetOf.find(v);
      if (it == offsetOf.end())
        return;
      arena.release(it->second);
      offsetOf.erase(it);
    };
    for (Value operand : op.getOperands())
      if (lastUse[operand] == index[&op])
        release(operand);
    for (Value result : op.getResults())
      if (result.use_empty())
        release(result);
  }

  LogicalResult recordModuleFacts() {
    CheckedSize arenaBytes = CheckedSize(arena.peakBytes()).alignedTo(4096);
    if (!arenaBytes.isValid())
      return tooLarge(module, "the arena");
    dialect.getMaxBatchAttrHelper().setAttr(module,
                                            b.getI64IntegerAttr(maxBatch));
    dialect.getArenaBytesAttrHelper().setAttr(
        module, b.getI64IntegerAttr(arenaBytes.get()));
    SmallVector<int64_t, INGOT_KV_KEY_TYPES> kvBytes;
    for (int32_t keyType = 0; keyType < INGOT_KV_KEY_TYPES; ++keyType)
      kvBytes.push_back(
          keyTypeStorable[keyType] ? int64_t(kvPerPosition[keyType].get()) : 0);
    dialect.getKvBytesPerPositionAttrHelper().setAttr(
        module, b.getDenseI64ArrayAttr(kvBytes));
    return success();
  }

  ModuleOp module;
  Block &body;
  int64_t maxBatch;
  Builder b;
  IngotDialect &dialect;
  llvm::DenseMap<Operation *, int64_t> index;
  llvm::DenseMap<Value, int64_t> lastUse;
  std::array<CheckedSize, INGOT_KV_KEY_TYPES> kvPerPosition{};
  std::array<bool, INGOT_KV_KEY_TYPES> keyTypeStorable = {true, true, true};
  Arena arena;
  llvm::DenseMap<Value, int64_t> offsetOf;
};

struct PlanMemoryPass
    : public ingot::impl::IngotPlanMemoryBase<PlanMemoryPass> {
  using IngotPlanMemoryBase::IngotPlanMemoryBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward) {
      module.emitError() << "no func.func @forward to plan";
      return signalPassFailure();
    }
    // Positions are 32-bit and a step's tokens take distinct positions.
    if (maxBatch < 1 || maxBatch > INT32_MAX) {
      module.emitError() << "max-batch must be between 1 and " << INT32_MAX
                         << ", got " << static_cast<int64_t>(maxBatch);
      return signalPassFailure();
    }
    ForwardPlanner planner(module, forward.getBody().front(), maxBatch);
    if (failed(planner.run()))
      signalPassFailure();
  }
};

} // namespace
