//===- GGMLDot.h - ggml's quantized dot products ----------------*- C++ -*-===//
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
// Written from the descriptions of ggml's activation quantizers
// (ggml-quants.c, ggml-cpu/arch/x86/quants.c) and of its dot products; the
// block layouts are those of GGMLBlocks.h. Header only and free of LLVM and
// of the C++ library's compiled parts, like GGMLBlocks.h: the reference
// interpreter (compiler/interp/QuantizedDot.h) and the op library's ggml
// dot path (targets/oplib), which runs inside the emitted binaries of
// models that keep ggml's order, share this one definition.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_GGML_GGMLDOT_H
#define INGOT_GGML_GGMLDOT_H

#include "compiler/ggml/GGMLTypes.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// The helpers below pass clang vector types by value. Built without AVX
// (the compiler's own objects) clang warns that such a function's ABI
// differs from an AVX build's; they are inline helpers of this header,
// never called across objects built for different ISAs, so the ABI does
// not matter.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpsabi"

namespace ingot::ggml {

/// One Q8_0 block of an activation row: the F16 scale already widened.
struct DotBlockQ8_0 {
  float d;
  int8_t q[32];
};

/// One Q8_1 block: as Q8_0, plus s = d * sum(q), stored as F16 by ggml
/// (widened here).
struct DotBlockQ8_1 {
  float d;
  float s;
  int8_t q[32];
};

/// One Q8_K block of 256 values: an F32 scale and the sums of each 16
/// quants.
struct DotBlockQ8_K {
  float d;
  int8_t q[256];
  int16_t bsums[16];
};

/// The vec_dot_type ggml's CPU backend rounds the activations to before
/// multiplying them with weights of type `weight`: F32 for F32, F16 for F16,
/// BF16 for BF16, else Q8_0, Q8_1 or Q8_K as above. Nullopt for a type this
/// file has no dot product for.
constexpr std::optional<Type> vecDotType(Type weight) {
  switch (weight) {
  case Type::F32:
  case Type::F16:
  case Type::BF16:
    return weight;
  case Type::Q4_0:
  case Type::Q5_0:
  case Type::Q8_0:
  case Type::IQ4_NL:
    return Type::Q8_0;
  case Type::Q4_1:
  case Type::Q5_1:
    return Type::Q8_1;
  case Type::Q2_K:
  case Type::Q3_K:
  case Type::Q4_K:
  case Type::Q5_K:
  case Type::Q6_K:
  case Type::IQ4_XS:
    return Type::Q8_K;
  default:
    return std::nullopt;
  }
}

/// Whether quantizedDot multiplies weights of `type` (their vec_dot_type is
/// one of Q8_0, Q8_1, Q8_K).
constexpr bool hasQuantizedDot(Type type) {
  std::optional<Type> v = vecDotType(type);
  return v && (*v == Type::Q8_0 || *v == Type::Q8_1 || *v == Type::Q8_K);
}

/// Whether a module that keeps ggml's order (models that route to experts)
/// reads weights of `type` on the op library's ggml dot path - the GGUF rows
/// as they are, multiplied by quantizedDot below - rather than with
/// generated kernels: every type quantizedDot multiplies except those whose
/// generated ggml-order kernels already compute as ggml does: Q8_0 and Q4_0
/// (read as themselves) and Q5_0 (converted exactly to Q8_0; ggml's x86
/// vec_dot sums its blocks in the lanes of Q8_0's).
constexpr bool takesGgmlDotPath(Type type) {
  return hasQuantizedDot(type) && type != Type::Q8_0 && type != Type::Q4_0 &&
         type != Type::Q5_0;
}

/// Values per block of the activations of weights of `type`
/// (hasQuantizedDot): 256 for Q8_K, else 32.
constexpr int64_t dotActivationBlock(Type type) {
  return vecDotType(type) == Type::Q8_K ? 256 : 32;
}

/// Bytes of one activation row of k values (a whole number of blocks) as
/// quantizedDot reads it for weights of `type` (hasQuantizedDot): k /
/// dotActivationBlock(type) blocks of its vec_dot_type, as the structs
/// above.
constexpr int64_t dotActivationRowBytes(Type type, int64_t k) {
  switch (*vecDotType(type)) {
  case Type::Q8_K:
    return k / 256 * int64_t(sizeof(DotBlockQ8_K));
  case Type::Q8_1:
    return k / 32 * int64_t(sizeof(DotBlockQ8_1));
  default:
    return k / 32 * int64_t(sizeof(DotBlockQ8_0));
  }
}

namespace dot_detail {

/// The x86 Q8_0 / Q8_1 rounding of one block of 32: scale 127 / max|x| (not
/// 1 / d) and round to nearest, ties to even. Returns the unrounded d.
inline float roundBlockQ8(const float *x, int8_t *q) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) {
    const float v = fabsf(x[j]);
    amax = amax < v ? v : amax;
  }
  float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  for (int j = 0; j < 32; ++j)
    q[j] = static_cast<int8_t>(nearbyintf(x[j] * id));
  return amax / 127.0f;
}

inline float throughHalf(float v) { return halfToFloat(floatToHalf(v)); }

} // namespace dot_detail

/// Rounds `n` values (a multiple of 32) to Q8_0 blocks the way ggml's x86
/// CPU backend does for activations: d = max|x| / 127 stored as F16, q =
/// round-to-nearest-even(x * 127 / max|x|).
inline void quantizeDotQ8_0(const float *x, int64_t n, DotBlockQ8_0 *out) {
  for (int64_t b = 0; b < n / 32; ++b, x += 32)
    out[b].d = dot_detail::throughHalf(dot_detail::roundBlockQ8(x, out[b].q));
}

/// Q8_1 as ggml's x86 quantize_row_q8_1: the Q8_0 rounding, and s = F16(d *
/// sum(q)) with the unrounded d.
inline void quantizeDotQ8_1(const float *x, int64_t n, DotBlockQ8_1 *out) {
  for (int64_t b = 0; b < n / 32; ++b, x += 32) {
    float d = dot_detail::roundBlockQ8(x, out[b].q);
    int32_t sum = 0;
    for (int j = 0; j < 32; ++j)
      sum += out[b].q[j];
    out[b].d = dot_detail::throughHalf(d);
    out[b].s = dot_detail::throughHalf(d * float(sum));
  }
}

