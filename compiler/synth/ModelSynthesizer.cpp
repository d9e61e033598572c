//===- ModelSynthesizer.cpp - Random-weight GGUF models -------------------===//
#include "compiler/synth/ModelSynthesizer.h"

#include "compiler/gguf/GGUFRequantize.h"
#include "compiler/gguf/GGUFWriter.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace llvm;
using namespace ingot::gguf;

namespace ingot::synth {

namespace {

/// What every bench preset shares: 8 layers 2048 wide over a 32000-token
/// vocabulary, so that decode streams far more than any cache holds.
void setBenchSize(ModelShape &s) {
  s.layers = 8;
  s.embedding = 2048;
  s.vocab = 32000;
}

/// llama and qwen2; bench: TinyLlama-1.1B's layer shape, about 0.5 GB at
/// Q8_0.
void setLlamaShape(ModelShape &s, bool bench) {
  if (bench) {
    setBenchSize(s);
    s.heads = 32;
    s.kvHeads = 4;
    s.headDim = 64;
    s.ffn = 5632;
    s.context = 2048;
  }
  if (s.arch == "qwen2")
    s.rmsEps = 1e-6f;
}

void setQwen3MoEShape(ModelShape &s, bool bench) {
  s.rmsEps = 1e-6f;
  s.ropeBase = 1e6f;
  s.headDim = bench ? 128 : 64;
  s.experts = bench ? 64 : 16;
  s.expertsUsed = bench ? 8 : 4;
  s.expertFfn = bench ? 768 : 128;
  if (bench) {
    setBenchSize(s);
    s.heads = 32;
    s.kvHeads = 4;
  }
}

/// DeepSeek-V3/R1's layout (MLA, sigmoid-gated grouped MoE with a shared
/// expert, leading dense layer) at small widths.
void setDeepSeek2Shape(ModelShape &s, bool bench) {
  s.kvHeads = 1;
  s.rmsEps = 1e-6f;
  s.leadingDense = 1;
  s.routedScale = 2.5f;
  s.heads = bench ? 16 : 8;
  s.qLoraRank = bench ? 768 : 96;
  s.kvLoraRank = bench ? 512 : 64;
  s.nopeDim = bench ? 128 : 32;
  s.ropeDim = bench ? 64 : 16;
  s.vHeadDim = bench ? 128 : 32;
  s.experts = bench ? 64 : 16;
  s.expertsUsed = bench ? 6 : 4;
  s.expertFfn = bench ? 1408 : 128;
  s.sharedExperts = bench ? 2 : 1;
  s.expertGroups = bench ? 8 : 4;
  s.expertGroupsUsed = bench ? 4 : 2;
  if (bench) {
    setBenchSize(s);
    s.ffn = 10944;
  }
}

/// DeepSeek-R1 (and V3) 671B, from its config.json (huggingface.co/
/// deepseek-ai/DeepSeek-R1) as llama.cpp's converter writes it
/// (conversion/deepseek.py: MLA stored as MQA, the multi-token-prediction
/// layer 61 skipped, kv_b split into k_b and v_b).
ModelShape deepSeekR1Shape() {
  ModelShape s;
  s.arch = "deepseek2";
  s.name = "DeepSeek-R1 (shape only)";
  s.layers = 61;
  s.embedding = 7168;
  s.heads = 128;
  s.kvHeads = 1;
  s.ffn = 18432; // intermediate_size of the 3 dense layers
  s.vocab = 129280;
  s.context = 163840; // max_position_embeddings
  s.rmsEps = 1e-6f;
  s.ropeBase = 10000.0f;
  s.leadingDense = 3; // first_k_dense_replace
  s.experts = 256;    // n_routed_experts
  s.expertsUsed = 8;  // num_experts_per_tok
  s.expertFfn = 2048; // moe_intermediate_size
  s.sharedExperts = 1;
  s.expertGroups = 8;     // n_group
  s.expertGroupsUsed = 4; // topk_group
  s.routedScale = 2.5f;   // routed_scaling_factor
  s.qLoraRank = 1536;
  s.kvLoraRank = 512;
  s.ropeDim = 64;  // qk_rope_head_dim
  s.nopeDim = 128; // qk_nope_head_dim
  s.vHeadDim = 128;
  s.yarnFactor = 40.0f;         // rope_scaling: yarn, factor 40,
  s.yarnOriginalContext = 4096; // original_max_position_embeddings 4096,
  s.yarnLogMultiplier = 0.1f;   // 0.1 * mscale_all_dim (1.0)
  return s;
}

/// DeepSeek-R1-Distill-Qwen-7B, from its config.json (huggingface.co/
/// deepseek-ai/DeepSeek-R1-Distill-Qwen-7B): Qwen2, untied output.
ModelShape r1DistillQwen7BShape() {
  ModelShape s;
  s.arch = "qwen2";
  s.name = "DeepSeek-R1-Distill-Qwen-7B (shape only)";
  s.layers = 28;
  s.embedding = 3584;
  s.heads = 28;
  s.kvHeads = 4;
  s.headDim = 128;
  s.ffn = 18944;
  s.vocab = 152064;
  s.context = 131072;
  s.rmsEps = 1e-6f;
  s.ropeBase = 10000.0f;
  return s;
}

} // namespace

bool isRealModelPreset(StringRef preset) {
  return preset == "deepseek-r1" || preset == "r1-distill-qwen-7b";
}

Expected<ModelShape> presetShape(StringRef arch, StringRef preset) {
  if (isRealModelPreset(preset)) {
    ModelShape s =
        preset == "deepseek-r1" ? deepSeekR1Shape() : r1DistillQwen7BShape();
    if (arch != s.arch)
      return createStringError(
          inconvertibleErrorCode(), "preset '%s' is a %s model, not %s",
          preset.str().c_str(), s.arch.c_str(), arch.str().c_str());
    return s;
  }
  if (preset != "tiny" && preset != "bench")
    return createStringError(inconvertibleErrorCode(),
                             "unknown preset '%s' (expected tiny, bench, "
                             "deepseek-r1 or r1-distill-qwen-7b)",
                             preset.str().c_str());
  bool bench = preset == "bench";
  ModelShape s;
  s.arch = arch.str();
  if (arch == "llama" || arch == "qwen2")
    setLlamaShape(s, bench);
  else if (arch == "qwen3moe")
    setQwen3MoEShape(s, bench);
  else if (arch == "deepseek2")
    setDeepSeek2Shape(s, bench);
  else
    return createStringError(
        inconvertibleErrorCode(),
        "unsupported architecture '%s' (expected llama, qwen2, deepseek2 or "
        "qwen3moe)",
        arch.str().c_str());
  return s;
}

Vocabulary makeVocabulary(unsigned size) {
  Vocabulary v;
  StringSet<> seen;
  auto add = [&](const std::string &piece, int32_t type) {
    if (v.tokens.size() >= size || !seen.insert(piece).second)
      return;
    v.tokens.push_back(piece);
    // Earlier pieces score higher, so SentencePiece prefers them.
    v.scores.push_back(type == 1 ? -static_cast<float>(v.tokens.size()) : 0.0f);
    v.types.push_back(type);
  };
  add("<unk>", 2);
  add("<s>", 3);
  add("</s>", 3);
  for (unsigned b = 0; b < 256; ++b)
    add(formatv("<0x{0:X-2}>", b).str(), 6);
  const std::string space = "\xE2\x96\x81"; // U+2581, SentencePiece's space
  const char *words[] = {
      "the",   "a",      "and",  "to",   "was",  "he",    "she",    "it",
      "in",    "of",     "Once", "upon", "time", "there", "little", "girl",
      "boy",   "dog",    "cat",  "day",  "play", "big",   "happy",  "said",
      "with",  "her",    "his",  "they", "you",  "I",     "is",     "on",
      "for",   "that",   "had",  "The",  "One",  "saw",   "loved",  "friend",
      "named", "Lily",   "Tom",  "ball", "park", "red",   "tree",   "sun",
      "went",  "wanted", "very", "so",   "but",  "not"};
  add(space, 1);
  for (const char *w : words) {
    std::string piece = space + w;
    for (size_t len = space.size() + 1; len <= piece.size(); ++len)
      add(piece.substr(0, len), 1);
  }
  const std::string chars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
      ".,!?'\"-:;()";
  for (char c : chars)
    add(std::string(1, c), 1);
  for (char c : chars)
    add(space + c, 1);
  for (char a = 'a'; a <= 'z'; ++a)
    for (char b = 'a'; b <= 'z'; ++b)
      add(std::string{a, b}, 1);
  for (char a = 'a'; a <= 'z'; ++a)
    for (char b = 'a'; b <= 'z'; ++b) {
      add(space + a + b, 1);
      for (char c = 'a'; c <= 'z'; ++c)
        add(std::string{a, b, c}, 1);
    }
  // Any remaining slots (very large vocabularies): numbered pieces.
  for (unsigned i = 0; v.tokens.size() < size; ++i)
    add(formatv("{0}x{1}", space, i).str(), 1);
  return v;
}

namespace {

/// splitmix64 driving a Box-Muller transform: portable, so the same seed
/// writes the same bytes on every machine.
class NormalRandom {
public:
  explicit NormalRandom(uint64_t seed) : state(seed) {}
  double uniform() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (static_cast<double>(z >> 11) + 0.5) * 0x1.0p-53;
  }
  float normal() {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    double r = std::sqrt(-2.0 * std::log(uniform()));
    double t = 2.0 * M_PI * uniform();
    spare = static_cast<float>(r * std::sin(t));
    hasSpare = true;
    return static_cast<float>(r * std::cos(t));
  }

private:
  uint64_t state;
  float spare = 0;
  bool hasSpare = false;
};

class Builder {
public:
  Builder(const SynthOptions &o) : options(o), rng(o.seed) {}

