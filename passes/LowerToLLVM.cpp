//===- LowerToLLVM.cpp - @forward to LLVM dialect calls -------------------===//
//
// After ingot-plan-weights, ingot-plan-memory and ingot-select-kernels every
// value has an arena offset, every weight its payload offsets and every
// weight an op multiplies by its kernel, so lowering only follows the IR:
// one conversion pattern per op turns it into calls of the op library
// (targets/oplib) with pointers computed from the IngotContext
// (runtime/include/ingot/ModelABI.h) and the addresses of generated kernels.
//
// The type converter maps every activation, token list and KV cache to the
// pointer of its buffer: a pattern reads its operands' buffers from the
// adaptor and replaces its results by their buffers.
//
// The caller asks for the logits of the last n_logit_rows tokens only (one
// for a prompt whose next token is sampled). The ops of the logits tail
// (LogitsTail.h) are computed for those rows alone: they read their other
// operands from row n_tokens - n_logit_rows on and write their rows from
// row 0. Logits from an op outside any tail (an F32 output matrix) are
// computed for every token and the requested rows moved to the front.
//
//===----------------------------------------------------------------------===//
#include "passes/LogitsTail.h"
#include "passes/OpLibABI.h"
#include "passes/Passes.h"
#include "passes/PlanningUtils.h"

#include "compiler/dialect/IngotDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/Transforms/DialectConversion.h"

namespace ingot {
#define GEN_PASS_DEF_INGOTLOWERTOLLVM
#include "passes/Passes.h.inc"
} // namespace ingot

using namespace mlir;
using namespace ingot;

namespace {

enum class WeightForm { Packed, Raw, F32 };

/// Every op that multiplies by a weight carries the kernel
/// ingot-select-kernels chose for it: lowering decides nothing itself.
LogicalResult checkKernelsChosen(func::FuncOp forward) {
  WalkResult result = forward.walk([&](Operation *op) {
    bool chosen = true;
    if (auto m = dyn_cast<MatmulOp>(op))
      chosen = bool(m.getKernelAttr());
    else if (auto m = dyn_cast<FusedMatmulOp>(op))
      chosen = bool(m.getKernelsAttr());
    else if (auto m = dyn_cast<MoEOp>(op))
      chosen = (!m.getRouterAttr() || m.getRouterKernelAttr()) &&
               m.getGateUpKernelAttr() && m.getDownKernelAttr() &&
               (!m.getSharedGateAttr() ||
                (m.getSharedGateKernelAttr() && m.getSharedUpKernelAttr() &&
                 m.getSharedDownKernelAttr()));
    else if (auto m = dyn_cast<MLAAttentionOp>(op))
      chosen = m.getKBKernelAttr() && m.getVBKernelAttr();
    if (chosen)
      return WalkResult::advance();
    op->emitOpError() << "has no kernel chosen: run ingot-select-kernels first";
    return WalkResult::interrupt();
  });
  return failure(result.wasInterrupted());
}

/// What every pattern reads: the module and the entry values of
/// ingot_model_forward(ctx, n_tokens, tokens, positions, sequence_starts,
/// n_logit_rows, logits) with the IngotContext fields loaded once.
struct ForwardEntry {
  mutable ModuleOp module; // looked up in; ops are only added to it
  IngotDialect *dialect = nullptr;
  int64_t maxBatch = 0;
  Value ctx, n, tokens, positions, sequenceStarts, logitRows, logits, weights,
      arena, kv, contextLength, kvKeyType;
  Value skippedRows;  // n_tokens - n_logit_rows
  Value logitsTensor; // the tensor value @forward returns as logits
  llvm::DenseSet<Operation *> logitsTail;
};

/// Builds LLVM dialect values and op library calls at the rewriter's
/// insertion point.
class CallBuilder {
public:
  CallBuilder(ConversionPatternRewriter &b, Location loc,
              const ForwardEntry &entry, Value rows)
      : b(b), loc(loc), entry(entry), n(rows) {
    MLIRContext *c = b.getContext();
    ptr = LLVM::LLVMPointerType::get(c);
    i64 = b.getI64Type();
    i32 = b.getI32Type();
    f32 = b.getF32Type();
    i8 = b.getI8Type();
  }

  LLVM::LLVMFuncOp declare(StringRef name, LLVM::LLVMFunctionType type) {
    if (auto fn = entry.module.lookupSymbol<LLVM::LLVMFuncOp>(name))
      return fn;
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(entry.module.getBody());
    return LLVM::LLVMFuncOp::create(b, loc, name, type);
  }