/// Q8_K as ggml's quantize_row_q8_K (its reference code, also on x86): with
/// m the first value of largest magnitude (sign kept), q = min(127,
/// round-half-even(x * (-127 / m))) and d = 1 / (-127 / m) in F32, so m
/// itself becomes -127: one block of 256 values, quants into q, d returned
/// (0, with zero quants, for an all-zero block).
inline float quantizeQ8_KValues(const float *x, int8_t *q) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 256; ++j)
    if (fabsf(x[j]) > amax) {
      amax = fabsf(x[j]);
      max = x[j];
    }
  if (amax == 0.0f) {
    memset(q, 0, 256);
    return 0.0f;
  }
  // ggml rounds through the 1.5 * 2^23 trick (nearest_int): ties to even,
  // as nearbyint in the default rounding mode.
  const float iscale = -127.0f / max;
  for (int j = 0; j < 256; ++j) {
    const int v = static_cast<int>(nearbyintf(iscale * x[j]));
    q[j] = static_cast<int8_t>(v < 127 ? v : 127);
  }
  return 1.0f / iscale;
}

/// Q8_K blocks of n values (quantizeQ8_KValues each), with their sums of
/// 16 quants.
inline void quantizeDotQ8_K(const float *x, int64_t n, DotBlockQ8_K *out) {
  for (int64_t b = 0; b < n / 256; ++b, x += 256) {
    DotBlockQ8_K &block = out[b];
    block.d = quantizeQ8_KValues(x, block.q);
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int j = 16 * g; j < 16 * g + 16; ++j)
        sum += block.q[j];
      block.bsums[g] = static_cast<int16_t>(sum);
    }
  }
}

/// Rounds `n` values to the vec_dot_type of weights of `type`
/// (hasQuantizedDot) into `out` (dotActivationRowBytes(type, n) bytes).
inline void quantizeDotActivations(Type type, const float *x, int64_t n,
                                   void *out) {
  switch (*vecDotType(type)) {
  case Type::Q8_K:
    quantizeDotQ8_K(x, n, static_cast<DotBlockQ8_K *>(out));
    break;
  case Type::Q8_1:
    quantizeDotQ8_1(x, n, static_cast<DotBlockQ8_1 *>(out));
    break;
  default:
    quantizeDotQ8_0(x, n, static_cast<DotBlockQ8_0 *>(out));
    break;
  }
}

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
constexpr DotKernel ggmlKernel(Type type, int64_t matrixRows, int64_t token,
                               int64_t nTokens) {
  // ggml_repack_get_optimal_repack_type on x86 (AVX-512): Q4_K, Q2_K and
  // IQ4_NL (and Q4_0, whose one order dotQ4_0 always follows) with
  // ne[1] % 8 == 0.
  const bool repackable =
      type == Type::Q4_K || type == Type::Q2_K || type == Type::IQ4_NL;
  if (!repackable || matrixRows % 8 != 0)
    return DotKernel::VecDot;
  // forward_mul_mat: gemm over the rows of whole groups of four when there
  // are more than three, gemv over the rest.
  const bool gemm = nTokens > 3 && token < nTokens - nTokens % 4;
  return gemm ? DotKernel::RepackedGemm : DotKernel::RepackedGemv;
}

namespace dot_detail {

//===----------------------------------------------------------------------===//
// Blocks of 32 against Q8_0 / Q8_1
//===----------------------------------------------------------------------===//

// Explicit vectors for the exact integer parts: the op library's bitcode is
// optimized for no particular CPU before the target's pipeline runs, and
// plain loops come out of that as 128-bit code; these lower to the
// target's widest registers. Integer sums are exact in any order.
using U8x32 = uint8_t __attribute__((ext_vector_type(32)));
using I8x32 = int8_t __attribute__((ext_vector_type(32)));
using I16x32 = int16_t __attribute__((ext_vector_type(32)));
using I32x4 = int32_t __attribute__((ext_vector_type(4)));
using I32x8 = int32_t __attribute__((ext_vector_type(8)));
using I32x16 = int32_t __attribute__((ext_vector_type(16)));
using I32x32 = int32_t __attribute__((ext_vector_type(32)));
using U8x16 = uint8_t __attribute__((ext_vector_type(16)));
using U32x32 = uint32_t __attribute__((ext_vector_type(32)));
using F32x8 = float __attribute__((ext_vector_type(8)));

inline U8x32 loadU8x32(const void *p) {
  U8x32 v;
  memcpy(&v, p, sizeof(v));
  return v;
}
inline I8x32 loadI8x32(const void *p) {
  I8x32 v;
  memcpy(&v, p, sizeof(v));
  return v;
}

/// The sums of each run of four products a[j] * b[j] (lane l: j = 4l ..
/// 4l + 3) of 32 int8 pairs, as ggml's x86 kernels form their int32 lanes.
inline I32x8 quadSums(I8x32 a, I8x32 b) {
  const I16x32 products =
      __builtin_convertvector(a, I16x32) * __builtin_convertvector(b, I16x32);
  const I32x32 wide = __builtin_convertvector(products, I32x32);
  const I32x16 pairs =
      __builtin_shufflevector(wide, wide, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                              22, 24, 26, 28, 30) +
      __builtin_shufflevector(wide, wide, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21,
                              23, 25, 27, 29, 31);
  return __builtin_shufflevector(pairs, pairs, 0, 2, 4, 6, 8, 10, 12, 14) +
         __builtin_shufflevector(pairs, pairs, 1, 3, 5, 7, 9, 11, 13, 15);
}

/// Eight float lanes acc[k] = fma(d, float(lanes[k]), acc[k]), each rounded
/// as the scalar fma.
inline F32x8 fmaLanes(float d, I32x8 lanes, F32x8 acc) {
  return __builtin_elementwise_fma(F32x8(d),
                                   __builtin_convertvector(lanes, F32x8), acc);
}

/// The 32 values of a block of 4-bit quants: low nibbles of the 16 bytes,
/// then their high nibbles (Q4_0 / Q4_1 / Q5_x order).
inline U8x32 nibbles32(const uint8_t *qs) {
  U8x16 q;
  memcpy(&q, qs, sizeof(q));
  return __builtin_shufflevector(q & U8x16(0xF), q >> U8x16(4), 0, 1, 2, 3, 4,
                                 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
                                 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
                                 30, 31);
}

/// hsum_float_8 of ggml's x86 kernels (and tinyBLAS's hsum): lane k + lane
/// k+4, then (0 + 2) + (1 + 3).
inline float reduce8(const float *acc) {
  float pairs[4];
  for (int i = 0; i < 4; ++i)
    pairs[i] = acc[i + 4] + acc[i];
  return (pairs[0] + pairs[2]) + (pairs[1] + pairs[3]);
}

// Q8_0 x Q8_0 in the summation order of ggml's x86 kernels (vec_dot and
// llamafile's tinyBLAS): each block's 32 products form eight 4-element
// integer sums, one per float lane; lane k accumulates fma(d_w * d_x, sum_k);
// the eight lanes are then added pairwise (k + k+4, then 0+2 and 1+3).
// Matching the order keeps the result bit-identical to llama.cpp's, which
// matters because the next op rounds it to Q8_0 again.
inline float dotQ8_0(const uint8_t *row, const DotBlockQ8_0 *x,
                     int64_t nBlocks) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t b = 0; b < nBlocks; ++b, row += 34) {
    const int8_t *qw = reinterpret_cast<const int8_t *>(row + 2);
    const float d = loadHalf(row) * x[b].d;
    for (int k = 0; k < 8; ++k) {
      int32_t sumi = 0;
      for (int j = 4 * k; j < 4 * k + 4; ++j)
        sumi += int32_t(qw[j]) * int32_t(x[b].q[j]);
      acc[k] = fmaf(d, float(sumi), acc[k]);
    }
  }
  return reduce8(acc);
}

