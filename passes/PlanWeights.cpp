//===- PlanWeights.cpp - Payload layout of every weight -------------------===//
#include "passes/Passes.h"

#include "compiler/dialect/IngotDialect.h"
#include "compiler/ggml/GGMLTypes.h"
#include "passes/PlanningUtils.h"
#include "targets/x86/Kernels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MathExtras.h"

namespace ingot {
#define GEN_PASS_DEF_INGOTPLANWEIGHTS
#include "passes/Passes.h.inc"
} // namespace ingot

using namespace mlir;
using namespace ingot;

namespace {

/// "F32, F16, ...": the types dequantizeRow reads, for messages.
std::string dequantizableTypeNames() {
  std::string names;
  for (uint32_t id = 0; id < 64; ++id)
    if (const gguf::GGMLTypeInfo *info = gguf::lookupType(id))
      if (info->canDequantize)
        names += (names.empty() ? "" : ", ") + std::string(info->name);
  return names;
}

/// Which forms of a weight its users read.
struct Roles {
  bool packed = false, raw = false, f32 = false;
};

struct PlanWeightsPass
    : public ingot::impl::IngotPlanWeightsBase<PlanWeightsPass> {
  using IngotPlanWeightsBase::IngotPlanWeightsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<targets::ISA> targetIsa;
    if (isa == "avx512vnni")
      targetIsa = targets::ISA::AVX512VNNI;
    else if (isa == "avx2")
      targetIsa = targets::ISA::AVX2;
    if (!targetIsa) {
      module.emitError() << "unknown kernel ISA '" << isa
                         << "' (expected avx512vnni or avx2)";
      return signalPassFailure();
    }

    llvm::StringMap<Roles> roles;
    module.walk([&](Operation *op) {
      auto mark = [&](FlatSymbolRefAttr ref, bool Roles::*role) {
        if (ref)
          roles[ref.getValue()].*role = true;
      };
      if (auto e = dyn_cast<EmbeddingOp>(op))
        mark(e.getTableAttr(), &Roles::raw);
      else if (auto n = dyn_cast<RMSNormOp>(op))
        mark(n.getScaleAttr(), &Roles::f32);
      else if (auto r = dyn_cast<RopeOp>(op))
        mark(r.getFreqFactorsAttr(), &Roles::f32);
      else if (auto m = dyn_cast<MatmulOp>(op)) {
        mark(m.getWeightAttr(), &Roles::packed);
        mark(m.getBiasAttr(), &Roles::f32);
      } else if (auto m = dyn_cast<MoEOp>(op)) {
        for (auto ref : {m.getRouterAttr(), m.getGateAttr(), m.getUpAttr(),
                         m.getDownAttr(), m.getSharedGateAttr(),
                         m.getSharedUpAttr(), m.getSharedDownAttr()})
          mark(ref, &Roles::packed);
        mark(m.getSelectionBiasAttr(), &Roles::f32);
      } else if (auto m = dyn_cast<MLAAttentionOp>(op)) {
        mark(m.getKBAttr(), &Roles::packed);
        mark(m.getVBAttr(), &Roles::packed);
      }
    });

    Builder b(module.getContext());
    // Every size and offset exact, or the plan is refused (a wrapped offset
    // would overlap weights in the payload).
    CheckedSize offset = 0;
    auto place = [&](CheckedSize bytes) {
      CheckedSize at = offset.alignedTo(64);
      offset = at + bytes;
      return at.get();
    };
    for (WeightOp weight : module.getOps<WeightOp>()) {
      auto it = roles.find(weight.getSymName());
      if (it == roles.end())
        continue;
      const Roles &r = it->second;
      NamedAttrList layout;
      ArrayRef<int64_t> shape = weight.getShape();
      if (r.packed) {
        auto type = kernelWeightType(weight.getGgmlType());
        if (!type) {
          weight.emitError() << "weight '" << weight.getSymName()
                             << "' has type "
                             << stringifyGGMLType(weight.getGgmlType())
                             << ", which no generated kernel reads yet "
                                "(supported: f32, f16, q8_0, q4_0)";
          return signalPassFailure();
        }
        // 2-D [rows, cols] or a stack [count, rows, cols] of matrices.
        if (shape.size() < 2 || shape.size() > 3) {
          weight.emitError() << "weight '" << weight.getSymName()
                             << "' must be 2-D or a 3-D stack to feed a kernel";
          return signalPassFailure();
        }
        int64_t rows = shape[shape.size() - 2];
        int64_t cols = shape.back();
        int64_t count = shape.size() == 3 ? shape[0] : 1;
        targets::MatmulShape ms{rows, cols};
        if (!targets::isSupportedShape(*type, ms)) {
          weight.emitError() << "weight '" << weight.getSymName()
                             << "': no kernel for " << rows << "x" << cols;
          return signalPassFailure();
        }
        uint64_t rawStride = targets::packedWeightBytes(*type, ms, *targetIsa);
        CheckedSize stride = rawStride > uint64_t(INT64_MAX)
                                 ? CheckedSize::invalid()
                                 : CheckedSize(int64_t(rawStride));
        CheckedSize bytes = stride * count;
        layout.append("packed_offset", b.getI64IntegerAttr(place(bytes)));
        layout.append("packed_bytes", b.getI64IntegerAttr(bytes.get()));
        layout.append("packed_stride", b.getI64IntegerAttr(stride.get()));
        layout.append("granule", b.getI64IntegerAttr(
                                     targets::rowGranule(*type, *targetIsa)));
        layout.append("isa", b.getStringAttr(isa));
      }
      // The op library dequantizes embedding rows, and the payload writer
      // the f32 copies (norm scales, biases), of every type the GGUF layer
      // can dequantize; any other type would read as garbage.
      const gguf::GGMLTypeInfo &typeInfo = gguf::getTypeInfo(
          static_cast<gguf::GGMLType>(weight.getGgmlType()));
      if ((r.raw || r.f32) && !typeInfo.canDequantize) {
        weight.emitError() << "weight '" << weight.getSymName()
                           << "' has type " << typeInfo.name << ", which "
                           << (r.raw ? "the embedding lookup"
                                     : "a norm scale or bias")
                           << " cannot read (supported: "
                           << dequantizableTypeNames() << ")";
        return signalPassFailure();
      }
      if (r.raw) {
        layout.append("raw_offset", b.getI64IntegerAttr(place(weight.getSize())));
        layout.append("raw_bytes", b.getI64IntegerAttr(weight.getSize()));
      }
      if (r.f32) {
        CheckedSize bytes = CheckedSize(4) * weight.getNumElements();
        layout.append("f32_offset", b.getI64IntegerAttr(place(bytes)));
        layout.append("f32_bytes", b.getI64IntegerAttr(bytes.get()));
      }
      if (!offset.isValid()) {
        weight.emitError() << "weight '" << weight.getSymName()
                           << "': the payload size does not fit in 64 bits";
        return signalPassFailure();
      }
      weight.setLayoutAttr(layout.getDictionary(module.getContext()));
    }
    CheckedSize payloadBytes = offset.alignedTo(64);
    if (!payloadBytes.isValid()) {
      module.emitError() << "the payload size does not fit in 64 bits";
      return signalPassFailure();
    }
    module->setAttr("ingot.payload_bytes",
                    b.getI64IntegerAttr(payloadBytes.get()));
  }
};

} // namespace
