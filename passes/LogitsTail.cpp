//===- LogitsTail.cpp - The ops only the requested logits need ------------===//
#include "passes/LogitsTail.h"

#include "compiler/dialect/IngotDialect.h"

using namespace mlir;

namespace ingot {

bool isRowWise(Operation *op) {
  // A generated kernel computes each token's dot products alone. The op
  // library's F32/F16 products follow ggml, whose summation order changes
  // between one token and several (tinyBLAS from two on), so they are not.
  // MoE is per token too, but its expert kernels run over the tokens routed
  // to each expert together; it stays out until that is shown not to change
  // a token's bits.
  if (auto m = dyn_cast<MatmulOp>(op))
    return m.getKernel() && m.getKernel()->isGenerated();
  if (auto m = dyn_cast<FusedMatmulOp>(op))
    return m.getKernelsAttr() &&
           llvm::all_of(m.getKernelsAttr().getAsRange<KernelAttr>(),
                        [](KernelAttr k) { return k.isGenerated(); });
  return isa<RMSNormOp, SliceOp, SiluOp, GeluOp, SwigluOp, AddOp>(op);
}

llvm::DenseSet<Operation *> findLogitsTail(func::FuncOp forward) {
  llvm::DenseSet<Operation *> tail;
  Block &body = forward.getBody().front();
  Operation *ret = body.getTerminator();
  // @forward is one block in execution order: walking it backwards sees
  // every reader of a value before the value's op.
  for (Operation &op : llvm::reverse(body.without_terminator())) {
    if (!isRowWise(&op))
      continue;
    bool onlyTail = !op.use_empty();
    for (OpOperand &use : op.getUses())
      onlyTail &= use.getOwner() == ret ? use.getOperandNumber() == 0
                                        : tail.contains(use.getOwner());
    if (onlyTail)
      tail.insert(&op);
  }
  return tail;
}

} // namespace ingot