// Q4_0 x Q8_0 as ggml's repacked Q4_0 kernels (the CPU backend's default
// for Q4_0 on x86) sum it: one integer sum per block, accumulated
// sequentially with sum = fma(sumi, d_w * d_x, sum).
inline float dotQ4_0(const uint8_t *row, const DotBlockQ8_0 *x,
                     int64_t nBlocks) {
  float sum = 0.0f;
  for (int64_t b = 0; b < nBlocks; ++b, row += 18) {
    const uint8_t *qs = row + 2;
    int32_t sumi = 0;
    // Low nibbles hold elements 0..15, high nibbles 16..31, offset by 8.
    for (int j = 0; j < 16; ++j) {
      int32_t lo = int32_t(qs[j] & 0x0F) - 8;
      int32_t hi = int32_t(qs[j] >> 4) - 8;
      sumi += lo * int32_t(x[b].q[j]) + hi * int32_t(x[b].q[j + 16]);
    }
    sum = fmaf(float(sumi), loadHalf(row) * x[b].d, sum);
  }
  return sum;
}

inline uint32_t load32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

// Q4_1 / Q5_0 / Q5_1 as ggml's AVX2 vec_dot (Q5_0 also as tinyBLAS, which
// sums it the same way): eight float lanes, lane k accumulating
// fma(d_w * d_x, sum of products 4k..4k+3) over the blocks, reduced as
// reduce8; with a min, m_w * s_x is accumulated separately by fma and added
// last.

inline float dotQ4_1(const uint8_t *row, const DotBlockQ8_1 *x,
                     int64_t nBlocks) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  float mins = 0.0f;
  for (int64_t b = 0; b < nBlocks; ++b, row += 20) {
    const uint8_t *qs = row + 4;
    mins = fmaf(loadHalf(row + 2), x[b].s, mins);
    const float d = loadHalf(row) * x[b].d;
    for (int k = 0; k < 8; ++k) {
      int32_t sumi = 0;
      for (int j = 4 * k; j < 4 * k + 4; ++j) {
        const int32_t q = j < 16 ? qs[j] & 0xF : qs[j - 16] >> 4;
        sumi += q * x[b].q[j];
      }
      acc[k] = fmaf(d, float(sumi), acc[k]);
    }
  }
  return reduce8(acc) + mins;
}

template <bool withMin>
float dotQ5(const uint8_t *row, const void *xBlocks, int64_t nBlocks) {
  const int bytes = withMin ? 24 : 22;
  const auto *x8_0 = static_cast<const DotBlockQ8_0 *>(xBlocks);
  const auto *x8_1 = static_cast<const DotBlockQ8_1 *>(xBlocks);
  F32x8 acc = 0.0f;
  float mins = 0.0f;
  const U32x32 bitOf = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                        11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                        22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
  for (int64_t b = 0; b < nBlocks; ++b, row += bytes) {
    const uint8_t *qhp = row + (withMin ? 4 : 2);
    const uint32_t qh = load32(qhp);
    const int8_t *q8 = withMin ? x8_1[b].q : x8_0[b].q;
    if constexpr (withMin)
      mins = fmaf(loadHalf(row + 2), x8_1[b].s, mins);
    const float d = loadHalf(row) * (withMin ? x8_1[b].d : x8_0[b].d);
    // Value j: the nibble of Q4_0's order, its fifth bit at bit j of qh.
    const U8x32 fifth =
        __builtin_convertvector((U32x32(qh) >> bitOf) & U32x32(1), U8x32);
    I8x32 quants = __builtin_convertvector(
        nibbles32(qhp + 4) | (fifth << U8x32(4)), I8x32);
    if constexpr (!withMin)
      quants -= I8x32(16);
    acc = fmaLanes(d, quadSums(quants, loadI8x32(q8)), acc);
  }
  float lanes[8];
  for (int k = 0; k < 8; ++k)
    lanes[k] = acc[k];
  return withMin ? reduce8(lanes) + mins : reduce8(lanes);
}

// IQ4_NL: repacked (iq4_nl_8x8, the kernels of repacked Q4_0) one exact
// integer sum per block, accumulated as sum = fma(sumi, d_w * d_x, sum);
// otherwise ggml's reference order.
inline float dotIQ4_NL(const uint8_t *row, const DotBlockQ8_0 *x,
                       int64_t nBlocks, bool repacked) {
  // Each product rounded as written, whatever the includer's contraction.
#pragma clang fp contract(off)
  if (repacked) {
    float sum = 0.0f;
    for (int64_t b = 0; b < nBlocks; ++b, row += 18) {
      const uint8_t *qs = row + 2;
      int32_t sumi = 0;
      for (int j = 0; j < 16; ++j)
        sumi += x[b].q[j] * kIQ4NLValues[qs[j] & 0xF] +
                x[b].q[j + 16] * kIQ4NLValues[qs[j] >> 4];
      sum = fmaf(float(sumi), loadHalf(row) * x[b].d, sum);
    }
    return sum;
  }
  float sum = 0.0f;
  for (int64_t b = 0; b < nBlocks; ++b, row += 18) {
    const uint8_t *qs = row + 2;
    int32_t sumi = 0;
    for (int j = 0; j < 16; ++j)
      sumi += x[b].q[j] * kIQ4NLValues[qs[j] & 0xF] +
              x[b].q[j + 16] * kIQ4NLValues[qs[j] >> 4];
    sum += (x[b].d * loadHalf(row)) * float(sumi);
  }
  return sum;
}

//===----------------------------------------------------------------------===//
// Super-blocks of 256 against Q8_K
//===----------------------------------------------------------------------===//

