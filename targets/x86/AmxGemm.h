//===- AmxGemm.h - AMX-INT8 prefill matmul generator -------------*- C++-*-===//
//
// Ahead-of-time generator (xbyak) of a Q8_0 / Q4_0 matmul kernel that
// multiplies on the AMX tile unit. It reads the AVX512VNNI packed layout and
// activation layout (Kernels.h) unchanged and has the matmul ABI of
// Kernels.h:
//
//   void k(const void *packedW, const void *act, float *y, int64_t nTokens,
//          int64_t rowBegin, int64_t rowEnd);
//
// Why the layouts fit: one packed chunk (16 rows x 4 consecutive k, weights
// stored +128) is one 64-byte row of an AMX B tile in VNNI order, so the 8
// chunks of a 32-block are a B tile of 8 rows read by tileloadd at stride
// 64; 16 tokens x the block's 32 activation quants are an A tile read at
// the activation stride. Q4_0 chunks hold two elements per byte: the kernel
// unpacks them to the same B tile (signed, nibble - 8) on the stack.
//
// Numerics (per token t, row r, block b, in block order):
//   isum = sum_k x_q[t][k] * w_q[r][k]   (exact int32: for Q8_0 tdpbsud of x
//          against w + 128, plus tdpbssd of x against a constant tile of
//          -128 bytes; for Q4_0 tdpbssd against the unpacked w)
//   acc  = fma(float(isum), d_w[r][b] * d_x[t][b], acc)
// i.e. an exact integer dot per block and one fp32 multiply-add per block
// and row, starting from acc = 0: KernelNumerics::BlockOrder of Kernels.h.
// For Q8_0 it is not ggml's per-chunk order, so results differ from
// ingot::interp by rounding only; for Q4_0 it is ggml's order.
//
// Tokens: the kernel walks 16-token tiles; the last nTokens % 16 tokens run
// on tiles configured for that many rows (one configuration per count, in a
// table after the code), so any nTokens >= 1 is computed here. Given a
// small-batch kernel (the AVX512VNNI one of the same shape), the generated
// function first sends nTokens < amxMinTokens to it: one symbol per matmul,
// AMX for prefill.
//
// The process must have been granted the AMX tile data state
// (arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)) before the kernel
// runs, or the first tile instruction faults; the runtime requests it at
// start when the model's required features name amx-int8.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_TARGETS_X86_AMXGEMM_H
#define INGOT_TARGETS_X86_AMXGEMM_H

#include "targets/x86/Kernels.h"

namespace ingot::targets {

/// Tokens from which a combined kernel takes the AMX path. Measured on a
/// 4096x4096 matmul (Sapphire Rapids, one thread, weights in L3): AMX takes
/// 0.74 ms for 2, 4 or 8 tokens (a partial tile costs about a full one), the
/// AVX512VNNI kernel 0.61, 1.24 and 2.6 ms; 8 leaves margin for faster
/// vector kernels.
constexpr int64_t amxMinTokens = 8;

/// Whether an AMX kernel exists for this weight type (Q8_0 and Q4_0).
bool isAmxWeightType(WeightType type);

/// The AMX matmul kernel for one Q8_0 or Q4_0 weight shape, reading the
/// AVX512VNNI
/// packed layout. With `smallBatch` (a kernel of the same ABI and layout,
/// e.g. generateMatmul(..., ISA::AVX512VNNI, ...)), its bytes are appended
/// and calls with nTokens < amxMinTokens go to it.
GenerateResult generateAmxMatmul(WeightType type, MatmulShape shape,
                                 const std::string &name,
                                 const GeneratedKernel *smallBatch = nullptr);

} // namespace ingot::targets

#endif // INGOT_TARGETS_X86_AMXGEMM_H
