//===- Kernels.h - x86 matmul / MoE expert kernel generators -----*- C++
//-*-===//
//
// Ahead-of-time generators (xbyak) of the weight-streaming kernels of a model
// for one x86 ISA, and the packing of ggml weights into the layout those
// kernels read. The compiler runs the generators at compile time and writes
// GeneratedKernel::code into the model's object file as a function named
// GeneratedKernel::name; the code is position independent (RIP-relative
// labels only, no absolute addresses, no relocations).
//
// Kernel ABI (System V x86-64, extern "C"):
//
//   matmul:
//     void k(const void *packedW, const void *act, float *y, int64_t nTokens,
//            int64_t rowBegin, int64_t rowEnd);
//   y[t * N + r] = sum_k W[r][k] * x_t[k] for r in [rowBegin, rowEnd) and
//   t < nTokens. Activations of token t start at act + t *
//   activationBytesPerToken(type, K). rowBegin and rowEnd are multiples of
//   rowGranule(type, isa), except rowEnd == N.
//
//   expert matmul (MoE, one token per id):
//     void k(const void *packedStack, int64_t expertStrideBytes,
//            const int32_t *expertIds, int64_t nIds, const void *act,
//            int64_t actStrideBytes, float *y, int64_t rowBegin,
//            int64_t rowEnd);
//   y[j * N + r] = W_{ids[j]}[r] . x_j, where W_e is packed at packedStack +
//   e * expertStrideBytes and x_j at act + j * actStrideBytes (0: the same
//   input for every id).
//
// Packed layouts (G = rowGranule: 16 for AVX512VNNI, 8 for AVX2 and AVXVNNI,
// which read the same bytes; rows are
// padded with zero weights up to a multiple of G; group g holds rows
// [g*G, g*G+G) and starts at g * packedGroupBytes):
//   Q8_0: per 32-block b of K: 8 chunks of G x 4 bytes (chunk c = bytes
//         4c..4c+3 of each row's block, row after row), then G f16 scales.
//         AVX512VNNI stores the bytes offset by +128 (unsigned, q ^ 0x80).
//         = G * 34 bytes per block.
//   Q4_0: per 32-block: 4 chunks of G x 4 bytes (chunk c = bytes qs[4c..4c+3]
//         of each row: low nibbles are elements 4c.., high nibbles 16+4c..),
//         then G f16 scales. = G * 18 bytes per block.
//   Q4_K: per 256-super-block: its 8 sub-blocks of 32 (elements 32s..) in
//         Q4_0's chunk layout (4 chunks of G x 4 bytes each; ggml's qs, where
//         sub-blocks 2j and 2j+1 share bytes as low and high nibbles, is
//         reordered at pack time), then a header: G f16 d, G f16 dmin, per
//         sub-block G u8 scales, per sub-block G u8 mins (the 6-bit values
//         of ggml's 12 packed bytes, unpacked). = G * 148 bytes per
//         super-block, 4.625 bits per weight (ggml's 144 bytes: 4.5). The
//         kernels form d * sc and dmin * m in registers (both exact in
//         float); keeping them as f32 per sub-block would cost 6 bits per
//         weight, a third more to stream in decode.
//   Q6_K: per 256-super-block: per 16-value sub-block s (elements 16s..,
//         ggml's 6-bit q in 0..63, weight d * sc_s * (q - 32)) three chunks
//         of G x 4 bytes: chunk 0 byte b of a row holds the low 4 bits of
//         v_b (low nibble) and v_{8+b} (high nibble), chunk 1 those of
//         v_{4+b} and v_{12+b}, chunk 2 the high 2 bits of v_b, v_{4+b},
//         v_{8+b} and v_{12+b} at bits 0-1, 2-3, 4-5, 6-7 (v_e = q of
//         element 16s + e); then a header: G f32 d (ggml's f16, widened:
//         exact), per sub-block G i8 scales. = G * 212 bytes per
//         super-block, 6.625 bits per weight (ggml's 210 bytes: 6.5625;
//         the f32 d makes a 16-row group's super-block whole 64-byte lines;
//         Q8_0, which Q6_K was converted to before: 8.5). The kernels form
//         each 4-value operand q (bits 0-5 of a byte) in registers with
//         shifts and masks (AVX-512: one vpternlogd select) and read it
//         unsigned in vpdpbusd.
//   F32 / F16: per k, the G values of the group's rows (k-major). F32: no
//         kernel is generated: the op library computes these products in
//         ggml's F32 order (targets/oplib), reading this layout; F16 too in
//         models that keep ggml's order.
//   BF16: per pair of k (2p, 2p+1), one dword per row of the group: the
//         bf16 of k = 2p low, of 2p+1 high (zero past an odd K); = G * 4
//         bytes per pair. vdpbf16ps reads it as is; widened, the high half
//         masked is the odd value and the low half shifted left 16 the even
//         one, no shuffles. (The op library's plain path for models that
//         keep ggml's order reads it too.)
//
// Activation layout per token (ggml::activationRowBytes; the op library's
// ingot_op_prepare_activations writes it): Q8_0 / Q4_0 / Q4_K / Q6_K
// weights (ggml::readsQ8Activations): K int8 quants, then K/32 f32 scales.
// Q8_0 / Q4_0: blocks of 32 rounded as ggml's x86 quantize_row_q8_0. Q4_K /
// Q6_K: blocks of 256 rounded as ggml's quantize_row_q8_K, the vec_dot_type
// ggml uses for them (ggml::kernelActivationBlock), each block's scale
// written into its 8 slots, so the kernels read the quants ggml reads and
// may take a super-block's d_x from any of its slots. F16 weights: K
// floats already rounded to f16; BF16 weights: K floats already rounded to
// bf16, then the same values as bf16, padded with a zero to an even count
// (the pairs vdpbf16ps broadcasts); F32 weights: K floats.
//
// Numerics of F16 / BF16 kernels (HalfKernels.cpp; faster than ggml's
// order, within float rounding of it): per row and token one f32 sum from
// 0, F16 sum = fma(w_k, x_k, sum) k after k; BF16, pair after pair,
// sum = fma(w_2p+1, x_2p+1, sum) then sum = fma(w_2p, x_2p, sum) (the
// products of two bf16 are exact in f32; vdpbf16ps adds them in this order,
// flushing subnormal inputs and results to zero).
//
// Numerics (KernelNumerics::BlockOrder, the default; Q8_0 and Q4_0 alike):
// per row, token and 32-block b, the exact int32 dot isum_b of the weight and
// activation quants, then one
//   sum = fma(float(isum_b), d_w * d_x, sum)    (d_w * d_x rounded to float)
// block after block from sum = 0. For Q4_0 this is ggml's x86 order, so the
// kernels are bit-identical with ingot::interp. For Q8_0 ggml keeps one
// float sum per 4-byte chunk and combines them at the end; these kernels do
// not (8x fewer conversions and fmas), so they differ from ingot::interp by
// float rounding only: the kernel tests check them bit for bit against this
// block order and within a rounding bound against ingot::interp.
// Q4_K (block order only): per row, token and sub-block b (32 values) of
// each super-block, the exact int32 dot isum_b of the nibbles (0..15) with
// the activation quants, and two fmas:
//   sum = fma(float(isum_b), (d * sc_b) * d_x, sum)
//   sum = fma(-(dmin * m_b), d_x * float(sum of the block's x quants), sum)
// (d * sc_b and dmin * m_b are exact; each other product is rounded to
// float), sub-block after sub-block from sum = 0. This is the exact dot of
// ggml's dequantized weights (d * sc * q - dmin * m) with the Q8_K-rounded
// activations up to float rounding; the kernel tests check it bit for bit
// and within a rounding bound of that exact dot.
// Q4_K on AVX2 (not AVX-VNNI; the folded order): per super-block, the min
// fmas of its sub-blocks as above, sub-block after sub-block, then one
//   sum = fma(float(sum over b of sc_b * isum_b), d * d_x, sum)
// (the int32 sum is exact; d * d_x is rounded to float): the scales are
// folded into the integer sums (vpmaddwd), which the one d_x of a Q8_K
// super-block allows, instead of a float fma per sub-block; checked as the
// block order.
// Q6_K (block order only): per row, token and 16-value sub-block s of each
// super-block, the exact int32 dot isum_s of the integers q - 32 with the
// activation quants (the kernels sum q * x with vpdpbusd from
// -32 * sum(x quants of the sub-block), a per-token table), then
//   sum = fma(float(isum_s), (d * sc_s) * d_x, sum)
// (d * sc_s, an f16 value times an int8, is exact; the product with d_x of
// the sub-block's 32-block is rounded to float), sub-block after sub-block
// from sum = 0: the exact dot of ggml's dequantized weights with the
// Q8_K-rounded activations up to float rounding, checked by the kernel
// tests as Q4_K's.
// Q6_K on AVX2 (not AVX-VNNI; the folded order): per super-block, one
//   sum = fma(float(sum over s of sc_s * isum_s), d * d_x, sum)
// (the int32 sum is exact; d * d_x is rounded to float).
// KernelNumerics::GgmlOrder gives Q4_K and Q6_K kernels these orders too:
// their integer sums are ggml's (the same Q8_K quants), only the float
// order differs.
// KernelNumerics::GgmlOrder (Q8_0 only; Q4_0 is the same either way): ggml's
// order, bit-identical with ingot::interp: exact int32 sums of 4 products
// (chunk c = elements 4c..4c+3), one float sum per chunk acc_c =
// fma(float(isum_c), d_w * d_x, acc_c), combined as ((acc0+acc4) +
// (acc2+acc6)) + ((acc1+acc5) + (acc3+acc7)); fewer tokens per tile.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_TARGETS_X86_KERNELS_H
#define INGOT_TARGETS_X86_KERNELS_H