// Q2_K repacked (q2_K_8x8, AVX-512 hosts): as repackedQ4_K, one float term
// per super-block (gemv) or per 128 values (gemm), over its 16 sub-blocks
// of 16 (scale in the low nibble, min in the high one).
inline float repackedQ2_K(const uint8_t *row, const DotBlockQ8_K *x,
                          int64_t nBlocks, bool gemm) {
  float acc = 0.0f, accMin = 0.0f;
  for (int64_t b = 0; b < nBlocks; ++b, row += 84) {
    const uint8_t *scales = row;
    const uint8_t *qs = row + 16;
    const float d = loadHalf(row + 80) * x[b].d;
    const float dmin = loadHalf(row + 82) * x[b].d;
    const int groups = gemm ? 2 : 1;
    const int perGroup = 16 / groups;
    for (int g = 0; g < groups; ++g) {
      int32_t isum = 0, minSum = 0;
      for (int i = g * perGroup; i < (g + 1) * perGroup; ++i) {
        int32_t dot = 0;
        // Value 128h + 32j + l: bits 2j.. of qs[32h + l].
        for (int v = 16 * i; v < 16 * i + 16; ++v)
          dot += x[b].q[v] *
                 ((qs[32 * (v / 128) + v % 32] >> (2 * (v % 128 / 32))) & 3);
        isum += (scales[i] & 0xF) * dot;
        minSum += (scales[i] >> 4) * x[b].bsums[i];
      }
      acc = fmaf(float(isum), d, acc);
      accMin = fmaf(float(minSum), dmin, accMin);
    }
  }
  return acc - accMin;
}

// Q2_K not repacked: ggml's reference order, one integer sum per
// super-block, sum += d_w d_x * isum - dmin_w d_x * minsum.
inline float dotQ2_K(const uint8_t *row, const DotBlockQ8_K *x,
                     int64_t nBlocks) {
  // Each product rounded as written, whatever the includer's contraction.
#pragma clang fp contract(off)
  float sum = 0.0f;
  for (int64_t b = 0; b < nBlocks; ++b, row += 84) {
    const uint8_t *scales = row;
    const uint8_t *qs = row + 16;
    int32_t minSum = 0;
    for (int i = 0; i < 16; ++i)
      minSum += x[b].bsums[i] * (scales[i] >> 4);
    // Value 128h + 32j + l: bits 2j.. of qs[32h + l].
    int32_t isum = 0;
    for (int i = 0; i < 16; ++i) {
      int32_t sub = 0;
      for (int v = 16 * i; v < 16 * i + 16; ++v)
        sub += x[b].q[v] *
               ((qs[32 * (v / 128) + v % 32] >> (2 * (v % 128 / 32))) & 3);
      isum += (scales[i] & 0xF) * sub;
    }
    const float dall = x[b].d * loadHalf(row + 80);
    const float dmin = x[b].d * loadHalf(row + 82);
    sum += dall * float(isum) - dmin * float(minSum);
  }
  return sum;
}

/// Sum of q8 over the 32 values of sub-block i.
inline int32_t subBlockSum(const DotBlockQ8_K &x, int i) {
  return int32_t(x.bsums[2 * i]) + int32_t(x.bsums[2 * i + 1]);
}

/// ggml's AVX2 K-quant lanes: lane l sums scale * w * x over the values v
/// of the super-block with (v % 32) / 4 == l (each 32-value chunk spread
/// over the eight int32 lanes in runs of four); `scales16[v / 16]` is the
/// integer scale of value v. Exact integer sums, so summed here in any
/// order that vectorizes.
inline void avx2Lanes(const int8_t *quants, const int32_t scales16[16],
                      const DotBlockQ8_K &x, int32_t lanes[8]) {
  // Per 32-value chunk c, the sums of each run of four products (lane l:
  // values 4l..4l+3), times the scale of their 16 (scales16[2c] for lanes
  // 0..3, scales16[2c + 1] for 4..7).
  I32x8 sums = 0;
  for (int c = 0; c < 8; ++c) {
    const I32x8 quads =
        quadSums(loadI8x32(quants + 32 * c), loadI8x32(x.q + 32 * c));
    const int32_t s0 = scales16[2 * c], s1 = scales16[2 * c + 1];
    sums += I32x8{s0, s0, s0, s0, s1, s1, s1, s1} * quads;
  }
  for (int l = 0; l < 8; ++l)
    lanes[l] = sums[l];
}

// Q3_K as ggml_vec_dot_q3_K_q8_K (AVX2): avx2Lanes over the signed 3-bit
// quants with the 16 scales (minus 32), eight float lanes of fma(d_x * d_w,
// lane), reduced as reduce8.
inline float dotQ3_K(const uint8_t *row, const DotBlockQ8_K *x,
                     int64_t nBlocks) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int8_t quants[256];
  int32_t scales16[16], lanes[8];
  for (int64_t b = 0; b < nBlocks; ++b, row += 110) {
    const uint8_t *hmask = row;
    const uint8_t *qs = row + 32;
    for (int v = 0; v < 256; ++v) {
      const int h = v / 128, j = v % 128 / 32, l = v % 32;
      const int low = (qs[32 * h + l] >> (2 * j)) & 3;
      const bool high = (hmask[l] >> (4 * h + j)) & 1;
      quants[v] = int8_t(low - (high ? 0 : 4));
    }
    for (int i = 0; i < 16; ++i)
      scales16[i] = scaleQ3_K(i, row + 96) - 32;
    avx2Lanes(quants, scales16, x[b], lanes);
    const float d = x[b].d * loadHalf(row + 108);
    for (int l = 0; l < 8; ++l)
      acc[l] = fmaf(d, float(lanes[l]), acc[l]);
  }
  return reduce8(acc);
}

