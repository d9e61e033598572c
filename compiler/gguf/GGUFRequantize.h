//===- GGUFRequantize.h - A model requantized into a type mix ---*- C++ -*-===//
//
// `ingot compile --quant NAME` at the file level: the model rewritten in
// memory as llama-quantize would write it for the mix NAME (the types of
// GGMLQuantMix, the bytes of GGMLQuantize), then compiled like any GGUF
// file. Requantizing before the import keeps every later layer unchanged
// and honest: the importer, the planner and the payload writer see the new
// type of each tensor as the file's type, exactly as they would for
// llama-quantize's own file.
//
// A tensor already in a quantized type the mix does not choose is decoded
// exactly and requantized from those values (llama-quantize would want
// --allow-requantize): it cannot regain the precision its source lost, and
// the summary names such tensors.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_GGUF_GGUFREQUANTIZE_H
#define INGOT_GGUF_GGUFREQUANTIZE_H

#include "compiler/ggml/GGMLQuantMix.h"
#include "compiler/gguf/GGUFFile.h"

#include "llvm/Support/Error.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ingot::gguf {

/// The facts of `file` the mixes depend on.
ggml::MixModel mixModelOf(const GGUFFile &file);
/// llama_ftype's number for a mix (llama.h), as llama-quantize stores it in
/// general.file_type.
uint32_t fileTypeOf(ggml::QuantMix mix);
/// The tensors of `file` as the mixes see them, in file order.
std::vector<ggml::MixTensor> mixTensorsOf(const GGUFFile &file);

struct RequantizeSummary {
  ggml::QuantMix mix;
  /// Tensor data bytes and values before and after.
  uint64_t sourceBytes = 0, bytes = 0, elements = 0;
  /// Tensors written in a new type, and their count per new type.
  int requantized = 0;
  std::map<ggml::Type, int> requantizedTo;
  /// Every tensor written in a new type, with the type it had.
  std::vector<std::pair<std::string, ggml::Type>> sourceTypes;
  /// Tensors requantized from an already quantized source type.
  std::vector<std::string> fromQuantized;

  double bitsPerWeight() const {
    return elements ? 8.0 * double(bytes) / double(elements) : 0;
  }
};

struct RequantizedModel {
  /// The requantized model, named like the source in messages.
  std::unique_ptr<GGUFFile> file;
  RequantizeSummary summary;
};

/// Rewrites `source` into `mix`: metadata copied (general.file_type set to
/// llama.cpp's number for the mix), each tensor in the type the mix chooses
/// for it. An error names the tensor that cannot be read.
llvm::Expected<RequantizedModel> requantizeModel(const GGUFFile &source,
                                                 ggml::QuantMix mix);

} // namespace ingot::gguf

#endif // INGOT_GGUF_GGUFREQUANTIZE_H
