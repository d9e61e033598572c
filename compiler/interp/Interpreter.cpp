//===- Interpreter.cpp - Reference interpreter of ingot modules -----------===//
#include "compiler/interp/Interpreter.h"

#include "compiler/dialect/IngotDialect.h"
#include "compiler/gguf/GGUFFile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using llvm::formatv;

namespace ingot::interp {

namespace {

/// An activation: `rows` tokens of `cols` values.
struct Tensor {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;
  float *row(int64_t t) { return data.data() + t * cols; }
  const float *row(int64_t t) const { return data.data() + t * cols; }
};

llvm::Error opError(Operation *op, const llvm::Twine &message) {
  std::string location;
  llvm::raw_string_ostream os(location);
  op->getLoc().print(os);
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(), "%s: %s: %s", location.c_str(),
      op->getName().getStringRef().str().c_str(), message.str().c_str());
}

/// The ops @forward may hold besides its return: one list for the check
/// before a step and the dispatch during it.
template <typename... Ops> struct OpSet {
  static bool contains(Operation &op) { return isa<Ops...>(op); }
  /// Calls `apply` with `op` cast to the one of Ops it is.
  template <typename Apply>
  static llvm::Error dispatch(Operation *op, Apply &&apply) {
    return llvm::TypeSwitch<Operation *, llvm::Error>(op)
        .template Case<Ops...>(apply)
        .Default([&](Operation *) { return opError(op, "unsupported op"); });
  }
};
using InterpretedOps =
    OpSet<EmbeddingOp, RMSNormOp, MatmulOp, RopeOp, AttentionOp, MLAAttentionOp,
          MoEOp, SliceOp, SiluOp, GeluOp, SwigluOp, AddOp>;

/// Whether every op can read a weight of this type: dequantize it and
/// multiply with it.
bool readableType(ggml::Type type) {
  return ggml::getTypeInfo(type).canDequantize && canMultiply(type);
}

/// "F32, F16, ...": the readable types, for messages.
std::string readableTypeNames() {
  std::string names;
  for (const ggml::TypeInfo &info : ggml::kTypeTable)
    if (readableType(info.type))
      names += (names.empty() ? "" : ", ") + std::string(info.name);
  return names;
}

} // namespace

class ModelInterpreter::Impl {
public:
  Impl(ModuleOp module, const gguf::GGUFFile &file)
      : module(module), file(file) {}

  llvm::Error prepare(int64_t capacity, ggml::Type keyType);
  llvm::Expected<std::vector<float>> run(ArrayRef<int32_t> tokens,
                                         ArrayRef<int32_t> positions);

  int64_t vocab = 0;

private:
  const WeightView &weight(FlatSymbolRefAttr ref) {
    return weights.find(ref.getValue())->second;
  }
  const std::vector<float> &vectorF32(FlatSymbolRefAttr ref);
  // Tensors live behind pointers so that references to inputs stay valid
  // while outputs are inserted.
  Tensor &input(Value v) { return *values[v]; }
  Tensor &output(Value v, int64_t rows) {
    auto &slot = values[v];
    if (!slot)
      slot = std::make_unique<Tensor>();
    Tensor &t = *slot;
    t.rows = rows;
    t.cols = cast<RankedTensorType>(v.getType()).getDimSize(1);
    t.data.assign(rows * t.cols, 0.0f);
    return t;
  }
  int64_t stepTokens() const { return static_cast<int64_t>(tokens.size()); }
  /// Runs one op of @forward on the step's values.
  llvm::Error execute(Operation *op);
  /// One op kind of InterpretedOps (one specialization each, below).
  template <typename OpT> llvm::Error apply(OpT op);
  RopeParams ropeParams(RopeOp e);
  MoEParams moeParams(MoEOp e);
  /// Stores token `t`'s key and value at its position.
  llvm::Error storeInCache(Operation *op, KVCacheLayer &cache, int64_t t,
                           const float *key, const float *value);

