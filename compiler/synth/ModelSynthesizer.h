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

#include "compiler/ggml/GGMLTypes.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ingot::synth {

/// Shape of a synthesized model; presets fill it, options may override.
struct ModelShape {
  std::string arch;
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
  // Multi-head latent attention (deepseek2).
  unsigned qLoraRank = 0, kvLoraRank = 0, ropeDim = 0, nopeDim = 0,
           vHeadDim = 0;
};

/// The shape of `preset` ("tiny" or "bench") for `arch`; an error for an
/// unknown architecture or preset.
llvm::Expected<ModelShape> presetShape(llvm::StringRef arch,
                                       llvm::StringRef preset);

struct SynthOptions {
  ModelShape shape;
  ggml::Type type = ggml::Type::F32;
  uint64_t seed = 1;
  float gain = 1.0f;
  std::string name;
};

/// Writes the model to `path`. Returns the number of tensor data bytes.
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