  /// A weight matrix (or stack of expert matrices), stored in the model's
  /// type when its rows are whole blocks, else F32.
  void matrix(const std::string &name, std::vector<uint64_t> shape,
              float stddev, bool quantize = true) {
    if (options.headerOnly) {
      pending.push_back({name, shape, quantize});
      return;
    }
    uint64_t n = 1;
    for (uint64_t d : shape)
      n *= d;
    std::vector<float> values(n);
    for (float &x : values)
      x = stddev * rng.normal();
    ggml::Type type = options.type;
    if (!quantize || shape[0] % ggml::getTypeInfo(type).blockElements)
      type = ggml::Type::F32;
    bytes += *ggml::rowBytes(type, n);
    record(writer.addTensorFromF32(name, type, shape, values));
  }
  void linear(const std::string &name, uint64_t in, uint64_t out) {
    matrix(name, {in, out}, options.gain / std::sqrt(float(in)));
  }
  void norm(const std::string &name, uint64_t n) {
    if (options.headerOnly) {
      pending.push_back({name, {n}, /*quantize=*/false});
      return;
    }
    std::vector<float> values(n);
    for (float &x : values)
      x = 1.0f + 0.05f * rng.normal();
    bytes += 4 * n;
    record(writer.addTensorFromF32(name, ggml::Type::F32, {n}, values));
  }
  void bias(const std::string &name, uint64_t n) {
    matrix(name, {n}, 0.1f, /*quantize=*/false);
  }
  /// Keeps the first error; the model is written only if there was none.
  void record(Error e) {
    if (e && failure.empty())
      failure = toString(std::move(e));
    else
      consumeError(std::move(e));
  }

