//===- PlacementPolicy.h - The cores threads take, in order --*- C++ -*-===//
//
// The one rule for where threads run, used by the compiler's plan
// (compiler/target/ThreadPlacement.h: `ingot plan` and the compile summary
// report it) and by the emitted binary (runtime/core/Placement.h: the pool is
// pinned by it). Header-only so that the compiler applies the very rule the
// binary does without linking the runtime library.
//
// The hardware threads are put in one order, and every prefix of it is the
// placement of that many threads (decode takes the pool's first threads,
// prefill more of them):
//  * first one thread per physical core, then the cores' second hardware
//    threads (SMT siblings) in the same way, and so on;
//  * within that, each next thread goes to the NUMA node with the fewest
//    (of the nodes with a core left), so decode's threads draw on every
//    node's memory channels equally, as the weights are spread over them;
//  * within the node, likewise to the L3 group (AMD CCD) with the fewest,
//    so the groups' caches and links to memory share the load equally;
//  * within the group, the cores in order.
// A node or group with fewer cores is full sooner, and the rest go to the
// others. Ties go to the lowest node id, then the lowest L3 key. An L3
// group that spans nodes (Intel sub-NUMA clustering) counts in each node
// with its cores there.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_TARGET_PLACEMENTPOLICY_H
#define INGOT_TARGET_PLACEMENTPOLICY_H

#include <algorithm>
#include <cstddef>
#include <map>
#include <vector>

namespace ingot::rt {

/// One physical core as the rule sees it.
struct PolicyCore {
  int node = 0;    ///< NUMA node id
  int l3 = 0;      ///< any key naming its L3 group (cores sharing an L3)
  int threads = 1; ///< its hardware threads
};

/// One hardware thread: the `level`-th of cores[core] (0: its first).
struct PolicySlot {
  size_t core = 0;
  int level = 0;
};

namespace detail {

/// Of items holding `taken` of `sizes` each, the one holding fewest among
/// those with room (the first of equals); -1 when none has room.
inline int fewestWithRoom(const std::vector<size_t> &sizes,
                          const std::vector<size_t> &taken) {
  int best = -1;
  for (size_t i = 0; i < sizes.size(); ++i)
    if (taken[i] < sizes[i] && (best < 0 || taken[i] < taken[size_t(best)]))
      best = int(i);
  return best;
}

} // namespace detail

/// Every hardware thread of `cores` in the order threads take them (see
/// above).
inline std::vector<PolicySlot>
placementPolicyOrder(const std::vector<PolicyCore> &cores) {
  int levels = 0;
  for (const PolicyCore &c : cores)
    levels = std::max(levels, c.threads);
  std::vector<PolicySlot> order;
  for (int level = 0; level < levels; ++level) {
    // The cores with a thread at this level: node -> L3 key -> cores.
    std::map<int, std::map<int, std::vector<size_t>>> tree;
    for (size_t i = 0; i < cores.size(); ++i)
      if (cores[i].threads > level)
        tree[cores[i].node][cores[i].l3].push_back(i);
    struct Node {
      std::vector<std::vector<size_t>> groups;
      std::vector<size_t> groupSizes, groupTaken;
    };
    std::vector<Node> nodes;
    std::vector<size_t> nodeSizes, nodeTaken;
    for (const auto &[id, groups] : tree) {
      Node n;
      size_t size = 0;
      for (const auto &[key, members] : groups) {
        n.groups.push_back(members);
        n.groupSizes.push_back(members.size());
        n.groupTaken.push_back(0);
        size += members.size();
      }
      nodes.push_back(std::move(n));
      nodeSizes.push_back(size);
      nodeTaken.push_back(0);
    }
    for (int n; (n = detail::fewestWithRoom(nodeSizes, nodeTaken)) >= 0;) {
      Node &node = nodes[size_t(n)];
      ++nodeTaken[size_t(n)];
      const int g = detail::fewestWithRoom(node.groupSizes, node.groupTaken);
      const size_t next = node.groupTaken[size_t(g)]++;
      order.push_back({node.groups[size_t(g)][next], level});
    }
  }
  return order;
}

} // namespace ingot::rt

#endif // INGOT_TARGET_PLACEMENTPOLICY_H