  /// Calls op library function `name` with its signature from OpLib.h; an
  /// argument list that does not match it is an error (the lowering and
  /// the op library disagree), reported once on the op.
  void call(StringRef name, ArrayRef<Value> args) {
    LLVM::LLVMFunctionType type = abi::opSignature(name, b.getContext());
    if (!type) {
      mismatch = "the op library has no function " + name.str();
      return;
    }
    ArrayRef<Type> params = type.getParams();
    bool same = params.size() == args.size();
    for (size_t i = 0; same && i < args.size(); ++i)
      same = params[i] == args[i].getType();
    if (!same) {
      std::string text;
      llvm::raw_string_ostream os(text);
      os << "call of " << name << " does not match its OpLib.h prototype "
         << type << ": got (";
      llvm::interleaveComma(args, os, [&](Value v) { os << v.getType(); });
      os << ")";
      mismatch = text;
      return;
    }
    LLVM::CallOp::create(b, loc, declare(name, type), args);
  }
  /// Why a call did not match its prototype (empty: all did).
  std::string mismatch;

  Value c64(int64_t v) {
    return LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(v));
  }
  Value c32(int32_t v) {
    return LLVM::ConstantOp::create(b, loc, i32, b.getI32IntegerAttr(v));
  }
  Value cf(float v) {
    return LLVM::ConstantOp::create(b, loc, f32, b.getF32FloatAttr(v));
  }
  Value cf(const APFloat &v) { return cf(v.convertToFloat()); }
  Value null() { return LLVM::ZeroOp::create(b, loc, ptr); }
  Value mul(Value a, Value c) { return LLVM::MulOp::create(b, loc, a, c); }
  Value offset(Value base, Value bytes) {
    return LLVM::GEPOp::create(b, loc, ptr, i8, base, ValueRange{bytes});
  }
  Value offset(Value base, int64_t bytes) {
    return bytes ? offset(base, c64(bytes)) : base;
  }
  /// The op's rows of `width` values.
  Value elements(int64_t width) { return mul(n, c64(width)); }

  LayoutAttr layout(FlatSymbolRefAttr ref) {
    return entry.module.lookupSymbol<WeightOp>(ref.getAttr()).getLayoutAttr();
  }
  Value weightPtr(FlatSymbolRefAttr ref, WeightForm form) {
    if (!ref)
      return null();
    LayoutAttr l = layout(ref);
    std::optional<LayoutAttr::Form> place =
        form == WeightForm::Packed ? l.getPacked()
        : form == WeightForm::Raw  ? l.getRaw()
                                   : l.getF32();
    return offset(entry.weights, place->offset);
  }
  int64_t packedStride(FlatSymbolRefAttr ref) {
    return *layout(ref).getPackedStride();
  }

  /// Address of the kernel ingot-select-kernels chose (null: the op
  /// library's plain path).
  Value kernel(KernelAttr chosen) {
    if (!chosen.isGenerated())
      return null();
    std::string name = chosen.getSymbol();
    declare(name, chosen.getKind() == KernelKind::Expert
                      ? abi::expertKernelSignature(b.getContext())
                      : abi::matmulKernelSignature(b.getContext()));
    return LLVM::AddressOfOp::create(b, loc, ptr, name);
  }