  ModuleOp module;
  const gguf::GGUFFile &file;
  func::FuncOp forward;
  llvm::StringMap<WeightView> weights;
  llvm::StringMap<std::vector<float>> floatWeights;
  std::vector<KVCacheLayer> caches;
  llvm::DenseMap<Value, std::unique_ptr<Tensor>> values;
  llvm::DenseMap<Value, size_t> cacheOf;
  Value tokenArg, positionArg;
  std::vector<int32_t> tokens;
  std::vector<int64_t> positions;
};

llvm::Error ModelInterpreter::Impl::prepare(int64_t capacity,
                                            ggml::Type keyType) {
  forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward || forward.getBody().empty())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "the module has no func.func @forward");
  FunctionType type = forward.getFunctionType();
  if (type.getNumInputs() < 2 || type.getNumResults() < 1 ||
      type.getNumInputs() - 2 != type.getNumResults() - 1)
    return opError(forward, "expected (tokens, positions, caches...) -> "
                            "(logits, caches...)");
  auto logitsType = dyn_cast<RankedTensorType>(type.getResult(0));
  if (!logitsType || logitsType.getRank() != 2 || logitsType.isDynamicDim(1))
    return opError(forward, "the first result must be tensor<?xVOCABxf32>");
  vocab = logitsType.getDimSize(1);

  // Bind every weight symbol to the file's bytes, checking that the module
  // describes this file.
  for (auto w : module.getOps<WeightOp>()) {
    const gguf::TensorInfo *t = file.findTensor(w.getSymName());
    if (!t)
      return opError(w, formatv("tensor '{0}' is not in {1}", w.getSymName(),
                                file.getPath()));
    if (static_cast<uint32_t>(t->type) !=
            static_cast<uint32_t>(w.getGgmlType()) ||
        t->fileOffset != w.getOffset() || t->bytes != w.getSize())
      return opError(w, formatv("tensor '{0}' in {1} has another type, offset "
                                "or size than the module says",
                                w.getSymName(), file.getPath()));
    // Ops read their weights through ggml::dequantizeRow (embeddings, norm
    // scales, biases) or a quantized dot product (matmuls): refuse a type
    // either cannot read now, naming the tensor, instead of failing
    // half-way through a step.
    if (!readableType(t->type) && !w.getSymbolUses(module)->empty())
      return opError(w, formatv("tensor '{0}' has type {1}, which the "
                                "reference interpreter cannot read "
                                "(supported: {2})",
                                w.getSymName(), ggml::typeName(t->type),
                                readableTypeNames()));
    auto view = WeightView::fromTensor(file, *t);
    if (!view)
      return opError(w, llvm::toString(view.takeError()));
    weights[w.getSymName()] = std::move(*view);
  }

  Block &body = forward.getBody().front();
  tokenArg = body.getArgument(0);
  positionArg = body.getArgument(1);
  for (unsigned i = 2; i < body.getNumArguments(); ++i) {
    auto cacheType = dyn_cast<KVCacheType>(body.getArgument(i).getType());
    if (!cacheType)
      return opError(forward, "arguments after tokens and positions must be "
                              "!ingot.kv_cache values");
    if (!KVCacheLayer::canStoreKeys(keyType, cacheType.getKeyDim()))
      return opError(forward,
                     formatv("the cache cannot store keys of {0} values as "
                             "{1}: Q8_0 needs a multiple of 32",
                             cacheType.getKeyDim(), ggml::typeName(keyType)));
    cacheOf[body.getArgument(i)] = caches.size();
    caches.emplace_back(capacity, cacheType.getKvHeads(), cacheType.getKeyDim(),
                        cacheType.getKvHeads() * cacheType.getValueDim(),
                        keyType);
  }
  // Reject unknown ops now rather than half-way through a step.
  for (Operation &op : body)
    if (!isa<func::ReturnOp>(op) && !InterpretedOps::contains(op))
      return opError(&op, "the reference interpreter does not support this "
                          "op");
  return llvm::Error::success();
}

