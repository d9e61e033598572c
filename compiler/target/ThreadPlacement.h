//===- ThreadPlacement.h - Threads placed on a target's cores ---*- C++ -*-===//
//
// Where a plan puts its decode and prefill threads, by the rule the
// emitted binary pins its pool by (compiler/target/PlacementPolicy.h, shared
// header-only): one thread per physical core before any SMT sibling,
// shared out evenly over the NUMA nodes and, within a node, over its L3
// groups (AMD CCDs). Thread i of a placement is the binary's pool thread i
// on the target, so the first n threads of any placement are the placement
// of n threads.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_TARGET_THREADPLACEMENT_H
#define INGOT_TARGET_THREADPLACEMENT_H

#include "compiler/target/TargetDescription.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ingot::target {

struct PlacedThread {
  unsigned core = 0;     ///< physical core id
  unsigned smtIndex = 0; ///< 0: the core's first hardware thread
  unsigned node = 0;     ///< index into TargetDescription::numa
  unsigned l3Group = 0;  ///< index into caches.l3
};

/// `count` threads (at most the hardware threads) placed on a validated
/// target, in the pool's thread order.
std::vector<PlacedThread> placeThreads(const TargetDescription &target,
                                       unsigned count);

/// `count` shared out over items in proportion to `weights` (largest
/// remainder), none above its `caps` entry; what the caps leave over goes to
/// the items with room. The shares sum to min(count, sum of caps).
std::vector<unsigned> shareOut(unsigned count,
                               const std::vector<uint64_t> &weights,
                               const std::vector<unsigned> &caps);

/// One line per NUMA node: "node 0: 16 threads, 8 on each of 2 L3 groups,
/// cores 0-15" (with SMT siblings named when used).
std::vector<std::string>
describePlacement(const TargetDescription &target,
                  const std::vector<PlacedThread> &threads);

} // namespace ingot::target

#endif // INGOT_TARGET_THREADPLACEMENT_H