  /// The buffer of `op`'s result `i`: the caller's logits, or its arena
  /// slot.
  Value resultPtr(Operation *op, unsigned i = 0) {
    if (op->getResult(i) == entry.logitsTensor)
      return entry.logits;
    if (auto offsets = entry.dialect->getArenaOffsetsAttrHelper().getAttr(op))
      return offset(entry.arena, offsets[i]);
    return offset(
        entry.arena,
        entry.dialect->getArenaOffsetAttrHelper().getAttr(op).getInt());
  }
  int64_t scratch(Operation *op) {
    return entry.dialect->getScratchOffsetAttrHelper().getAttr(op).getInt();
  }
  /// This attention layer's part of the KV cache: its offset in a position
  /// for the key type the runtime chose, times the positions. A type the
  /// model cannot store (offset -1) is refused by the runtime before any
  /// call, so its select arm is never taken.
  Value layerCache(Operation *op) {
    ArrayRef<int64_t> offsets =
        entry.dialect->getKvOffsetsAttrHelper().getAttr(op).asArrayRef();
    Value at = c64(std::max<int64_t>(offsets[INGOT_KV_KEY_F32], 0));
    for (int32_t keyType = INGOT_KV_KEY_F32 + 1; keyType < INGOT_KV_KEY_TYPES;
         ++keyType) {
      Value chosen = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq,
                                          entry.kvKeyType, c32(keyType));
      at = LLVM::SelectOp::create(
          b, loc, chosen, c64(std::max<int64_t>(offsets[keyType], 0)), at);
    }
    return offset(entry.kv, mul(at, entry.contextLength));
  }

  /// A stack slot of struct `type` holding `fields` (index, value); its
  /// address.
  Value structOnStack(LLVM::LLVMStructType type,
                      ArrayRef<std::pair<int32_t, Value>> fields) {
    SmallVector<std::pair<int32_t, Value>> one(fields);
    return structsOnStack(type, ArrayRef(&one, 1));
  }
  /// A stack array of structs of `type`, element i holding `elements[i]`.
  Value
  structsOnStack(LLVM::LLVMStructType type,
                 ArrayRef<SmallVector<std::pair<int32_t, Value>>> elements) {
    Value slot = LLVM::AllocaOp::create(
        b, loc, ptr, type, c64(static_cast<int64_t>(elements.size())));
    for (auto [i, fields] : llvm::enumerate(elements))
      for (auto [index, value] : fields) {
        Value field = LLVM::GEPOp::create(
            b, loc, ptr, type, slot,
            ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i), index});
        LLVM::StoreOp::create(b, loc, value, field);
      }
    return slot;
  }

  void matmul(FlatSymbolRefAttr w, KernelAttr chosen, Value x, int64_t K,
              Value y, FlatSymbolRefAttr bias, Value scratchPtr) {
    call("ingot_op_matmul",
         {entry.ctx, kernel(chosen), weightPtr(w, WeightForm::Packed),
          c32(static_cast<int32_t>(chosen.getType())), c64(chosen.getRows()),
          c64(K), c64(chosen.getGranule()), x, n, y,
          weightPtr(bias, WeightForm::F32), scratchPtr});
  }

  /// One segment of ingot_op_fused_matmul: weight, kernel, bias (null:
  /// none) and output buffer.
  struct FusedSegment {
    FlatSymbolRefAttr weight;
    KernelAttr kernel;
    FlatSymbolRefAttr bias;
    Value y;
  };
  /// Calls ingot_op_fused_matmul: x (K wide) prepared once (normalised with
  /// `norm` first when given), one dispatch over `segments` (all of the
  /// first's type and granule), `residual` / `swigluUp` epilogues when not
  /// null pointers.
  void fusedMatmul(ArrayRef<FusedSegment> segments, Value x, int64_t K,
                   FlatSymbolRefAttr norm, float normEps, Value residual,
                   Value swigluUp, Value scratchPtr) {
    using namespace abi;
    SmallVector<SmallVector<std::pair<int32_t, Value>>> fields;
    for (const FusedSegment &s : segments)
      fields.push_back(
          {{kSegmentKernel, kernel(s.kernel)},
           {kSegmentPacked, weightPtr(s.weight, WeightForm::Packed)},
           {kSegmentBias, weightPtr(s.bias, WeightForm::F32)},
           {kSegmentY, s.y},
           {kSegmentRows, c64(s.kernel.getRows())}});
    MLIRContext *c = b.getContext();
    KernelAttr first = segments.front().kernel;
    Value args = structOnStack(
        fusedMatmulArgsType(c),
        {{kFusedSegments, structsOnStack(fusedSegmentType(c), fields)},
         {kFusedCount, c64(static_cast<int64_t>(segments.size()))},
         {kFusedCols, c64(K)},
         {kFusedGranule, c64(first.getGranule())},
         {kFusedNormScale, weightPtr(norm, WeightForm::F32)},
         {kFusedResidual, residual},
         {kFusedSwigluUp, swigluUp},
         {kFusedNormEps, cf(normEps)},
         {kFusedWtype, c32(static_cast<int32_t>(first.getType()))}});
    call("ingot_op_fused_matmul", {entry.ctx, args, x, n, scratchPtr});
  }

  ConversionPatternRewriter &b;
  Location loc;
  const ForwardEntry &entry;
  /// The rows the op computes: n_tokens, or n_logit_rows in the logits
  /// tail.
  Value n;
  Type ptr, i64, i32, f32, i8;
};

