//===- GGMLQuantize.h - ggml's reference quantizers -------------*- C++ -*-===//
//
// f32 values to the blocks of a quantized ggml type, in the arithmetic of
// ggml's reference quantizers (ggml-quants.c, quantize_row_*_ref): what
// llama-quantize writes when it has no importance matrix. The quantizers
// are written to reproduce those files byte for byte (test/unit checks them
// against llama-quantize's own output on the shared fixtures), so that a
// model requantized by `ingot compile --quant` is the model llama.cpp would
// run after llama-quantize.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_GGML_GGMLQUANTIZE_H
#define INGOT_GGML_GGMLQUANTIZE_H

#include "compiler/ggml/GGMLTypes.h"

#include <cstdint>

namespace ingot::ggml {

/// Whether quantizeValues can write `type`: F32, F16, BF16, Q4_0, Q4_1,
/// Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K.
bool canQuantize(Type type);

/// Writes `elements` f32 values from `src` (a whole number of blocks of
/// `type`) as `type` at `dst` (rowBytes(type, elements) bytes). False, with
/// nothing written, when !canQuantize(type) or `elements` is not whole
/// blocks.
[[nodiscard]] bool quantizeValues(Type type, const float *src, uint8_t *dst,
                                  int64_t elements);

} // namespace ingot::ggml

#endif // INGOT_GGML_GGMLQUANTIZE_H
