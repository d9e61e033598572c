//===- GGMLArithmetic.h - ggml's F32 arithmetic, lane by lane ---*- C++ -*-===//
//
// The summation orders and the exp approximation of ggml's x86 AVX-512
// build, in scalar form, so that the interpreter and the op library (which
// runs inside every emitted binary) reproduce ggml bit for bit. Header only
// and free of LLVM; every multiply-add is an explicit fma and no expression
// here has one for the compiler to contract, so the result does not depend
// on the includer's -ffp-contract.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_GGML_GGMLARITHMETIC_H
#define INGOT_GGML_GGMLARITHMETIC_H

#include <math.h>
#include <stdint.h>
#include <string.h>

namespace ingot::ggml {

/// Floats in one AVX-512 register.
constexpr int kLanes = 16;

/// _mm512_reduce_add_ps: halves are added pairwise (lane i + lane i+8, then
/// i + i+4, i + i+2, i + i+1). T: float, or a vector of independent such
/// sums (the op library's value tiles) added element by element.
template <typename T> inline T reduceLanes(const T *v) {
  T t[8];
  for (int i = 0; i < 8; ++i)
    t[i] = v[i] + v[i + 8];
  T s[4];
  for (int i = 0; i < 4; ++i)
    s[i] = t[i] + t[i + 4];
  return (s[0] + s[2]) + (s[1] + s[3]);
}

/// ggml_vec_dot_f32's four accumulators of kLanes lanes, acc[j][l], to one
/// float: (acc0 + acc2) + (acc1 + acc3) per lane, then the lanes.
inline float reduceVecDotAccumulators(const float (*acc)[kLanes]) {
  float lanes[kLanes];
  for (int l = 0; l < kLanes; ++l)
    lanes[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
  return reduceLanes(lanes);
}

/// ggml_vec_dot_f32: 4 accumulators of 16 lanes over blocks of 64 (fma),
/// reduced as above, then the tail (n % 64) added sequentially in float.
/// The accumulators are one flat array of 64 slots (slot = 16 * accumulator
/// + lane): the same sums as acc[4][16], but a single loop the optimizer
/// vectorizes; the nested form ran the attention scores 3x slower.
inline float vecDotF32(const float *x, const float *y, int64_t n) {
  constexpr int kSlots = 4 * kLanes;
  const int64_t np = n & ~int64_t(kSlots - 1);
  float acc[kSlots] = {};
  for (int64_t i = 0; i < np; i += kSlots)
    for (int s = 0; s < kSlots; ++s)
      acc[s] = fmaf(x[i + s], y[i + s], acc[s]);
  float sum =
      reduceVecDotAccumulators(reinterpret_cast<const float (*)[kLanes]>(acc));
  for (int64_t i = np; i < n; ++i)
    sum = fmaf(x[i], y[i], sum);
  return sum;
}

/// llamafile's tinyBLAS (F32, AVX-512): one 16-lane fma accumulator over the
/// row (n a multiple of 16), reduced over the lanes.
inline float sgemmDotF32(const float *x, const float *y, int64_t n) {
  float acc[kLanes] = {};
  for (int64_t i = 0; i < n; i += kLanes)
    for (int l = 0; l < kLanes; ++l)
      acc[l] = fmaf(x[i + l], y[i + l], acc[l]);
  return reduceLanes(acc);
}

/// Whether llama.cpp computes an F32 x F32 product of an m x k weight with n
/// contiguous activation rows through tinyBLAS (else ggml_vec_dot_f32):
/// ggml_compute_forward_mul_mat tries llamafile_sgemm first, which on
/// AVX-512 declines single-column products (n < 2), k not a multiple of 16
/// and m not a multiple of 4.
inline bool useSgemmF32(int64_t m, int64_t n, int64_t k) {
  return n >= 2 && k % kLanes == 0 && m % 4 == 0;
}

/// 2^k as a float, for k in [-126, 127] (a normal number).
inline float powerOfTwo(int k) {
  const uint32_t bits = uint32_t(k + 127) << 23;
  float value;
  memcpy(&value, &bits, sizeof value);
  return value;
}

/// ggml_v_expf (AVX-512 variant) in scalar form: x = n ln2 + b with n
/// rounded through the 1.5 * 2^23 shift, a degree-5 polynomial j in b, then
/// j * 2^n correctly rounded (as ggml's scalef and ldexpf); |n| > 192
/// saturates to 0 or infinity. Without branches or calls, so that loops
/// over it vectorize in the op library: j * 2^n is two products by normal
/// powers of two, 2^e1 (e1 = floor(n / 2)) first, which keeps j * 2^e1
/// normal and so exact, then 2^(n - e1), which rounds once (the same bits as
/// ldexpf for every float x, checked over all 2^32).
inline float vExpf(float x) {
  const float shift = 0x1.8p23f;
  const float z = fmaf(x, 0x1.715476p+0f, shift);
  const float n = z - shift;
  const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
  const float u = b * b;
  const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                            fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                       u, fmaf(0x1.ffffecp-1f, b, 1.0f));
  const int e = (int)fminf(fmaxf(n, -192.0f), 192.0f);
  const int e1 = e >> 1;
  const float scaled = j * powerOfTwo(e1) * powerOfTwo(e - e1);
  const float saturated = n <= 0.0f ? 0.0f : INFINITY;
  return fabsf(n) > 192.0f ? saturated : scaled;
}

} // namespace ingot::ggml

#endif // INGOT_GGML_GGMLARITHMETIC_H