/// One op's lowering: `lower` emits its calls and returns the buffers of
/// its results.
template <typename OpT> class IngotLowering : public OpConversionPattern<OpT> {
public:
  IngotLowering(const TypeConverter &converter, MLIRContext *context,
                const ForwardEntry &entry)
      : OpConversionPattern<OpT>(converter, context), entry(entry) {}

  using Adaptor = typename OpConversionPattern<OpT>::OpAdaptor;

  LogicalResult
  matchAndRewrite(OpT op, Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const final {
    if (!entry.logitsTail.contains(op)) {
      CallBuilder b(rewriter, op.getLoc(), entry, entry.n);
      return finish(op, lower(op, adaptor, b), b, rewriter);
    }
    // In the logits tail: operands computed for every token are read from
    // row n_tokens - n_logit_rows on; tail results hold only those rows.
    CallBuilder b(rewriter, op.getLoc(), entry, entry.logitRows);
    SmallVector<Value> operands(adaptor.getOperands());
    for (auto [buffer, value] : llvm::zip(operands, op->getOperands())) {
      auto type = dyn_cast<RankedTensorType>(value.getType());
      if (!type || type.getRank() != 2 ||
          entry.logitsTail.contains(value.getDefiningOp()))
        continue;
      int64_t rowBytes = type.getDimSize(1) * type.getElementTypeBitWidth() / 8;
      buffer = b.offset(buffer, b.mul(entry.skippedRows, b.c64(rowBytes)));
    }
    return finish(op, lower(op, Adaptor(operands, op), b), b, rewriter);
  }

protected:
  virtual FailureOr<SmallVector<Value>> lower(OpT op, Adaptor adaptor,
                                              CallBuilder &b) const = 0;
  const ForwardEntry &entry;

private:
  LogicalResult finish(OpT op, FailureOr<SmallVector<Value>> results,
                       CallBuilder &b,
                       ConversionPatternRewriter &rewriter) const {
    if (failed(results))
      return failure();
    if (!b.mismatch.empty())
      return op.emitOpError() << b.mismatch;
    rewriter.replaceOp(op, *results);
    return success();
  }
};

#define INGOT_LOWERING(OpT)                                                    \
  struct OpT##Lowering : IngotLowering<OpT> {                                  \
    using IngotLowering::IngotLowering;                                        \
    FailureOr<SmallVector<Value>> lower(OpT op, Adaptor adaptor,               \
                                        CallBuilder &b) const override;        \
  };                                                                           \
  FailureOr<SmallVector<Value>> OpT##Lowering::lower(OpT op, Adaptor adaptor,  \
                                                     CallBuilder &b) const

INGOT_LOWERING(EmbeddingOp) {
  Value out = b.resultPtr(op);
  b.call("ingot_op_embedding",
         {b.weightPtr(op.getTableAttr(), WeightForm::Raw),
          b.c32(static_cast<int32_t>(
              entry.module.lookupSymbol<WeightOp>(op.getTableAttr().getAttr())
                  .getGgmlType())),
          b.c64(rowWidth(op.getResult())), entry.tokens, entry.n, out});
  return SmallVector<Value>{out};
}

INGOT_LOWERING(RMSNormOp) {
  int64_t group = op.getGroupSizeOrRow();
  Value out = b.resultPtr(op);
  b.call("ingot_op_rms_norm",
         {adaptor.getInput(), b.weightPtr(op.getScaleAttr(), WeightForm::F32),
          b.cf(op.getEps()), b.c64(group),
          b.elements(rowWidth(op.getInput()) / group), out});
  return SmallVector<Value>{out};
}

INGOT_LOWERING(MatmulOp) {
  Value out = b.resultPtr(op);
  b.matmul(op.getWeightAttr(), *op.getKernel(), adaptor.getInput(),
           rowWidth(op.getInput()), out, op.getBiasAttr(),
           b.offset(entry.arena, b.scratch(op)));
  return SmallVector<Value>{out};
}

INGOT_LOWERING(FusedMatmulOp) {
  FusedMatmulScratchLayout layout(entry.module, op, entry.maxBatch);
  int64_t base = b.scratch(op);
  Value up =
      op.getSwiglu() ? b.offset(entry.arena, base + layout.swigluUp) : b.null();
  ArrayAttr biases = op.getBiasesAttr();
  SmallVector<CallBuilder::FusedSegment> segments;
  for (auto [i, pair] : llvm::enumerate(llvm::zip(
           op.getWeights(), op.getKernelsAttr().getAsRange<KernelAttr>()))) {
    auto [weight, kernel] = pair;
    // With swiglu, the gate's product goes to the result, the up's to
    // scratch (swigluUp).
    segments.push_back(
        {cast<FlatSymbolRefAttr>(weight), kernel,
         biases ? cast<FlatSymbolRefAttr>(biases[i]) : FlatSymbolRefAttr(),
         op.getSwiglu() && i == 1 ? up
                                  : b.resultPtr(op, op.getSwiglu() ? 0 : i)});
  }
  auto eps = op.getNormEps();
  b.fusedMatmul(segments, adaptor.getInput(), rowWidth(op.getInput()),
                op.getNormAttr(), eps ? eps->convertToFloat() : 0.0f,
                op.getResidual() ? adaptor.getResidual() : b.null(), up,
                b.offset(entry.arena, base + layout.activations));
  SmallVector<Value> results;
  for (unsigned i = 0; i < op.getNumResults(); ++i)
    results.push_back(b.resultPtr(op, i));
  return results;
}

