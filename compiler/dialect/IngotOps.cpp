//===- IngotOps.cpp - ingot dialect op verifiers --------------------------===//
//
// Shapes are checked where they are static: a dynamic token dimension is
// fine, a model dimension that disagrees with a weight or an attribute is an
// error naming both numbers.
//
//===----------------------------------------------------------------------===//
#include "compiler/dialect/IngotDialect.h"
#include "compiler/ggml/GGMLDot.h"
#include "compiler/ggml/GGMLTypes.h"
#include "targets/oplib/OpLibLimits.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace ingot;

#define GET_OP_CLASSES
#include "compiler/dialect/IngotOps.cpp.inc"

namespace {

/// The width of each row of an activation (its static second dimension),
/// or nullopt when dynamic.
std::optional<int64_t> rowWidth(Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.isDynamicDim(1))
    return std::nullopt;
  return type.getDimSize(1);
}

/// Looks up a weight symbol for a verifier; emits an error naming the
/// operand role when it is missing or not an ingot.weight.
FailureOr<WeightOp> lookupWeight(Operation *user,
                                 SymbolTableCollection &symbols,
                                 FlatSymbolRefAttr ref, StringRef role) {
  auto weight = symbols.lookupNearestSymbolFrom<WeightOp>(user, ref);
  if (!weight)
    return user->emitOpError() << role << " '" << ref.getValue()
                               << "' does not name an ingot.weight";
  return weight;
}

LogicalResult expectShape(Operation *user, WeightOp weight, StringRef role,
                          ArrayRef<int64_t> expected) {
  ArrayRef<int64_t> actual = weight.getShape();
  bool matches = actual.size() == expected.size();
  for (size_t i = 0; matches && i < actual.size(); ++i)
    matches = expected[i] == ShapedType::kDynamic || expected[i] == actual[i];
  if (matches)
    return success();
  auto diag = user->emitOpError()
              << role << " '" << weight.getSymName() << "' has shape [";
  llvm::interleaveComma(actual, diag);
  diag << "], expected [";
  llvm::interleaveComma(expected, diag, [&](int64_t d) {
    if (d == ShapedType::kDynamic)
      diag << "?";
    else
      diag << d;
  });
  return diag << "]";
}

/// A kernel chosen for `weight` (null: none chosen yet) reads the weight's
/// kernel type: the #ingot.kernel attributes state which type the kernels
/// read, and this keeps that statement true of the weight it names.
LogicalResult expectKernelReads(Operation *user, KernelAttr kernel,
                                WeightOp weight, StringRef role) {
  if (!kernel || kernel.getType() == weight.getKernelType())
    return success();
  return user->emitOpError()
         << role << " '" << weight.getSymName() << "' ("
         << stringifyGGMLType(weight.getGgmlType()) << ") is read as "
         << stringifyGGMLType(weight.getKernelType())
         << ", but its kernel reads " << stringifyGGMLType(kernel.getType());
}

constexpr int64_t kAny = ShapedType::kDynamic;

/// Model dimensions (heads, head sizes, ranks, offsets) are 32-bit
/// quantities, as in llama.cpp; the bound keeps every product of two of
/// them, which the verifiers and the lowering form, within 64 bits.
constexpr int64_t kMaxDim = INT32_MAX;

/// Checks that each named attribute lies in [lo, hi].
LogicalResult expectRange(
    Operation *op,
    std::initializer_list<std::tuple<StringRef, int64_t, int64_t, int64_t>>
        values) {
  for (auto [name, value, lo, hi] : values)
    if (value < lo || value > hi)
      return op->emitOpError() << name << " (" << value << ") must be between "
                               << lo << " and " << hi;
  return success();
}

int64_t widthOr(Value v) { return rowWidth(v).value_or(kAny); }

LogicalResult expectWidth(Operation *op, Value v, StringRef role,
                          int64_t expected) {
  auto width = rowWidth(v);
  if (!width || expected == kAny || *width == expected)
    return success();
  return op->emitOpError() << role << " rows have " << *width
                           << " values, expected " << expected;
}

} // namespace

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