const std::vector<float> &
ModelInterpreter::Impl::vectorF32(FlatSymbolRefAttr ref) {
  auto it = floatWeights.find(ref.getValue());
  if (it != floatWeights.end())
    return it->second;
  const WeightView &w = weight(ref);
  std::vector<float> values(w.rowLength() * w.totalRows());
  for (int64_t r = 0; r < w.totalRows(); ++r)
    w.readRow(r, values.data() + r * w.rowLength());
  return floatWeights[ref.getValue()] = std::move(values);
}

template <> llvm::Error ModelInterpreter::Impl::apply(EmbeddingOp e) {
  const WeightView &table = weight(e.getTableAttr());
  Tensor &out = output(e.getResult(), stepTokens());
  for (int64_t t = 0; t < stepTokens(); ++t)
    if (llvm::Error error = embedding(table, tokens[t], out.row(t)))
      return opError(e, llvm::toString(std::move(error)));
  return llvm::Error::success();
}

template <> llvm::Error ModelInterpreter::Impl::apply(RMSNormOp e) {
  const Tensor &in = input(e.getInput());
  Tensor &out = output(e.getResult(), in.rows);
  int64_t group = e.getGroupSizeOrRow();
  rmsNorm(in.data.data(), vectorF32(e.getScaleAttr()).data(),
          e.getEps().convertToFloat(), group, in.rows * in.cols / group,
          out.data.data());
  return llvm::Error::success();
}

template <> llvm::Error ModelInterpreter::Impl::apply(MatmulOp e) {
  const Tensor &in = input(e.getInput());
  Tensor &out = output(e.getResult(), in.rows);
  const float *bias = nullptr;
  if (auto b = e.getBiasAttr())
    bias = vectorF32(b).data();
  matmul(weight(e.getWeightAttr()), in.data.data(), in.rows, out.data.data(),
         bias);
  return llvm::Error::success();
}

RopeParams ModelInterpreter::Impl::ropeParams(RopeOp e) {
  RopeParams p;
  p.nDims = e.getDims();
  p.mode = e.getMode() == ::ingot::RopeMode::NeoX ? interp::RopeMode::NeoX
                                                  : interp::RopeMode::Normal;
  p.freqBase = e.getFreqBase().convertToFloat();
  p.freqScale = e.getFreqScale().convertToFloat();
  p.extFactor = e.getExtFactor().convertToFloat();
  p.attnFactor = e.getAttnFactor().convertToFloat();
  p.betaFast = e.getBetaFast().convertToFloat();
  p.betaSlow = e.getBetaSlow().convertToFloat();
  p.nCtxOrig = e.getOrigContext();
  if (auto factors = e.getFreqFactorsAttr())
    p.freqFactors = vectorF32(factors).data();
  return p;
}

template <> llvm::Error ModelInterpreter::Impl::apply(RopeOp e) {
  Tensor x = input(e.getInput()); // copy: rotated in place
  RopeParams p = ropeParams(e);
  for (int64_t t = 0; t < x.rows; ++t)
    interp::rope(x.row(t) + e.getOffset(), e.getNumHeads(), e.getHeadDim(),
                 positions[t], p);
  values[e.getResult()] = std::make_unique<Tensor>(std::move(x));
  return llvm::Error::success();
}

llvm::Error ModelInterpreter::Impl::storeInCache(Operation *op,
                                                 KVCacheLayer &cache, int64_t t,
                                                 const float *key,
                                                 const float *value) {
  if (llvm::Error error = cache.store(positions[t], key, value))
    return opError(op, llvm::toString(std::move(error)));
  return llvm::Error::success();
}