INGOT_LOWERING(RopeOp) {
  Value out = b.resultPtr(op);
  b.call("ingot_op_rope",
         {adaptor.getInput(), out, entry.positions, entry.n,
          b.c64(op.getNumHeads()), b.c64(op.getHeadDim()),
          b.c64(op.getOffset()), b.c64(op.getDims()),
          b.c32(op.getMode() == RopeMode::NeoX), b.cf(op.getFreqBase()),
          b.cf(op.getFreqScale()), b.cf(op.getExtFactor()),
          b.cf(op.getAttnFactor()), b.cf(op.getBetaFast()),
          b.cf(op.getBetaSlow()), b.c64(op.getOrigContext()),
          b.weightPtr(op.getFreqFactorsAttr(), WeightForm::F32)});
  return SmallVector<Value>{out};
}

INGOT_LOWERING(AttentionOp) {
  if (op.getSoftcap())
    return op.emitOpError() << "softcap is not lowered yet";
  Value out = b.resultPtr(op);
  Value cache = b.layerCache(op);
  b.call("ingot_op_attention",
         {entry.ctx, adaptor.getQuery(), adaptor.getKey(), adaptor.getValue(),
          entry.positions, entry.sequenceStarts, entry.n, cache,
          b.c64(op.getNumHeads()), b.c64(op.getNumKvHeads()),
          b.c64(op.getHeadDim()), b.c64(op.getCache().getType().getValueDim()),
          b.cf(op.getScale()), b.c32(op.getGgmlOrder()), out});
  return SmallVector<Value>{out, adaptor.getCache()};
}

INGOT_LOWERING(MLAAttentionOp) {
  int64_t H = op.getNumHeads(), R = op.getKvLoraRank(), nope = op.getNopeDim(),
          rope = op.getRopeDim(), vDim = op.getVHeadDim();
  Value cache = b.layerCache(op);
  int64_t base = b.scratch(op);
  MLAScratchLayout layout(entry.module, op, entry.maxBatch);
  Value qNopeAbs = b.offset(entry.arena, base + layout.queryAbsorbed);
  Value ctxOut = b.offset(entry.arena, base + layout.context);
  Value perHead = b.offset(entry.arena, base + layout.perHead);
  KernelAttr kB = *op.getKBKernel(), vB = *op.getVBKernel();
  Value q = adaptor.getQuery();
  // Per-head matrices as IngotPerHeadMatmulArgs on the stack, as MoEOp's.
  auto perHeadArgs = [&](FlatSymbolRefAttr w, KernelAttr kernel,
                         std::optional<KernelAttr> batchKernel, int64_t rows,
                         int64_t cols, int64_t xHeadStride,
                         int64_t xTokenStride) {
    // In declaration order: kernel, stack, stride, heads, rows, cols,
    // granule, xHeadStride, xTokenStride, outHeadStride, outTokenStride,
    // wtype, batchKernel.
    Value fields[] = {b.kernel(kernel),
                      b.weightPtr(w, WeightForm::Packed),
                      b.c64(b.packedStride(w)),
                      b.c64(H),
                      b.c64(rows),
                      b.c64(cols),
                      b.c64(kernel.getGranule()),
                      b.c64(xHeadStride),
                      b.c64(xTokenStride),
                      b.c64(rows),
                      b.c64(H * rows),
                      b.c32(static_cast<int32_t>(kernel.getType())),
                      batchKernel ? b.kernel(*batchKernel) : b.null()};
    SmallVector<std::pair<int32_t, Value>> indexed;
    for (auto [index, value] : llvm::enumerate(fields))
      indexed.push_back({static_cast<int32_t>(index), value});
    return b.structOnStack(abi::perHeadMatmulArgsType(b.b.getContext()),
                           indexed);
  };
  b.call("ingot_op_per_head_matmul",
         {entry.ctx,
          perHeadArgs(op.getKBAttr(), kB, op.getKBBatchKernel(), R, nope,
                      nope + rope, H * (nope + rope)),
          q, entry.n, qNopeAbs, perHead});
  b.call("ingot_op_mla_core",
         {entry.ctx, qNopeAbs, q, adaptor.getLatent(), adaptor.getRopeKey(),
          entry.positions, entry.sequenceStarts, entry.n, cache, b.c64(H),
          b.c64(nope), b.c64(R), b.c64(rope), b.cf(op.getScale()), ctxOut});
  Value out = b.resultPtr(op);
  b.call("ingot_op_per_head_matmul",
         {entry.ctx,
          perHeadArgs(op.getVBAttr(), vB, op.getVBBatchKernel(), vDim, R, R,
                      H * R),
          ctxOut, entry.n, out, perHead});
  return SmallVector<Value>{out, adaptor.getCache()};
}