// Q4_K / Q5_K as ggml_vec_dot_q{4,5}_K_q8_K (AVX2): eight float lanes of
// fma(d_x * d_w, lane) over the super-blocks, reduced as reduce8, plus the
// mins: Q5_K keeps one float, fma(-d_x * dmin_w, sum of m_i * bsum_i);
// Q4_K four float lanes (pairs of sub-blocks), reduced (0+2) + (1+3).
template <bool five>
float vecDotQ45_K(const uint8_t *row, const DotBlockQ8_K *x, int64_t nBlocks) {
  const int bytes = five ? 176 : 144;
  F32x8 acc = 0.0f;
  float accMin[4] = {0, 0, 0, 0};
  float mins5 = 0.0f;
  uint8_t scales[8], mins[8];
  for (int64_t b = 0; b < nBlocks; ++b, row += bytes) {
    for (int i = 0; i < 8; ++i)
      scaleMinK4(i, row + 4, scales[i], mins[i]);
    const float d = x[b].d * loadHalf(row);
    const float dmin = -x[b].d * loadHalf(row + 2);
    if constexpr (five) {
      int32_t minSum = 0;
      for (int i = 0; i < 8; ++i)
        minSum += int32_t(mins[i]) * subBlockSum(x[b], i);
      mins5 = fmaf(dmin, float(minSum), mins5);
    } else {
      for (int k = 0; k < 4; ++k) {
        const int32_t pair =
            int32_t(mins[2 * k]) * subBlockSum(x[b], 2 * k) +
            int32_t(mins[2 * k + 1]) * subBlockSum(x[b], 2 * k + 1);
        accMin[k] = fmaf(dmin, float(pair), accMin[k]);
      }
    }
    // avx2Lanes with one scale per sub-block: value 32i + l of sub-block i
    // is nibble i % 2 of qs[32(i / 2) + l], its fifth bit (Q5_K) at bit i
    // of qh[l].
    const uint8_t *qs = row + (five ? 48 : 16);
    const U8x32 high = five ? loadU8x32(row + 16) : U8x32(0);
    I32x8 lanes = 0;
    for (int i = 0; i < 8; ++i) {
      U8x32 v = (loadU8x32(qs + 32 * (i / 2)) >> U8x32(uint8_t(4 * (i % 2)))) &
                U8x32(0xF);
      if (five)
        v |= ((high >> U8x32(uint8_t(i))) & U8x32(1)) << U8x32(4);
      lanes += I32x8(int32_t(scales[i])) *
               quadSums(__builtin_convertvector(v, I8x32),
                        loadI8x32(x[b].q + 32 * i));
    }
    acc = fmaLanes(d, lanes, acc);
  }
  float accLanes[8];
  for (int l = 0; l < 8; ++l)
    accLanes[l] = acc[l];
  if constexpr (five)
    return reduce8(accLanes) + mins5;
  return reduce8(accLanes) +
         ((accMin[0] + accMin[2]) + (accMin[1] + accMin[3]));
}

/// The 256 quants of a Q8_K block widened to 16 bits, eight vectors of 32
/// (one per sub-block of 32 values): read once for all the weight rows a
/// product passes over.
struct WideQ8_K {
  I16x32 q[8];
};

inline WideQ8_K widenQ8_K(const DotBlockQ8_K &x) {
  WideQ8_K w;
  for (int i = 0; i < 8; ++i)
    w.q[i] = __builtin_convertvector(loadI8x32(x.q + 32 * i), I16x32);
  return w;
}

/// Lane k: a[2k] * b[2k] + a[2k + 1] * b[2k + 1] (exact: the products of
/// 16-bit values and their pair sums fit 32 bits); the pattern the x86
/// backend selects vpmaddwd (and, added to an accumulator, vpdpwssd) for.
inline I32x16 pairSums(I16x32 a, I16x32 b) {
  const I32x32 products =
      __builtin_convertvector(a, I32x32) * __builtin_convertvector(b, I32x32);
  return __builtin_shufflevector(products, products, 0, 2, 4, 6, 8, 10, 12, 14,
                                 16, 18, 20, 22, 24, 26, 28, 30) +
         __builtin_shufflevector(products, products, 1, 3, 5, 7, 9, 11, 13, 15,
                                 17, 19, 21, 23, 25, 27, 29, 31);
}

/// The exact integer sums of one Q4_K super-block times the activations:
/// half[c] = sum over chunk c (sub-blocks 2c and 2c + 1) of scale * w * x,
/// in lanes (any order: integers); minSums[c] = the chunk's mins times
/// their bsums.
inline void q4_KChunkSums(const uint8_t *block, const DotBlockQ8_K &x,
                          const WideQ8_K &wide, I32x16 sums[4],
                          int32_t minSums[4]) {
  uint8_t scales[8], mins[8];
  for (int i = 0; i < 8; ++i)
    scaleMinK4(i, block + 4, scales[i], mins[i]);
  // Chunk c of 32 bytes holds sub-blocks 2c (low nibbles) and 2c + 1
  // (high nibbles). A weight times its scale (at most 15 * 63) fits 16
  // bits, so each 32 values are one pair-sum product.
  for (int c = 0; c < 4; ++c) {
    const I16x32 q =
        __builtin_convertvector(loadU8x32(block + 16 + 32 * c), I16x32);
    const I16x32 low = (q & I16x32(0xF)) * I16x32(int16_t(scales[2 * c]));
    const I16x32 high = (q >> I16x32(4)) * I16x32(int16_t(scales[2 * c + 1]));
    sums[c] = pairSums(low, wide.q[2 * c]) + pairSums(high, wide.q[2 * c + 1]);
    minSums[c] = int32_t(mins[2 * c]) * subBlockSum(x, 2 * c) +
                 int32_t(mins[2 * c + 1]) * subBlockSum(x, 2 * c + 1);
  }
}

// Q4_K repacked (q4_K_8x8, x86 repack.cpp): per super-block (gemv) or per
// 64 values (gemm) one exact integer sum of scale * w * x and one of
// min * bsum, each accumulated as fma(sum, d_w * d_x) and fma(sum,
// dmin_w * d_x); the result is the first accumulator minus the second.
// `rows` weight rows `rowBytes` apart, each its own accumulators: the
// activations are widened once per super-block for all of them.
template <int rows>
void repackedQ4_KRows(const uint8_t *row, int64_t rowBytes,
                      const DotBlockQ8_K *x, int64_t nBlocks, bool gemm,
                      float *y) {
  float acc[rows], accMin[rows];
  for (int r = 0; r < rows; ++r)
    acc[r] = accMin[r] = 0.0f;
  for (int64_t b = 0; b < nBlocks; ++b) {
    const WideQ8_K wide = widenQ8_K(x[b]);
    for (int r = 0; r < rows; ++r) {
      const uint8_t *block = row + r * rowBytes + b * 144;
      // The same super-block of the rows the next call reads (the matrix
      // is streamed once, row group after row group): its three cache
      // lines requested now, so that the loads of these rows do not wait.
      const uint8_t *ahead = block + rows * rowBytes;
      __builtin_prefetch(ahead);
      __builtin_prefetch(ahead + 64);
      __builtin_prefetch(ahead + 143);
      I32x16 sums[4];
      int32_t minSums[4];
      q4_KChunkSums(block, x[b], wide, sums, minSums);
      const float d = loadHalf(block) * x[b].d;
      const float dmin = loadHalf(block + 2) * x[b].d;
      if (gemm) {
        // One group per chunk of 64 values.
        for (int c = 0; c < 4; ++c) {
          acc[r] = fmaf(float(__builtin_reduce_add(sums[c])), d, acc[r]);
          accMin[r] = fmaf(float(minSums[c]), dmin, accMin[r]);
        }
      } else {
        const int32_t isum =
            __builtin_reduce_add((sums[0] + sums[1]) + (sums[2] + sums[3]));
        const int32_t minSum =
            (minSums[0] + minSums[1]) + (minSums[2] + minSums[3]);
        acc[r] = fmaf(float(isum), d, acc[r]);
        accMin[r] = fmaf(float(minSum), dmin, accMin[r]);
      }
    }
  }
  for (int r = 0; r < rows; ++r)
    y[r] = acc[r] - accMin[r];
}

