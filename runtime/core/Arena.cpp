//===- Arena.cpp - The one allocation of a run
//------------------------------===//

#include "Arena.h"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>

namespace ingot::rt {
namespace {
constexpr uint64_t kAlign = 4096; // every part starts page aligned (>= 64)

/// Lays the parts out one after another, each page aligned; remembers
/// whether any size or sum left 64 bits.
struct Layout {
  uint64_t end = 0;
  bool overflow = false;

  uint64_t product(uint64_t a, uint64_t b) {
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) {
      overflow = true;
      return 0;
    }
    return r;
  }
  /// Offset of a new part of `bytes`.
  uint64_t add(uint64_t bytes) {
    uint64_t at = end, padded;
    if (__builtin_add_overflow(bytes, kAlign - 1, &padded) ||
        __builtin_add_overflow(end, padded / kAlign * kAlign, &end))
      overflow = true;
    return at;
  }
};
} // namespace

Arena::~Arena() {
  if (base_)
    munmap(base_, bytes_);
}

bool Arena::allocate(const ArenaPlan &plan, std::string &error) {
  Layout l;
  uint64_t arenaOff = l.add(plan.arenaBytes);
  uint64_t kvOff = l.add(plan.kvBytes);
  uint64_t logitsOff =
      l.add(l.product(l.product(plan.maxBatch, plan.vocabSize), sizeof(float)));
  uint64_t tokensOff = l.add(l.product(plan.maxBatch, sizeof(int32_t)));
  uint64_t positionsOff = l.add(l.product(plan.maxBatch, sizeof(int32_t)));
  uint64_t historyOff = l.add(l.product(plan.historyTokens, sizeof(int32_t)));
  uint64_t total = l.end;
  if (l.overflow || total > uint64_t(SIZE_MAX)) {
    error = "the activation arena (" + std::to_string(plan.arenaBytes) +
            " bytes) and the KV cache (" + std::to_string(plan.kvBytes) +
            " bytes) with " + std::to_string(plan.maxBatch) + " rows of " +
            std::to_string(plan.vocabSize) +
            " logits need more than 2^64 bytes";
    return false;
  }
  void *p = mmap(nullptr, size_t(total), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    error =
        "cannot allocate " + std::to_string(total) +
        " bytes for the activation arena and KV cache: " + std::strerror(errno);
    return false;
  }
  madvise(p, size_t(total),
          MADV_HUGEPAGE); // best effort (transparent huge pages)
  base_ = p;
  bytes_ = size_t(total);
  auto *b = static_cast<uint8_t *>(p);
  arena_ = b + arenaOff;
  kv_ = b + kvOff;
  logits_ = reinterpret_cast<float *>(b + logitsOff);
  tokens_ = reinterpret_cast<int32_t *>(b + tokensOff);
  positions_ = reinterpret_cast<int32_t *>(b + positionsOff);
  history_ = reinterpret_cast<int32_t *>(b + historyOff);
  return true;
}

} // namespace ingot::rt
