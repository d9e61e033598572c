//===- ThreadPlacement.cpp - Threads placed on a target's cores -----------===//
#include "compiler/target/ThreadPlacement.h"

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

namespace {

/// A node's L3 groups: for each L3 group with cores among `cores` (one
/// node's), its index and those cores in id order.
std::vector<std::pair<unsigned, std::vector<unsigned>>>
groupsOfNode(const TargetDescription &t, const std::vector<unsigned> &cores) {
  std::vector<std::pair<unsigned, std::vector<unsigned>>> groups;
  std::vector<bool> inThisNode(t.physicalCores(), false);
  for (unsigned c : cores)
    if (c < inThisNode.size())
      inThisNode[c] = true;
  for (auto [g, group] : enumerate(t.caches.l3)) {
    std::vector<unsigned> inNode;
    for (const CoreId &c : group.cores)
      if (c.id < inThisNode.size() && inThisNode[c.id])
        inNode.push_back(c.id);
    llvm::sort(inNode);
    if (!inNode.empty())
      groups.push_back({unsigned(g), std::move(inNode)});
  }
  // A description without L3 groups: the node is one group.
  if (groups.empty() && !cores.empty())
    groups.push_back({0, cores});
  return groups;
}

/// Every node's cores; a description without NUMA nodes is one node.
std::vector<std::vector<unsigned>> nodeCores(const TargetDescription &t) {
  std::vector<std::vector<unsigned>> nodes;
  for (const NumaNode &n : t.numa) {
    std::vector<unsigned> cores;
    for (const CoreId &c : n.cores)
      cores.push_back(c.id);
    llvm::sort(cores);
    nodes.push_back(std::move(cores));
  }
  if (nodes.empty()) {
    nodes.emplace_back();
    for (unsigned c = 0; c < t.physicalCores(); ++c)
      nodes.back().push_back(c);
  }
  return nodes;
}

} // namespace

std::vector<PlacedThread> placeThreads(const TargetDescription &t,
                                       unsigned count) {
  const unsigned smt = std::max(1u, t.threadsPerCore);
  std::vector<std::vector<unsigned>> nodes = nodeCores(t);
  std::vector<uint64_t> nodeWeights;
  std::vector<unsigned> nodeCaps;
  for (const auto &cores : nodes) {
    nodeWeights.push_back(cores.size());
    nodeCaps.push_back(unsigned(cores.size()) * smt);
  }
  std::vector<unsigned> perNode = shareOut(count, nodeWeights, nodeCaps);
  std::vector<PlacedThread> placed;
  for (auto [n, cores] : enumerate(nodes)) {
    auto groups = groupsOfNode(t, cores);
    std::vector<uint64_t> weights;
    std::vector<unsigned> caps;
    for (const auto &g : groups) {
      weights.push_back(g.second.size());
      caps.push_back(unsigned(g.second.size()) * smt);
    }
    std::vector<unsigned> perGroup = shareOut(perNode[n], weights, caps);
    for (auto [g, group] : enumerate(groups)) {
      // Every core's first thread before any core's second.
      for (unsigned i = 0; i < perGroup[g]; ++i) {
        PlacedThread p;
        p.core = group.second[i % group.second.size()];
        p.smtIndex = i / unsigned(group.second.size());
        p.node = unsigned(n);
        p.l3Group = group.first;
        placed.push_back(p);
      }
    }
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
