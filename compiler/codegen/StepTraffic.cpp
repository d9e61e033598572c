//===- StepTraffic.cpp - Bytes and multiply-adds of one token -------------===//
#include "compiler/codegen/StepTraffic.h"

#include "compiler/dialect/IngotDialect.h"
#include "passes/LogitsTail.h"

using namespace mlir;

namespace ingot::codegen {
namespace {

bool isFloatType(GGMLType type) {
  return type == GGMLType::F32 || type == GGMLType::F16 ||
         type == GGMLType::BF16;
}

/// Adds the weights one op reads per token to a StepTraffic.
class TrafficCounter {
public:
  TrafficCounter(ModuleOp module, int64_t vocabSize)
      : module(module), vocabSize(vocabSize) {}

  /// A weight product read whole (or `used` of `count` matrices of a
  /// stack): its packed bytes and multiply-adds.
  /// Returns the bytes counted.
  int64_t product(FlatSymbolRefAttr ref, int64_t used = 1, int64_t count = 1) {
    WeightOp w = lookup(ref);
    if (!w || !w.getLayoutAttr())
      return 0;
    auto packed = w.getLayoutAttr().getPacked();
    if (!packed)
      return 0;
    int64_t bytes = packed->bytes / count * used;
    int64_t macs = w.getNumElements() / count * used;
    traffic.weightBytes += bytes;
    // The kernels' type decides the arithmetic (a q5_k weight is read as
    // q8_0).
    (isFloatType(w.getKernelType()) ? traffic.floatMacs
                                    : traffic.quantizedMacs) += macs;
    if (inLogitsTail && !isFloatType(w.getKernelType()))
      traffic.logitsTailQuantizedMacs += macs;
    ArrayRef<int64_t> shape = w.getShape();
    if (shape.size() == 2 && shape[0] == vocabSize)
      traffic.outputBytes += bytes;
    return bytes;
  }

  /// A small weight read whole as f32 (norm scale, bias, rope factors).
  void f32Vector(FlatSymbolRefAttr ref) {
    if (WeightOp w = lookup(ref))
      if (w.getLayoutAttr())
        if (auto f32 = w.getLayoutAttr().getF32())
          traffic.weightBytes += f32->bytes;
  }

  /// One row of an embedding table per token (its ggml bytes).
  void embeddingRow(FlatSymbolRefAttr ref) {
    WeightOp w = lookup(ref);
    if (!w || !w.getLayoutAttr() || w.getShape().empty())
      return;
    if (auto raw = w.getLayoutAttr().getRaw()) {
      int64_t row = raw->bytes / std::max<int64_t>(1, w.getShape()[0]);
      traffic.weightBytes += row;
      traffic.embeddingBytes += row;
    }
  }

  void moe(MoEOp m) {
    product(m.getRouterAttr());
    int64_t used = m.getExpertsUsed(), experts = m.getNumExperts();
    for (auto ref : {m.getGateAttr(), m.getUpAttr(), m.getDownAttr()})
      traffic.routedExpertBytes += product(ref, used, experts);
    for (auto ref :
         {m.getSharedGateAttr(), m.getSharedUpAttr(), m.getSharedDownAttr()})
      product(ref);
    f32Vector(m.getSelectionBiasAttr());
    traffic.expertsUsed = used;
    traffic.experts = experts;
  }

  StepTraffic traffic;
  /// Whether the op being counted is in the logits tail.
  bool inLogitsTail = false;

private:
  WeightOp lookup(FlatSymbolRefAttr ref) {
    return ref ? module.lookupSymbol<WeightOp>(ref.getAttr()) : WeightOp();
  }

  ModuleOp module;
  int64_t vocabSize;
};

} // namespace

StepTraffic computeStepTraffic(ModuleOp planned, int64_t vocabSize) {
  TrafficCounter count(planned, vocabSize);
  llvm::DenseSet<Operation *> tail;
  if (auto forward = planned.lookupSymbol<func::FuncOp>("forward"))
    tail = findLogitsTail(forward);
  // Every use counts: a weight two ops read is streamed twice per step.
  planned->walk([&](Operation *op) {
    count.inLogitsTail = tail.contains(op);
    if (auto e = dyn_cast<EmbeddingOp>(op))
      count.embeddingRow(e.getTableAttr());
    else if (auto n = dyn_cast<RMSNormOp>(op))
      count.f32Vector(n.getScaleAttr());
    else if (auto r = dyn_cast<RopeOp>(op))
      count.f32Vector(r.getFreqFactorsAttr());
    else if (auto m = dyn_cast<MatmulOp>(op)) {
      count.product(m.getWeightAttr());
      count.f32Vector(m.getBiasAttr());
    } else if (auto m = dyn_cast<FusedMatmulOp>(op)) {
      // Sibling products after fusion: each segment's weight and bias, and
      // the norm scale of a fused rms_norm prologue.
      for (auto ref : m.getWeights().getAsRange<FlatSymbolRefAttr>())
        count.product(ref);
      if (auto biases = m.getBiasesAttr())
        for (auto ref : biases.getAsRange<FlatSymbolRefAttr>())
          count.f32Vector(ref);
      count.f32Vector(m.getNormAttr());
    } else if (auto m = dyn_cast<MoEOp>(op))
      count.moe(m);
    else if (auto m = dyn_cast<MLAAttentionOp>(op)) {
      count.product(m.getKBAttr());
      count.product(m.getVBAttr());
    }
  });
  return count.traffic;
}

} // namespace ingot::codegen
