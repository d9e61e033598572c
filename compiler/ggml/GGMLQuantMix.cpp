//===- GGMLQuantMix.cpp - llama-quantize's per-tensor type mixes ----------===//
#include "compiler/ggml/GGMLQuantMix.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

namespace ingot::ggml {

namespace {

struct MixInfo {
  QuantMix mix;
  const char *name;
  /// llama_ftype_get_default_type: the type of every tensor no rule moves.
  Type defaultType;
};

constexpr MixInfo kMixes[] = {
    {QuantMix::Q4_0, "Q4_0", Type::Q4_0},
    {QuantMix::Q4_1, "Q4_1", Type::Q4_1},
    {QuantMix::Q5_0, "Q5_0", Type::Q5_0},
    {QuantMix::Q5_1, "Q5_1", Type::Q5_1},
    {QuantMix::Q8_0, "Q8_0", Type::Q8_0},
    {QuantMix::Q4_K_S, "Q4_K_S", Type::Q4_K},
    {QuantMix::Q4_K_M, "Q4_K_M", Type::Q4_K},
    {QuantMix::Q5_K_S, "Q5_K_S", Type::Q5_K},
    {QuantMix::Q5_K_M, "Q5_K_M", Type::Q5_K},
    {QuantMix::Q6_K, "Q6_K", Type::Q6_K},
};

const MixInfo &mixInfo(QuantMix mix) {
  for (const MixInfo &info : kMixes)
    if (info.mix == mix)
      return info;
  return kMixes[0];
}

bool contains(const std::string &s, std::string_view part) {
  return s.find(part) != std::string::npos;
}
bool endsWith(const std::string &s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// ggml_n_dims: dimensions up to the last one longer than 1.
int dimensions(const std::vector<uint64_t> &shape) {
  for (int i = int(shape.size()) - 1; i >= 1; --i)
    if (shape[i] > 1)
      return i + 1;
  return 1;
}

/// tensor_allows_quantization: 2-D and 3-D weights, except norms, expert
/// routers and the small or positional tensors llama.cpp keeps as they are.
bool allowsQuantization(const MixTensor &t) {
  if (dimensions(t.shape) < 2 || !endsWith(t.name, "weight"))
    return false;
  static constexpr std::string_view kKept[] = {"_norm.weight",
                                               "ffn_gate_inp.weight",
                                               "ffn_gate_tid2eid.weight",
                                               "altup",
                                               "laurel",
                                               "per_layer_model_proj",
                                               "ssm_conv1d",
                                               "shortconv.conv.weight",
                                               "indexer.k_proj.weight",
                                               "indexer.q_proj.weight",
                                               "time_mix_first.weight",
                                               "time_mix_w0.weight",
                                               "time_mix_w1.weight",
                                               "time_mix_w2.weight",
                                               "time_mix_v0.weight",
                                               "time_mix_v1.weight",
                                               "time_mix_v2.weight",
                                               "time_mix_a0.weight",
                                               "time_mix_a1.weight",
                                               "time_mix_a2.weight",
                                               "time_mix_g1.weight",
                                               "time_mix_g2.weight",
                                               "time_mix_decay_w1.weight",
                                               "time_mix_decay_w2.weight",
                                               "time_mix_lerp_fused.weight",
                                               "attn_rel_b.weight",
                                               ".position_embd",
                                               "sam.pos_embd",
                                               "sam.neck.",
                                               "sam.net_",
                                               ".rel_pos",
                                               ".patch_embd",
                                               ".patch_merger",
                                               "a.rvq.codebook",
                                               "mm.a.code_embd"};
  for (std::string_view part : kKept)
    if (contains(t.name, part))
      return false;
  return t.name != "position_embd.weight" && t.name != "token_types.weight";
}

enum class Role {
  Output,
  TokenEmbedding,
  AttentionV, // attn_v, attn_qkv, attn_kv_b
  AttentionK,
  AttentionOutput,
  FfnDown,
  Other,
};

/// tensor_get_category, with the three attn_v-like categories as one.
Role roleOf(const std::string &name) {
  if (name == "output.weight")
    return Role::Output;
  if (name == "token_embd.weight" || name == "per_layer_token_embd.weight")
    return Role::TokenEmbedding;
  if (contains(name, "attn_qkv.weight") || contains(name, "attn_kv_b.weight") ||
      contains(name, "attn_v.weight"))
    return Role::AttentionV;
  if (contains(name, "attn_k.weight"))
    return Role::AttentionK;
  if (contains(name, "attn_q.weight"))
    return Role::Other;
  if (contains(name, "attn_output.weight"))
    return Role::AttentionOutput;
  if (contains(name, "ffn_up") || contains(name, "ffn_gate"))
    return Role::Other;
  if (contains(name, "ffn_down"))
    return Role::FfnDown;
  return Role::Other;
}

/// The layer of "blk.N.…", -1 for other names.
int layerOf(const std::string &name) {
  int layer = -1;
  std::sscanf(name.c_str(), "blk.%d.", &layer);
  return layer;
}

/// use_more_bits: the first and last eighth of the layers and every third
/// in between.
bool useMoreBits(int layer, int layers) {
  return layer < layers / 8 || layer >= 7 * layers / 8 ||
         (layer - layers / 8) % 3 == 2;
}

/// tensor_type_fallback: a type whose blocks do not divide the row length
/// falls back to a 32-value type, then to F16.
Type fallback(Type type, uint64_t rowLength) {
  if (rowLength % getTypeInfo(type).blockElements == 0)
    return type;
  Type smaller = Type::F16;
  if (type == Type::Q4_K)
    smaller = Type::Q5_0;
  else if (type == Type::Q5_K)
    smaller = Type::Q5_1;
  else if (type == Type::Q6_K)
    smaller = Type::Q8_0;
  return rowLength % getTypeInfo(smaller).blockElements ? Type::F16 : smaller;
}

} // namespace

std::optional<QuantMix> parseQuantMix(std::string_view name) {
  auto upper = [](char c) { return c >= 'a' && c <= 'z' ? char(c - 32) : c; };
  for (const MixInfo &info : kMixes) {
    std::string_view candidate = info.name;
    if (candidate.size() == name.size() &&
        std::equal(name.begin(), name.end(), candidate.begin(),
                   [&](char a, char b) { return upper(a) == b; }))
      return info.mix;
  }
  return std::nullopt;
}

const char *quantMixName(QuantMix mix) { return mixInfo(mix).name; }

std::string quantMixNames() {
  std::string names;
  for (const MixInfo &info : kMixes)
    names += std::string(names.empty() ? "" : ", ") + info.name;
  return names;
}

std::vector<Type> chooseMixTypes(QuantMix mix, const MixModel &model,
                                 const std::vector<MixTensor> &tensors) {
  const Type defaultType = mixInfo(mix).defaultType;
  const bool falcon = model.architecture == "falcon";
  const int layers = int(model.layers);
  bool tiedEmbeddings = true;
  int attentionVCount = 0;
  for (const MixTensor &t : tensors) {
    tiedEmbeddings &= t.name != "output.weight";
    attentionVCount += roleOf(t.name) == Role::AttentionV;
  }
  // llama-quantize visits the tensors ordered by layer (others first), then
  // by name; the attn_v and ffn_down counters depend on that order.
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int la = layerOf(tensors[a].name), lb = layerOf(tensors[b].name);
    return la != lb ? la < lb : tensors[a].name < tensors[b].name;
  });