  /// Header-only: adds the infos of the tensors recorded, typed by the
  /// options' mix or type.
  void addPendingInfos() {
    std::vector<ggml::MixTensor> mixTensors;
    for (const PendingInfo &p : pending)
      mixTensors.push_back({p.name, ggml::Type::F32, p.shape});
    std::vector<ggml::Type> types;
    if (options.mix)
      types = ggml::chooseMixTypes(
          *options.mix,
          {options.shape.arch, options.shape.layers, options.shape.experts},
          mixTensors);
    for (size_t i = 0; i < pending.size(); ++i) {
      const PendingInfo &p = pending[i];
      ggml::Type type = options.mix ? types[i] : options.type;
      if (!options.mix &&
          (!p.quantize || p.shape[0] % ggml::getTypeInfo(type).blockElements))
        type = ggml::Type::F32;
      uint64_t n = 1;
      for (uint64_t d : p.shape)
        n *= d;
      bytes += ggml::rowBytes(type, n).value_or(0);
      record(writer.addTensorInfo(p.name, type, p.shape));
    }
  }

  SynthOptions options;
  NormalRandom rng;
  GGUFWriter writer;
  uint64_t bytes = 0;
  std::string failure;
  /// Header-only: the tensors in file order, typed when all are known.
  struct PendingInfo {
    std::string name;
    std::vector<uint64_t> shape;
    bool quantize;
  };
  std::vector<PendingInfo> pending;
};

uint32_t fileType(const SynthOptions &options) {
  if (options.mix)
    return gguf::fileTypeOf(*options.mix);
  ggml::Type type = options.type;
  switch (type) {
  case ggml::Type::Q8_0:
    return 7; // LLAMA_FTYPE_MOSTLY_Q8_0
  case ggml::Type::Q4_0:
    return 2; // LLAMA_FTYPE_MOSTLY_Q4_0
  case ggml::Type::F16:
    return 1;
  default:
    return 0; // LLAMA_FTYPE_ALL_F32
  }
}

/// The types and shapes synth cannot write.
Error checkSynthOptions(const SynthOptions &options) {
  const ModelShape &s = options.shape;
  if (!options.headerOnly && options.mix)
    return createStringError(inconvertibleErrorCode(),
                             "a type mix (%s) is written header-only",
                             ggml::quantMixName(*options.mix));
  if (!options.headerOnly && options.type != ggml::Type::F32 &&
      options.type != ggml::Type::F16 && options.type != ggml::Type::Q8_0 &&
      options.type != ggml::Type::Q4_0)
    return createStringError(inconvertibleErrorCode(),
                             "synth writes F32, F16, Q8_0 or Q4_0, not %s",
                             ggml::typeName(options.type));
  if (!s.layers || !s.embedding || !s.heads || !s.kvHeads ||
      s.heads % s.kvHeads || !s.vocab || s.vocab < 300)
    return createStringError(inconvertibleErrorCode(),
                             "inconsistent model shape (heads must be a "
                             "multiple of KV heads, vocabulary >= 300)");
  if (s.llama3Rope && s.arch != "llama")
    return createStringError(inconvertibleErrorCode(),
                             "Llama 3.1 rope factors need --arch llama");
  return Error::success();
}

/// The `<arch>.*` hyper-parameters llama.cpp reads for the shape.
void writeHyperParams(GGUFWriter &w, const SynthOptions &options) {
  const ModelShape &s = options.shape;
  const std::string a = s.arch;
  auto key = [&](StringRef suffix) { return (a + "." + suffix).str(); };
  w.setString("general.architecture", a);
  w.setString("general.name", !options.name.empty() ? options.name
                              : !s.name.empty()     ? s.name
                                                    : "ingot-synth-" + a);
  w.setUInt32("general.file_type", fileType(options));
  w.setUInt32(key("context_length"), s.context);
  w.setUInt32(key("embedding_length"), s.embedding);
  w.setUInt32(key("block_count"), s.layers);
  w.setUInt32(key("feed_forward_length"), s.ffn);
  w.setUInt32(key("attention.head_count"), s.heads);
  w.setUInt32(key("attention.head_count_kv"), s.kvHeads);
  w.setFloat32(key("attention.layer_norm_rms_epsilon"), s.rmsEps);
  w.setFloat32(key("rope.freq_base"), s.ropeBase);
  w.setUInt32(key("vocab_size"), s.vocab);
  bool mla = a == "deepseek2";
  if (a == "llama")
    w.setUInt32(key("rope.dimension_count"), s.headDim);
  if (s.llama3Rope)
    w.setFloat32(key("rope.freq_base"), 500000.0f);
  if (s.yarnFactor > 0) {
    w.setString(key("rope.scaling.type"), "yarn");
    w.setFloat32(key("rope.scaling.factor"), s.yarnFactor);
    w.setUInt32(key("rope.scaling.original_context_length"),
                s.yarnOriginalContext);
    w.setFloat32(key("rope.scaling.yarn_log_multiplier"), s.yarnLogMultiplier);
  }
  if (a == "qwen3moe") {
    w.setUInt32(key("attention.key_length"), s.headDim);
    w.setUInt32(key("attention.value_length"), s.headDim);
  }
  if (mla) {
    w.setUInt32(key("leading_dense_block_count"), s.leadingDense);
    w.setUInt32(key("attention.q_lora_rank"), s.qLoraRank);
    w.setUInt32(key("attention.kv_lora_rank"), s.kvLoraRank);
    // MLA is stored as MQA over the compressed cache, as llama.cpp's
    // converter writes it.
    w.setUInt32(key("attention.key_length"), s.kvLoraRank + s.ropeDim);
    w.setUInt32(key("attention.value_length"), s.kvLoraRank);
    w.setUInt32(key("attention.key_length_mla"), s.nopeDim + s.ropeDim);
    w.setUInt32(key("attention.value_length_mla"), s.vHeadDim);
    w.setUInt32(key("rope.dimension_count"), s.ropeDim);
  }
  if (s.experts) {
    w.setUInt32(key("expert_feed_forward_length"), s.expertFfn);
    w.setUInt32(key("expert_count"), s.experts);
    w.setUInt32(key("expert_used_count"), s.expertsUsed);
  }
  if (mla) {
    w.setUInt32(key("expert_group_count"), s.expertGroups);
    w.setUInt32(key("expert_group_used_count"), s.expertGroupsUsed);
    w.setUInt32(key("expert_gating_func"), 2); // sigmoid
    w.setUInt32(key("expert_shared_count"), s.sharedExperts);
    w.setFloat32(key("expert_weights_scale"), s.routedScale);
    w.setBool(key("expert_weights_norm"), true);
  }
}

/// A SentencePiece vocabulary of the shape's size, and the seed and gain
/// that reproduce the weights.
void writeTokenizer(GGUFWriter &w, const SynthOptions &options) {
  Vocabulary vocab = makeVocabulary(options.shape.vocab);
  w.setString("tokenizer.ggml.model", "llama");
  w.setStringArray("tokenizer.ggml.tokens", vocab.tokens);
  w.setFloat32Array("tokenizer.ggml.scores", vocab.scores);
  w.setInt32Array("tokenizer.ggml.token_type", vocab.types);
  w.setUInt32("tokenizer.ggml.unknown_token_id", 0);
  w.setUInt32("tokenizer.ggml.bos_token_id", 1);
  w.setUInt32("tokenizer.ggml.eos_token_id", 2);
  w.setUInt64("synth.seed", options.seed);
  w.setFloat32("synth.gain", options.gain);
}

/// Llama 3.1's frequency factors, as llama.cpp's converter computes them
/// (scaling factor 8, low/high frequency factors 1 and 4, original context
/// 8192): 1 for short wavelengths, 8 for long, smooth between.
std::vector<float> llama3RopeFactors(unsigned headDim) {
  const double factor = 8, lowFactor = 1, highFactor = 4, oldContext = 8192;
  std::vector<float> factors;
  for (unsigned i = 0; i < headDim / 2; ++i) {
    double freq = std::pow(500000.0, -2.0 * i / headDim);
    double wavelen = 2 * M_PI / freq;
    if (wavelen < oldContext / highFactor)
      factors.push_back(1.0f);
    else if (wavelen > oldContext / lowFactor)
      factors.push_back(float(factor));
    else {
      double smooth =
          (oldContext / wavelen - lowFactor) / (highFactor - lowFactor);
      factors.push_back(float(1 / ((1 - smooth) / factor + smooth)));
    }
  }
  return factors;
}

/// The attention weights of one block (`t` names its tensors).
void addAttention(Builder &b, function_ref<std::string(StringRef)> t) {
  const ModelShape &s = b.options.shape;
  const uint64_t E = s.embedding;
  const std::string &a = s.arch;
  if (a == "deepseek2") {
    unsigned qkHead = s.nopeDim + s.ropeDim;
    b.linear(t("attn_q_a.weight"), E, s.qLoraRank);
    b.norm(t("attn_q_a_norm.weight"), s.qLoraRank);
    b.linear(t("attn_q_b.weight"), s.qLoraRank, s.heads * qkHead);
    b.linear(t("attn_kv_a_mqa.weight"), E, s.kvLoraRank + s.ropeDim);
    b.norm(t("attn_kv_a_norm.weight"), s.kvLoraRank);
    float kvScale = b.options.gain / std::sqrt(float(s.kvLoraRank));
    b.matrix(t("attn_k_b.weight"), {s.nopeDim, s.kvLoraRank, s.heads}, kvScale);
    b.matrix(t("attn_v_b.weight"), {s.kvLoraRank, s.vHeadDim, s.heads},
             kvScale);
    b.linear(t("attn_output.weight"), s.heads * s.vHeadDim, E);
    return;
  }
  unsigned qDim = s.heads * s.headDim, kvDim = s.kvHeads * s.headDim;
  b.linear(t("attn_q.weight"), E, qDim);
  if (a == "qwen2")
    b.bias(t("attn_q.bias"), qDim);
  b.linear(t("attn_k.weight"), E, kvDim);
  if (a == "qwen2")
    b.bias(t("attn_k.bias"), kvDim);
  b.linear(t("attn_v.weight"), E, kvDim);
  if (a == "qwen2")
    b.bias(t("attn_v.bias"), kvDim);
  if (a == "qwen3moe") {
    b.norm(t("attn_q_norm.weight"), s.headDim);
    b.norm(t("attn_k_norm.weight"), s.headDim);
  }
  b.linear(t("attn_output.weight"), qDim, E);
}

/// gate, up and down of a SwiGLU feed-forward from E to `ffn` and back.
void addSwiGLU(Builder &b, function_ref<std::string(StringRef)> t,
               StringRef suffix, uint64_t ffn) {
  const uint64_t E = b.options.shape.embedding;
  b.linear(t(("ffn_gate" + suffix + ".weight").str()), E, ffn);
  b.linear(t(("ffn_up" + suffix + ".weight").str()), E, ffn);
  b.linear(t(("ffn_down" + suffix + ".weight").str()), ffn, E);
}

/// The router, the stacked experts and the shared experts of one block.
void addExperts(Builder &b, function_ref<std::string(StringRef)> t) {
  const ModelShape &s = b.options.shape;
  const uint64_t E = s.embedding;
  const float gain = b.options.gain;
  // Routers stay F32, as llama-quantize leaves them.
  b.matrix(t("ffn_gate_inp.weight"), {E, s.experts}, gain / std::sqrt(float(E)),
           /*quantize=*/false);
  if (s.arch == "deepseek2")
    b.bias(t("exp_probs_b.bias"), s.experts);
  float inScale = gain / std::sqrt(float(E));
  float downScale = gain / std::sqrt(float(s.expertFfn));
  b.matrix(t("ffn_gate_exps.weight"), {E, s.expertFfn, s.experts}, inScale);
  b.matrix(t("ffn_up_exps.weight"), {E, s.expertFfn, s.experts}, inScale);
  b.matrix(t("ffn_down_exps.weight"), {s.expertFfn, E, s.experts}, downScale);
  if (s.sharedExperts)
    addSwiGLU(b, t, "_shexp", uint64_t(s.expertFfn) * s.sharedExperts);
}

/// The tensors of block `l`, in the order the weights are drawn.
void addBlock(Builder &b, unsigned l) {
  const ModelShape &s = b.options.shape;
  auto t = [&](StringRef name) {
    return formatv("blk.{0}.{1}", l, name).str();
  };
  b.norm(t("attn_norm.weight"), s.embedding);
  addAttention(b, t);
  b.norm(t("ffn_norm.weight"), s.embedding);
  if (s.experts && l >= s.leadingDense)
    addExperts(b, t);
  else
    addSwiGLU(b, t, "", s.ffn);
}

} // namespace

