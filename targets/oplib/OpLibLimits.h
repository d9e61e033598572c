//===- OpLibLimits.h - Fixed bounds of the op library -----------*- C++ -*-===//
//
// The op library allocates nothing: the few per-row buffers it needs live on
// the stack with these fixed sizes. The ingot dialect's verifiers refuse any
// op beyond them, so a model that passes verification cannot overrun them.
// Plain constants only: both the op library (compiled into every binary) and
// the compiler include this header.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_OPLIB_OPLIBLIMITS_H
#define INGOT_OPLIB_OPLIBLIMITS_H

#include <stdint.h>

namespace ingot::oplib {

/// MLA: the absorbed query of one head, kv_lora_rank values (followed by the
/// rope part, at most 2 * kMaxRopePairs).
constexpr int64_t kMaxHeadWidth = 4096;
/// MoE: experts scored per token; MLA: heads of the per-head products.
constexpr int64_t kMaxExperts = 1024;
/// Rope: rotated pairs per head (dims / 2), one cos/sin each.
constexpr int64_t kMaxRopePairs = 1024;
/// One cached key: an attention head (at most kMaxHeadWidth) or MLA's latent
/// and rope key. A query is rounded to the cache's key type on the stack.
constexpr int64_t kMaxKeyWidth = kMaxHeadWidth + 2 * kMaxRopePairs;

} // namespace ingot::oplib

#endif // INGOT_OPLIB_OPLIBLIMITS_H