template <> llvm::Error ModelInterpreter::Impl::apply(AttentionOp e) {
  if (e.getSoftcap())
    return opError(e, "softcap is not supported by the reference "
                      "interpreter yet");
  size_t index = cacheOf.lookup(e.getCache());
  KVCacheLayer &cache = caches[index];
  const Tensor &q = input(e.getQuery());
  const Tensor &k = input(e.getKey());
  const Tensor &v = input(e.getValue());
  for (int64_t t = 0; t < stepTokens(); ++t)
    if (llvm::Error error = storeInCache(e, cache, t, k.row(t), v.row(t)))
      return error;
  AttentionParams p;
  p.nHeads = e.getNumHeads();
  p.nKVHeads = e.getNumKvHeads();
  p.headDimK = e.getHeadDim();
  p.headDimV = e.getCache().getType().getValueDim();
  p.scale = e.getScale().convertToFloat();
  Tensor &out = output(e.getResult(), stepTokens());
  attention(q.data.data(), stepTokens(), positions.data(), cache, p,
            out.data.data());
  cacheOf[e.getNewCache()] = index;
  return llvm::Error::success();
}

template <> llvm::Error ModelInterpreter::Impl::apply(MLAAttentionOp e) {
  size_t index = cacheOf.lookup(e.getCache());
  KVCacheLayer &cache = caches[index];
  const Tensor &latent = input(e.getLatent());
  const Tensor &ropeKey = input(e.getRopeKey());
  // The cache holds the latent and the rope key side by side.
  std::vector<float> key(latent.cols + ropeKey.cols);
  for (int64_t t = 0; t < stepTokens(); ++t) {
    std::copy(latent.row(t), latent.row(t) + latent.cols, key.begin());
    std::copy(ropeKey.row(t), ropeKey.row(t) + ropeKey.cols,
              key.begin() + latent.cols);
    if (llvm::Error error = storeInCache(e, cache, t, key.data(), nullptr))
      return error;
  }
  MLAParams p;
  p.nHeads = e.getNumHeads();
  p.qkNopeDim = e.getNopeDim();
  p.qkRopeDim = e.getRopeDim();
  p.kvLoraRank = e.getKvLoraRank();
  p.vHeadDim = e.getVHeadDim();
  p.scale = e.getScale().convertToFloat();
  Tensor &out = output(e.getResult(), stepTokens());
  mlaAttention(input(e.getQuery()).data.data(), stepTokens(), positions.data(),
               cache, weight(e.getKBAttr()), weight(e.getVBAttr()), p,
               out.data.data());
  cacheOf[e.getNewCache()] = index;
  return llvm::Error::success();
}

MoEParams ModelInterpreter::Impl::moeParams(MoEOp e) {
  MoEParams p;
  p.nExperts = e.getNumExperts();
  p.nExpertsUsed = e.getExpertsUsed();
  p.gating = e.getGating() == ::ingot::Gating::Sigmoid ? GatingFunc::Sigmoid
                                                       : GatingFunc::Softmax;
  p.normalizeWeights = e.getNormalize();
  p.weightsScale = e.getRoutedScale().convertToFloat();
  p.nGroups = e.getNumGroups();
  p.nGroupsUsed = e.getGroupsUsed();
  return p;
}

template <> llvm::Error ModelInterpreter::Impl::apply(MoEOp e) {
  const Tensor &in = input(e.getInput());
  Tensor &out = output(e.getResult(), in.rows);
  MoEWeights w;
  if (Value logits = e.getLogits())
    w.routerLogits = input(logits).data.data();
  else
    w.router = weight(e.getRouterAttr());
  if (auto bias = e.getSelectionBiasAttr())
    w.selectionBias = vectorF32(bias).data();
  w.gateExps = weight(e.getGateAttr());
  w.upExps = weight(e.getUpAttr());
  w.downExps = weight(e.getDownAttr());
  moe(w, moeParams(e), in.data.data(), in.rows, out.data.data());
  if (auto sharedGate = e.getSharedGateAttr()) {
    std::vector<float> shared(out.data.size());
    ffnSwiGLU(weight(sharedGate), weight(e.getSharedUpAttr()),
              weight(e.getSharedDownAttr()), in.data.data(), in.rows,
              shared.data());
    add(out.data.data(), shared.data(), out.data.size(), out.data.data());
  }
  return llvm::Error::success();
}