#include "compiler/ggml/GGMLTypes.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ingot::targets {

/// AVX512VNNI = avx512f/bw/vl + avx512_vnni (zmm code);
/// AVXVNNI = avx2 + fma + f16c + avx_vnni (VEX ymm code only, no EVEX:
/// vpdpbusd in its VEX form, for CPUs with AVX-VNNI but no AVX-512);
/// AVX2 = avx2 + fma + f16c (VEX ymm code only, no EVEX).
enum class ISA { AVX2, AVXVNNI, AVX512VNNI };

/// The ggml type of a packed weight: F32, F16, BF16, Q8_0, Q4_0, Q4_K or
/// Q6_K (ggml::isKernelWeightType).
using WeightType = ggml::Type;

struct MatmulShape {
  int64_t rows; ///< N, out features
  int64_t cols; ///< K, in features
};

const char *isaName(ISA isa);

/// Whether packWeights (and, for the quantized types, the generators)
/// support this type and shape: a kernel weight type, N >= 1, K >= 1, K a
/// multiple of the block (32 for Q8_0 / Q4_0, 256 for Q4_K / Q6_K) for the
/// quantized types.
bool isSupportedShape(WeightType type, MatmulShape shape);

/// Rows per packed group; row ranges given to the kernels start (and end,
/// unless at N) at multiples of it.
int64_t rowGranule(WeightType type, ISA isa);

