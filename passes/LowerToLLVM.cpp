//===- LowerToLLVM.cpp - @forward to LLVM dialect calls -------------------===//
//
// After ingot-plan-weights and ingot-plan-memory every value has an arena
// offset and every weight its payload offsets, so lowering is a walk over
// @forward that turns each op into calls of the op library (targets/oplib)
// with pointers computed from the IngotContext (runtime/include/ingot/
// ModelABI.h) and the addresses of generated kernels.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/PlanningUtils.h"

#include "compiler/dialect/IngotDialect.h"
#include "targets/x86/Kernels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

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
    else if (auto m = dyn_cast<MoEOp>(op))
      chosen = m.getRouterKernelAttr() && m.getGateUpKernelAttr() &&
               m.getDownKernelAttr() &&
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

/// Builds the body of ingot_model_forward.
class Emitter {
public:
  Emitter(ModuleOp module, OpBuilder &b, Location loc, int64_t maxBatch)
      : module(module), dialect(ingotDialect(module.getContext())), b(b),
        loc(loc), maxBatch(maxBatch) {
    MLIRContext *c = module.getContext();
    ptr = LLVM::LLVMPointerType::get(c);
    i64 = b.getI64Type();
    i32 = b.getI32Type();
    f32 = b.getF32Type();
    i8 = b.getI8Type();
  }

  LLVM::LLVMFuncOp declare(StringRef name, ArrayRef<Type> args) {
    if (auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
      return fn;
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    auto type = LLVM::LLVMFunctionType::get(
        LLVM::LLVMVoidType::get(module.getContext()), args);
    return LLVM::LLVMFuncOp::create(b, loc, name, type);
  }

  void call(StringRef name, ArrayRef<Value> args) {
    SmallVector<Type> types;
    for (Value v : args)
      types.push_back(v.getType());
    LLVM::CallOp::create(b, loc, declare(name, types), args);
  }

  Value c64(int64_t v) {
    return LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(v));
  }
  Value c32(int32_t v) {
    return LLVM::ConstantOp::create(b, loc, i32, b.getI32IntegerAttr(v));
  }
  Value cf(float v) {
    return LLVM::ConstantOp::create(b, loc, f32, b.getF32FloatAttr(v));
  }
  Value null() { return LLVM::ZeroOp::create(b, loc, ptr); }
  Value mul(Value a, Value c) { return LLVM::MulOp::create(b, loc, a, c); }
  Value offset(Value base, Value bytes) {
    return LLVM::GEPOp::create(b, loc, ptr, i8, base, ValueRange{bytes});
  }
  Value offset(Value base, int64_t bytes) {
    return bytes ? offset(base, c64(bytes)) : base;
  }
  Value loadField(Value base, int64_t at, Type type) {
    return LLVM::LoadOp::create(b, loc, type, offset(base, at));
  }

  void setEntry(Value ctx, Value n, Value tokens, Value positions,
                Value logits) {
    this->ctx = ctx;
    this->n = n;
    this->tokens = tokens;
    this->positions = positions;
    this->logits = logits;
    // IngotContext: weights, arena, kv, context_length (8 bytes each).
    weights = loadField(ctx, 0, ptr);
    arena = loadField(ctx, 8, ptr);
    kv = loadField(ctx, 16, ptr);
    contextLength = loadField(ctx, 24, i64);
  }

  WeightOp weight(FlatSymbolRefAttr ref) {
    return module.lookupSymbol<WeightOp>(ref.getAttr());
  }
  LayoutAttr layout(FlatSymbolRefAttr ref) {
    return weight(ref).getLayoutAttr();
  }
  Value weightPtr(FlatSymbolRefAttr ref, WeightForm form) {
    if (!ref)
      return null();
    LayoutAttr l = layout(ref);
    std::optional<LayoutAttr::Form> place = form == WeightForm::Packed
                                                ? l.getPacked()
                                                : form == WeightForm::Raw
                                                      ? l.getRaw()
                                                      : l.getF32();
    return offset(weights, place->offset);
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
    if (chosen.getKind() == KernelKind::Expert)
      declare(name, {ptr, i64, ptr, i64, ptr, i64, ptr, i64, i64});
    else
      declare(name, {ptr, ptr, ptr, i64, i64, i64});
    return LLVM::AddressOfOp::create(b, loc, ptr, name);
  }

