//===- Arena.cpp - The one allocation of a run ------------------------------===//

#include "Arena.h"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>

namespace ingot::rt {
namespace {
constexpr uint64_t kAlign = 4096; // every part starts page aligned (>= 64)
uint64_t alignUp(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }
} // namespace

Arena::~Arena() {
  if (base_)
    munmap(base_, bytes_);
}

bool Arena::allocate(const ArenaPlan &plan, std::string &error) {
  uint64_t arenaOff = 0;
  uint64_t kvOff = arenaOff + alignUp(plan.arenaBytes);
  uint64_t logitsOff = kvOff + alignUp(plan.kvBytes);
  uint64_t tokensOff = logitsOff + alignUp(plan.maxBatch * plan.vocabSize * sizeof(float));
  uint64_t positionsOff = tokensOff + alignUp(plan.maxBatch * sizeof(int32_t));
  uint64_t total = positionsOff + alignUp(plan.maxBatch * sizeof(int32_t));
  void *p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    error = "cannot allocate " + std::to_string(total) + " bytes for the activation arena and KV cache: " +
            std::strerror(errno);
    return false;
  }
  madvise(p, total, MADV_HUGEPAGE); // best effort (transparent huge pages)
  base_ = p;
  bytes_ = total;
  auto *b = static_cast<uint8_t *>(p);
  arena_ = b + arenaOff;
  kv_ = b + kvOff;
  logits_ = reinterpret_cast<float *>(b + logitsOff);
  tokens_ = reinterpret_cast<int32_t *>(b + tokensOff);
  positions_ = reinterpret_cast<int32_t *>(b + positionsOff);
  return true;
}

} // namespace ingot::rt