/// Bytes of one packed group of rowGranule rows.
uint64_t packedGroupBytes(WeightType type, MatmulShape shape, ISA isa);

/// Bytes of the packed weight (whole groups; also the expert stride when
/// experts are packed back to back).
uint64_t packedWeightBytes(WeightType type, MatmulShape shape, ISA isa);

/// Packs ggml-layout rows (N rows of K values of `type`, contiguous) into the
/// kernel's layout; `packed` must have packedWeightBytes bytes. False, with
/// nothing written, when !isSupportedShape(type, shape).
[[nodiscard]] bool packWeights(WeightType type, MatmulShape shape, ISA isa,
                               const uint8_t *source, uint8_t *packed);

/// Bytes of one token's activations as the kernels read them.
inline uint64_t activationBytesPerToken(WeightType type, int64_t K) {
  return uint64_t(ggml::activationRowBytes(type, K));
}

/// The order in which a kernel sums (see Numerics above).
enum class KernelNumerics { BlockOrder, GgmlOrder };

/// Tokens a matmul kernel (Q8_0 / Q4_0 / Q4_K / Q6_K) processes per pass over
/// the weights (AVX-512: 6, Q6_K 12; AVX2 and AVX-VNNI: 3, AVX2 Q4_K 5).
int64_t tokenTile(WeightType type, ISA isa,
                  KernelNumerics numerics = KernelNumerics::BlockOrder);