  Value valuePtr(Value v) {
    if (v == logits_)
      return logits;
    Operation *def = v.getDefiningOp();
    return offset(arena, dialect.getArenaOffsetAttrHelper().getAttr(def).getInt());
  }
  Value resultPtr(Operation *op) { return valuePtr(op->getResult(0)); }
  int64_t scratch(Operation *op) {
    return dialect.getScratchOffsetAttrHelper().getAttr(op).getInt();
  }
  int64_t kvOffset(Operation *op) {
    return dialect.getKvOffsetAttrHelper().getAttr(op).getInt();
  }
  Value elements(Value v) { return mul(n, c64(rowWidth(v))); }

  void matmul(FlatSymbolRefAttr w, KernelAttr chosen, Value x, int64_t K,
              Value y, FlatSymbolRefAttr bias, Value scratchPtr) {
    call("ingot_op_matmul",
         {ctx, kernel(chosen), weightPtr(w, WeightForm::Packed),
          c32(static_cast<int32_t>(chosen.getType())), c64(chosen.getRows()),
          c64(K), c64(chosen.getGranule()), x, n, y,
          weightPtr(bias, WeightForm::F32), scratchPtr});
  }

  LogicalResult lower(Operation *op);

  ModuleOp module;
  IngotDialect &dialect;
  OpBuilder &b;
  Location loc;
  int64_t maxBatch;
  Type ptr, i64, i32, f32, i8;
  Value ctx, n, tokens, positions, logits, weights, arena, kv, contextLength;
  Value logits_; // the tensor value returned as logits
};

