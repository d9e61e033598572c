//===- ThreadPlacementTest.cpp - threads over nodes, L3 groups, SMT -------===//
#include "compiler/target/ThreadPlacement.h"

#include "gtest/gtest.h"

#include <map>
#include <numeric>
#include <set>

using namespace ingot::target;

namespace {

/// `nodes` NUMA nodes of `groups` L3 groups of `perGroup` cores, with
/// `smt` threads per core; cores numbered node by node.
TargetDescription machine(unsigned nodes, unsigned groups, unsigned perGroup,
                          unsigned smt) {
  TargetDescription t;
  t.name = "test";
  t.sockets = nodes;
  t.coresPerSocket = groups * perGroup;
  t.threadsPerCore = smt;
  unsigned core = 0;
  for (unsigned n = 0; n < nodes; ++n) {
    NumaNode node;
    node.id = n;
    node.memoryGiB = 64;
    for (unsigned g = 0; g < groups; ++g) {
      L3Group group;
      group.sizeMiB = 32;
      for (unsigned c = 0; c < perGroup; ++c, ++core) {
        group.cores.push_back({core, {}});
        node.cores.push_back({core, {}});
      }
      t.caches.l3.push_back(group);
    }
    t.numa.push_back(node);
  }
  return t;
}

TEST(ShareOut, ProportionalWithinCapsSummingToCount) {
  EXPECT_EQ(shareOut(10, {1, 1}, {100, 100}), (std::vector<unsigned>{5, 5}));
  EXPECT_EQ(shareOut(7, {1, 1}, {100, 100}), (std::vector<unsigned>{4, 3}));
  EXPECT_EQ(shareOut(9, {2, 1}, {100, 100}), (std::vector<unsigned>{6, 3}));
  // A cap sends the rest to the items with room.
  EXPECT_EQ(shareOut(10, {1, 1}, {2, 100}), (std::vector<unsigned>{2, 8}));
  // More than every cap: each item full, no more.
  EXPECT_EQ(shareOut(10, {1, 1}, {3, 4}), (std::vector<unsigned>{3, 4}));
  // A zero weight gets nothing while others have room.
  EXPECT_EQ(shareOut(4, {0, 1}, {10, 10}), (std::vector<unsigned>{0, 4}));
  for (unsigned count = 0; count < 50; ++count) {
    auto s = shareOut(count, {3, 5, 7}, {10, 10, 10});
    EXPECT_EQ(std::accumulate(s.begin(), s.end(), 0u), std::min(count, 30u));
  }
}

TEST(PlaceThreads, SpreadOverNodesAndGroupsBeforeSiblings) {
  // Two nodes of 3 L3 groups of 4 cores, SMT 2: 24 cores, 48 threads.
  TargetDescription t = machine(2, 3, 4, 2);
  for (unsigned count : {1u, 5u, 6u, 12u, 24u, 30u, 48u}) {
    auto placed = placeThreads(t, count);
    ASSERT_EQ(placed.size(), count);
    std::map<unsigned, unsigned> perNode, perGroup;
    std::set<std::pair<unsigned, unsigned>> used;
    for (const PlacedThread &p : placed) {
      ++perNode[p.node];
      ++perGroup[p.l3Group];
      // No hardware thread twice; the core lies in its node and group.
      EXPECT_TRUE(used.insert({p.core, p.smtIndex}).second);
      EXPECT_EQ(p.node, p.core / 12);
      EXPECT_EQ(p.l3Group, p.core / 4);
      // SMT siblings only once every core of the group has a thread.
      if (p.smtIndex > 0)
        EXPECT_GT(count, 24u);
    }
    // Even over nodes and groups, to within one thread.
    for (auto &[n, k] : perNode)
      EXPECT_LE(k - count / 2, 1u) << count;
    if (count >= 6)
      for (auto &[g, k] : perGroup)
        EXPECT_LE(k - count / 6, 1u) << count;
  }
  // Threads are the pool's in order: a smaller count is a prefix.
  auto all = placeThreads(t, 48);
  for (unsigned count = 0; count <= 48; ++count) {
    auto placed = placeThreads(t, count);
    for (unsigned i = 0; i < count; ++i)
      EXPECT_EQ(std::make_pair(placed[i].core, placed[i].smtIndex),
                std::make_pair(all[i].core, all[i].smtIndex))
          << count << " threads, thread " << i;
  }
  // 6 threads: one per group, each on its group's first core, the nodes
  // taking turns.
  auto six = placeThreads(t, 6);
  std::vector<unsigned> sixCores;
  for (const PlacedThread &p : six)
    sixCores.push_back(p.core);
  EXPECT_EQ(sixCores, (std::vector<unsigned>{0, 12, 4, 16, 8, 20}));
}

TEST(PlaceThreads, EvenOverUnequalGroupsUntilOneIsFull) {
  // One node, L3 groups of 6 and 2 cores (an affinity mask, or a part with
  // cores fused off): 4 threads 2 + 2, then the big group takes the rest.
  TargetDescription t = machine(1, 1, 8, 1);
  t.caches.l3[0].cores.resize(6);
  L3Group small;
  small.sizeMiB = 32;
  small.cores = {{6, {}}, {7, {}}};
  t.caches.l3.push_back(small);
  for (auto [count, big] : {std::pair{4u, 2u}, {6u, 4u}, {8u, 6u}}) {
    unsigned inBig = 0;
    for (const PlacedThread &p : placeThreads(t, count))
      inBig += p.l3Group == 0;
    EXPECT_EQ(inBig, big) << count << " threads";
  }
}

TEST(PlaceThreads, DescribedPerNode) {
  TargetDescription t = machine(2, 2, 4, 2);
  auto lines = describePlacement(t, placeThreads(t, 4));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "node 0: 2 threads, 1 on each of 2 L3 groups, cores 0,4");
  EXPECT_EQ(lines[1],
            "node 1: 2 threads, 1 on each of 2 L3 groups, cores 8,12");
  lines = describePlacement(t, placeThreads(t, 20));
  EXPECT_EQ(lines[0], "node 0: 10 threads, 5 on each of 2 L3 groups, cores "
                      "0-7 and the SMT siblings of cores 0,4");
}

} // namespace
