//===- SelectKernels.cpp - The kernel of every weight an op multiplies by -===//
//
// The one place that decides which code multiplies by a weight, read as its
// kernel type (WeightOp::getKernelType): a kernel generated for the ISA the
// weight was packed for (on AMX targets, the AMX prefill kernel over the same
// layout for Q8_0 matmuls), or the op library's plain path for weights read
// as F32 or F16 and for those of its ggml dot path. The lowering and the kernel
// emitter only follow the #ingot.kernel attributes recorded here.
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

bool ingot::keepsGgmlOrder(mlir::ModuleOp module) {
  return module.walk([](MoEOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

namespace {

struct SelectKernelsPass
    : public ingot::impl::IngotSelectKernelsBase<SelectKernelsPass> {
  using IngotSelectKernelsBase::IngotSelectKernelsBase;

  ModuleOp module;
  /// Whether the module keeps ggml's order (keepsGgmlOrder).
  bool ggmlOrder = false;
  /// Generated kernels in first-use order.
  llvm::SetVector<Attribute> generated;

  /// The kernel for weight `ref` (a stack of matrices when `kind` is
  /// Expert), or a diagnostic on `user`; with `amxAllowed` false, never the
  /// AMX kernel.
  FailureOr<KernelAttr> select(Operation *user, FlatSymbolRefAttr ref,
                               KernelKind kind, bool amxAllowed = true) {
    auto weight = module.lookupSymbol<WeightOp>(ref.getAttr());
    LayoutAttr layout = weight ? weight.getLayoutAttr() : nullptr;
    if (!layout || !layout.getPacked())
      return user->emitOpError()
             << "weight '" << ref.getValue()
             << "' has no packed layout: run ingot-plan-weights first";
    // The kernel reads the weight as its kernel type (a q5_k weight as
    // q8_0), and the attribute records that type.
    GGMLType type = weight.getKernelType();
    // Weights read as F32 (routers, test models) take the op library's
    // plain path, which follows ggml's F32 summation order exactly, and so
    // do those of its ggml dot path (ingot-plan-weights chose it). F16 and
    // BF16 weights run generated matmul kernels (their own faster order),
    // except in modules that keep ggml's order and as experts or per-head
    // matrices, which the plain path multiplies as the reference does. The
    // other quantized weights run generated kernels.
    const bool half = type == GGMLType::F16 || type == GGMLType::BF16;
    bool plain = type == GGMLType::F32 || weight.readsGgmlDot() ||
                 (half && (ggmlOrder || kind != KernelKind::Matmul));
    KernelISA isa = plain ? KernelISA::None : *layout.getIsa();
    // AMX multiplies prefill batches of Q8_0 and Q4_0 matrices; expert
    // kernels take one token per id, so they stay on the vector code.
    if (amx && amxAllowed && isa == KernelISA::AVX512VNNI &&
        kind == KernelKind::Matmul &&
        (type == GGMLType::Q8_0 || type == GGMLType::Q4_0))
      isa = KernelISA::AMX;
    ArrayRef<int64_t> shape = weight.getShape();
    auto kernel =
        KernelAttr::get(user->getContext(), kind, type, shape[shape.size() - 2],
                        shape.back(), isa, *layout.getGranule());
    if (kernel.isGenerated())
      generated.insert(kernel);
    return kernel;
  }

  /// Selects the kernel of weight `ref` and records it on `user` with
  /// `setKernel` (one of its generated attribute setters).
  template <typename OpT>
  LogicalResult selectInto(OpT user, FlatSymbolRefAttr ref, KernelKind kind,
                           void (OpT::*setKernel)(KernelAttr),
                           bool amxAllowed = true) {
    auto kernel = select(user, ref, kind, amxAllowed);
    if (failed(kernel))
      return failure();
    (user.*setKernel)(*kernel);
    return success();
  }

  LogicalResult selectFor(MatmulOp op) {
    return selectInto(op, op.getWeightAttr(), KernelKind::Matmul,
                      &MatmulOp::setKernelAttr);
  }

  LogicalResult selectFor(FusedMatmulOp op) {
    SmallVector<Attribute> kernels;
    for (auto ref : op.getWeights().getAsRange<FlatSymbolRefAttr>()) {
      auto kernel = select(op, ref, KernelKind::Matmul);
      if (failed(kernel))
        return failure();
      kernels.push_back(*kernel);
    }
    op.setKernelsAttr(ArrayAttr::get(op.getContext(), kernels));
    return success();
  }

  LogicalResult selectFor(MoEOp op) {
    auto gate = module.lookupSymbol<WeightOp>(op.getGateAttr().getAttr());
    auto up = module.lookupSymbol<WeightOp>(op.getUpAttr().getAttr());
    if (gate && up && gate.getKernelType() != up.getKernelType())
      return op.emitOpError() << "gate and up experts must share a kernel type";
    // Unfused, the router product is a matmul of its own.
    if (op.getRouterAttr() &&
        failed(selectInto(op, op.getRouterAttr(), KernelKind::Matmul,
                          &MoEOp::setRouterKernelAttr)))
      return failure();
    if (failed(selectInto(op, op.getGateAttr(), KernelKind::Expert,
                          &MoEOp::setGateUpKernelAttr)) ||
        failed(selectInto(op, op.getDownAttr(), KernelKind::Expert,
                          &MoEOp::setDownKernelAttr)))
      return failure();
    if (failed(selectBatchKernels(op)))
      return failure();
    if (!op.getSharedGateAttr())
      return success();
    if (failed(selectInto(op, op.getSharedGateAttr(), KernelKind::Matmul,
                          &MoEOp::setSharedGateKernelAttr)) ||
        failed(selectInto(op, op.getSharedUpAttr(), KernelKind::Matmul,
                          &MoEOp::setSharedUpKernelAttr)) ||
        failed(selectInto(op, op.getSharedDownAttr(), KernelKind::Matmul,
                          &MoEOp::setSharedDownKernelAttr)))
      return failure();
    return success();
  }

  /// Batches of more than one token run the experts bucketed by expert:
  /// each chosen expert's matrix multiplies its bucket with the matmul
  /// kernel of one matrix (the same numerics as the expert kernel, several
  /// tokens per pass over the weights), or, on the op library's ggml dot
  /// path, row by row as ggml's gemv (no kernel). Not the AMX kernel: it
  /// sums Q8_0 in block order, and an expert's result must not depend on
  /// the batch.
  LogicalResult selectBatchKernels(MoEOp op) {
    auto weight = [&](FlatSymbolRefAttr ref) {
      return module.lookupSymbol<WeightOp>(ref.getAttr());
    };
    WeightOp gate = weight(op.getGateAttr()), down = weight(op.getDownAttr());
    const bool gateGenerated = op.getGateUpKernel()->isGenerated(),
               downGenerated = op.getDownKernel()->isGenerated();
    if (!runsBatches() || !(gateGenerated || gate.readsGgmlDot()) ||
        !(downGenerated || down.readsGgmlDot()))
      return success();
    if (gateGenerated &&
        failed(selectInto(op, op.getGateAttr(), KernelKind::Matmul,
                          &MoEOp::setGateUpBatchKernelAttr,
                          /*amxAllowed=*/false)))
      return failure();
    if (downGenerated &&
        failed(selectInto(op, op.getDownAttr(), KernelKind::Matmul,
                          &MoEOp::setDownBatchKernelAttr,
                          /*amxAllowed=*/false)))
      return failure();
    return success();
  }

  /// Whether the module runs batches of more than one token (or has no
  /// plan yet).
  bool runsBatches() {
    auto maxBatch = ingotDialect(module.getContext())
                        .getMaxBatchAttrHelper()
                        .getAttr(module);
    return !maxBatch || maxBatch.getInt() > 1;
  }

  LogicalResult selectFor(MLAAttentionOp op) {
    if (failed(selectInto(op, op.getKBAttr(), KernelKind::Expert,
                          &MLAAttentionOp::setKBKernelAttr)) ||
        failed(selectInto(op, op.getVBAttr(), KernelKind::Expert,
                          &MLAAttentionOp::setVBKernelAttr)))
      return failure();
    // Batches: each head's matrix multiplies all tokens in one matmul
    // kernel call (vectors only, as the experts' batch kernels).
    if (!runsBatches() || !op.getKBKernel()->isGenerated() ||
        !op.getVBKernel()->isGenerated())
      return success();
    if (failed(selectInto(op, op.getKBAttr(), KernelKind::Matmul,
                          &MLAAttentionOp::setKBBatchKernelAttr,
                          /*amxAllowed=*/false)) ||
        failed(selectInto(op, op.getVBAttr(), KernelKind::Matmul,
                          &MLAAttentionOp::setVBBatchKernelAttr,
                          /*amxAllowed=*/false)))
      return failure();
    return success();
  }

  void runOnOperation() override {
    module = getOperation();
    generated.clear();
    ggmlOrder = keepsGgmlOrder(module);
    if (ggmlOrder)
      module.walk([&](AttentionOp op) { op.setGgmlOrder(true); });
    WalkResult result = module.walk([&](Operation *op) {
      LogicalResult selected = success();
      if (auto m = dyn_cast<MatmulOp>(op))
        selected = selectFor(m);
      else if (auto m = dyn_cast<FusedMatmulOp>(op))
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
