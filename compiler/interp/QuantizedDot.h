//===- QuantizedDot.h - ggml's quantized dot products -----------*- C++ -*-===//
//
// How ggml's CPU backend multiplies a quantized weight row with an F32
// activation row: the activations are first rounded to the weight type's
// vec_dot_type (ggml-cpu.c, type_traits_cpu) - Q8_0 for Q4_0 / Q5_0 / Q8_0 /
// IQ4_NL, Q8_1 for Q4_1 / Q5_1, Q8_K for Q2_K..Q6_K and IQ4_XS - then the
// products are exact integer sums per block (or sub-block), combined with
// the float scales. Which float terms are added in which order depends on
// the kernel ggml's x86 (AVX2 / AVX-512) build runs, and it matters: the
// next op rounds the result to 8 bits again, so a last-bit difference can
// move a quant and, through a MoE router, the choice of experts. Q8_0,
// Q4_0, Q4_1, Q5_0, Q5_1, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS, and Q2_K /
// IQ4_NL where ggml repacks them, follow the x86 kernels (ggml-cpu/arch/x86/
// quants.c, repack.cpp, llamafile/sgemm.cpp); unrepacked Q2_K / IQ4_NL
// follow ggml's reference C order (ggml-cpu/quants.c,
// ggml_vec_dot_*_generic), which differs from its SIMD kernels only in how
// the per-block float terms are added up.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_INTERP_QUANTIZEDDOT_H
#define INGOT_INTERP_QUANTIZEDDOT_H

#include "compiler/ggml/GGMLTypes.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace ingot::interp {

/// One Q8_0 block of an activation row: the F16 scale already widened.
struct Q8Block {
  float d;
  int8_t q[32];
};

/// One Q8_1 block: as Q8_0, plus s = d * sum(q), stored as F16 by ggml
/// (widened here).
struct Q8_1Block {
  float d;
  float s;
  int8_t q[32];
};

/// One Q8_K block of 256 values: an F32 scale and the sums of each 16
/// quants.
struct Q8_KBlock {
  float d;
  int8_t q[256];
  int16_t bsums[16];
};

/// Rounds `n` values (a multiple of 32) to Q8_0 blocks the way ggml's x86
/// CPU backend does for activations: d = max|x| / 127 stored as F16, q =
/// round-to-nearest-even(x * 127 / max|x|).
void quantizeActivationsQ8_0(const float *x, int64_t n, Q8Block *out);

/// Q8_1 as ggml's x86 quantize_row_q8_1: the Q8_0 rounding, and s = F16(d *
/// sum(q)) with the unrounded d.
void quantizeActivationsQ8_1(const float *x, int64_t n, Q8_1Block *out);

/// Q8_K as ggml's quantize_row_q8_K (its reference code, also on x86): with
/// m the first value of largest magnitude (sign kept), q = min(127,
/// round-half-even(x * (-127 / m))) and d = 1 / (-127 / m) in F32, so m
/// itself becomes -127.
void quantizeActivationsQ8_K(const float *x, int64_t n, Q8_KBlock *out);

/// The vec_dot_type ggml's CPU backend rounds the activations to before
/// multiplying them with weights of type `weight`: F32 for F32, F16 for F16,
/// BF16 for BF16, else Q8_0, Q8_1 or Q8_K as above. Nullopt for a type this
/// file has no dot product for.
std::optional<ggml::Type> vecDotType(ggml::Type weight);

/// The x86 kernel ggml runs for one product; they differ only in the order
/// the float terms are added.
enum class DotKernel {
  /// ggml_vec_dot_<type>_<vec_dot_type> on one activation row (and
  /// llamafile's tinyBLAS for Q8_0 / Q5_0 batches, which sums the same way).
  VecDot,
  /// The CPU backend's repacked weights (chosen at load time for weights of
  /// a multiple of 8 rows: Q4_K and IQ4_NL on AVX2 hosts, Q2_K on AVX-512
  /// ones): ggml_gemv_<type>_8x8 on one activation row, one float term per
  /// super-block (per block for IQ4_NL).
  RepackedGemv,
  /// ggml_gemm_<type>_8x8 on groups of four activation rows: one float term
  /// per 64 values (Q4_K) or 128 (Q2_K); IQ4_NL sums as in gemv.
  RepackedGemm,
};

/// The kernel ggml's x86 CPU backend uses for token `token` of a batch of
/// `nTokens` rows multiplied with a weight of `type` and `matrixRows` rows
/// per matrix: repacked weights run gemm over the leading nTokens -
/// nTokens % 4 rows of a batch of four or more and gemv over the rest (and
/// mul_mat_id, one row at a time, always runs gemv: pass nTokens = 1).
DotKernel ggmlKernel(ggml::Type type, int64_t matrixRows, int64_t token,
                     int64_t nTokens);

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
