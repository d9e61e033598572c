//===- PlanWeights.cpp - Payload layout of every weight -------------------===//
#include "passes/Passes.h"

#include "compiler/dialect/IngotDialect.h"
#include "compiler/ggml/GGMLDot.h"
#include "compiler/ggml/GGMLTypes.h"
#include "passes/PlanningUtils.h"
#include "targets/x86/Kernels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
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
    if (const ggml::TypeInfo *info = ggml::lookupType(id))
      if (info->canDequantize)
        names += (names.empty() ? "" : ", ") + std::string(info->name);
  return names;
}

/// Which forms of a weight its users read.
struct Roles {
  bool packed = false, raw = false, f32 = false;
};

/// The weights each form is read of, by symbol.
llvm::StringMap<Roles> collectRoles(ModuleOp module) {
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
    } else if (auto m = dyn_cast<FusedMatmulOp>(op)) {
      for (auto ref : m.getWeights().getAsRange<FlatSymbolRefAttr>())
        mark(ref, &Roles::packed);
      if (auto biases = m.getBiasesAttr())
        for (auto ref : biases.getAsRange<FlatSymbolRefAttr>())
          mark(ref, &Roles::f32);
      mark(m.getNormAttr(), &Roles::f32);
    } else if (auto m = dyn_cast<MoEOp>(op)) {
      for (auto ref :
           {m.getRouterAttr(), m.getGateAttr(), m.getUpAttr(), m.getDownAttr(),
            m.getSharedGateAttr(), m.getSharedUpAttr(), m.getSharedDownAttr()})
        mark(ref, &Roles::packed);
      mark(m.getSelectionBiasAttr(), &Roles::f32);
    } else if (auto m = dyn_cast<MLAAttentionOp>(op)) {
      mark(m.getKBAttr(), &Roles::packed);
      mark(m.getVBAttr(), &Roles::packed);
    }
  });
  return roles;
}

/// Experts whose gate and up stacks are of different ggml types: the expert
/// code reads both as one kernel type, so they keep the type table's
/// (converted, not ggml's arithmetic) rather than the ggml dot path, and
/// when the table reads the two as different types (q4_k beside q5_k, q6_k
/// beside iq4_xs, f16 beside q8_0), both are read as q8_0 (read_as_q8_0).
llvm::StringSet<> mixedGateUp(ModuleOp module) {
  llvm::StringSet<> mixed;
  module.walk([&](MoEOp op) {
    auto gate = module.lookupSymbol<WeightOp>(op.getGateAttr().getAttr());
    auto up = module.lookupSymbol<WeightOp>(op.getUpAttr().getAttr());
    if (!gate || !up || gate.getGgmlType() == up.getGgmlType())
      return;
    mixed.insert(gate.getSymName());
    mixed.insert(up.getSymName());
    if (gate.getKernelType() != up.getKernelType()) {
      gate.setReadAsQ8_0(true);
      up.setReadAsQ8_0(true);
    }
  });
  return mixed;
}

/// Places forms one after another in the payload, 64-byte aligned. Every
/// size and offset is exact, or the plan is refused (a wrapped offset would
/// overlap weights in the payload).
class PayloadCursor {
public:
  int64_t place(CheckedSize bytes) {
    CheckedSize at = next.alignedTo(64);
    next = at + bytes;
    return at.get();
  }
  CheckedSize end() const { return next; }

private:
  CheckedSize next = 0;
};

/// The packed form's stride and granule for the kernels of `isa`.
struct PackedForm {
  CheckedSize stride, bytes;
  int64_t granule;
};

/// The packed form holds the weight as its kernel type (the payload writer
/// converts other types to it), so its sizes are the kernel type's.
FailureOr<PackedForm> packedForm(WeightOp weight, KernelISA isa) {
  auto type = targetWeightType(weight.getKernelType());
  if (!type)
    return weight.emitError()
           << "weight '" << weight.getSymName() << "' has type "
           << stringifyGGMLType(weight.getGgmlType()) << ", read as "
           << stringifyGGMLType(weight.getKernelType())
           << ", which no kernel generator packs";
  // 2-D [rows, cols] or a stack [count, rows, cols] of matrices.
  ArrayRef<int64_t> shape = weight.getShape();
  if (shape.size() < 2 || shape.size() > 3)
    return weight.emitError()
           << "weight '" << weight.getSymName()
           << "' must be 2-D or a 3-D stack to feed a kernel";
  targets::MatmulShape matrix{shape[shape.size() - 2], shape.back()};
  if (!targets::isSupportedShape(*type, matrix))
    return weight.emitError()
           << "weight '" << weight.getSymName() << "': no kernel for "
           << matrix.rows << "x" << matrix.cols;
  uint64_t stride = targets::packedWeightBytes(*type, matrix, targetISA(isa));
  PackedForm form;
  form.stride = stride > uint64_t(INT64_MAX) ? CheckedSize::invalid()
                                             : CheckedSize(int64_t(stride));
  form.bytes = form.stride * (shape.size() == 3 ? shape[0] : 1);
  form.granule = targets::rowGranule(*type, targetISA(isa));
  return form;
}

