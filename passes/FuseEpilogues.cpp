//===- FuseEpilogues.cpp - SwiGLU and residual adds as matmul epilogues ---===//
//
// A separate ingot.swiglu reads the gate and up products back from memory
// after the whole matmul is done, and an ingot.add reads a projection and
// the residual stream into a third buffer. As epilogues of the matmul that
// produces them they run on each chunk of rows while it is still in cache,
// and the swiglu's gate/up buffers and the add's extra pass disappear.
//
//===----------------------------------------------------------------------===//
#include "passes/FusionUtils.h"
#include "passes/Passes.h"

#include "compiler/dialect/IngotDialect.h"

#include "mlir/IR/Builders.h"

namespace ingot {
#define GEN_PASS_DEF_INGOTFUSEEPILOGUES
#include "passes/Passes.h.inc"
} // namespace ingot

using namespace mlir;
using namespace ingot;

namespace {

/// swiglu(gate, up) of the two results of one fused op (gate, up), read by
/// nothing else, becomes that op's swiglu epilogue.
bool fuseSwiglu(SwigluOp swiglu) {
  Value gate = swiglu.getLhs(), up = swiglu.getRhs();
  auto fused = gate.getDefiningOp<FusedMatmulOp>();
  if (!fused || up.getDefiningOp() != fused || gate == up ||
      fused.getNumResults() != 2 || fused.getResidual() || fused.getSwiglu() ||
      !gate.hasOneUse() || !up.hasOneUse())
    return false;
  FusedMatmulParts parts = FusedMatmulParts::of(fused);
  // Segment order gate, up.
  if (cast<OpResult>(gate).getResultNumber() == 1) {
    std::swap(parts.weights[0], parts.weights[1]);
    if (!parts.biases.empty())
      std::swap(parts.biases[0], parts.biases[1]);
    if (!parts.kernels.empty())
      std::swap(parts.kernels[0], parts.kernels[1]);
  }
  parts.swiglu = true;
  parts.resultTypes = {swiglu.getType()};
  // The swiglu's place: the fused op's input is defined before it.
  OpBuilder b(swiglu);
  FusedMatmulOp withEpilogue = parts.build(b, fused.getLoc());
  swiglu.getResult().replaceAllUsesWith(withEpilogue.getResult(0));
  swiglu.erase();
  fused.erase();
  return true;
}

/// The parts of `product` when it is the single result of a matmul that
/// can take a residual epilogue and nothing but `user` reads it.
std::optional<FusedMatmulParts> residualCandidate(Value product,
                                                  Operation *user) {
  if (!product.hasOneUse() || *product.getUsers().begin() != user)
    return std::nullopt;
  if (auto m = product.getDefiningOp<MatmulOp>())
    return FusedMatmulParts::of(m);
  auto fused = product.getDefiningOp<FusedMatmulOp>();
  if (!fused || fused.getNumResults() != 1 || fused.getResidual() ||
      fused.getSwiglu())
    return std::nullopt;
  return FusedMatmulParts::of(fused);
}

/// add(product, residual) (either order) becomes the product's matmul with
/// the residual epilogue.
bool fuseResidual(AddOp add) {
  for (auto [product, residual] : {std::pair(add.getLhs(), add.getRhs()),
                                   std::pair(add.getRhs(), add.getLhs())}) {
    std::optional<FusedMatmulParts> parts = residualCandidate(product, add);
    if (!parts)
      continue;
    parts->residual = residual;
    // The add's place: both the residual and the matmul's input are
    // defined before it.
    Operation *producer = product.getDefiningOp();
    OpBuilder b(add);
    FusedMatmulOp fused = parts->build(b, producer->getLoc());
    add.getResult().replaceAllUsesWith(fused.getResult(0));
    add.erase();
    producer->erase();
    return true;
  }
  return false;
}

struct FuseEpiloguesPass
    : public ingot::impl::IngotFuseEpiloguesBase<FuseEpiloguesPass> {
  using IngotFuseEpiloguesBase::IngotFuseEpiloguesBase;

  void runOnOperation() override {
    SmallVector<SwigluOp> swiglus;
    SmallVector<AddOp> adds;
    getOperation().walk([&](Operation *op) {
      if (auto s = dyn_cast<SwigluOp>(op))
        swiglus.push_back(s);
      else if (auto a = dyn_cast<AddOp>(op))
        adds.push_back(a);
    });
    for (SwigluOp s : swiglus)
      fuseSwiglu(s);
    for (AddOp a : adds)
      fuseResidual(a);
  }
};

} // namespace