INGOT_LOWERING(MoEOp) {
  if (!op.getRouterAttr())
    return op.emitOpError()
           << "routes by the router's logits: run ingot-fuse-router first";
  const int64_t dim = rowWidth(op.getInput());
  const int64_t X = op.getNumExperts(), used = op.getExpertsUsed();
  KernelAttr gate = *op.getGateUpKernel(), down = *op.getDownKernel();
  const int64_t F = gate.getRows();
  MoEScratchLayout layout(entry.module, op, entry.maxBatch);
  int64_t base = b.scratch(op);
  auto piece = [&](int64_t at) { return b.offset(entry.arena, base + at); };
  Value routerLogits = piece(layout.routerLogits);
  Value routerAct = piece(layout.routerActivations);
  Value ids = piece(layout.ids);
  Value weightsOut = piece(layout.weights);
  Value x = adaptor.getInput(), out = b.resultPtr(op);
  // Router product and expert choice in one call; it also counts the
  // chosen experts' bytes (one expert: its gate, up and down matrices).
  KernelAttr router = *op.getRouterKernel();
  const int64_t expertBytes = b.packedStride(op.getGateAttr()) +
                              b.packedStride(op.getUpAttr()) +
                              b.packedStride(op.getDownAttr());
  b.call("ingot_op_moe_route",
         {entry.ctx,
          b.kernel(router),
          b.weightPtr(op.getRouterAttr(), WeightForm::Packed),
          b.c32(static_cast<int32_t>(router.getType())),
          b.c64(router.getGranule()),
          x,
          entry.n,
          b.c64(dim),
          b.c64(X),
          b.c64(used),
          b.c32(op.getGating() == Gating::Sigmoid),
          b.weightPtr(op.getSelectionBiasAttr(), WeightForm::F32),
          b.c64(op.getNumGroups()),
          b.c64(op.getGroupsUsed()),
          b.c32(op.getNormalize()),
          b.cf(op.getRoutedScale()),
          b.c64(expertBytes),
          routerLogits,
          routerAct,
          ids,
          weightsOut});
  Value expertScratch = piece(layout.experts);
  auto batchKernel = [&](std::optional<KernelAttr> kernel) {
    return kernel ? b.kernel(*kernel) : b.null();
  };
  // The experts' shapes, types and kernels, as IngotMoEExpertsArgs on the
  // stack (ingot_model_forward is one block: a static alloca).
  using namespace abi;
  Value args = b.structOnStack(
      abi::moeExpertsArgsType(b.b.getContext()),
      {{kGateUpKernel, b.kernel(gate)},
       {kDownKernel, b.kernel(down)},
       {kGate, b.weightPtr(op.getGateAttr(), WeightForm::Packed)},
       {kUp, b.weightPtr(op.getUpAttr(), WeightForm::Packed)},
       {kDown, b.weightPtr(op.getDownAttr(), WeightForm::Packed)},
       {kGateUpStride, b.c64(b.packedStride(op.getGateAttr()))},
       {kDownStride, b.c64(b.packedStride(op.getDownAttr()))},
       {kDim, b.c64(dim)},
       {kFfn, b.c64(F)},
       {kGranuleGateUp, b.c64(gate.getGranule())},
       {kGranuleDown, b.c64(down.getGranule())},
       {kUsed, b.c64(used)},
       {kGateUpType, b.c32(static_cast<int32_t>(gate.getType()))},
       {kDownType, b.c32(static_cast<int32_t>(down.getType()))},
       {kGateUpBatchKernel, batchKernel(op.getGateUpBatchKernel())},
       {kDownBatchKernel, batchKernel(op.getDownBatchKernel())}});
  b.call("ingot_op_moe_experts",
         {entry.ctx, args, x, entry.n, ids, weightsOut, out, expertScratch});
  if (auto sharedGate = op.getSharedGateAttr()) {
    int64_t S = op.getSharedGateKernel()->getRows();
    Value g = piece(layout.sharedGate), u = piece(layout.sharedUp),
          d = piece(layout.sharedDown);
    Value act = piece(layout.sharedActivations);
    KernelAttr gateKernel = *op.getSharedGateKernel(),
               upKernel = *op.getSharedUpKernel();
    if (gateKernel.getType() == upKernel.getType() &&
        gateKernel.getIsa() == upKernel.getIsa() &&
        gateKernel.getGranule() == upKernel.getGranule()) {
      // As a fused gate/up pair: x prepared once, one dispatch, SwiGLU per
      // chunk of rows (the same bits as the separate calls below).
      b.fusedMatmul({{sharedGate, gateKernel, nullptr, g},
                     {op.getSharedUpAttr(), upKernel, nullptr, u}},
                    x, dim, nullptr, 0.0f, b.null(), u, act);
    } else {
      b.matmul(sharedGate, gateKernel, x, dim, g, nullptr, act);
      b.matmul(op.getSharedUpAttr(), upKernel, x, dim, u, nullptr, act);
      b.call("ingot_op_swiglu", {g, u, entry.n, b.c64(S), g});
    }
    b.matmul(op.getSharedDownAttr(), *op.getSharedDownKernel(), g, S, d,
             nullptr, act);
    b.call("ingot_op_add", {out, d, b.elements(dim), out});
  }
  return SmallVector<Value>{out};
}

