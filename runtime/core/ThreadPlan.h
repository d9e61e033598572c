//===- ThreadPlan.h - Thread counts and placement of a run ----*- C++ -*-===//
//
// At start the binary reads the host's topology (Topology.h) and the
// target's from the machine plan the compiler emitted. When the two differ
// it warns once and derives the thread counts for the host (Placement.h);
// otherwise it takes the plan's. -t and -tb override the counts, --pin the
// placement.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_THREADPLAN_H
#define INGOT_RUNTIME_CORE_THREADPLAN_H

#include "Topology.h"

#include <string>
#include <vector>

namespace ingot::rt {

struct Options;

struct ThreadPlan {
  Topology host, target;
  bool hostKnown = false, targetKnown = false;
  /// The host is a tree under INGOT_SYSFS_ROOT: placed, but not pinned.
  bool simulated = false;
  /// Host and target have different shapes (warned about at start).
  bool differs = false;
  int decode = 1, prefill = 1;
  /// The placement: pool thread i on cpus[i % size] (empty: unpinned).
  std::vector<int> cpus;
  /// What decided it: "auto", "none", "list", with why it is not pinned.
  std::string pinning;
  /// Warm-up rounds before bench and serve (--warmup, else the plan's).
  int warmupRounds = 1;
  /// Why the host topology is unknown ("" when known).
  std::string hostProblem;

  /// Whether the pool's threads are bound to cpus.
  bool pinned() const { return !cpus.empty() && !simulated; }
};

/// Plans the threads of this run; false and `error` for a --pin list
/// naming a CPU this process may not use, or a malformed machine plan.
/// `warnings` receives the one-line topology mismatch warning.
bool planThreads(const Options &o, ThreadPlan &plan, std::string &error,
                 std::vector<std::string> &warnings);

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_THREADPLAN_H