/// The four sums of a, b, c and d (exact integers), reduced together: a
/// shuffle tree over all four instead of one per vector.
inline I32x4 reduceFour(I32x16 a, I32x16 b, I32x16 c, I32x16 d) {
  // Lanes 0..7 partial sums of a (of b in 8..15), then of c and d.
  const I32x16 ab = __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16,
                                            17, 18, 19, 20, 21, 22, 23) +
                    __builtin_shufflevector(a, b, 8, 9, 10, 11, 12, 13, 14, 15,
                                            24, 25, 26, 27, 28, 29, 30, 31);
  const I32x16 cd = __builtin_shufflevector(c, d, 0, 1, 2, 3, 4, 5, 6, 7, 16,
                                            17, 18, 19, 20, 21, 22, 23) +
                    __builtin_shufflevector(c, d, 8, 9, 10, 11, 12, 13, 14, 15,
                                            24, 25, 26, 27, 28, 29, 30, 31);
  // Four lanes each of a, b, c, d.
  const I32x16 all = __builtin_shufflevector(ab, cd, 0, 1, 2, 3, 8, 9, 10, 11,
                                             16, 17, 18, 19, 24, 25, 26, 27) +
                     __builtin_shufflevector(ab, cd, 4, 5, 6, 7, 12, 13, 14, 15,
                                             20, 21, 22, 23, 28, 29, 30, 31);
  const I32x8 pairs =
      __builtin_shufflevector(all, all, 0, 1, 4, 5, 8, 9, 12, 13) +
      __builtin_shufflevector(all, all, 2, 3, 6, 7, 10, 11, 14, 15);
  return __builtin_shufflevector(pairs, pairs, 0, 2, 4, 6) +
         __builtin_shufflevector(pairs, pairs, 1, 3, 5, 7);
}

/// One Q4_K super-block of a weight row decoded for products with many
/// activation rows: its weights times their sub-block's scale, widened to
/// 16 bits (vector i: sub-block i), its mins and its two F16 scales.
struct DecodedQ4_K {
  I16x32 scaled[8];
  int32_t mins[8];
  float d, dmin;
};

inline void decodeQ4_K(const uint8_t *block, DecodedQ4_K &out) {
  uint8_t scales[8], mins[8];
  for (int i = 0; i < 8; ++i) {
    scaleMinK4(i, block + 4, scales[i], mins[i]);
    out.mins[i] = mins[i];
  }
  for (int c = 0; c < 4; ++c) {
    const I16x32 q =
        __builtin_convertvector(loadU8x32(block + 16 + 32 * c), I16x32);
    out.scaled[2 * c] = (q & I16x32(0xF)) * I16x32(int16_t(scales[2 * c]));
    out.scaled[2 * c + 1] =
        (q >> I16x32(4)) * I16x32(int16_t(scales[2 * c + 1]));
  }
  out.d = loadHalf(block);
  out.dmin = loadHalf(block + 2);
}

/// repackedQ4_K for rows [0, rows) of a matrix (rows `rowBytes` apart)
/// times nTokens activation rows (`xBytes` apart), into y[t * yStride + r]:
/// tokens before `gemmTokens` summed as gemm, the rest as gemv (ggmlKernel).
/// Each super-block of a row is decoded once for all the tokens; every
/// result is repackedQ4_K's, bit for bit (the same integer sums, the same
/// float terms in the same order).
inline void repackedQ4_KTile(const uint8_t *row, int64_t rowBytes, int64_t rows,
                             const uint8_t *x, int64_t xBytes, int64_t nTokens,
                             int64_t gemmTokens, int64_t nBlocks, float *y,
                             int64_t yStride) {
  // Tokens per pass over the rows' super-blocks.
  constexpr int64_t kTokens = 8;
  for (int64_t t0 = 0; t0 < nTokens; t0 += kTokens) {
    const int64_t tn = nTokens - t0 < kTokens ? nTokens - t0 : kTokens;
    for (int64_t r = 0; r < rows; ++r) {
      float acc[kTokens] = {}, accMin[kTokens] = {};
      for (int64_t b = 0; b < nBlocks; ++b) {
        const uint8_t *block = row + r * rowBytes + b * 144;
        // The next row's super-block, as in repackedQ4_KRows.
        __builtin_prefetch(block + rowBytes);
        __builtin_prefetch(block + rowBytes + 64);
        __builtin_prefetch(block + rowBytes + 143);
        DecodedQ4_K w;
        decodeQ4_K(block, w);
        for (int64_t t = 0; t < tn; ++t) {
          const DotBlockQ8_K &xb =
              reinterpret_cast<const DotBlockQ8_K *>(x + (t0 + t) * xBytes)[b];
          I32x16 sums[4];
          int32_t minSums[4];
          for (int c = 0; c < 4; ++c) {
            sums[c] = pairSums(w.scaled[2 * c],
                               __builtin_convertvector(loadI8x32(xb.q + 64 * c),
                                                       I16x32)) +
                      pairSums(w.scaled[2 * c + 1],
                               __builtin_convertvector(
                                   loadI8x32(xb.q + 64 * c + 32), I16x32));
            minSums[c] = w.mins[2 * c] * subBlockSum(xb, 2 * c) +
                         w.mins[2 * c + 1] * subBlockSum(xb, 2 * c + 1);
          }
          const float d = w.d * xb.d, dmin = w.dmin * xb.d;
          if (t0 + t < gemmTokens) {
            const I32x4 isums = reduceFour(sums[0], sums[1], sums[2], sums[3]);
            for (int c = 0; c < 4; ++c) {
              acc[t] = fmaf(float(isums[c]), d, acc[t]);
              accMin[t] = fmaf(float(minSums[c]), dmin, accMin[t]);
            }
          } else {
            const int32_t isum =
                __builtin_reduce_add((sums[0] + sums[1]) + (sums[2] + sums[3]));
            const int32_t minSum =
                (minSums[0] + minSums[1]) + (minSums[2] + minSums[3]);
            acc[t] = fmaf(float(isum), d, acc[t]);
            accMin[t] = fmaf(float(minSum), dmin, accMin[t]);
          }
        }
      }
      for (int64_t t = 0; t < tn; ++t)
        y[(t0 + t) * yStride + r] = acc[t] - accMin[t];
    }
  }
}

