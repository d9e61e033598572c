//===- ModelImporter.cpp - GGUF model -> ingot dialect --------------------===//
//
// The per-architecture graph builders follow the forward passes of
// llama.cpp's src/models/{llama,qwen2,qwen3moe,deepseek2}.cpp: the same
// tensors, the same order of operations and the same hyper-parameter keys
// and defaults.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ModelImporter.h"

#include "compiler/dialect/IngotDialect.h"
#include "compiler/gguf/GGUFFile.h"
#include "compiler/import/TokenizerImport.h"
#include "targets/oplib/OpLibLimits.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using ingot::gguf::GGUFFile;
using ingot::gguf::TensorInfo;
using llvm::formatv;

namespace ingot {

StringRef supportedArchitectures() {
  return "llama, qwen2, qwen3, qwen3moe, deepseek2";
}

void registerImportDialects(MLIRContext &context) {
  context.loadDialect<IngotDialect, func::FuncDialect>();
}

namespace {

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") +
         (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  return s + "]";
}

/// Everything the graph builders read from the metadata.
struct HyperParams {
  int64_t layers = 0, embedding = 0, heads = 0, kvHeads = 0, headDim = 0,
          valueDim = 0, ffn = 0, ropeDims = 0, context = 0, vocab = 0;
  float rmsEps = 1e-5f, ropeBase = 10000.0f;
  // Rope scaling.
  float freqScale = 1.0f, extFactor = 0.0f, attnFactor = 1.0f, betaFast = 32.0f,
        betaSlow = 1.0f, yarnLogMultiplier = 0.0f;
  int64_t origContext = 0;
  // Mixture of experts.
  int64_t experts = 0, expertsUsed = 0, expertFfn = 0, sharedExperts = 0,
          leadingDense = 0, groups = 1, groupsUsed = 1;
  Gating gating = Gating::Softmax;
  bool normalizeExperts = false;
  float routedScale = 1.0f;
  // Multi-head latent attention.
  int64_t qLoraRank = 0, kvLoraRank = 0, nopeDim = 0, vHeadDim = 0;
};

class Importer {
public:
  Importer(MLIRContext &context, const GGUFFile &file)
      : context(context), file(file), builder(&context),
        loc(FileLineColLoc::get(&context, file.getPath(), 0, 0)) {}

  llvm::Expected<OwningOpRef<ModuleOp>> run();

private:
  // Metadata access: `<arch>.suffix`, checked. Every hyper-parameter is a
  // 32-bit quantity in llama.cpp; bounding them here keeps every product the
  // graph builders form (heads x head_dim, ...) far from overflow, and an
  // error names the key instead of a later shape mismatch or allocation.
  static constexpr int64_t kMaxHyperParam = INT32_MAX;
  std::string key(StringRef suffix) const {
    return formatv("{0}.{1}", arch, suffix).str();
  }
  /// `<arch>.suffix` as an integer in [lo, hi]; `fallback` when absent, or
  /// an error when absent without one.
  int64_t count(StringRef suffix, std::optional<int64_t> fallback, int64_t lo,
                int64_t hi = kMaxHyperParam) {
    const gguf::Value *v = file.lookup(key(suffix));
    if (!v) {
      if (!fallback)
        fail(formatv("missing metadata key '{0}'", key(suffix)).str());
      return fallback.value_or(lo);
    }
    if (!v->isInteger()) {
      fail(formatv("metadata key '{0}' must be an integer, is {1}", key(suffix),
                   gguf::valueTypeName(v->getType()))
               .str());
      return lo;
    }
    std::optional<int64_t> value = v->getSigned();
    if (!value) { // a u64 beyond INT64_MAX
      fail(formatv("{0} ({1}) must be between {2} and {3}", key(suffix),
                   *v->getUnsigned(), lo, hi)
               .str());
      return lo;
    }
    if (*value < lo || *value > hi) {
      fail(formatv("{0} ({1}) must be between {2} and {3}", key(suffix), *value,
                   lo, hi)
               .str());
      return lo;
    }
    return *value;
  }
  int64_t require(StringRef suffix, int64_t lo = 1) {
    return count(suffix, std::nullopt, lo);
  }
  int64_t optional(StringRef suffix, int64_t fallback, int64_t lo = 0) {
    return count(suffix, fallback, lo);
  }
  enum class FloatRange { Finite, NonNegative, Positive };
  /// `<arch>.suffix` as a finite f32 (the ops' attributes are f32), in
  /// `range`; `fallback` when absent.
  float optionalFloat(StringRef suffix, float fallback,
                      FloatRange range = FloatRange::Finite) {
    const gguf::Value *v = file.lookup(key(suffix));
    if (!v)
      return fallback;
    std::optional<double> wide = v->getDouble();
    if (!wide || v->getType() == gguf::ValueType::Bool) {
      fail(formatv("metadata key '{0}' must be a number, is {1}", key(suffix),
                   gguf::valueTypeName(v->getType()))
               .str());
      return fallback;
    }
    float value = static_cast<float>(*wide);
    bool ok = std::isfinite(value) &&
              (range == FloatRange::Finite ||
               (range == FloatRange::NonNegative && value >= 0.0f) ||
               (range == FloatRange::Positive && value > 0.0f));
    if (!ok) {
      const char *want = range == FloatRange::Positive      ? "a positive"
                         : range == FloatRange::NonNegative ? "a non-negative"
                                                            : "a finite";
      char text[32];
      std::snprintf(text, sizeof(text), "%g", *wide);
      fail(formatv("{0} ({1}) must be {2} number", key(suffix), text, want)
               .str());
      return fallback;
    }
    return value;
  }