LogicalResult Emitter::lower(Operation *op) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](EmbeddingOp e) {
        WeightOp table = weight(e.getTableAttr());
        call("ingot_op_embedding",
             {weightPtr(e.getTableAttr(), WeightForm::Raw),
              c32(static_cast<int32_t>(table.getGgmlType())),
              c64(rowWidth(e.getResult())), tokens, n, resultPtr(op)});
        return success();
      })
      .Case([&](RMSNormOp e) {
        int64_t group = e.getGroupSizeOrRow();
        call("ingot_op_rms_norm",
             {valuePtr(e.getInput()), weightPtr(e.getScaleAttr(), WeightForm::F32),
              cf(e.getEps().convertToFloat()), c64(group),
              mul(n, c64(rowWidth(e.getInput()) / group)), resultPtr(op)});
        return success();
      })
      .Case([&](MatmulOp e) {
        matmul(e.getWeightAttr(), *e.getKernel(), valuePtr(e.getInput()),
               rowWidth(e.getInput()), resultPtr(op), e.getBiasAttr(),
               offset(arena, scratch(op)));
        return success();
      })
      .Case([&](RopeOp e) {
        call("ingot_op_rope",
             {valuePtr(e.getInput()), resultPtr(op), positions, n,
              c64(e.getNumHeads()), c64(e.getHeadDim()), c64(e.getOffset()),
              c64(e.getDims()), c32(e.getMode() == RopeMode::NeoX),
              cf(e.getFreqBase().convertToFloat()),
              cf(e.getFreqScale().convertToFloat()),
              cf(e.getExtFactor().convertToFloat()),
              cf(e.getAttnFactor().convertToFloat()),
              cf(e.getBetaFast().convertToFloat()),
              cf(e.getBetaSlow().convertToFloat()), c64(e.getOrigContext()),
              weightPtr(e.getFreqFactorsAttr(), WeightForm::F32)});
        return success();
      })
      .Case([&](AttentionOp e) -> LogicalResult {
        if (e.getSoftcap())
          return e.emitOpError() << "softcap is not lowered yet";
        Value cache = offset(kv, mul(c64(kvOffset(op)), contextLength));
        call("ingot_op_attention",
             {ctx, valuePtr(e.getQuery()), valuePtr(e.getKey()),
              valuePtr(e.getValue()), positions, n, cache,
              c64(e.getNumHeads()), c64(e.getNumKvHeads()),
              c64(e.getHeadDim()), c64(e.getCache().getType().getValueDim()),
              cf(e.getScale().convertToFloat()), resultPtr(op)});
        return success();
      })
      .Case([&](MLAAttentionOp e) {
        int64_t H = e.getNumHeads(), R = e.getKvLoraRank(),
                nope = e.getNopeDim(), rope = e.getRopeDim(),
                vDim = e.getVHeadDim();
        Value cache = offset(kv, mul(c64(kvOffset(op)), contextLength));
        int64_t base = scratch(op);
        MLAScratchLayout layout(module, e, maxBatch);
        Value qNopeAbs = offset(arena, base + layout.queryAbsorbed);
        Value ctxOut = offset(arena, base + layout.context);
        Value perHead = offset(arena, base + layout.perHead);
        KernelAttr kB = *e.getKBKernel(), vB = *e.getVBKernel();
        Value q = valuePtr(e.getQuery());
        call("ingot_op_per_head_matmul",
             {ctx, kernel(kB), weightPtr(e.getKBAttr(), WeightForm::Packed),
              c64(packedStride(e.getKBAttr())),
              c32(static_cast<int32_t>(kB.getType())), c64(H), c64(R),
              c64(nope), c64(kB.getGranule()), q, c64(nope + rope),
              n, c64(H * (nope + rope)), qNopeAbs, c64(H * R), c64(R),
              perHead});
        call("ingot_op_mla_core",
             {ctx, qNopeAbs, q, valuePtr(e.getLatent()),
              valuePtr(e.getRopeKey()), positions, n, cache, c64(H),
              c64(nope), c64(R), c64(rope), cf(e.getScale().convertToFloat()),
              ctxOut});
        call("ingot_op_per_head_matmul",
             {ctx, kernel(vB), weightPtr(e.getVBAttr(), WeightForm::Packed),
              c64(packedStride(e.getVBAttr())),
              c32(static_cast<int32_t>(vB.getType())), c64(H), c64(vDim),
              c64(R), c64(vB.getGranule()), ctxOut, c64(R), n,
              c64(H * R), resultPtr(op), c64(H * vDim), c64(vDim), perHead});
        return success();
      })
      .Case([&](MoEOp e) -> LogicalResult {
        const int64_t dim = rowWidth(e.getInput());
        const int64_t X = e.getNumExperts(), used = e.getExpertsUsed();
        KernelAttr gate = *e.getGateUpKernel(), down = *e.getDownKernel();
        const int64_t F = gate.getRows();
        MoEScratchLayout layout(module, e, maxBatch);
        auto piece = [&](int64_t at) { return offset(arena, scratch(op) + at); };
        Value routerLogits = piece(layout.routerLogits);
        Value routerAct = piece(layout.routerActivations);
        Value ids = piece(layout.ids);
        Value weightsOut = piece(layout.weights);
        Value x = valuePtr(e.getInput()), out = resultPtr(op);
        matmul(e.getRouterAttr(), *e.getRouterKernel(), x, dim, routerLogits,
               nullptr, routerAct);
        call("ingot_op_moe_route",
             {routerLogits, n, c64(X), c64(used),
              c32(e.getGating() == Gating::Sigmoid),
              weightPtr(e.getSelectionBiasAttr(), WeightForm::F32),
              c64(e.getNumGroups()), c64(e.getGroupsUsed()),
              c32(e.getNormalize()), cf(e.getRoutedScale().convertToFloat()),
              ids, weightsOut});
        Value expertScratch = piece(layout.experts);
        call("ingot_op_moe_experts",
             {ctx, kernel(gate), kernel(down),
              weightPtr(e.getGateAttr(), WeightForm::Packed),
              weightPtr(e.getUpAttr(), WeightForm::Packed),
              weightPtr(e.getDownAttr(), WeightForm::Packed),
              c64(packedStride(e.getGateAttr())),
              c64(packedStride(e.getDownAttr())),
              c32(static_cast<int32_t>(gate.getType())),
              c32(static_cast<int32_t>(down.getType())), c64(dim), c64(F),
              c64(gate.getGranule()), c64(down.getGranule()),
              x, n, ids, weightsOut, c64(used), out, expertScratch});
        if (auto sharedGate = e.getSharedGateAttr()) {
          int64_t S = weight(sharedGate).getShape()[0];
          Value g = piece(layout.sharedGate), u = piece(layout.sharedUp),
                d = piece(layout.sharedDown);
          Value act = piece(layout.sharedActivations);
          matmul(sharedGate, *e.getSharedGateKernel(), x, dim, g, nullptr, act);
          matmul(e.getSharedUpAttr(), *e.getSharedUpKernel(), x, dim, u,
                 nullptr, act);
          call("ingot_op_swiglu", {g, u, n, c64(S), g});
          matmul(e.getSharedDownAttr(), *e.getSharedDownKernel(), g, S, d,
                 nullptr, act);
          call("ingot_op_add", {out, d, mul(n, c64(dim)), out});
        }
        return success();
      })
      .Case([&](SliceOp e) {
        call("ingot_op_slice",
             {valuePtr(e.getInput()), n, c64(rowWidth(e.getInput())),
              c64(e.getOffset()), c64(rowWidth(e.getResult())), resultPtr(op)});
        return success();
      })
      .Case([&](SiluOp e) {
        call("ingot_op_silu", {valuePtr(e.getInput()), n,
                               c64(rowWidth(e.getInput())), resultPtr(op)});
        return success();
      })
      .Case([&](GeluOp e) {
        call("ingot_op_gelu",
             {valuePtr(e.getInput()), elements(e.getInput()), resultPtr(op)});
        return success();
      })
      .Case([&](SwigluOp e) {
        call("ingot_op_swiglu", {valuePtr(e.getLhs()), valuePtr(e.getRhs()), n,
                                 c64(rowWidth(e.getLhs())), resultPtr(op)});
        return success();
      })
      .Case([&](AddOp e) {
        call("ingot_op_add", {valuePtr(e.getLhs()), valuePtr(e.getRhs()),
                              elements(e.getLhs()), resultPtr(op)});
        return success();
      })
      .Case([&](func::ReturnOp) { return success(); })
      .Default([&](Operation *other) {
        return other->emitOpError() << "cannot be lowered to LLVM yet";
      });
}