/// The packed form of a weight the op library's ggml dot path reads: the
/// GGUF rows as they are (a stack's matrices one after another), granule 1,
/// for no kernel ISA.
FailureOr<PackedForm> ggmlDotForm(WeightOp weight) {
  ArrayRef<int64_t> shape = weight.getShape();
  if (shape.size() < 2 || shape.size() > 3)
    return weight.emitError()
           << "weight '" << weight.getSymName()
           << "' must be 2-D or a 3-D stack to be multiplied";
  const auto type = static_cast<ggml::Type>(weight.getGgmlType());
  std::optional<uint64_t> matrixBytes = ggml::rowBytes(
      type, uint64_t(shape[shape.size() - 2]) * uint64_t(shape.back()));
  if (!matrixBytes || shape.back() % ggml::dotActivationBlock(type) ||
      *matrixBytes > uint64_t(INT64_MAX))
    return weight.emitError()
           << "weight '" << weight.getSymName() << "': rows of " << shape.back()
           << " values are not whole blocks of "
           << stringifyGGMLType(weight.getGgmlType());
  PackedForm form;
  form.stride = CheckedSize(int64_t(*matrixBytes));
  form.bytes = form.stride * (shape.size() == 3 ? shape[0] : 1);
  form.granule = 1;
  return form;
}

/// Every form reads the weight through the GGML table's decoder: the op
/// library dequantizes embedding rows, the payload writer the f32 copies
/// (norm scales, biases) and the weights it converts to their kernel type.
/// A type without a decoder would read as garbage: refused, whatever its
/// role.
LogicalResult checkDequantizable(WeightOp weight, const Roles &roles) {
  const ggml::TypeInfo &typeInfo =
      ggml::getTypeInfo(static_cast<ggml::Type>(weight.getGgmlType()));
  if (typeInfo.canDequantize)
    return success();
  const char *reader = roles.raw   ? "the embedding lookup cannot read"
                       : roles.f32 ? "a norm scale or bias cannot read"
                                   : "no kernel can read";
  return weight.emitError()
         << "weight '" << weight.getSymName() << "' has type " << typeInfo.name
         << ", which " << reader << " (supported: " << dequantizableTypeNames()
         << ")";
}

struct PlanWeightsPass
    : public ingot::impl::IngotPlanWeightsBase<PlanWeightsPass> {
  using IngotPlanWeightsBase::IngotPlanWeightsBase;

  /// Whether the module keeps ggml's order (keepsGgmlOrder): its weights of
  /// the ggml dot path's types are read by that path, except `mixed` ones.
  bool ggmlOrder = false;
  llvm::StringSet<> mixed;

  /// The layout of one weight, its forms placed by `cursor`.
  FailureOr<LayoutAttr> planWeight(WeightOp weight, const Roles &r,
                                   KernelISA isa, PayloadCursor &cursor) {
    std::optional<int64_t> packedOffset, packedBytes, packedStride, granule,
        rawOffset, rawBytes, f32Offset, f32Bytes;
    std::optional<KernelISA> packedIsa;
    if (failed(checkDequantizable(weight, r)))
      return failure();
    if (r.packed) {
      const bool dotPath = ggmlOrder &&
                           ggml::takesGgmlDotPath(
                               static_cast<ggml::Type>(weight.getGgmlType())) &&
                           !mixed.contains(weight.getSymName());
      FailureOr<PackedForm> form =
          dotPath ? ggmlDotForm(weight) : packedForm(weight, isa);
      if (failed(form))
        return failure();
      packedOffset = cursor.place(form->bytes);
      packedBytes = form->bytes.get();
      packedStride = form->stride.get();
      granule = form->granule;
      packedIsa = dotPath ? KernelISA::None : isa;
    }
    if (r.raw) {
      rawOffset = cursor.place(weight.getSize());
      rawBytes = weight.getSize();
    }
    if (r.f32) {
      CheckedSize bytes = CheckedSize(4) * weight.getNumElements();
      f32Offset = cursor.place(bytes);
      f32Bytes = bytes.get();
    }
    if (!cursor.end().isValid())
      return weight.emitError()
             << "weight '" << weight.getSymName()
             << "': the payload size does not fit in 64 bits";
    return LayoutAttr::get(weight.getContext(), packedOffset, packedBytes,
                           packedStride, granule, packedIsa, rawOffset,
                           rawBytes, f32Offset, f32Bytes);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<KernelISA> isa = parseKernelISA(kernelIsa);
    if (!isa) {
      module.emitError() << "unknown kernel ISA '" << kernelIsa
                         << "' (expected avx512vnni, avxvnni or avx2)";
      return signalPassFailure();
    }
    ggmlOrder = keepsGgmlOrder(module);
    mixed = mixedGateUp(module);
    llvm::StringMap<Roles> roles = collectRoles(module);
    PayloadCursor cursor;
    for (WeightOp weight : module.getOps<WeightOp>()) {
      auto it = roles.find(weight.getSymName());
      if (it == roles.end())
        continue;
      FailureOr<LayoutAttr> layout =
          planWeight(weight, it->second, *isa, cursor);
      if (failed(layout))
        return signalPassFailure();
      weight.setLayoutAttr(*layout);
    }
    CheckedSize payloadBytes = cursor.end().alignedTo(64);
    if (!payloadBytes.isValid()) {
      module.emitError() << "the payload size does not fit in 64 bits";
      return signalPassFailure();
    }
    ingotDialect(module.getContext())
        .getPayloadBytesAttrHelper()
        .setAttr(module, Builder(module).getI64IntegerAttr(payloadBytes.get()));
  }
};

} // namespace