int64_t WeightOp::getNumElements() {
  int64_t n = 1;
  for (int64_t d : getShape())
    if (__builtin_mul_overflow(n, d, &n))
      return -1;
  return n;
}

bool WeightOp::readsGgmlDot() {
  LayoutAttr layout = getLayoutAttr();
  return layout && layout.getIsa() == KernelISA::None;
}

GGMLType WeightOp::getKernelType() {
  if (readsGgmlDot())
    return getGgmlType();
  if (getReadAsQ8_0())
    return GGMLType::Q8_0;
  const auto type = static_cast<ggml::Type>(getGgmlType());
  return static_cast<GGMLType>(ggml::kernelReadType(type).value_or(type));
}

LogicalResult WeightOp::verify() {
  if (getShape().empty() || getShape().size() > 4)
    return emitOpError() << "weight must have 1 to 4 dimensions, has "
                         << getShape().size();
  for (int64_t d : getShape())
    if (d <= 0)
      return emitOpError() << "weight dimensions must be positive, got " << d;
  if (static_cast<int64_t>(getOffset()) < 0)
    return emitOpError() << "weight offset must not be negative";
  if (getNumElements() < 0)
    return emitOpError() << "weight element count overflows 64 bits";
  // The ggml enum values are the ggml_type ids, so the type table applies.
  const auto *info = ggml::lookupType(static_cast<uint32_t>(getGgmlType()));
  int64_t rowLength = getShape().back();
  if (rowLength % info->blockElements)
    return emitOpError() << "rows of " << rowLength << " " << info->name
                         << " values are not whole blocks of "
                         << info->blockElements;
  auto bytes = ggml::rowBytes(info->type, getNumElements());
  if (!bytes || *bytes != getSize())
    return emitOpError() << "size " << getSize() << " does not match "
                         << info->name << " data of this shape ("
                         << (bytes ? static_cast<int64_t>(*bytes) : -1)
                         << " bytes)";
  // A packed form for no ISA is the GGUF rows the ggml dot path reads.
  if (readsGgmlDot() && (!ggml::takesGgmlDotPath(info->type) ||
                         *getLayoutAttr().getGranule() != 1))
    return emitOpError() << "a packed form of isa none holds, in granule 1, "
                            "a type of the ggml dot path, not "
                         << info->name;
  return success();
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto table = lookupWeight(*this, symbols, getTableAttr(), "table");
  if (failed(table))
    return failure();
  return expectShape(*this, *table, "table", {kAny, widthOr(getResult())});
}

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

int64_t RMSNormOp::getGroupSizeOrRow() {
  if (auto group = getGroupSize())
    return *group;
  return widthOr(getInput());
}

LogicalResult RMSNormOp::verify() {
  float eps = getEps().convertToFloat();
  if (!(eps > 0.0f) || !std::isfinite(eps))
    return emitOpError() << "eps must be positive and finite";
  if (auto group = getGroupSize()) {
    if (*group <= 0)
      return emitOpError() << "group_size must be positive, got " << *group;
    if (auto width = rowWidth(getInput()); width && *width % *group)
      return emitOpError() << "rows of " << *width
                           << " values do not split into groups of " << *group;
  }
  return success();
}

