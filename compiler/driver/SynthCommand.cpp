//===- SynthCommand.cpp - `ingot synth` -----------------------------------===//
//
// Writes a deterministic random-weight model of a supported architecture,
// for benchmarks, tests and the README demo (nothing is downloaded), or,
// with --header-only, the metadata and tensor infos of a real model's shape
// without its data, for `ingot plan`.
//
//===----------------------------------------------------------------------===//
#include "compiler/driver/Command.h"
#include "compiler/synth/ModelSynthesizer.h"

#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace llvm;

namespace {

cl::SubCommand synthCommand("synth",
                            "Write a random-weight model of an architecture");
cl::opt<std::string> arch("arch", cl::Required,
                          cl::desc("llama, qwen2, deepseek2 or qwen3moe"),
                          cl::sub(synthCommand));
cl::opt<std::string>
    preset("preset", cl::init("tiny"),
           cl::desc("tiny (default), bench, or a real model's shape "
                    "(header-only): deepseek-r1 (deepseek2), "
                    "r1-distill-qwen-7b (qwen2)"),
           cl::sub(synthCommand));
cl::opt<std::string>
    typeName("type", cl::init("F32"),
             cl::desc("F32, F16, Q8_0 or Q4_0; header-only also any ggml "
                      "type or llama-quantize mix (Q4_K_M, ...)"),
             cl::sub(synthCommand));
cl::opt<bool>
    headerOnly("header-only",
               cl::desc("Write metadata and tensor infos only, no tensor data"),
               cl::sub(synthCommand));
cl::opt<uint64_t> seed("seed", cl::init(1), cl::desc("Random seed"),
                       cl::sub(synthCommand));
cl::opt<float> gain("gain", cl::init(1.0f),
                    cl::desc("Scale of the matrix weights"),
                    cl::sub(synthCommand));
cl::opt<unsigned> layers("layers", cl::init(0),
                         cl::desc("Override the preset's layer count"),
                         cl::sub(synthCommand));
cl::opt<unsigned> vocab("vocab", cl::init(0),
                        cl::desc("Override the preset's vocabulary size"),
                        cl::sub(synthCommand));
cl::opt<bool> llama3Rope(
    "llama3-rope",
    cl::desc("Llama 3.1 rope: base 500000 and rope_freqs.weight factors"),
    cl::sub(synthCommand));
cl::opt<std::string> outputPath("o", cl::Required, cl::desc("Output GGUF file"),
                                cl::value_desc("file"), cl::sub(synthCommand));

// Bounds for the overrides: the largest real models have about 130 layers
// and 262144-token vocabularies; the synthesizer's vocabulary needs 300
// tokens (3 special, 256 byte-fallback and the ids its tests prompt with).
// Without a bound a huge count spins for hours writing an unusable file.
constexpr unsigned maxLayers = 256;
constexpr unsigned minVocab = 300, maxVocab = 262144;

int runSynth() {
  if (layers.getNumOccurrences() && (layers < 1 || layers > maxLayers))
    return ingot::driver::reportError("--layers: " + std::to_string(layers) +
                                      " is out of range (1 to " +
                                      std::to_string(maxLayers) + ")");
  if (vocab.getNumOccurrences() && (vocab < minVocab || vocab > maxVocab))
    return ingot::driver::reportError(
        "--vocab: " + std::to_string(vocab) + " is out of range (" +
        std::to_string(minVocab) + " to " + std::to_string(maxVocab) + ")");
  if (!std::isfinite(gain))
    return ingot::driver::reportError("--gain: must be a finite number");
  if (outputPath.empty())
    return ingot::driver::reportError("-o: empty path");
  auto shape = ingot::synth::presetShape(arch, preset);
  if (!shape)
    return ingot::driver::reportError(shape.takeError());
  if (layers.getNumOccurrences())
    shape->layers = layers;
  if (vocab.getNumOccurrences())
    shape->vocab = vocab;
  shape->llama3Rope = llama3Rope;
  if (ingot::synth::isRealModelPreset(preset) && !headerOnly)
    return ingot::driver::reportError(
        "--preset " + preset +
        ": a real model's shape is written with --header-only (its random "
        "weights would fill the disk)");
  ingot::synth::SynthOptions options;
  options.headerOnly = headerOnly;
  // A header-only file may name a mix: llama-quantize's type per tensor
  // (Q8_0 is one too, which keeps norms and routers F32).
  if (headerOnly)
    options.mix = ingot::ggml::parseQuantMix(typeName);
  auto type = ingot::ggml::parseTypeName(typeName);
  if (!type && !options.mix)
    return ingot::driver::reportError(
        "unknown tensor type '" + typeName +
        (headerOnly ? "' (expected a ggml type or a mix: " +
                          ingot::ggml::quantMixNames() + ")"
                    : std::string("' (expected F32, F16, Q8_0 or Q4_0)")));
  options.shape = *shape;
  options.type = type.value_or(ingot::ggml::Type::F32);
  options.seed = seed;
  options.gain = gain;
  auto bytes = ingot::synth::synthesizeModel(options, outputPath);
  if (!bytes)
    return ingot::driver::reportError(bytes.takeError());
  outs() << "wrote " << outputPath << ": " << arch << " (" << preset << "), "
         << shape->layers << " layers, dim " << shape->embedding << ", vocab "
         << shape->vocab << ", " << typeName << ", " << *bytes
         << " bytes of weights"
         << (headerOnly ? " (header only: not in the file)" : "") << "\n";
  return 0;
}

ingot::driver::RegisterCommand registration(synthCommand, runSynth);

} // namespace
