//===- SelectKernels.cpp - The kernel of every weight an op multiplies by -===//
//
// The one place that decides which code multiplies by a weight: a kernel
// generated for the ISA the weight was packed for, or the op library's
// plain path for F32 and F16 weights. The lowering and the kernel emitter
// only follow the #ingot.kernel attributes recorded here.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/PlanningUtils.h"

#include "compiler/dialect/IngotDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/SetVector.h"

namespace ingot {
#define GEN_PASS_DEF_INGOTSELECTKERNELS
#include "passes/Passes.h.inc"
} // namespace ingot

using namespace mlir;
using namespace ingot;

namespace {

struct SelectKernelsPass
    : public ingot::impl::IngotSelectKernelsBase<SelectKernelsPass> {
  using IngotSelectKernelsBase::IngotSelectKernelsBase;

  ModuleOp module;
  /// Generated kernels in first-use order.
  llvm::SetVector<Attribute> generated;

  /// The kernel for weight `ref` (a stack of matrices when `kind` is
  /// Expert), or a diagnostic on `user`.
  FailureOr<KernelAttr> select(Operation *user, FlatSymbolRefAttr ref,
                               KernelKind kind) {
    auto weight = module.lookupSymbol<WeightOp>(ref.getAttr());
    LayoutAttr layout = weight ? weight.getLayoutAttr() : nullptr;
    if (!layout || !layout.getPacked())
      return user->emitOpError()
             << "weight '" << ref.getValue()
             << "' has no packed layout: run ingot-plan-weights first";
    GGMLType type = weight.getGgmlType();
    // F32 and F16 weights (routers, test models) take the op library's
    // plain path, which follows ggml's F32 summation order exactly; only the
    // quantized types run generated kernels.
    bool plain = type == GGMLType::F32 || type == GGMLType::F16;
    ArrayRef<int64_t> shape = weight.getShape();
    auto kernel = KernelAttr::get(
        user->getContext(), kind, type, shape[shape.size() - 2], shape.back(),
        plain ? KernelISA::None : *layout.getIsa(), *layout.getGranule());
    if (kernel.isGenerated())
      generated.insert(kernel);
    return kernel;
  }

  LogicalResult selectFor(MatmulOp op) {
    auto kernel = select(op, op.getWeightAttr(), KernelKind::Matmul);
    if (failed(kernel))
      return failure();
    op.setKernelAttr(*kernel);
    return success();
  }

  LogicalResult selectFor(MoEOp op) {
    auto gate = module.lookupSymbol<WeightOp>(op.getGateAttr().getAttr());
    auto up = module.lookupSymbol<WeightOp>(op.getUpAttr().getAttr());
    if (gate && up && gate.getGgmlType() != up.getGgmlType())
      return op.emitOpError() << "gate and up experts must share a type";
    auto router = select(op, op.getRouterAttr(), KernelKind::Matmul);
    if (failed(router))
      return failure();
    auto gateUp = select(op, op.getGateAttr(), KernelKind::Expert);
    if (failed(gateUp))
      return failure();
    auto down = select(op, op.getDownAttr(), KernelKind::Expert);
    if (failed(down))
      return failure();
    op.setRouterKernelAttr(*router);
    op.setGateUpKernelAttr(*gateUp);
    op.setDownKernelAttr(*down);
    if (!op.getSharedGateAttr())
      return success();
    auto sharedGate = select(op, op.getSharedGateAttr(), KernelKind::Matmul);
    if (failed(sharedGate))
      return failure();
    auto sharedUp = select(op, op.getSharedUpAttr(), KernelKind::Matmul);
    if (failed(sharedUp))
      return failure();
    auto sharedDown = select(op, op.getSharedDownAttr(), KernelKind::Matmul);
    if (failed(sharedDown))
      return failure();
    op.setSharedGateKernelAttr(*sharedGate);
    op.setSharedUpKernelAttr(*sharedUp);
    op.setSharedDownKernelAttr(*sharedDown);
    return success();
  }

  LogicalResult selectFor(MLAAttentionOp op) {
    auto kB = select(op, op.getKBAttr(), KernelKind::Expert);
    if (failed(kB))
      return failure();
    auto vB = select(op, op.getVBAttr(), KernelKind::Expert);
    if (failed(vB))
      return failure();
    op.setKBKernelAttr(*kB);
    op.setVBKernelAttr(*vB);
    return success();
  }

  void runOnOperation() override {
    module = getOperation();
    generated.clear();
    WalkResult result = module.walk([&](Operation *op) {
      LogicalResult selected = success();
      if (auto m = dyn_cast<MatmulOp>(op))
        selected = selectFor(m);
      else if (auto m = dyn_cast<MoEOp>(op))
        selected = selectFor(m);
      else if (auto m = dyn_cast<MLAAttentionOp>(op))
        selected = selectFor(m);
      return failed(selected) ? WalkResult::interrupt() : WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    ingotDialect(module.getContext())
        .getKernelsAttrHelper()
        .setAttr(module,
                 ArrayAttr::get(module.getContext(), generated.getArrayRef()));
  }
};

} // namespace
