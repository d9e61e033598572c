//===- ThreadPlacement.cpp - Threads placed on a target's cores -----------===//
#include "compiler/target/ThreadPlacement.h"
#include "compiler/target/PlacementPolicy.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <map>

using namespace llvm;

namespace ingot::target {

std::vector<unsigned> shareOut(unsigned count,
                               const std::vector<uint64_t> &weights,
                               const std::vector<unsigned> &caps) {
  std::vector<unsigned> shares(weights.size(), 0);
  uint64_t total = 0;
  for (uint64_t w : weights)
    total += w;
  // One at a time to the item furthest below its proportional target: the
  // largest-remainder result, and caps respected without a second pass.
  for (unsigned given = 0; given < count; ++given) {
    int best = -1;
    double bestDeficit = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (shares[i] >= caps[i])
        continue;
      double wanted =
          total ? double(count) * double(weights[i]) / double(total) : 0;
      double deficit = wanted - double(shares[i]);
      if (best < 0 || deficit > bestDeficit) {
        best = int(i);
        bestDeficit = deficit;
      }
    }
    if (best < 0)
      break;
    ++shares[best];
  }
  return shares;
}

std::vector<PlacedThread> placeThreads(const TargetDescription &t,
                                       unsigned count) {
  // The target's cores as the shared rule sees them: each core's node id
  // and L3 group (a core no group lists shares its socket's, as the
  // binary reads such a machine plan), every core with the target's SMT.
  const unsigned cores = t.physicalCores();
  const unsigned groups = unsigned(t.caches.l3.size());
  std::vector<ingot::rt::PolicyCore> policy(cores);
  std::vector<unsigned> nodeIndex(cores, 0);
  for (unsigned c = 0; c < cores; ++c) {
    policy[c].l3 = int(groups + c / std::max(1u, t.coresPerSocket));
    policy[c].threads = int(std::max(1u, t.threadsPerCore));
  }
  for (auto [g, group] : enumerate(t.caches.l3))
    for (const CoreId &c : group.cores)
      if (c.id < cores)
        policy[c.id].l3 = int(g);
  for (auto [n, node] : enumerate(t.numa))
    for (const CoreId &c : node.cores)
      if (c.id < cores) {
        policy[c.id].node = int(node.id);
        nodeIndex[c.id] = unsigned(n);
      }
  std::vector<PlacedThread> placed;
  for (const ingot::rt::PolicySlot &slot :
       ingot::rt::placementPolicyOrder(policy)) {
    if (placed.size() == count)
      break;
    PlacedThread p;
    p.core = unsigned(slot.core);
    p.smtIndex = unsigned(slot.level);
    p.node = nodeIndex[slot.core];
    p.l3Group = unsigned(policy[slot.core].l3);
    placed.push_back(p);
  }
  return placed;
}

std::vector<std::string>
describePlacement(const TargetDescription &t,
                  const std::vector<PlacedThread> &threads) {
  std::vector<std::string> lines;
  std::map<unsigned, std::vector<const PlacedThread *>> byNode;
  for (const PlacedThread &p : threads)
    byNode[p.node].push_back(&p);
  for (const auto &[node, placed] : byNode) {
    std::map<unsigned, unsigned> perGroup;
    std::vector<CoreId> cores, siblings;
    for (const PlacedThread *p : placed) {
      ++perGroup[p->l3Group];
      (p->smtIndex == 0 ? cores : siblings).push_back({p->core, {}});
    }
    unsigned first = perGroup.begin()->second;
    bool even = all_of(perGroup, [&](auto &g) { return g.second == first; });
    std::string groups =
        perGroup.size() == 1
            ? std::string("one L3 group")
            : formatv("{0} on each of {1} L3 groups", first, perGroup.size())
                  .str();
    if (!even) {
      groups = "per L3 group";
      for (const auto &[g, n] : perGroup)
        groups += formatv(" {0}:{1}", g, n).str();
    }
    unsigned nodeId = node < t.numa.size() ? t.numa[node].id : node;
    std::string line =
        formatv("node {0}: {1} thread{2}, {3}, cores {4}", nodeId,
                placed.size(), placed.size() == 1 ? "" : "s", groups,
                formatCoreList(cores))
            .str();
    if (!siblings.empty())
      line += " and the SMT siblings of cores " + formatCoreList(siblings);
    lines.push_back(line);
  }
  return lines;
}

} // namespace ingot::target
