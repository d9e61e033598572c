//===- KVCacheLayout.h - One layer's KV cache row per key type --*- C++ -*-===//
//
// The bytes of one position of one attention layer's cache for each key
// type the runtime may choose (IngotKVKeyType): the memory planner lays the
// layers out with it and the op library reads the rows with it, so the two
// cannot drift apart. A row is [every KV head's key | every KV head's
// value]: keys in the key type (ggml's F16 or Q8_0 blocks, a head after
// head), padded to 4 bytes so the F32 values after them stay aligned.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_OPLIB_KVCACHELAYOUT_H
#define INGOT_OPLIB_KVCACHELAYOUT_H

#include "ingot/ModelABI.h"

#include <stdint.h>

namespace ingot::oplib {

/// ggml's Q8_0 block: 32 values, an F16 scale and 32 int8.
constexpr int64_t kQ8BlockValues = 32;
constexpr int64_t kQ8BlockBytes = 34;

inline int64_t alignUp4(int64_t bytes) { return (bytes + 3) / 4 * 4; }

/// `Size` is int64_t in the op library and the planner's overflow-checked
/// size type; both provide alignUp4 (found by argument-dependent lookup).
template <typename Size> struct KVRowLayout {
  int64_t keyHeadBytes = 0; ///< one KV head's key
  Size keyBytes = Size(0);  ///< all key heads, padded to 4 bytes
  Size rowBytes = Size(0);  ///< keys, then kvHeads * valueDim floats
  /// False when the keys cannot be stored in the type (Q8_0 needs heads a
  /// multiple of 32 wide) or the type is unknown.
  bool valid = false;
};

/// The row of a layer with `kvHeads` heads of `keyDim` key and `valueDim`
/// value floats (MLA: one head of kv_lora_rank + rope values, no value).
/// keyDim is at most the dialect's head bound, so one head's bytes are a
/// plain int64; the products with the head counts are Size's.
template <typename Size>
KVRowLayout<Size> kvRowLayout(int32_t keyType, Size kvHeads, int64_t keyDim,
                              Size valueDim) {
  KVRowLayout<Size> row;
  switch (keyType) {
  case INGOT_KV_KEY_F32:
    row.keyHeadBytes = 4 * keyDim;
    break;
  case INGOT_KV_KEY_F16:
    row.keyHeadBytes = 2 * keyDim;
    break;
  case INGOT_KV_KEY_Q8_0:
    if (keyDim % kQ8BlockValues != 0)
      return row;
    row.keyHeadBytes = keyDim / kQ8BlockValues * kQ8BlockBytes;
    break;
  default:
    return row;
  }
  row.keyBytes = alignUp4(kvHeads * Size(row.keyHeadBytes));
  row.rowBytes = row.keyBytes + Size(4) * kvHeads * valueDim;
  row.valid = true;
  return row;
}

} // namespace ingot::oplib

#endif // INGOT_OPLIB_KVCACHELAYOUT_H
