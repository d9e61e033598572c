//===- FuseNormPrologue.cpp - RMS norm in the matmul prologue -------------===//
//
// The matmuls after an rms_norm round its output to Q8_0 blocks before
// their kernels read it, so the normalised rows are stored only to be read
// back once. When the matmuls are the norm's only readers, they normalise
// each row themselves while quantizing it (with the op's own arithmetic,
// so the quantized values are the same) and the norm's tensor disappears.
//
//===----------------------------------------------------------------------===//
#include "passes/FusionUtils.h"
#include "passes/Passes.h"
#include "passes/PlanningUtils.h"

#include "compiler/dialect/IngotDialect.h"

#include "mlir/IR/Builders.h"

#include <vector>

namespace ingot {
#define GEN_PASS_DEF_INGOTFUSENORMPROLOGUE
#include "passes/Passes.h.inc"
} // namespace ingot

using namespace mlir;
using namespace ingot;

namespace {

struct FuseNormProloguePass
    : public ingot::impl::IngotFuseNormPrologueBase<FuseNormProloguePass> {
  using IngotFuseNormPrologueBase::IngotFuseNormPrologueBase;

  ModuleOp module;

  /// The prologue rounds each normalised block to Q8_0 at once: the
  /// activation form of the kernel types that ggml::readsQ8Activations.
  /// The op library's ggml dot path rounds to its own blocks: none.
  bool quantizesToQ8(Attribute weightRef) {
    WeightOp weight = module.lookupSymbol<WeightOp>(
        cast<FlatSymbolRefAttr>(weightRef).getAttr());
    return !weight.readsGgmlDot() &&
           ggml::readsQ8Activations(
               static_cast<ggml::Type>(weight.getKernelType()));
  }

  /// The parts of `user` when it can normalise `norm`'s input itself.
  std::optional<FusedMatmulParts> prologueCandidate(Operation *user,
                                                    RMSNormOp norm) {
    std::optional<FusedMatmulParts> parts;
    if (auto m = dyn_cast<MatmulOp>(user))
      parts = FusedMatmulParts::of(m);
    else if (auto f = dyn_cast<FusedMatmulOp>(user))
      parts = FusedMatmulParts::of(f);
    if (!parts || parts->input != norm.getResult() || parts->norm ||
        parts->residual == norm.getResult() ||
        !quantizesToQ8(parts->weights.front()))
      return std::nullopt;
    return parts;
  }

  void fuse(RMSNormOp norm) {
    // Whole rows only: per-head norms (q/k norms) feed rope, not matmuls.
    if (ShapedType::isDynamic(rowWidth(norm.getInput())) ||
        norm.getGroupSizeOrRow() != rowWidth(norm.getInput()) ||
        norm.getResult().use_empty())
      return;
    std::vector<std::pair<Operation *, FusedMatmulParts>> users;
    for (Operation *user : norm.getResult().getUsers()) {
      if (llvm::any_of(users, [&](auto &u) { return u.first == user; }))
        continue;
      std::optional<FusedMatmulParts> parts = prologueCandidate(user, norm);
      if (!parts)
        return;
      users.push_back({user, *parts});
    }
    for (auto &[user, parts] : users) {
      parts.input = norm.getInput();
      parts.norm = norm.getScaleAttr();
      parts.normEps = norm.getEpsAttr();
      OpBuilder b(user);
      FusedMatmulOp fused = parts.build(b, user->getLoc());
      user->replaceAllUsesWith(fused.getResults());
      user->erase();
    }
    norm.erase();
  }

  void runOnOperation() override {
    module = getOperation();
    SmallVector<RMSNormOp> norms;
    module.walk([&](RMSNormOp n) { norms.push_back(n); });
    for (RMSNormOp n : norms)
      fuse(n);
  }
};

} // namespace
