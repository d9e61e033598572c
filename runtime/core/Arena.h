//===- Arena.h - The one allocation of a run ----------------------*- C++
//-*-===//
//
// All memory the model and the decode loop touch, allocated once at start
// as one anonymous mapping (read/write, never executable): the activation
// arena, the KV cache and the runtime's own token/position/logits buffers,
// plus one token id per context position (the tokens the KV cache holds).
// Every size is computed with overflow checks: a plan whose parts do not
// add up in 64 bits is refused, never wrapped into a small mapping.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_ARENA_H
#define INGOT_RUNTIME_CORE_ARENA_H

#include "NonCopyable.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace ingot::rt {

struct ArenaPlan {
  uint64_t arenaBytes = 0; ///< model activations (IngotModelInfo::arena_bytes)
  uint64_t kvBytes = 0;    ///< kv_bytes_per_position * context_length
  uint64_t maxBatch = 1;   ///< rows of logits / tokens per forward call
  uint64_t vocabSize = 1;
  uint64_t historyTokens = 0; ///< context_length: one int32 id per position
};

class Arena : NonCopyable {
public:
  ~Arena();

  /// Maps everything; false and `error` when the sizes overflow or the
  /// memory is not available.
  bool allocate(const ArenaPlan &plan, std::string &error);

  uint8_t *arena() const { return arena_; }
  uint8_t *kv() const { return kv_; }
  float *logits() const { return logits_; }
  int32_t *tokens() const { return tokens_; }
  int32_t *positions() const { return positions_; }
  /// ArenaPlan::historyTokens ids.
  int32_t *history() const { return history_; }
  uint64_t totalBytes() const { return bytes_; }

private:
  void *base_ = nullptr;
  size_t bytes_ = 0;
  uint8_t *arena_ = nullptr, *kv_ = nullptr;
  float *logits_ = nullptr;
  int32_t *tokens_ = nullptr, *positions_ = nullptr, *history_ = nullptr;
};

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_ARENA_H