  std::vector<Type> chosen(tensors.size());
  int attentionV = 0, ffnDown = 0;
  for (size_t index : order) {
    const MixTensor &t = tensors[index];
    if (!allowsQuantization(t)) {
      chosen[index] = t.type;
      continue;
    }
    const uint64_t rowLength = t.shape.empty() ? 1 : t.shape[0];
    const Role role = roleOf(t.name);
    Type type = defaultType;
    if (role == Role::Output ||
        (tiedEmbeddings && role == Role::TokenEmbedding)) {
      if (falcon || rowLength % getTypeInfo(type).blockElements)
        type = Type::Q8_0;
      else if (type != Type::Q8_0)
        type = Type::Q6_K;
    } else if (role == Role::AttentionV) {
      if ((mix == QuantMix::Q4_K_M || mix == QuantMix::Q5_K_M) &&
          useMoreBits(attentionV, attentionVCount))
        type = Type::Q6_K;
      else if (mix == QuantMix::Q4_K_S && attentionV < 4)
        type = Type::Q5_K;
      if (model.experts == 8)
        type = Type::Q8_0;
      ++attentionV;
    } else if (role == Role::AttentionK) {
      if (model.experts == 8)
        type = Type::Q8_0;
    } else if (role == Role::FfnDown) {
      // Mixture-of-experts models name the layer; dense ones count.
      int layer = ffnDown;
      if (model.experts > 1)
        layer = layerOf(t.name);
      if (mix == QuantMix::Q4_K_M) {
        if (falcon)
          type = layer < layers / 16          ? Type::Q6_K
                 : useMoreBits(layer, layers) ? Type::Q5_K
                                              : Type::Q4_K;
        else if (useMoreBits(layer, layers))
          type = Type::Q6_K;
      } else if (mix == QuantMix::Q5_K_M && useMoreBits(layer, layers)) {
        type = Type::Q6_K;
      } else if (mix == QuantMix::Q4_K_S && !falcon && layer < layers / 8) {
        type = Type::Q5_K;
      }
      ++ffnDown;
    } else if (role == Role::AttentionOutput) {
      if (!falcon && model.experts == 8 &&
          (mix == QuantMix::Q4_K_S || mix == QuantMix::Q4_K_M))
        type = Type::Q5_K;
    }
    chosen[index] = fallback(type, rowLength);
  }
  return chosen;
}

} // namespace ingot::ggml