Expected<uint64_t> synthesizeModel(const SynthOptions &options,
                                   StringRef path) {
  if (Error e = checkSynthOptions(options))
    return std::move(e);
  const ModelShape &s = options.shape;
  Builder b(options);
  writeHyperParams(b.writer, options);
  writeTokenizer(b.writer, options);
  const uint64_t E = s.embedding;
  b.matrix("token_embd.weight", {E, s.vocab}, 1.0f);
  if (s.llama3Rope && options.headerOnly) {
    b.norm("rope_freqs.weight", s.headDim / 2);
  } else if (s.llama3Rope) {
    std::vector<float> factors = llama3RopeFactors(s.headDim);
    b.bytes += 4 * factors.size();
    b.record(b.writer.addTensorFromF32("rope_freqs.weight", ggml::Type::F32,
                                       {uint64_t(factors.size())}, factors));
  }
  for (unsigned l = 0; l < s.layers; ++l)
    addBlock(b, l);
  b.norm("output_norm.weight", E);
  b.matrix("output.weight", {E, s.vocab}, 2.0f / std::sqrt(float(E)));
  if (options.headerOnly)
    b.addPendingInfos();
  if (!b.failure.empty())
    return createStringError(inconvertibleErrorCode(), "%s", b.failure.c_str());
  if (Error e = b.writer.write(path))
    return std::move(e);
  return b.bytes;
}

} // namespace ingot::synth
