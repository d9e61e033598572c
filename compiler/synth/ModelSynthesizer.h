//===- ModelSynthesizer.h - Random-weight GGUF models -----------*- C++ -*-===//
//
// Writes a deterministic random-weight model of a real architecture (llama,
// qwen2, deepseek2, qwen3moe) with real tensor names, shapes and metadata
// keys and a SentencePiece vocabulary that llama.cpp loads: the inverse of
// the importer, used by benchmarks, the README demo and tests.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_SYNTH_MODELSYNTHESIZER_H
#define INGOT_SYNTH_MODELSYNTHESIZER_H

#include "compiler/ggml/GGMLQuantMix.h"
#include "compiler/ggml/GGMLTypes.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ingot::synth {

/// Shape of a synthesized model; presets fill it, options may override.
struct ModelShape {
  std::string arch;
  /// general.name (empty: "ingot-synth-ARCH").
  std::string name;
  unsigned layers = 4;
  unsigned embedding = 256;
  unsigned heads = 8;
  unsigned kvHeads = 4;
  unsigned headDim = 32; // per-head q/k/v width (qwen3moe may differ)
  unsigned ffn = 768;
  unsigned vocab = 512;
  unsigned context = 4096;
  float rmsEps = 1e-5f;
  float ropeBase = 10000.0f;
  /// Llama 3.1 rope: base 500000 and per-pair frequency factors
  /// (rope_freqs.weight) for 8x context scaling.
  bool llama3Rope = false;
  // Mixture of experts.
  unsigned experts = 0, expertsUsed = 0, expertFfn = 0, sharedExperts = 0;
  unsigned expertGroups = 0, expertGroupsUsed = 0, leadingDense = 0;
  float routedScale = 1.0f;
  // YaRN rope scaling (0: none): factor, the original context, and the
  // attention-scale multiplier as llama.cpp's converter stores it.
  float yarnFactor = 0.0f, yarnLogMultiplier = 0.0f;
  unsigned yarnOriginalContext = 0;
  // Multi-head latent attention (deepseek2).
  unsigned qLoraRank = 0, kvLoraRank = 0, ropeDim = 0, nopeDim = 0,
           vHeadDim = 0;
};

/// The shape of `preset` for `arch`; an error for an unknown architecture
/// or preset, or a preset of another architecture. "tiny" and "bench" exist
/// for every architecture; the real models' shapes are "deepseek-r1"
/// (deepseek2: DeepSeek-R1/V3 671B) and "r1-distill-qwen-7b" (qwen2:
/// DeepSeek-R1-Distill-Qwen-7B).
llvm::Expected<ModelShape> presetShape(llvm::StringRef arch,
                                       llvm::StringRef preset);
/// Whether `preset` is a real model's shape, too large for random weights:
/// synth writes it header-only.
bool isRealModelPreset(llvm::StringRef preset);

struct SynthOptions {
  ModelShape shape;
  ggml::Type type = ggml::Type::F32;
  uint64_t seed = 1;
  float gain = 1.0f;
  std::string name;
  /// Writes metadata and tensor infos only, no tensor data and no random
  /// numbers (a header-only GGUF, for `ingot plan`); the tensors' types
  /// are `mix`'s when it is set (llama-quantize's choice per tensor), else
  /// `type` as for a model with data.
  bool headerOnly = false;
  std::optional<ggml::QuantMix> mix;
};

/// Writes the model to `path`. Returns the number of tensor data bytes
/// (those a header-only file describes but does not hold).
llvm::Expected<uint64_t> synthesizeModel(const SynthOptions &options,
                                         llvm::StringRef path);

/// The SentencePiece vocabulary the synthesized models use: <unk>, <s>,
/// </s>, the 256 byte-fallback tokens, then word pieces, `size` in all.
struct Vocabulary {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
};
Vocabulary makeVocabulary(unsigned size);

} // namespace ingot::synth

#endif // INGOT_SYNTH_MODELSYNTHESIZER_H