inline float repackedQ4_K(const uint8_t *row, const DotBlockQ8_K *x,
                          int64_t nBlocks, bool gemm) {
  float y;
  repackedQ4_KRows<1>(row, 0, x, nBlocks, gemm, &y);
  return y;
}

// Q6_K as ggml_vec_dot_q6_K_q8_K (AVX2): the lanes of avx2Lanes over the
// unsigned 6-bit quants with the 16 signed scales, minus 32 * (scale *
// bsum) of the two 16-value groups 2l, 2l+1 in lane l; then as Q5_K. The
// lanes are exact integers, summed here as pairs of products (a quant
// times its scale fits 16 bits) and folded to avx2Lanes' eight at the end.

/// One Q6_K super-block decoded for products with many activation rows:
/// its quants times their scale in 16 bits (vector c: values 32c..32c+31),
/// its 16 scales and its F16 scale.
struct DecodedQ6_K {
  I16x32 scaled[8];
  int32_t scales[16];
  float d;
};

inline void decodeQ6_K(const uint8_t *block, DecodedQ6_K &out) {
  const uint8_t *ql = block;
  const uint8_t *qh = block + 128;
  const int8_t *scales = reinterpret_cast<const int8_t *>(block + 192);
  // Value 128h + 32k + l: low nibble (k < 2) or high nibble of
  // ql[64h + 32(k % 2) + l], high 2 bits at bit 2k of qh[32h + l].
  for (int c = 0; c < 8; ++c) {
    const int h = c / 4, k = c % 4;
    const U8x32 low = loadU8x32(ql + 64 * h + 32 * (k % 2));
    const U8x32 high = loadU8x32(qh + 32 * h);
    const U8x32 v = ((low >> U8x32(uint8_t(k < 2 ? 0 : 4))) & U8x32(0xF)) |
                    (((high >> U8x32(uint8_t(2 * k))) & U8x32(3)) << U8x32(4));
    const int16_t s0 = scales[2 * c], s1 = scales[2 * c + 1];
    const I16x32 scale = {s0, s0, s0, s0, s0, s0, s0, s0, s0, s0, s0,
                          s0, s0, s0, s0, s0, s1, s1, s1, s1, s1, s1,
                          s1, s1, s1, s1, s1, s1, s1, s1, s1, s1};
    out.scaled[c] = __builtin_convertvector(v, I16x32) * scale;
  }
  for (int i = 0; i < 16; ++i)
    out.scales[i] = scales[i];
  out.d = loadHalf(block + 208);
}

/// One super-block's eight float lanes added to acc: fma(d_x * d_w, lane).
inline void accumulateQ6_K(const DecodedQ6_K &w, const DotBlockQ8_K &x,
                           float acc[8]) {
  // Pair k of the 16 pair sums of a chunk of 32: values 2k, 2k + 1, so
  // avx2Lanes' lane l is pairs 2l and 2l + 1. Four partial sums (chunks
  // c % 4), so that the products do not wait on one another.
  I32x16 partial[4] = {0, 0, 0, 0};
  for (int c = 0; c < 8; ++c)
    partial[c % 4] += pairSums(
        w.scaled[c], __builtin_convertvector(loadI8x32(x.q + 32 * c), I16x32));
  const I32x16 pairs = (partial[0] + partial[1]) + (partial[2] + partial[3]);
  const I32x8 quads =
      __builtin_shufflevector(pairs, pairs, 0, 2, 4, 6, 8, 10, 12, 14) +
      __builtin_shufflevector(pairs, pairs, 1, 3, 5, 7, 9, 11, 13, 15);
  const float d = x.d * w.d;
  for (int l = 0; l < 8; ++l) {
    const int32_t lane =
        quads[l] - 32 * (int32_t(x.bsums[2 * l]) * w.scales[2 * l] +
                         int32_t(x.bsums[2 * l + 1]) * w.scales[2 * l + 1]);
    acc[l] = fmaf(d, float(lane), acc[l]);
  }
}

inline float dotQ6_K(const uint8_t *row, const DotBlockQ8_K *x,
                     int64_t nBlocks) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t b = 0; b < nBlocks; ++b, row += 210) {
    DecodedQ6_K w;
    decodeQ6_K(row, w);
    accumulateQ6_K(w, x[b], acc);
  }
  return reduce8(acc);
}

/// dotQ6_K for rows [0, rows) (`rowBytes` apart) times nTokens activation
/// rows (`xBytes` apart), into y[t * yStride + r]: each super-block of a
/// row decoded once for several tokens; every result dotQ6_K's, bit for
/// bit.
inline void dotQ6_KTile(const uint8_t *row, int64_t rowBytes, int64_t rows,
                        const uint8_t *x, int64_t xBytes, int64_t nTokens,
                        int64_t nBlocks, float *y, int64_t yStride) {
  constexpr int64_t kTokens = 8;
  for (int64_t t0 = 0; t0 < nTokens; t0 += kTokens) {
    const int64_t tn = nTokens - t0 < kTokens ? nTokens - t0 : kTokens;
    for (int64_t r = 0; r < rows; ++r) {
      float acc[kTokens][8] = {};
      for (int64_t b = 0; b < nBlocks; ++b) {
        const uint8_t *block = row + r * rowBytes + b * 210;
        __builtin_prefetch(block + rowBytes);
        __builtin_prefetch(block + rowBytes + 64);
        __builtin_prefetch(block + rowBytes + 128);
        __builtin_prefetch(block + rowBytes + 209);
        DecodedQ6_K w;
        decodeQ6_K(block, w);
        for (int64_t t = 0; t < tn; ++t)
          accumulateQ6_K(
              w,
              reinterpret_cast<const DotBlockQ8_K *>(x + (t0 + t) * xBytes)[b],
              acc[t]);
      }
      for (int64_t t = 0; t < tn; ++t)
        y[(t0 + t) * yStride + r] = reduce8(acc[t]);
    }
  }
}