  void fail(const std::string &message) {
    if (firstError.empty())
      firstError = message;
  }

  /// Declares (once) and returns the weight symbol of tensor `name`,
  /// checking its shape (slowest dimension first; -1 = any).
  FlatSymbolRefAttr weight(StringRef name, ArrayRef<int64_t> expected);
  bool hasTensor(StringRef name) { return file.findTensor(name) != nullptr; }
  std::string layerTensor(int64_t layer, StringRef name) {
    return formatv("blk.{0}.{1}", layer, name).str();
  }

  RankedTensorType activation(int64_t width) {
    return RankedTensorType::get({ShapedType::kDynamic, width},
                                 builder.getF32Type());
  }

  // Op helpers.
  Value rmsNorm(Value x, StringRef scaleName, int64_t groupSize = 0);
  Value matmul(Value x, StringRef weightName, int64_t out,
               StringRef biasName = "");
  Value rope(Value x, int64_t heads, int64_t headDim, int64_t offset,
             int64_t dims, RopeMode mode);
  Value add(Value a, Value b) {
    return AddOp::create(builder, loc, a.getType(), a, b);
  }
  Value swigluFfn(Value x, int64_t layer, int64_t ffn, StringRef suffix);

  LogicalResult readHyperParams();
  LogicalResult readBlockCounts();
  LogicalResult readAttentionShape();
  LogicalResult readRopeScaling();
  LogicalResult readExperts();
  LogicalResult readMLA();
  LogicalResult readVocabulary();
  void buildAttentionLayer(int64_t layer, Value &x, RopeMode mode, bool qkNorm,
                           bool qkvBias);
  void buildMLALayer(int64_t layer, Value &x);
  void buildFeedForward(int64_t layer, Value &x);
  /// ingot.architecture and ingot.model on the module.
  void setModelAttributes();
  /// func.func @forward(tokens, positions, caches...) -> (logits, caches...)
  /// with an empty body the builders fill.
  void createForward();
  /// The embedding, every block and the output head.
  LogicalResult buildLayers();