LogicalResult RMSNormOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto scale = lookupWeight(*this, symbols, getScaleAttr(), "scale");
  if (failed(scale))
    return failure();
  return expectShape(*this, *scale, "scale", {getGroupSizeOrRow()});
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto weight = lookupWeight(*this, symbols, getWeightAttr(), "weight");
  if (failed(weight))
    return failure();
  if (failed(expectShape(*this, *weight, "weight",
                         {widthOr(getResult()), widthOr(getInput())})) ||
      failed(expectKernelReads(*this, getKernelAttr(), *weight, "weight")))
    return failure();
  if (auto biasRef = getBiasAttr()) {
    auto bias = lookupWeight(*this, symbols, biasRef, "bias");
    if (failed(bias) ||
        failed(expectShape(*this, *bias, "bias", {weight->getShape()[0]})))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// FusedMatmulOp
//===----------------------------------------------------------------------===//

LogicalResult FusedMatmulOp::verify() {
  const size_t segments = getWeights().size();
  if (segments == 0)
    return emitOpError() << "needs at least one weight";
  if (auto biases = getBiases(); biases && biases->size() != segments)
    return emitOpError() << "has " << biases->size() << " biases for "
                         << segments << " weights";
  const size_t expectedResults = getSwiglu() ? 1 : segments;
  if (getSwiglu() && segments != 2)
    return emitOpError() << "swiglu needs two weights (gate, up), has "
                         << segments;
  if (getNumResults() != expectedResults)
    return emitOpError() << "has " << getNumResults() << " results, expected "
                         << expectedResults;
  if (getResidual()) {
    if (getNumResults() != 1)
      return emitOpError() << "a residual needs a single result";
    if (getResidual().getType() != getResult(0).getType())
      return emitOpError() << "residual type " << getResidual().getType()
                           << " differs from the result type "
                           << getResult(0).getType();
  }
  if (bool(getNorm()) != bool(getNormEps()))
    return emitOpError() << "norm and norm_eps come together";
  if (auto eps = getNormEps()) {
    float value = eps->convertToFloat();
    if (!(value > 0.0f) || !std::isfinite(value))
      return emitOpError() << "norm_eps must be positive and finite";
  }
  if (auto kernels = getKernels()) {
    if (kernels->size() != segments)
      return emitOpError() << "has " << kernels->size() << " kernels for "
                           << segments << " weights";
    // One prepared input and one dispatch: every segment's kernel reads the
    // same activation form and splits rows on the same granule.
    auto first = cast<KernelAttr>((*kernels)[0]);
    for (Attribute a : *kernels) {
      auto k = cast<KernelAttr>(a);
      if (k.getKind() != KernelKind::Matmul || k.getType() != first.getType() ||
          k.getIsa() != first.getIsa() || k.getGranule() != first.getGranule())
        return emitOpError() << "kernels must be matmul kernels of one type, "
                                "ISA and granule: "
                             << first << " and " << k;
    }
  }
  return success();
}

LogicalResult FusedMatmulOp::verifySymbolUses(SymbolTableCollection &symbols) {
  const int64_t cols = widthOr(getInput());
  std::optional<GGMLType> type;
  bool dotPath = false;
  for (auto [i, ref] :
       llvm::enumerate(getWeights().getAsRange<FlatSymbolRefAttr>())) {
    auto weight = lookupWeight(*this, symbols, ref, "weight");
    if (failed(weight))
      return failure();
    dotPath |= weight->readsGgmlDot();
    Value result = getResult(getSwiglu() ? 0 : i);
    if (failed(expectShape(*this, *weight, "weight", {widthOr(result), cols})))
      return failure();
    if (auto kernels = getKernelsAttr();
        kernels && i < kernels.size() &&
        failed(expectKernelReads(*this, dyn_cast<KernelAttr>(kernels[i]),
                                 *weight, "weight")))
      return failure();
    // Segments run kernels of one type: the weights' kernel types agree
    // (their ggml types may not, e.g. q5_k and q3_k both read as q8_0).
    if (type && *type != weight->getKernelType())
      return emitOpError() << "weights must share one kernel type, '"
                           << ref.getValue() << "' is read as "
                           << stringifyGGMLType(weight->getKernelType())
                           << ", not " << stringifyGGMLType(*type);
    type = weight->getKernelType();
    if (auto biases = getBiases()) {
      auto biasRef = cast<FlatSymbolRefAttr>((*biases)[i]);
      auto bias = lookupWeight(*this, symbols, biasRef, "bias");
      if (failed(bias) ||
          failed(expectShape(*this, *bias, "bias", {weight->getShape()[0]})))
        return failure();
    }
  }
  if (auto normRef = getNormAttr()) {
    auto norm = lookupWeight(*this, symbols, normRef, "norm");
    if (failed(norm) || failed(expectShape(*this, *norm, "norm", {cols})))
      return failure();
    // The prologue rounds each normalized block to Q8_0 right away: the
    // generated kernels' activations, not those of the ggml dot path.
    if (dotPath)
      return emitOpError() << "a norm prologue needs weights the generated "
                              "kernels read, not the ggml dot path";
    if (!ggml::readsQ8Activations(static_cast<ggml::Type>(*type)))
      return emitOpError() << "a norm prologue needs weights read as q8_0, "
                              "q4_0, q4_k or q6_k, not "
                           << stringifyGGMLType(*type);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// RopeOp
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::verify() {
  int64_t heads = getNumHeads(), headDim = getHeadDim();
  if (heads <= 0 || headDim <= 0)
    return emitOpError() << "num_heads and head_dim must be positive";
  if (failed(expectRange(*this, {{"num_heads", heads, 1, kMaxDim},
                                 {"head_dim", headDim, 1, kMaxDim},
                                 {"offset", getOffset(), 0, kMaxDim}})))
    return failure();
  // The op library keeps one cos/sin pair per rotated pair on its stack.
  if (getDims() > 2 * oplib::kMaxRopePairs)
    return emitOpError() << "dims (" << getDims() << ") exceeds the "
                         << 2 * oplib::kMaxRopePairs
                         << " rotated values per head the op library supports";
  if (getDims() <= 0 || getDims() % 2)
    return emitOpError() << "dims must be positive and even, got " << getDims();
  int64_t offset = getOffset(), dims = getDims();
  if (offset < 0 || offset + dims > headDim)
    return emitOpError() << "rotated range [" << getOffset() << ", "
                         << getOffset() + getDims()
                         << ") does not fit in a head of " << headDim;
  float base = getFreqBase().convertToFloat();
  if (!(base > 0.0f) || !std::isfinite(base))
    return emitOpError() << "freq_base must be positive and finite";
  float scale = getFreqScale().convertToFloat();
  if (!(scale > 0.0f) || !std::isfinite(scale))
    return emitOpError() << "freq_scale must be positive and finite";
  if (getExtFactor().convertToFloat() != 0.0f && getOrigContext() <= 0)
    return emitOpError() << "YaRN (ext_factor != 0) needs orig_context";
  return expectWidth(*this, getInput(), "input", heads * headDim);
}

LogicalResult RopeOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto ref = getFreqFactorsAttr();
  if (!ref)
    return success();
  auto factors = lookupWeight(*this, symbols, ref, "factors");
  if (failed(factors))
    return failure();
  int64_t pairs = static_cast<int64_t>(getDims()) / 2;
  return expectShape(*this, *factors, "factors", {pairs});
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads();
  int64_t headDim = getHeadDim();
  if (heads <= 0 || kvHeads <= 0 || headDim <= 0)
    return emitOpError() << "num_heads, num_kv_heads and head_dim must be "
                            "positive";
  if (failed(
          expectRange(*this, {{"num_heads", heads, 1, kMaxDim},
                              {"num_kv_heads", kvHeads, 1, kMaxDim},
                              {"head_dim", headDim, 1, oplib::kMaxHeadWidth}})))
    return failure();
  if (heads % kvHeads)
    return emitOpError() << "num_heads (" << heads
                         << ") must be a multiple of num_kv_heads (" << kvHeads
                         << ")";
  KVCacheType cache = getCache().getType();
  if (cache.getKvHeads() != kvHeads || cache.getKeyDim() != headDim)
    return emitOpError() << "cache holds " << cache.getKvHeads() << " heads of "
                         << cache.getKeyDim() << " key values, expected "
                         << kvHeads << " of " << headDim;
  if (cache.getValueDim() <= 0)
    return emitOpError() << "cache must hold values (value_dim > 0)";
  if (auto cap = getSoftcap(); cap && cap->convertToFloat() <= 0.0f)
    return emitOpError() << "softcap must be positive";
  if (failed(expectWidth(*this, getQuery(), "query", heads * headDim)) ||
      failed(expectWidth(*this, getKey(), "key", kvHeads * headDim)) ||
      failed(expectWidth(*this, getValue(), "value",
                         kvHeads * cache.getValueDim())) ||
      failed(expectWidth(*this, getResult(), "result",
                         heads * cache.getValueDim())))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// MLAAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult MLAAttentionOp::verify() {
  int64_t heads = getNumHeads(), nope = getNopeDim(), rope = getRopeDim();
  int64_t rank = getKvLoraRank(), vDim = getVHeadDim();
  if (heads <= 0 || nope <= 0 || rope <= 0 || rank <= 0 || vDim <= 0)
    return emitOpError() << "num_heads, nope_dim, rope_dim, kv_lora_rank and "
                            "v_head_dim must be positive";
  // The op library's per-head products name each head in a fixed array, and
  // the scores dot [absorbed query | rope query] built on the stack.
  if (failed(
          expectRange(*this, {{"num_heads", heads, 1, oplib::kMaxExperts},
                              {"kv_lora_rank", rank, 1, oplib::kMaxHeadWidth},
                              {"rope_dim", rope, 1, 2 * oplib::kMaxRopePairs},
                              {"nope_dim", nope, 1, kMaxDim},
                              {"v_head_dim", vDim, 1, kMaxDim}})))
    return failure();
  KVCacheType cache = getCache().getType();
  if (cache.getKvHeads() != 1 || cache.getKeyDim() != rank + rope ||
      cache.getValueDim() != 0)
    return emitOpError() << "MLA cache must be kv_heads = 1, key_dim = "
                         << rank + rope << " (kv_lora_rank + rope_dim), "
                         << "value_dim = 0";
  if (failed(expectWidth(*this, getQuery(), "query", heads * (nope + rope))) ||
      failed(expectWidth(*this, getLatent(), "latent", rank)) ||
      failed(expectWidth(*this, getRopeKey(), "rope_key", rope)) ||
      failed(expectWidth(*this, getResult(), "result", heads * vDim)))
    return failure();
  return success();
}

LogicalResult MLAAttentionOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto kB = lookupWeight(*this, symbols, getKBAttr(), "k_b");
  auto vB = lookupWeight(*this, symbols, getVBAttr(), "v_b");
  if (failed(kB) || failed(vB))
    return failure();
  int64_t heads = getNumHeads(), rank = getKvLoraRank();
  int64_t nope = getNopeDim(), vDim = getVHeadDim();
  if (failed(expectShape(*this, *kB, "k_b", {heads, rank, nope})) ||
      failed(expectShape(*this, *vB, "v_b", {heads, vDim, rank})))
    return failure();
  if (failed(expectKernelReads(*this, getKBKernelAttr(), *kB, "k_b")) ||
      failed(expectKernelReads(*this, getKBBatchKernelAttr(), *kB, "k_b")) ||
      failed(expectKernelReads(*this, getVBKernelAttr(), *vB, "v_b")) ||
      failed(expectKernelReads(*this, getVBBatchKernelAttr(), *vB, "v_b")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// MoEOp
//===----------------------------------------------------------------------===//

LogicalResult MoEOp::verify() {
  int64_t experts = getNumExperts(), used = getExpertsUsed();
  int64_t groups = getNumGroups(), groupsUsed = getGroupsUsed();
  if (experts <= 0 || used <= 0 || used > experts)
    return emitOpError() << "experts_used (" << used
                         << ") must be between 1 and num_experts (" << experts
                         << ")";
  // The op library scores every expert of a token in fixed arrays.
  if (experts > oplib::kMaxExperts)
    return emitOpError() << "num_experts (" << experts << ") exceeds the "
                         << oplib::kMaxExperts
                         << " experts the op library supports";
  if (groups <= 0 || experts % groups)
    return emitOpError() << "num_experts (" << experts
                         << ") must split into num_groups (" << groups << ")";
  if (groupsUsed <= 0 || groupsUsed > groups)
    return emitOpError() << "groups_used (" << groupsUsed
                         << ") must be between 1 and num_groups (" << groups
                         << ")";
  if (used > groupsUsed * (experts / groups))
    return emitOpError() << "experts_used (" << used
                         << ") exceeds the experts of the groups_used groups ("
                         << groupsUsed * (experts / groups) << ")";
  if (groups > 1 && experts / groups < 2)
    return emitOpError() << "grouped selection needs at least 2 experts per "
                            "group";
  if (bool(getLogits()) == bool(getRouterAttr()))
    return emitOpError() << "routes by its router weight or by the router's "
                            "logits: exactly one of them";
  if (Value logits = getLogits())
    if (widthOr(logits) != kAny && widthOr(logits) != experts)
      return emitOpError() << "logits have " << widthOr(logits)
                           << " columns, not num_experts (" << experts << ")";
  bool anyShared =
      getSharedGateAttr() || getSharedUpAttr() || getSharedDownAttr();
  bool allShared =
      getSharedGateAttr() && getSharedUpAttr() && getSharedDownAttr();
  if (anyShared && !allShared)
    return emitOpError() << "shared experts need gate, up and down weights";
  return success();
}

LogicalResult MoEOp::verifySymbolUses(SymbolTableCollection &symbols) {
  int64_t dim = widthOr(getInput()), experts = getNumExperts();
  if (auto routerRef = getRouterAttr()) {
    auto router = lookupWeight(*this, symbols, routerRef, "router");
    if (failed(router) ||
        failed(expectShape(*this, *router, "router", {experts, dim})) ||
        failed(
            expectKernelReads(*this, getRouterKernelAttr(), *router, "router")))
      return failure();
  }
  auto gate = lookupWeight(*this, symbols, getGateAttr(), "gate");
  auto up = lookupWeight(*this, symbols, getUpAttr(), "up");
  auto down = lookupWeight(*this, symbols, getDownAttr(), "down");
  if (failed(gate) || failed(up) || failed(down))
    return failure();
  if (failed(expectShape(*this, *gate, "gate", {experts, kAny, dim})))
    return failure();
  int64_t ffn = gate->getShape()[1];
  if (failed(expectShape(*this, *up, "up", {experts, ffn, dim})) ||
      failed(expectShape(*this, *down, "down", {experts, dim, ffn})))
    return failure();
  if (failed(expectKernelReads(*this, getGateUpKernelAttr(), *gate, "gate")) ||
      failed(expectKernelReads(*this, getGateUpKernelAttr(), *up, "up")) ||
      failed(expectKernelReads(*this, getGateUpBatchKernelAttr(), *gate,
                               "gate")) ||
      failed(expectKernelReads(*this, getDownKernelAttr(), *down, "down")) ||
      failed(expectKernelReads(*this, getDownBatchKernelAttr(), *down, "down")))
    return failure();
  if (auto biasRef = getSelectionBiasAttr()) {
    auto bias = lookupWeight(*this, symbols, biasRef, "selection_bias");
    if (failed(bias) ||
        failed(expectShape(*this, *bias, "selection_bias", {experts})))
      return failure();
  }
  if (auto sharedGateRef = getSharedGateAttr()) {
    auto sGate = lookupWeight(*this, symbols, sharedGateRef, "shared_gate");
    auto sUp = lookupWeight(*this, symbols, getSharedUpAttr(), "shared_up");
    auto sDown =
        lookupWeight(*this, symbols, getSharedDownAttr(), "shared_down");
    if (failed(sGate) || failed(sUp) || failed(sDown) ||
        failed(expectShape(*this, *sGate, "shared_gate", {kAny, dim})))
      return failure();
    int64_t sharedFfn = sGate->getShape()[0];
    if (failed(expectShape(*this, *sUp, "shared_up", {sharedFfn, dim})) ||
        failed(expectShape(*this, *sDown, "shared_down", {dim, sharedFfn})) ||
        failed(expectKernelReads(*this, getSharedGateKernelAttr(), *sGate,
                                 "shared_gate")) ||
        failed(expectKernelReads(*this, getSharedUpKernelAttr(), *sUp,
                                 "shared_up")) ||
        failed(expectKernelReads(*this, getSharedDownKernelAttr(), *sDown,
                                 "shared_down")))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// SliceOp
//===----------------------------------------------------------------------===//

LogicalResult SliceOp::verify() {
  auto in = rowWidth(getInput()), out = rowWidth(getResult());
  if (static_cast<int64_t>(getOffset()) < 0)
    return emitOpError() << "offset must not be negative";
  if (!out)
    return emitOpError() << "result width must be static";
  int64_t offset = getOffset();
  if (in && (offset > *in || *out > *in - offset))
    return emitOpError() << "range [" << getOffset() << ", "
                         << getOffset() + *out << ") exceeds rows of " << *in;
  return success();
}