// IQ4_XS as ggml_vec_dot_iq4_xs_q8_K (AVX2): avx2Lanes over the IQ4_NL
// values with the 6-bit scales (minus 32) of each 32 values, then eight
// float lanes of fma(d_w * d_x, lane), reduced as reduce8.
inline float dotIQ4_XS(const uint8_t *row, const DotBlockQ8_K *x,
                       int64_t nBlocks) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int8_t quants[256];
  int32_t scales16[16], lanes[8];
  for (int64_t b = 0; b < nBlocks; ++b, row += 136) {
    const uint16_t scalesHigh = loadU16(row + 2);
    const uint8_t *scalesLow = row + 4;
    const uint8_t *qs = row + 8;
    for (int ib = 0; ib < 8; ++ib, qs += 16) {
      const int ls = ((scalesLow[ib / 2] >> (4 * (ib % 2))) & 0xF) |
                     (((scalesHigh >> (2 * ib)) & 3) << 4);
      for (int j = 0; j < 16; ++j) {
        quants[32 * ib + j] = kIQ4NLValues[qs[j] & 0xF];
        quants[32 * ib + j + 16] = kIQ4NLValues[qs[j] >> 4];
      }
      scales16[2 * ib] = scales16[2 * ib + 1] = ls - 32;
    }
    avx2Lanes(quants, scales16, x[b], lanes);
    const float d = loadHalf(row) * x[b].d;
    for (int l = 0; l < 8; ++l)
      acc[l] = fmaf(d, float(lanes[l]), acc[l]);
  }
  return reduce8(acc);
}

} // namespace dot_detail

/// The dot product of one weight row of `n` values of `weightType` (raw
/// ggml blocks, hasQuantizedDot) with activations rounded to its
/// vec_dot_type (`x`: quantizeDotActivations' blocks), summed as `kernel`
/// sums it (the Repacked kernels apply to Q4_K, Q2_K and IQ4_NL only;
/// other types ignore it).
inline float quantizedDot(Type weightType, const uint8_t *row, const void *x,
                          int64_t n, DotKernel kernel = DotKernel::VecDot) {
  using namespace dot_detail;
  const auto *x8_0 = static_cast<const DotBlockQ8_0 *>(x);
  const auto *x8_1 = static_cast<const DotBlockQ8_1 *>(x);
  const auto *x8_K = static_cast<const DotBlockQ8_K *>(x);
  switch (weightType) {
  case Type::Q8_0:
    return dotQ8_0(row, x8_0, n / 32);
  case Type::Q4_0:
    return dotQ4_0(row, x8_0, n / 32);
  case Type::Q4_1:
    return dotQ4_1(row, x8_1, n / 32);
  case Type::Q5_0:
    return dotQ5</*withMin=*/false>(row, x8_0, n / 32);
  case Type::Q5_1:
    return dotQ5</*withMin=*/true>(row, x8_1, n / 32);
  case Type::IQ4_NL:
    return dotIQ4_NL(row, x8_0, n / 32, kernel != DotKernel::VecDot);
  case Type::Q2_K:
    if (kernel != DotKernel::VecDot)
      return repackedQ2_K(row, x8_K, n / 256,
                          kernel == DotKernel::RepackedGemm);
    return dotQ2_K(row, x8_K, n / 256);
  case Type::Q3_K:
    return dotQ3_K(row, x8_K, n / 256);
  case Type::Q4_K:
    if (kernel != DotKernel::VecDot)
      return repackedQ4_K(row, x8_K, n / 256,
                          kernel == DotKernel::RepackedGemm);
    return vecDotQ45_K</*five=*/false>(row, x8_K, n / 256);
  case Type::Q5_K:
    return vecDotQ45_K</*five=*/true>(row, x8_K, n / 256);
  case Type::Q6_K:
    return dotQ6_K(row, x8_K, n / 256);
  case Type::IQ4_XS:
    return dotIQ4_XS(row, x8_K, n / 256);
  default:
    return 0.0f;
  }
}

/// Rows [begin, end) of a matrix of GGUF rows `rowBytes` apart (weights of
/// `weightType`, n values each) times one activation row `x`, into y[r]:
/// each y[r] is quantizedDot's for that row, bit for bit; rows that share
/// one pass over the activations where the type's code allows it.
inline void quantizedDotRows(Type weightType, const uint8_t *matrix,
                             int64_t rowBytes, int64_t begin, int64_t end,
                             const void *x, int64_t n, DotKernel kernel,
                             float *y) {
  using namespace dot_detail;
  int64_t r = begin;
  if (weightType == Type::Q4_K && kernel != DotKernel::VecDot) {
    const auto *x8_K = static_cast<const DotBlockQ8_K *>(x);
    const bool gemm = kernel == DotKernel::RepackedGemm;
    constexpr int kRows = 4;
    for (; r + kRows <= end; r += kRows)
      repackedQ4_KRows<kRows>(matrix + r * rowBytes, rowBytes, x8_K, n / 256,
                              gemm, y + r);
  }
  for (; r < end; ++r)
    y[r] = quantizedDot(weightType, matrix + r * rowBytes, x, n, kernel);
}

/// Rows [begin, end) of a matrix of `matrixRows` GGUF rows `rowBytes`
/// apart times the nTokens activation rows of a batch (`xBytes` apart),
/// into y[t * yStride + r], each product summed by the kernel ggml runs for
/// its token (ggmlKernel; with `oneRowEach`, the tokens of an expert's
/// bucket, gemv for all, as mul_mat_id): quantizedDotRows' results token
/// by token, bit for bit; repacked Q4_K and Q6_K decode each weight
/// super-block once for several tokens.
inline void quantizedDotBatch(Type weightType, const uint8_t *matrix,
                              int64_t rowBytes, int64_t matrixRows,
                              int64_t begin, int64_t end, const uint8_t *x,
                              int64_t xBytes, int64_t nTokens, bool oneRowEach,
                              int64_t n, float *y, int64_t yStride) {
  if (weightType == Type::Q4_K && nTokens > 1 &&
      ggmlKernel(weightType, matrixRows, 0, 1) != DotKernel::VecDot) {
    // Gemm over the leading whole groups of four tokens.
    const int64_t gemmTokens =
        oneRowEach || nTokens < 4 ? 0 : nTokens - nTokens % 4;
    dot_detail::repackedQ4_KTile(matrix + begin * rowBytes, rowBytes,
                                 end - begin, x, xBytes, nTokens, gemmTokens,
                                 n / 256, y + begin, yStride);
    return;
  }
  if (weightType == Type::Q6_K && nTokens > 1) {
    dot_detail::dotQ6_KTile(matrix + begin * rowBytes, rowBytes, end - begin, x,
                            xBytes, nTokens, n / 256, y + begin, yStride);
    return;
  }
  for (int64_t t = 0; t < nTokens; ++t)
    quantizedDotRows(
        weightType, matrix, rowBytes, begin, end, x + t * xBytes, n,
        oneRowEach ? ggmlKernel(weightType, matrixRows, 0, 1)
                   : ggmlKernel(weightType, matrixRows, t, nTokens),
        y + t * yStride);
}

} // namespace ingot::ggml

#pragma clang diagnostic pop

#endif // INGOT_GGML_GGMLDOT_H