INGOT_LOWERING(SliceOp) {
  Value out = b.resultPtr(op);
  b.call("ingot_op_slice",
         {adaptor.getInput(), b.n, b.c64(rowWidth(op.getInput())),
          b.c64(op.getOffset()), b.c64(rowWidth(op.getResult())), out});
  return SmallVector<Value>{out};
}

INGOT_LOWERING(SiluOp) {
  Value out = b.resultPtr(op);
  b.call("ingot_op_silu",
         {adaptor.getInput(), b.n, b.c64(rowWidth(op.getInput())), out});
  return SmallVector<Value>{out};
}

INGOT_LOWERING(GeluOp) {
  Value out = b.resultPtr(op);
  b.call("ingot_op_gelu",
         {adaptor.getInput(), b.elements(rowWidth(op.getInput())), out});
  return SmallVector<Value>{out};
}

INGOT_LOWERING(SwigluOp) {
  Value out = b.resultPtr(op);
  b.call("ingot_op_swiglu", {adaptor.getLhs(), adaptor.getRhs(), b.n,
                             b.c64(rowWidth(op.getLhs())), out});
  return SmallVector<Value>{out};
}

INGOT_LOWERING(AddOp) {
  Value out = b.resultPtr(op);
  b.call("ingot_op_add", {adaptor.getLhs(), adaptor.getRhs(),
                          b.elements(rowWidth(op.getLhs())), out});
  return SmallVector<Value>{out};
}

#undef INGOT_LOWERING

/// Activations, token lists and KV caches become the pointers of their
/// buffers.
class BufferTypeConverter : public TypeConverter {
public:
  explicit BufferTypeConverter(MLIRContext *context) {
    Type ptr = LLVM::LLVMPointerType::get(context);
    addConversion([](Type type) { return type; });
    addConversion([ptr](RankedTensorType) { return ptr; });
    addConversion([ptr](KVCacheType) { return ptr; });
    auto cast = [](OpBuilder &b, Type type, ValueRange inputs,
                   Location loc) -> Value {
      return UnrealizedConversionCastOp::create(b, loc, type, inputs)
          .getResult(0);
    };
    addSourceMaterialization(cast);
    addTargetMaterialization(cast);
  }
};

