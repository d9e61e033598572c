//===- MoEBatchLayout.h - Scratch of the bucketed MoE expert path -*- C++ -*-=//
//
// Where ingot_op_moe_experts keeps its buffers when it runs a batch of
// tokens bucketed by expert (one GEMM per expert over the tokens that chose
// it). The op library carves its scratch with this layout and the memory
// planner sizes the scratch with it, so the two cannot drift apart. `Size`
// is int64_t in the op library and the planner's overflow-checked size type;
// both provide alignUp64 (found by argument-dependent lookup).
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_OPLIB_MOEBATCHLAYOUT_H
#define INGOT_OPLIB_MOEBATCHLAYOUT_H

#include <stdint.h>

namespace ingot::oplib {

inline int64_t alignUp64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

/// Byte offsets of the buffers for `tokens` tokens choosing `used` experts
/// each (P = tokens * used (token, slot) pairs), each buffer 64-byte
/// aligned. Pairs are stored in bucket order (by expert, then by pair).
template <typename Size> struct MoEBatchLayout {
  Size pairOrder;         ///< P int32: the pair (t * used + slot) at a place
  Size pairPlace;         ///< P int32: the place of pair t * used + slot
  Size tokenActivations;  ///< tokens rows of x prepared for gate / up
  Size pairActivations;   ///< P rows: the token row of each place, gathered
  Size gate, up;          ///< P x ffn floats each (gate becomes the SwiGLU)
  Size hiddenActivations; ///< P rows of the SwiGLU prepared for down
  Size down;              ///< P x dim floats
  Size total;

  /// xActBytes, hActBytes: one prepared row of x (dim) and of the SwiGLU
  /// output (ffn) for the kernels' weight types.
  MoEBatchLayout(Size tokens, Size used, Size dim, Size ffn, Size xActBytes,
                 Size hActBytes) {
    const Size pairs = tokens * used, f32 = Size(4);
    Size next = Size(0);
    auto take = [&](Size bytes) {
      Size at = next;
      next = alignUp64(at + bytes);
      return at;
    };
    pairOrder = take(pairs * Size(4));
    pairPlace = take(pairs * Size(4));
    tokenActivations = take(tokens * xActBytes);
    pairActivations = take(pairs * xActBytes);
    gate = take(pairs * ffn * f32);
    up = take(pairs * ffn * f32);
    hiddenActivations = take(pairs * hActBytes);
    down = take(pairs * dim * f32);
    total = next;
  }
};

} // namespace ingot::oplib

#endif // INGOT_OPLIB_MOEBATCHLAYOUT_H
