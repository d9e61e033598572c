//===- CompileModel.h - GGUF model to output, as a library call -*- C++ -*-===//
//
// The whole of `ingot compile` without its printing: import the model, plan
// it for the target, lower it, generate the kernels and write what was asked
// for (IR, LLVM IR, assembly, an object or the static executable with its
// weights). The driver parses options into CompileOptions and prints the
// CompileReport; tests and tools can call compileModel directly.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_CODEGEN_COMPILEMODEL_H
#define INGOT_CODEGEN_COMPILEMODEL_H

#include "compiler/codegen/Executable.h"
#include "compiler/ggml/GGMLQuantMix.h"
#include "compiler/gguf/GGUFRequantize.h"
#include "runtime/core/HumanBytes.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace ingot::codegen {

/// What compileModel writes.
enum class CompileOutput { IR, LLVM, Asm, Obj, Exe };

struct CompileOptions {
  std::string modelPath;
  /// A target description file, or "host" for the machine compiling.
  std::string targetPath = "host";
  /// Not given: "-" (stdout) for text and objects, the model's stem for the
  /// executable. Given but empty is an error.
  std::optional<std::string> outputPath;
  /// A chat template to embed instead of the model's (empty: the model's).
  std::string chatTemplateFile;
  CompileOutput output = CompileOutput::Exe;
  /// Most tokens per forward call (the prefill chunk).
  int64_t maxBatch = 64;
  /// Whether Q8_0 and Q4_0 matmuls take the AMX prefill kernel on targets
  /// with amx_int8 (it sums in block order, not ggml's chunk order for
  /// Q8_0).
  bool amx = true;
  /// Requantize the model into this llama-quantize mix before compiling
  /// (gguf::requantizeModel): the compile then sees the mix's types as the
  /// file's.
  std::optional<ggml::QuantMix> quant;
  /// Reads `chatTemplateFile` (the driver bounds the read of its inputs).
  std::function<llvm::Expected<std::string>(llvm::StringRef path)>
      readChatTemplate;
  /// Called while the weights are repacked into the executable.
  ProgressFn progress;
};

/// What the compile produced and predicts; only `output` and `outputPath`
/// are set unless the output is the executable.
struct CompileReport {
  CompileOutput output = CompileOutput::Exe;
  std::string outputPath;
  std::string targetName;
  std::string isa;
  uint64_t kernelCount = 0, kernelBytes = 0;
  PayloadInfo payload;
  /// What --quant wrote, when it was given.
  std::optional<gguf::RequantizeSummary> requantized;
  int64_t arenaBytes = 0, maxBatch = 0, kvBytesPerPosition = 0;
  /// With Q8_0 keys (--cache-type-k q8_0; 0: the keys cannot be Q8_0).
  int64_t kvBytesPerPositionQ8 = 0;
  int64_t maxContext = 0;
  /// The target's RAM (0: unknown) and how many positions of KV cache fit
  /// in it beside the weights and activations.
  double ramBytes = 0;
  int64_t contextFits = 0;
  /// Read bandwidth (0: unknown) and the weight bytes one decode step reads.
  double bandwidthGBps = 0, streamedBytes = 0;
};

/// Reports print sizes exactly as the emitted binary does.
using rt::humanBytes;

/// Compiles as `options` say. Every failure is an error of one line naming
/// the input or limit at fault; no output is left behind on failure.
llvm::Expected<CompileReport> compileModel(const CompileOptions &options);

} // namespace ingot::codegen

#endif // INGOT_CODEGEN_COMPILEMODEL_H
