//===- GGMLQuantMix.h - llama-quantize's per-tensor type mixes --*- C++ -*-===//
//
// Which type llama-quantize gives each tensor for a mix name such as Q4_K_M
// (llama-quant.cpp: tensor_allows_quantization, llama_tensor_get_type_impl,
// tensor_type_fallback), without an importance matrix and without manual
// overrides. `ingot compile --quant NAME` requantizes a model into these
// types, so that it holds what llama-quantize's file of that name holds.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_GGML_GGMLQUANTMIX_H
#define INGOT_GGML_GGMLQUANTMIX_H

#include "compiler/ggml/GGMLTypes.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ingot::ggml {

/// The mix names llama-quantize accepts that Ingot can write.
enum class QuantMix {
  Q4_0,
  Q4_1,
  Q5_0,
  Q5_1,
  Q8_0,
  Q4_K_S,
  Q4_K_M,
  Q5_K_S,
  Q5_K_M,
  Q6_K,
};

/// Parses a mix name (case-insensitive), e.g. "Q4_K_M".
std::optional<QuantMix> parseQuantMix(std::string_view name);
const char *quantMixName(QuantMix mix);
/// "Q4_0, Q4_1, ..., Q6_K": every name parseQuantMix accepts.
std::string quantMixNames();

/// A tensor as the mix sees it, in the model file's order.
struct MixTensor {
  std::string name;
  Type type;
  /// ggml order: shape[0] is the row length.
  std::vector<uint64_t> shape;
};

/// The model facts the mixes depend on.
struct MixModel {
  /// general.architecture ("falcon" has rules of its own).
  std::string architecture;
  /// {arch}.block_count.
  int64_t layers = 0;
  /// {arch}.expert_count (0 or 1: dense).
  int64_t experts = 0;
};

/// The type llama-quantize writes each of `tensors` as for `mix`: the
/// source type for a tensor it keeps (norms, 1-D tensors, expert routers),
/// else the mix's type for the tensor's role and layer, with the fallbacks
/// for row lengths that are not whole blocks of it. Not modelled: the 70B
/// attn_v bump (llama.cpp recognises a 70B model by its layer count) and
/// llama-quantize's refusal of a 32-value type on rows that are not whole
/// 32-value blocks (here: F16, as its second fallback does).
std::vector<Type> chooseMixTypes(QuantMix mix, const MixModel &model,
                                 const std::vector<MixTensor> &tensors);

} // namespace ingot::ggml

#endif // INGOT_GGML_GGMLQUANTMIX_H