struct LowerToLLVMPass
    : public ingot::impl::IngotLowerToLLVMBase<LowerToLLVMPass> {
  using IngotLowerToLLVMBase::IngotLowerToLLVMBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    auto maxBatch =
        ingotDialect(module.getContext()).getMaxBatchAttrHelper().getAttr(module);
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
    OpBuilder b(module.getContext());
    Location loc = forward.getLoc();
    Emitter emit(module, b, loc, maxBatch.getInt());
    b.setInsertionPointToEnd(module.getBody());
    auto fnType = LLVM::LLVMFunctionType::get(
        LLVM::LLVMVoidType::get(module.getContext()),
        {emit.ptr, emit.i64, emit.ptr, emit.ptr, emit.ptr});
    auto fn = LLVM::LLVMFuncOp::create(b, loc, "ingot_model_forward", fnType);
    Block *entry = fn.addEntryBlock(b);
    b.setInsertionPointToStart(entry);
    emit.setEntry(entry->getArgument(0), entry->getArgument(1),
                  entry->getArgument(2), entry->getArgument(3),
                  entry->getArgument(4));
    Block &body = forward.getBody().front();
    emit.logits_ = body.getTerminator()->getOperand(0);
    for (Operation &op : body)
      if (failed(emit.lower(&op)))
        return signalPassFailure();
    LLVM::ReturnOp::create(b, loc, ValueRange());
    forward.erase();
    for (WeightOp w : llvm::make_early_inc_range(module.getOps<WeightOp>()))
      w.erase();
  }
};

} // namespace
