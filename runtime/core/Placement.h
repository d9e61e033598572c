//===- Placement.h - Which CPU each thread runs on -------------*- C++ -*-===//
//
// One pool serves decode and prefill: decode runs on its first threads,
// prefill on more of them (ThreadPool.h). So the CPUs are ordered once, and
// every prefix of the order is a good placement for that many threads, by
// the rule the compiler's plan reports (compiler/target/PlacementPolicy.h):
// first one hardware thread per physical core, shared out evenly over the NUMA
// nodes and within each over its L3 groups (CCDs), so that decode's threads use
// the caches and memory channels of all of them; then the second hardware
// threads (SMT siblings) in the same way, used only when a thread count
// exceeds the physical cores (the plan's prefill on a target whose plan
// uses SMT, or -t/-tb asking for it).
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_PLACEMENT_H
#define INGOT_RUNTIME_CORE_PLACEMENT_H

#include "Topology.h"

#include <cstddef>
#include <string>
#include <vector>

namespace ingot::rt {

/// CPUs a cpu_set_t can name (glibc's CPU_SETSIZE).
constexpr size_t kCpuSetBits = 1024;

/// --pin: auto (the order above), none (the scheduler places threads), or
/// a CPU list (thread i on the i-th CPU listed, cycling).
struct PinRequest {
  enum class Mode { Auto, None, List } mode = Mode::Auto;
  std::vector<int> cpus; ///< List only, in the order given
};

/// Every CPU of `host` in the order threads take them (see above).
std::vector<int> placementOrder(const Topology &host);

/// How `threads` threads placed on cpus (thread i on cpus[i % size]) fall
/// on the host: "CPUs 0,8,4,12 (L3 groups 1+1+1+1, NUMA nodes 2+2, 4
/// physical cores)".
std::string describePlacement(const Topology &host,
                              const std::vector<int> &cpus, int threads);

/// Decode and prefill thread counts for the host when it differs from the
/// target: the plan's counts are the target's, so they are derived again
/// by the plan's rule for this host (decode one thread per physical core
/// of a socket, prefill as many plus the SMT siblings when the plan's
/// prefill used them).
void threadsForHost(const Topology &target, int plannedDecode,
                    int plannedPrefill, const Topology &host, int &decode,
                    int &prefill);

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_PLACEMENT_H
