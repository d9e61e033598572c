//===- QuantizedDot.h - ggml's quantized dot products -----------*- C++ -*-===//
//
// The interpreter's view of ggml's quantized dot products: activation rows
// rounded to a weight type's vec_dot_type and held in vectors, multiplied
// with raw weight rows. The arithmetic itself (which rounding, which sums
// in which order, which of ggml's x86 kernels) is compiler/ggml/GGMLDot.h,
// shared with the op library's ggml dot path so that the two agree by
// construction; see there for what follows which ggml kernel.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_INTERP_QUANTIZEDDOT_H
#define INGOT_INTERP_QUANTIZEDDOT_H

#include "compiler/ggml/GGMLDot.h"
#include "compiler/ggml/GGMLTypes.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace ingot::interp {

/// One Q8_0 / Q8_1 / Q8_K block of an activation row (GGMLDot.h).
using Q8Block = ggml::DotBlockQ8_0;
using Q8_1Block = ggml::DotBlockQ8_1;
using Q8_KBlock = ggml::DotBlockQ8_K;

/// Rounds `n` values to Q8_0 (a multiple of 32), Q8_1 (likewise) or Q8_K (a
/// multiple of 256) blocks as ggml's x86 CPU backend does for activations
/// (ggml::quantizeDotQ8_0 / _1 / _K).
void quantizeActivationsQ8_0(const float *x, int64_t n, Q8Block *out);
void quantizeActivationsQ8_1(const float *x, int64_t n, Q8_1Block *out);
void quantizeActivationsQ8_K(const float *x, int64_t n, Q8_KBlock *out);

/// ggml::vecDotType, ggml::DotKernel and ggml::ggmlKernel, by their
/// interpreter names.
using ggml::DotKernel;
using ggml::ggmlKernel;
using ggml::vecDotType;

/// A row of activations rounded to one vec_dot_type.
struct QuantizedActivations {
  ggml::Type type = ggml::Type::F32;
  std::vector<Q8Block> q8_0;
  std::vector<Q8_1Block> q8_1;
  std::vector<Q8_KBlock> q8_K;

  /// Rounds `n` values of x to `vecDotType` (one of Q8_0, Q8_1, Q8_K).
  QuantizedActivations(ggml::Type vecDotType, const float *x, int64_t n);
};

/// The dot product of one weight row of `n` values of `weightType` (raw
/// ggml blocks) with activations rounded to vecDotType(weightType), summed
/// as `kernel` sums it (the Repacked kernels apply to Q4_K, Q2_K and
/// IQ4_NL only).
float quantizedDot(ggml::Type weightType, const uint8_t *row,
                   const QuantizedActivations &x, int64_t n,
                   DotKernel kernel = DotKernel::VecDot);

} // namespace ingot::interp

#endif // INGOT_INTERP_QUANTIZEDDOT_H