  MLIRContext &context;
  const GGUFFile &file;
  OpBuilder builder;
  Location loc;
  ModuleOp module;
  std::string arch;
  HyperParams hp;
  Value tokens, positions;
  SmallVector<Value> caches;
  llvm::StringMap<FlatSymbolRefAttr> declared;
  std::string firstError;
};

FlatSymbolRefAttr Importer::weight(StringRef name, ArrayRef<int64_t> expected) {
  auto it = declared.find(name);
  if (it != declared.end())
    return it->second;
  const TensorInfo *tensor = file.findTensor(name);
  if (!tensor) {
    fail(formatv("missing tensor '{0}' (expected shape {1})", name,
                 shapeString(expected))
             .str());
    return FlatSymbolRefAttr::get(&context, name);
  }
  SmallVector<int64_t> shape(tensor->shape.rbegin(), tensor->shape.rend());
  // GGUF allows empty tensors; no model weight is one.
  if (llvm::is_contained(shape, 0)) {
    fail(formatv("tensor '{0}' has shape {1}: a weight cannot be empty", name,
                 shapeString(shape))
             .str());
    return FlatSymbolRefAttr::get(&context, name);
  }
  bool matches = shape.size() == expected.size();
  for (size_t i = 0; matches && i < shape.size(); ++i)
    matches = expected[i] < 0 || expected[i] == shape[i];
  if (!matches)
    fail(formatv("tensor '{0}' has shape {1}, expected {2} from the "
                 "hyper-parameters",
                 name, shapeString(shape), shapeString(expected))
             .str());
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(module.getBody(), module.getBody()->end());
  // Weights go before the function, in first-use order.
  if (auto fn = module.lookupSymbol<func::FuncOp>("forward"))
    builder.setInsertionPoint(fn);
  auto op = WeightOp::create(
      builder, loc, builder.getStringAttr(name),
      GGMLTypeAttr::get(&context, static_cast<GGMLType>(tensor->type)),
      builder.getDenseI64ArrayAttr(shape),
      builder.getI64IntegerAttr(tensor->fileOffset),
      builder.getI64IntegerAttr(tensor->bytes), /*layout=*/LayoutAttr());
  (void)op;
  auto ref = FlatSymbolRefAttr::get(&context, name);
  declared[name] = ref;
  return ref;
}

Value Importer::rmsNorm(Value x, StringRef scaleName, int64_t groupSize) {
  int64_t width = cast<RankedTensorType>(x.getType()).getDimSize(1);
  int64_t scaleLength = groupSize ? groupSize : width;
  auto scale = weight(scaleName, {scaleLength});
  auto op = RMSNormOp::create(
      builder, loc, x.getType(), x, scale, builder.getF32FloatAttr(hp.rmsEps),
      groupSize ? builder.getI64IntegerAttr(groupSize) : IntegerAttr());
  return op.getResult();
}

Value Importer::matmul(Value x, StringRef weightName, int64_t out,
                       StringRef biasName) {
  int64_t in = cast<RankedTensorType>(x.getType()).getDimSize(1);
  auto w = weight(weightName, {out, in});
  FlatSymbolRefAttr bias;
  if (!biasName.empty())
    bias = weight(biasName, {out});
  return MatmulOp::create(builder, loc, activation(out), x, w, bias,
                          /*kernel=*/KernelAttr())
      .getResult();
}

Value Importer::rope(Value x, int64_t heads, int64_t headDim, int64_t offset,
                     int64_t dims, RopeMode mode) {
  auto op = RopeOp::create(
      builder, loc, x.getType(), x, positions, builder.getI64IntegerAttr(heads),
      builder.getI64IntegerAttr(headDim), builder.getI64IntegerAttr(offset),
      builder.getI64IntegerAttr(dims), RopeModeAttr::get(&context, mode),
      builder.getF32FloatAttr(hp.ropeBase),
      builder.getF32FloatAttr(hp.freqScale),
      builder.getF32FloatAttr(hp.extFactor),
      builder.getF32FloatAttr(hp.attnFactor),
      builder.getF32FloatAttr(hp.betaFast),
      builder.getF32FloatAttr(hp.betaSlow),
      builder.getI64IntegerAttr(hp.origContext),
      // Llama 3.1-style per-pair frequency factors (llama.cpp applies them
      // in the llama-family graphs, not in deepseek2's MLA).
      arch != "deepseek2" && hasTensor("rope_freqs.weight")
          ? weight("rope_freqs.weight", {dims / 2})
          : FlatSymbolRefAttr());
  return op.getResult();
}

Value Importer::swigluFfn(Value x, int64_t layer, int64_t ffn,
                          StringRef suffix) {
  Value gate = matmul(
      x, layerTensor(layer, ("ffn_gate" + suffix + ".weight").str()), ffn);
  Value up =
      matmul(x, layerTensor(layer, ("ffn_up" + suffix + ".weight").str()), ffn);
  Value act = SwigluOp::create(builder, loc, gate.getType(), gate, up);
  return matmul(act,
                layerTensor(layer, ("ffn_down" + suffix + ".weight").str()),
                hp.embedding);
}

/// The block tensors (`blk.N.*`) of a file: how many blocks they cover (one
/// more than the largest N, at most the tensor count) and the tensor with
/// the largest N, which must be below block_count.
struct BlockTensors {
  int64_t blocks = 0;
  uint64_t largestIndex = 0;
  StringRef largestName;
};
static BlockTensors blocksInFile(const GGUFFile &file) {
  BlockTensors result;
  for (const TensorInfo &t : file.tensors()) {
    StringRef name = t.name;
    if (!name.consume_front("blk."))
      continue;
    uint64_t index;
    if (name.consumeInteger(10, index) || !name.starts_with("."))
      continue;
    if (result.largestName.empty() || index > result.largestIndex) {
      result.largestIndex = index;
      result.largestName = t.name;
    }
    if (index < file.tensors().size())
      result.blocks =
          std::max<int64_t>(result.blocks, static_cast<int64_t>(index) + 1);
  }
  return result;
}

/// block_count, embedding_length and head_count, checked against the
/// blocks the file has tensors for.
LogicalResult Importer::readBlockCounts() {
  // The counts that size what is built before any tensor is checked come
  // first, bounded by what the file holds.
  BlockTensors blockTensors = blocksInFile(file);
  int64_t blocks = blockTensors.blocks;
  hp.layers = require("block_count");
  hp.embedding = require("embedding_length");
  hp.heads = require("attention.head_count");
  if (!firstError.empty())
    return failure();
  if (hp.layers > blocks) {
    fail(formatv("{0} ({1}) exceeds the {2} blocks the file has tensors for",
                 key("block_count"), hp.layers, blocks)
             .str());
    return failure();
  }
  // Blocks beyond block_count would be silently dropped (wrong output);
  // llama.cpp refuses such files too.
  if (!blockTensors.largestName.empty() &&
      blockTensors.largestIndex >= static_cast<uint64_t>(hp.layers)) {
    fail(formatv("tensor '{0}' is in block {1}, but {2} is {3}",
                 blockTensors.largestName, blockTensors.largestIndex,
                 key("block_count"), hp.layers)
             .str());
    return failure();
  }
  return success(firstError.empty());
}

/// Heads, head sizes, feed-forward length, context, epsilon and rope
/// dimensions.
LogicalResult Importer::readAttentionShape() {
  hp.kvHeads = optional("attention.head_count_kv", hp.heads, 1);
  if (!file.lookup(key("attention.key_length")) && hp.embedding % hp.heads) {
    fail(formatv("{0} ({1}) is not a multiple of {2} ({3}) and {4} is not "
                 "given",
                 key("embedding_length"), hp.embedding,
                 key("attention.head_count"), hp.heads,
                 key("attention.key_length"))
             .str());
    return failure();
  }
  hp.headDim = optional("attention.key_length", hp.embedding / hp.heads, 1);
  hp.valueDim = optional("attention.value_length", hp.headDim, 1);
  hp.ffn = optional("feed_forward_length", 0);
  hp.ropeDims = optional("rope.dimension_count", hp.headDim, 0);
  hp.context = optional("context_length", 4096, 1);
  hp.rmsEps = optionalFloat("attention.layer_norm_rms_epsilon", 1e-5f,
                            FloatRange::Positive);
  hp.ropeBase = optionalFloat("rope.freq_base", 10000.0f, FloatRange::Positive);
  if (!firstError.empty())
    return failure();
  if (hp.heads % hp.kvHeads) {
    fail(formatv("{0}.attention.head_count ({1}) is not a multiple of "
                 "attention.head_count_kv ({2})",
                 arch, hp.heads, hp.kvHeads)
             .str());
    return failure();
  }
  // The op library's fixed per-op buffers (the verifiers check the ops
  // too; here the message can name the key).
  if (hp.ropeDims > 2 * oplib::kMaxRopePairs) {
    fail(formatv("{0} ({1}) exceeds the {2} rotated values per head the op "
                 "library supports",
                 key("rope.dimension_count"), hp.ropeDims,
                 2 * oplib::kMaxRopePairs)
             .str());
    return failure();
  }
  if (arch != "deepseek2" && (hp.ropeDims % 2 || hp.ropeDims > hp.headDim)) {
    fail(formatv("{0} ({1}) must be even and at most the head size ({2})",
                 key("rope.dimension_count"), hp.ropeDims, hp.headDim)
             .str());
    return failure();
  }
  return success(firstError.empty());
}

/// Rope scaling (linear or YaRN), as llama.cpp reads it.
LogicalResult Importer::readRopeScaling() {
  std::string scalingType =
      file.getString(arch + ".rope.scaling.type").value_or("").str();
  float factor =
      optionalFloat("rope.scaling.factor", 0.0f, FloatRange::NonNegative);
  if (factor == 0.0f)
    factor = optionalFloat("rope.scale_linear", 0.0f, FloatRange::NonNegative);
  if (!firstError.empty())
    return failure();
  if (scalingType == "linear" || (scalingType.empty() && factor > 0.0f)) {
    if (factor > 0.0f)
      hp.freqScale = 1.0f / factor;
  } else if (scalingType == "yarn") {
    if (factor <= 0.0f) {
      fail(formatv("YaRN rope scaling needs {0}.rope.scaling.factor", arch)
               .str());
      return failure();
    }
    hp.freqScale = 1.0f / factor;
    hp.extFactor = 1.0f;
    hp.betaFast = optionalFloat("rope.scaling.yarn_beta_fast", 32.0f);
    hp.betaSlow = optionalFloat("rope.scaling.yarn_beta_slow", 1.0f);
    hp.origContext =
        optional("rope.scaling.original_context_length", hp.context, 1);
    // Stored as 0.1 * mscale_all_dim by llama.cpp's converter.
    hp.yarnLogMultiplier =
        optionalFloat("rope.scaling.yarn_log_multiplier", 0.0f) / 0.1f;
  } else if (!scalingType.empty() && scalingType != "none") {
    fail(formatv("unsupported rope scaling type '{0}'", scalingType).str());
    return failure();
  }
  if (!std::isfinite(hp.freqScale) || hp.freqScale <= 0.0f) {
    fail(formatv("{0} ({1}) gives no usable rope frequency scale",
                 key("rope.scaling.factor"), factor)
             .str());
    return failure();
  }
  return success(firstError.empty());
}

/// Mixture-of-experts counts, groups, weights and gating.
LogicalResult Importer::readExperts() {
  hp.experts = count("expert_count", 0, 0, oplib::kMaxExperts);
  hp.expertsUsed = optional("expert_used_count", 0);
  hp.expertFfn = optional("expert_feed_forward_length", hp.ffn);
  hp.sharedExperts = optional("expert_shared_count", 0);
  hp.leadingDense = optional("leading_dense_block_count", 0);
  hp.groups = optional("expert_group_count", 1);
  hp.groupsUsed = optional("expert_group_used_count", 1);
  // As in llama.cpp, 0 or 1 groups means no grouping: every expert is in
  // one group and the group-used count does not apply.
  if (hp.groups <= 1) {
    hp.groups = 1;
    hp.groupsUsed = 1;
  }
  if (hp.groupsUsed == 0)
    hp.groupsUsed = hp.groups;
  hp.routedScale = optionalFloat("expert_weights_scale", 1.0f);
  if (hp.routedScale == 0.0f)
    hp.routedScale = 1.0f;
  if (!firstError.empty())
    return failure();
  if (hp.leadingDense > hp.layers) {
    fail(formatv("{0} ({1}) exceeds {2} ({3})",
                 key("leading_dense_block_count"), hp.leadingDense,
                 key("block_count"), hp.layers)
             .str());
    return failure();
  }
  if (hp.experts > 0 && (hp.experts % hp.groups || hp.groupsUsed > hp.groups)) {
    fail(formatv("{0} ({1}) must split into {2} ({3}) groups of which {4} "
                 "({5}) are used",
                 key("expert_count"), hp.experts, key("expert_group_count"),
                 hp.groups, key("expert_group_used_count"), hp.groupsUsed)
             .str());
    return failure();
  }
  // Qwen3-MoE and Mixtral renormalise the chosen experts' weights in their
  // graph code; DeepSeek says so in its metadata.
  hp.normalizeExperts =
      arch == "qwen3moe" || arch == "llama"
          ? true
          : file.getBool(arch + ".expert_weights_norm").value_or(false);
  int64_t gating = optional("expert_gating_func", 1);
  if (!firstError.empty())
    return failure();
  if (gating != 1 && gating != 2) {
    fail(formatv("unsupported {0}.expert_gating_func {1} (1 = softmax, 2 = "
                 "sigmoid)",
                 arch, gating)
             .str());
    return failure();
  }
  hp.gating = gating == 2 ? Gating::Sigmoid : Gating::Softmax;
  return success(firstError.empty());
}

/// Multi-head latent attention (deepseek2): the ranks and head splits.
LogicalResult Importer::readMLA() {
  if (arch != "deepseek2")
    return success();
  hp.qLoraRank = optional("attention.q_lora_rank", 0);
  hp.kvLoraRank =
      count("attention.kv_lora_rank", std::nullopt, 1, oplib::kMaxHeadWidth);
  // The per-head absorbed products name each head in a fixed array.
  count("attention.head_count", std::nullopt, 1, oplib::kMaxExperts);
  int64_t keyMla = optional("attention.key_length_mla", 0);
  hp.vHeadDim = optional("attention.value_length_mla", hp.valueDim, 1);
  hp.ropeDims =
      count("rope.dimension_count", std::nullopt, 2, 2 * oplib::kMaxRopePairs);
  if (!firstError.empty())
    return failure();
  if (hp.ropeDims % 2) {
    fail(formatv("{0} ({1}) must be even", key("rope.dimension_count"),
                 hp.ropeDims)
             .str());
    return failure();
  }
  hp.nopeDim = (keyMla ? keyMla : hp.headDim) - hp.ropeDims;
  if (hp.nopeDim <= 0) {
    fail("deepseek2: attention key length must exceed the rope dimension");
    return failure();
  }
  return success(firstError.empty());
}

/// The vocabulary size: token_embd.weight's rows, which the tokenizer
/// must cover.
LogicalResult Importer::readVocabulary() {
  const TensorInfo *embd = file.findTensor("token_embd.weight");
  if (!embd || embd->shape.size() != 2) {
    fail("missing tensor 'token_embd.weight' (expected shape [vocab, " +
         std::to_string(hp.embedding) + "])");
    return failure();
  }
  // Token ids are 32-bit everywhere (the ops, the binary's runtime).
  if (embd->shape[1] == 0 || embd->shape[1] > uint64_t(kMaxHyperParam)) {
    fail(formatv("tensor 'token_embd.weight' has {0} rows: a vocabulary "
                 "must have between 1 and {1} tokens",
                 embd->shape[1], kMaxHyperParam)
             .str());
    return failure();
  }
  hp.vocab = static_cast<int64_t>(embd->shape[1]);
  if (const gguf::Value *tokens = file.lookup("tokenizer.ggml.tokens")) {
    // The binary turns every id the model can produce back into text.
    if (tokens->getType() == gguf::ValueType::Array &&
        static_cast<uint64_t>(hp.vocab) > tokens->size()) {
      fail(formatv("the model's vocabulary (token_embd.weight: {0} rows) is "
                   "larger than the tokenizer's (tokenizer.ggml.tokens: {1} "
                   "tokens)",
                   hp.vocab, tokens->size())
               .str());
      return failure();
    }
  }
  return success(firstError.empty());
}

LogicalResult Importer::readHyperParams() {
  return success(succeeded(readBlockCounts()) &&
                 succeeded(readAttentionShape()) &&
                 succeeded(readRopeScaling()) && succeeded(readExperts()) &&
                 succeeded(readMLA()) && succeeded(readVocabulary()));
}

void Importer::buildAttentionLayer(int64_t il, Value &x, RopeMode mode,
                                   bool qkNorm, bool qkvBias) {
  int64_t qWidth = hp.heads * hp.headDim, kvWidth = hp.kvHeads * hp.headDim;
  Value h = rmsNorm(x, layerTensor(il, "attn_norm.weight"));
  Value q = matmul(h, layerTensor(il, "attn_q.weight"), qWidth,
                   qkvBias ? layerTensor(il, "attn_q.bias") : "");
  Value k = matmul(h, layerTensor(il, "attn_k.weight"), kvWidth,
                   qkvBias ? layerTensor(il, "attn_k.bias") : "");
  Value v =
      matmul(h, layerTensor(il, "attn_v.weight"), hp.kvHeads * hp.valueDim,
             qkvBias ? layerTensor(il, "attn_v.bias") : "");
  if (qkNorm) {
    q = rmsNorm(q, layerTensor(il, "attn_q_norm.weight"), hp.headDim);
    k = rmsNorm(k, layerTensor(il, "attn_k_norm.weight"), hp.headDim);
  }
  q = rope(q, hp.heads, hp.headDim, 0, hp.ropeDims, mode);
  k = rope(k, hp.kvHeads, hp.headDim, 0, hp.ropeDims, mode);
  auto attn = AttentionOp::create(
      builder, loc, activation(hp.heads * hp.valueDim), caches[il].getType(), q,
      k, v, positions, caches[il], builder.getI64IntegerAttr(hp.heads),
      builder.getI64IntegerAttr(hp.kvHeads),
      builder.getI64IntegerAttr(hp.headDim),
      builder.getF32FloatAttr(1.0f / std::sqrt(float(hp.headDim))),
      FloatAttr());
  caches[il] = attn.getNewCache();
  Value out = matmul(attn.getResult(), layerTensor(il, "attn_output.weight"),
                     hp.embedding);
  x = add(x, out);
}

void Importer::buildMLALayer(int64_t il, Value &x) {
  int64_t qkHead = hp.nopeDim + hp.ropeDims;
  Value h = rmsNorm(x, layerTensor(il, "attn_norm.weight"));
  Value q;
  if (hp.qLoraRank) {
    q = matmul(h, layerTensor(il, "attn_q_a.weight"), hp.qLoraRank);
    q = rmsNorm(q, layerTensor(il, "attn_q_a_norm.weight"));
    q = matmul(q, layerTensor(il, "attn_q_b.weight"), hp.heads * qkHead);
  } else {
    q = matmul(h, layerTensor(il, "attn_q.weight"), hp.heads * qkHead);
  }
  Value kvPe = matmul(h, layerTensor(il, "attn_kv_a_mqa.weight"),
                      hp.kvLoraRank + hp.ropeDims);
  Value latent = SliceOp::create(builder, loc, activation(hp.kvLoraRank), kvPe,
                                 builder.getI64IntegerAttr(0));
  Value ropeKey = SliceOp::create(builder, loc, activation(hp.ropeDims), kvPe,
                                  builder.getI64IntegerAttr(hp.kvLoraRank));
  // With YaRN, llama.cpp scales the rope so that its magnitude correction
  // cancels and moves mscale^2 into the attention scale instead.
  float ropeAttnFactor = hp.attnFactor;
  float mscale = 1.0f;
  if (hp.extFactor != 0.0f) {
    ropeAttnFactor = 1.0f / (1.0f + 0.1f * std::log(1.0f / hp.freqScale));
    mscale = 1.0f + 0.1f * hp.yarnLogMultiplier * std::log(1.0f / hp.freqScale);
  }
  float savedAttnFactor = hp.attnFactor;
  hp.attnFactor = ropeAttnFactor;
  q = rope(q, hp.heads, qkHead, hp.nopeDim, hp.ropeDims, RopeMode::Normal);
  ropeKey = rope(ropeKey, 1, hp.ropeDims, 0, hp.ropeDims, RopeMode::Normal);
  hp.attnFactor = savedAttnFactor;
  latent = rmsNorm(latent, layerTensor(il, "attn_kv_a_norm.weight"));
  auto kB = weight(layerTensor(il, "attn_k_b.weight"),
                   {hp.heads, hp.kvLoraRank, hp.nopeDim});
  auto vB = weight(layerTensor(il, "attn_v_b.weight"),
                   {hp.heads, hp.vHeadDim, hp.kvLoraRank});
  float scale = mscale * mscale / std::sqrt(float(qkHead));
  auto attn = MLAAttentionOp::create(
      builder, loc, activation(hp.heads * hp.vHeadDim), caches[il].getType(), q,
      latent, ropeKey, positions, caches[il], kB, vB,
      builder.getI64IntegerAttr(hp.heads),
      builder.getI64IntegerAttr(hp.nopeDim),
      builder.getI64IntegerAttr(hp.ropeDims),
      builder.getI64IntegerAttr(hp.kvLoraRank),
      builder.getI64IntegerAttr(hp.vHeadDim), builder.getF32FloatAttr(scale),
      /*k_b_kernel=*/KernelAttr(), /*v_b_kernel=*/KernelAttr());
  caches[il] = attn.getNewCache();
  Value out = matmul(attn.getResult(), layerTensor(il, "attn_output.weight"),
                     hp.embedding);
  x = add(x, out);
}

void Importer::buildFeedForward(int64_t il, Value &x) {
  Value h = rmsNorm(x, layerTensor(il, "ffn_norm.weight"));
  bool moe = hp.experts > 0 && il >= hp.leadingDense &&
             hasTensor(layerTensor(il, "ffn_gate_inp.weight"));
  Value out;
  if (!moe) {
    if (hp.ffn <= 0) {
      fail(formatv("missing metadata key '{0}.feed_forward_length'", arch)
               .str());
      return;
    }
    out = swigluFfn(h, il, hp.ffn, "");
  } else {
    if (hp.expertsUsed <= 0 || hp.expertsUsed > hp.experts) {
      fail(formatv("{0}.expert_used_count ({1}) must be between 1 and "
                   "expert_count ({2})",
                   arch, hp.expertsUsed, hp.experts)
               .str());
      return;
    }
    int64_t E = hp.embedding, X = hp.experts, F = hp.expertFfn;
    // The router product as a matmul of its own; ingot-fuse-router folds
    // it into the moe op.
    Value logits = matmul(h, layerTensor(il, "ffn_gate_inp.weight"), X);
    auto gate = weight(layerTensor(il, "ffn_gate_exps.weight"), {X, F, E});
    auto up = weight(layerTensor(il, "ffn_up_exps.weight"), {X, F, E});
    auto down = weight(layerTensor(il, "ffn_down_exps.weight"), {X, E, F});
    FlatSymbolRefAttr bias, sGate, sUp, sDown;
    if (hasTensor(layerTensor(il, "exp_probs_b.bias")))
      bias = weight(layerTensor(il, "exp_probs_b.bias"), {X});
    if (hp.sharedExperts > 0) {
      int64_t S = F * hp.sharedExperts;
      sGate = weight(layerTensor(il, "ffn_gate_shexp.weight"), {S, E});
      sUp = weight(layerTensor(il, "ffn_up_shexp.weight"), {S, E});
      sDown = weight(layerTensor(il, "ffn_down_shexp.weight"), {E, S});
    }
    out = MoEOp::create(builder, loc, h.getType(), h, logits,
                        /*router=*/FlatSymbolRefAttr(), gate, up, down, bias,
                        sGate, sUp, sDown, builder.getI64IntegerAttr(X),
                        builder.getI64IntegerAttr(hp.expertsUsed),
                        GatingAttr::get(&context, hp.gating),
                        builder.getBoolAttr(hp.normalizeExperts),
                        builder.getF32FloatAttr(hp.routedScale),
                        builder.getI64IntegerAttr(hp.groups),
                        builder.getI64IntegerAttr(hp.groupsUsed),
                        // Kernels: chosen by ingot-select-kernels.
                        KernelAttr(), KernelAttr(), KernelAttr(), KernelAttr(),
                        KernelAttr(), KernelAttr());
  }
  x = add(x, out);
}

/// Why this file is not a model the importer builds, or "" when it is.
std::string unsupportedModelReason(const GGUFFile &file, StringRef arch) {
  if (arch.empty()) {
    if (const gguf::Value *v = file.lookup("general.architecture"))
      if (v->getType() != gguf::ValueType::String)
        return std::string("general.architecture has type ") +
               gguf::valueTypeName(v->getType()) + " (it must be a string)";
    return "no general.architecture key: not a model file";
  }
  bool llamaLike = arch == "llama" || arch == "qwen2" || arch == "qwen3" ||
                   arch == "qwen3moe";
  if (!llamaLike && arch != "deepseek2")
    return formatv("unsupported architecture '{0}' (supported: {1})", arch,
                   supportedArchitectures())
        .str();
  if (file.tensors().empty())
    return "the file has no tensors (a vocabulary-only file?)";
  return "";
}

void Importer::setModelAttributes() {
  Builder &b = builder;
  module->setAttr("ingot.architecture", b.getStringAttr(arch));
  NamedAttrList info;
  info.append("vocab_size", b.getI64IntegerAttr(hp.vocab));
  info.append("context_length", b.getI64IntegerAttr(hp.context));
  info.append("embedding_length", b.getI64IntegerAttr(hp.embedding));
  info.append("block_count", b.getI64IntegerAttr(hp.layers));
  if (auto name = file.getString("general.name"))
    info.append("name", b.getStringAttr(*name));
  module->setAttr("ingot.model", info.getDictionary(&context));
}

void Importer::createForward() {
  // Per-layer caches.
  SmallVector<Type> cacheTypes;
  for (int64_t il = 0; il < hp.layers; ++il) {
    if (arch == "deepseek2")
      cacheTypes.push_back(
          KVCacheType::get(&context, 1, hp.kvLoraRank + hp.ropeDims, 0));
    else
      cacheTypes.push_back(
          KVCacheType::get(&context, hp.kvHeads, hp.headDim, hp.valueDim));
  }
  auto idsType =
      RankedTensorType::get({ShapedType::kDynamic}, builder.getI32Type());
  SmallVector<Type> inputs{idsType, idsType};
  inputs.append(cacheTypes);
  SmallVector<Type> results{activation(hp.vocab)};
  results.append(cacheTypes);
  builder.setInsertionPointToEnd(module.getBody());
  auto fn = func::FuncOp::create(builder, loc, "forward",
                                 builder.getFunctionType(inputs, results));
  Block *body = fn.addEntryBlock();
  builder.setInsertionPointToStart(body);
  tokens = body->getArgument(0);
  positions = body->getArgument(1);
  for (int64_t il = 0; il < hp.layers; ++il)
    caches.push_back(body->getArgument(2 + il));
}

LogicalResult Importer::buildLayers() {
  auto embd = weight("token_embd.weight", {hp.vocab, hp.embedding});
  Value x =
      EmbeddingOp::create(builder, loc, activation(hp.embedding), tokens, embd);
  RopeMode mode = arch == "llama" || arch == "deepseek2" ? RopeMode::Normal
                                                         : RopeMode::NeoX;
  for (int64_t il = 0; il < hp.layers && firstError.empty(); ++il) {
    if (arch == "deepseek2")
      buildMLALayer(il, x);
    else
      buildAttentionLayer(il, x, mode,
                          /*qkNorm=*/arch == "qwen3" || arch == "qwen3moe",
                          /*qkvBias=*/arch == "qwen2");
    buildFeedForward(il, x);
  }
  if (!firstError.empty())
    return failure();
  Value h = rmsNorm(x, "output_norm.weight");
  // Without output.weight the embedding table doubles as the LM head.
  StringRef head =
      hasTensor("output.weight") ? "output.weight" : "token_embd.weight";
  Value logits = matmul(h, head, hp.vocab);
  SmallVector<Value> returned{logits};
  returned.append(caches);
  func::ReturnOp::create(builder, loc, returned);
  return success(firstError.empty());
}

llvm::Expected<OwningOpRef<ModuleOp>> Importer::run() {
  arch = file.getArchitecture().str();
  auto error = [&](const std::string &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s",
                                   file.getPath().str().c_str(),
                                   message.c_str());
  };
  std::string unsupported = unsupportedModelReason(file, arch);
  if (!unsupported.empty())
    return error(unsupported);
  if (llvm::Error e = checkTokenizerMetadata(file))
    return std::move(e);
  OwningOpRef<ModuleOp> owned = ModuleOp::create(loc);
  module = *owned;
  if (failed(readHyperParams()))
    return error(firstError);
  setModelAttributes();
  createForward();
  if (failed(buildLayers()))
    return error(firstError);
  return std::move(owned);
}

} // namespace

llvm::Expected<OwningOpRef<ModuleOp>> importModel(MLIRContext &context,
                                                  const GGUFFile &file) {
  registerImportDialects(context);
  Importer importer(context, file);
  return importer.run();
}

} // namespace ingot