template <> llvm::Error ModelInterpreter::Impl::apply(SliceOp e) {
  const Tensor &in = input(e.getInput());
  Tensor &out = output(e.getResult(), in.rows);
  for (int64_t t = 0; t < in.rows; ++t)
    std::copy(in.row(t) + e.getOffset(), in.row(t) + e.getOffset() + out.cols,
              out.row(t));
  return llvm::Error::success();
}

template <> llvm::Error ModelInterpreter::Impl::apply(SiluOp e) {
  const Tensor &in = input(e.getInput());
  Tensor &out = output(e.getResult(), in.rows);
  // Row by row, as ggml (its exp approximation restarts per row).
  for (int64_t t = 0; t < in.rows; ++t)
    silu(in.row(t), in.cols, out.row(t));
  return llvm::Error::success();
}

template <> llvm::Error ModelInterpreter::Impl::apply(GeluOp e) {
  const Tensor &in = input(e.getInput());
  Tensor &out = output(e.getResult(), in.rows);
  gelu(in.data.data(), in.data.size(), out.data.data());
  return llvm::Error::success();
}

template <> llvm::Error ModelInterpreter::Impl::apply(SwigluOp e) {
  const Tensor &gate = input(e.getLhs());
  const Tensor &up = input(e.getRhs());
  Tensor &out = output(e.getResult(), gate.rows);
  for (int64_t t = 0; t < gate.rows; ++t)
    swiglu(gate.row(t), up.row(t), gate.cols, out.row(t));
  return llvm::Error::success();
}

template <> llvm::Error ModelInterpreter::Impl::apply(AddOp e) {
  const Tensor &a = input(e.getLhs());
  const Tensor &b = input(e.getRhs());
  Tensor &out = output(e.getResult(), a.rows);
  add(a.data.data(), b.data.data(), a.data.size(), out.data.data());
  return llvm::Error::success();
}

// After the specializations of apply, which it instantiates.
llvm::Error ModelInterpreter::Impl::execute(Operation *op) {
  return InterpretedOps::dispatch(op, [&](auto typed) { return apply(typed); });
}

llvm::Expected<std::vector<float>>
ModelInterpreter::Impl::run(ArrayRef<int32_t> tokenIds,
                            ArrayRef<int32_t> tokenPositions) {
  if (tokenIds.size() != tokenPositions.size() || tokenIds.empty())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "a step needs one position per token");
  int64_t capacity = caches.empty() ? INT64_MAX : caches[0].getCapacity();
  for (int32_t p : tokenPositions)
    if (p < 0 || p >= capacity)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "position %d is outside the context of %lld tokens", p,
          static_cast<long long>(capacity));
  tokens.assign(tokenIds.begin(), tokenIds.end());
  positions.assign(tokenPositions.begin(), tokenPositions.end());
  values.clear();
  Block &body = forward.getBody().front();
  for (unsigned i = 2; i < body.getNumArguments(); ++i)
    cacheOf[body.getArgument(i)] = i - 2;
  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      std::vector<float> result = std::move(input(ret.getOperand(0)).data);
      values.clear();
      return result;
    }
    if (llvm::Error e = execute(&op))
      return std::move(e);
  }
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "@forward has no return");
}

ModelInterpreter::~ModelInterpreter() = default;

llvm::Expected<std::unique_ptr<ModelInterpreter>>
ModelInterpreter::create(ModuleOp module, const gguf::GGUFFile &file,
                         int64_t contextLength, ggml::Type keyType) {
  std::unique_ptr<ModelInterpreter> interp(new ModelInterpreter());
  interp->impl = std::make_unique<Impl>(module, file);
  if (llvm::Error e = interp->impl->prepare(contextLength, keyType))
    return std::move(e);
  interp->vocab = interp->impl->vocab;
  interp->capacity = contextLength;
  return std::move(interp);
}

llvm::Expected<std::vector<float>>
ModelInterpreter::step(ArrayRef<int32_t> tokens, ArrayRef<int32_t> positions) {
  return impl->run(tokens, positions);
}

} // namespace ingot::interp