struct LowerToLLVMPass
    : public ingot::impl::IngotLowerToLLVMBase<LowerToLLVMPass> {
  using IngotLowerToLLVMBase::IngotLowerToLLVMBase;

  /// ingot_model_forward with the IngotContext fields loaded, and
  /// @forward's ops moved into it; its arguments stand for their buffers.
  LLVM::LLVMFuncOp buildEntry(func::FuncOp forward, ForwardEntry &entry) {
    MLIRContext *c = forward.getContext();
    OpBuilder b(c);
    Location loc = forward.getLoc();
    Type ptr = LLVM::LLVMPointerType::get(c), i64 = b.getI64Type();
    b.setInsertionPointToEnd(entry.module.getBody());
    auto fnType = LLVM::LLVMFunctionType::get(
        LLVM::LLVMVoidType::get(c), {ptr, i64, ptr, ptr, ptr, i64, ptr});
    auto fn = LLVM::LLVMFuncOp::create(b, loc, "ingot_model_forward", fnType);
    Block *body = fn.addEntryBlock(b);
    b.setInsertionPointToStart(body);
    entry.ctx = body->getArgument(0);
    entry.n = body->getArgument(1);
    entry.tokens = body->getArgument(2);
    entry.positions = body->getArgument(3);
    entry.sequenceStarts = body->getArgument(4);
    entry.logitRows = body->getArgument(5);
    entry.logits = body->getArgument(6);
    entry.skippedRows =
        LLVM::SubOp::create(b, loc, entry.n, entry.logitRows).getResult();
    // IngotContext fields (ModelABI.h).
    auto loadField = [&](int64_t at, Type type) -> Value {
      Value address =
          at ? LLVM::GEPOp::create(b, loc, ptr, b.getI8Type(), entry.ctx,
                                   ValueRange{LLVM::ConstantOp::create(
                                       b, loc, i64, b.getI64IntegerAttr(at))})
                   .getResult()
             : entry.ctx;
      return LLVM::LoadOp::create(b, loc, type, address);
    };
    entry.weights = loadField(abi::kContextWeights, ptr);
    entry.arena = loadField(abi::kContextArena, ptr);
    entry.kv = loadField(abi::kContextKV, ptr);
    entry.contextLength = loadField(abi::kContextLength, i64);
    entry.kvKeyType = loadField(abi::kContextKVKeyType, b.getI32Type());

    Block &forwardBody = forward.getBody().front();
    Operation *ret = forwardBody.getTerminator();
    entry.logitsTensor = ret->getOperand(0);
    ret->erase();
    // Token lists are the entry's token and position arrays, caches the KV
    // cache; the patterns read them from the entry, so a cast only keeps
    // the moved ops' operands defined until they are converted.
    for (BlockArgument arg : forwardBody.getArguments()) {
      Value buffer = isa<KVCacheType>(arg.getType()) ? entry.kv : entry.tokens;
      arg.replaceAllUsesWith(
          UnrealizedConversionCastOp::create(b, loc, arg.getType(), buffer)
              .getResult(0));
    }
    body->getOperations().splice(body->end(), forwardBody.getOperations());
    b.setInsertionPointToEnd(body);
    if (!entry.logitsTail.contains(entry.logitsTensor.getDefiningOp())) {
      // All n_tokens rows were written: the last n_logit_rows go first.
      auto type = cast<RankedTensorType>(entry.logitsTensor.getType());
      Value rowBytes = LLVM::ConstantOp::create(
          b, loc, i64,
          b.getI64IntegerAttr(type.getDimSize(1) *
                              type.getElementTypeBitWidth() / 8));
      Value from = LLVM::GEPOp::create(
          b, loc, ptr, b.getI8Type(), entry.logits,
          ValueRange{LLVM::MulOp::create(b, loc, entry.skippedRows, rowBytes)});
      LLVM::MemmoveOp::create(
          b, loc, entry.logits, from,
          LLVM::MulOp::create(b, loc, entry.logitRows, rowBytes),
          /*isVolatile=*/false);
    }
    LLVM::ReturnOp::create(b, loc, ValueRange());
    return fn;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = module.getContext();
    IngotDialect &dialect = ingotDialect(context);
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    auto maxBatch = dialect.getMaxBatchAttrHelper().getAttr(module);
    if (!forward || !maxBatch) {
      module.emitError() << "lowering needs @forward planned by "
                            "ingot-plan-memory";
      return signalPassFailure();
    }
    for (WeightOp w : module.getOps<WeightOp>())
      if (!w.getLayout() && !w.getSymbolUses(module)->empty()) {
        w.emitError() << "weight has no payload layout: run "
                         "ingot-plan-weights first";
        return signalPassFailure();
      }
    if (failed(checkKernelsChosen(forward)))
      return signalPassFailure();

    ForwardEntry entry;
    entry.module = module;
    entry.dialect = &dialect;
    entry.maxBatch = maxBatch.getInt();
    entry.logitsTail = findLogitsTail(forward);
    LLVM::LLVMFuncOp fn = buildEntry(forward, entry);
    forward.erase();

    BufferTypeConverter converter(context);
    RewritePatternSet patterns(context);
    patterns
        .add<EmbeddingOpLowering, RMSNormOpLowering, MatmulOpLowering,
             FusedMatmulOpLowering, RopeOpLowering, AttentionOpLowering,
             MLAAttentionOpLowering, MoEOpLowering, SliceOpLowering,
             SiluOpLowering, GeluOpLowering, SwigluOpLowering, AddOpLowering>(
            converter, context, entry);
    ConversionTarget target(*context);
    target.addLegalDialect<LLVM::LLVMDialect>();
    target.addLegalOp<UnrealizedConversionCastOp>();
    target.addIllegalDialect<IngotDialect>();
    if (failed(applyPartialConversion(fn, target, std::move(patterns))))
      return signalPassFailure();
    // The casts of @forward's arguments, now unused.
    SmallVector<UnrealizedConversionCastOp> casts;
    fn.walk([&](UnrealizedConversionCastOp cast) { casts.push_back(cast); });
    reconcileUnrealizedCasts(casts);
    for (WeightOp w : llvm::make_early_inc_range(module.getOps<WeightOp>()))
      w.erase();
  }
};

} // namespace
