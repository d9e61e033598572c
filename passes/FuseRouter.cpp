//===- FuseRouter.cpp - The router product inside the MoE op --------------===//
//
// The importer gives a MoE layer's router its own ingot.matmul, whose logits
// the ingot.moe reads: a matmul call writing nExperts floats per token,
// then a routing call reading them back. Folded into the moe op, one call
// computes the router product, the gating, selection and weights of the
// batch (targets/oplib ingot_op_moe_route), and the logits never become a
// planned activation.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "compiler/dialect/IngotDialect.h"

namespace ingot {
#define GEN_PASS_DEF_INGOTFUSEROUTER
#include "passes/Passes.h.inc"
} // namespace ingot

using namespace mlir;
using namespace ingot;

namespace {

/// `moe`'s logits as the product of a matmul it can take as its router:
/// without bias, of the moe's own input, read by nothing else.
MatmulOp routerProduct(MoEOp moe) {
  Value logits = moe.getLogits();
  if (!logits || !logits.hasOneUse())
    return MatmulOp();
  auto product = logits.getDefiningOp<MatmulOp>();
  if (!product || product.getBiasAttr() || product.getInput() != moe.getInput())
    return MatmulOp();
  return product;
}

struct FuseRouterPass
    : public ingot::impl::IngotFuseRouterBase<FuseRouterPass> {
  using IngotFuseRouterBase::IngotFuseRouterBase;

  void runOnOperation() override {
    getOperation().walk([](MoEOp moe) {
      MatmulOp product = routerProduct(moe);
      if (!product)
        return;
      moe.setRouterAttr(product.getWeightAttr());
      if (KernelAttr kernel = product.getKernelAttr())
        moe.setRouterKernelAttr(kernel);
      moe.getLogitsMutable().clear();
      product.erase();
    });
  }
};

} // namespace