struct GeneratedKernel {
  std::string name;
  std::vector<uint8_t> code; ///< instructions, then constant tables
  uint64_t textBytes = 0;    ///< bytes of instructions at the start of code
};

/// A generator's outcome: the kernel, or why there is none.
struct GenerateResult {
  GeneratedKernel kernel;
  std::string error; ///< empty on success

  explicit operator bool() const { return error.empty(); }
};

/// What the generators take from the target description, as plain numbers
/// (this library does not see compiler/target; the compiler fills it in).
struct KernelTargetFacts {
  /// L1 data cache per core, bytes. The default is the smallest L1d of the
  /// x86-64 cores with AVX2 (Haswell to Zen 4, Gracemont: 32 KiB).
  int64_t l1dBytes = 32 * 1024;
  /// Whether the target has avx512_bf16 (the one-token passes of AVX512VNNI
  /// kernels of BF16 weights then use vdpbf16ps; batches, and every pass
  /// without it, widen to f32 and fma: the same sums).
  bool avx512Bf16 = false;
};

/// Packed units (32-blocks; Q4_K / Q6_K: 256-super-blocks) ahead that one-token
/// passes (decode, experts) prefetch the weights: the largest power of two
/// whose window, that many units of the pass's groups, fits in half the L1d;
/// at least 1. The prefetches fill the L2 (prefetcht1), not the L1: a t0
/// prefetch holds one of the L1's few miss buffers until its line arrives,
/// so the pass's own loads queue behind it. Measured on Zen 4 (2 threads
/// streaming 4 groups a pass): a read loop ran 25.5 GB/s with t0, 28.5 with
/// no prefetch and 31 with t1 (medians of 21); the qwen3moe bench decode
/// 46.2 t/s with t0 at a quarter of the L1d, 53.0 with t1 at a quarter, 54.2
/// at half, 53.2 at the whole and 52.0 at twice it (medians of 10).
int64_t prefetchBlocksAhead(WeightType type, ISA isa,
                            const KernelTargetFacts &facts);

/// The matmul kernel for one weight shape (see the ABI above); Q8_0, Q4_0,
/// Q4_K and Q6_K (in block order only), F16 and BF16 weights (`numerics`
/// does not apply to the last two).
GenerateResult
generateMatmul(WeightType type, MatmulShape shape, ISA isa,
               const std::string &name,
               KernelNumerics numerics = KernelNumerics::BlockOrder,
               const KernelTargetFacts &facts = {});

/// The MoE expert kernel for one expert shape (see the ABI above); Q8_0,
/// Q4_0, Q4_K and Q6_K weights only (Q4_K and Q6_K in block order only).
GenerateResult
generateExpertMatmul(WeightType type, MatmulShape shape, ISA isa,
                     const std::string &name,
                     KernelNumerics numerics = KernelNumerics::BlockOrder,
                     const KernelTargetFacts &facts = {});

} // namespace ingot::targets

#endif // INGOT_TARGETS_X86_KERNELS_H
