//===- PlacementTest.cpp - Thread order, node spread, CPU lists -----------===//
//
// The pure parts of placement (runtime/core/Placement.h, NodeBinding.h,
// Topology.h) on machines built in memory; the sysfs reading and the
// binary's output are tested under test/e2e (placement.test,
// numa-spread.test).
//
//===----------------------------------------------------------------------===//

#include "runtime/core/Placement.h"
#include "runtime/core/NodeBinding.h"
#include "runtime/core/Topology.h"

#include <gtest/gtest.h>
#include <set>

using namespace ingot::rt;

namespace {

/// sockets x coresPerSocket cores, `groups` L3 groups and `nodes` nodes per
/// socket, numbered as Linux does (first threads, then the siblings).
Topology machine(int sockets, int coresPerSocket, int threads, int groups,
                 int nodes) {
  Topology t;
  const int cores = sockets * coresPerSocket;
  for (int c = 0; c < cores; ++c) {
    Core core;
    core.socket = c / coresPerSocket;
    const int local = c % coresPerSocket;
    core.l3 = core.socket * groups + local / (coresPerSocket / groups);
    core.node = core.socket * nodes + local / (coresPerSocket / nodes);
    for (int h = 0; h < threads; ++h)
      core.cpus.push_back(h * cores + c);
    t.cores.push_back(core);
  }
  t.sockets = sockets;
  t.threadsPerCore = threads;
  return t;
}

} // namespace

TEST(Placement, EveryPrefixIsSpreadOverGroupsAndNodes) {
  // 2 sockets x 16 cores, 2 CCDs per socket, a node per socket.
  Topology t = machine(2, 16, 2, 2, 1);
  std::vector<int> order = placementOrder(t);
  ASSERT_EQ(order.size(), 64u);
  EXPECT_EQ(std::set<int>(order.begin(), order.end()).size(), 64u);
  for (int n = 1; n <= 32; ++n) {
    int perGroup[4] = {}, perNode[2] = {};
    for (int i = 0; i < n; ++i) {
      ASSERT_LT(order[size_t(i)], 32) << "an SMT sibling before a free core";
      const Core &c = t.cores[size_t(order[size_t(i)])];
      ++perGroup[c.l3];
      ++perNode[c.node];
    }
    for (int g = 0; g < 4; ++g)
      EXPECT_LE(perGroup[g], (n + 3) / 4) << n << " threads";
    EXPECT_LE(perNode[0] - perNode[1], 1) << n << " threads";
  }
}

TEST(Placement, ThreadsForAnotherHostFollowThePlansRule) {
  Topology target = machine(1, 16, 2, 2, 1); // an EPYC 9115
  Topology host = machine(2, 8, 1, 1, 1);
  int decode = 0, prefill = 0;
  // The derived plan: a socket's cores decode, its hardware threads prefill.
  threadsForHost(target, 16, 32, host, decode, prefill);
  EXPECT_EQ(decode, 8);
  EXPECT_EQ(prefill, 8); // the host has no SMT
  // A plan over the whole machine stays over the whole machine.
  Topology target2 = machine(2, 4, 1, 1, 1);
  threadsForHost(target2, 8, 8, host, decode, prefill);
  EXPECT_EQ(decode, 16);
  EXPECT_EQ(prefill, 16);
}

TEST(NodeBinding, EachTensorSplitOnceAcrossNodes) {
  constexpr uint64_t kPage = 2 << 20;
  NodeSpread spread;
  spread.nodes = {0, 1};
  // Two 64 MiB matrices and a small tensor between them.
  spread.tensors = {
      {0, 64 << 20}, {64 << 20, 4096}, {(64 << 20) + kPage, 64 << 20}};
  const uint64_t bytes = (128 << 20) + kPage;
  std::vector<NodeRange> ranges = nodeRanges(spread, bytes, kPage);
  ASSERT_FALSE(ranges.empty());
  EXPECT_EQ(ranges.front().begin, 0u);
  EXPECT_EQ(ranges.back().end, bytes);
  uint64_t perNode[2] = {};
  for (size_t i = 0; i < ranges.size(); ++i) {
    EXPECT_EQ(ranges[i].begin % kPage, 0u);
    EXPECT_LT(ranges[i].begin, ranges[i].end);
    if (i)
      EXPECT_EQ(ranges[i - 1].end, ranges[i].begin);
    perNode[ranges[i].node] += ranges[i].end - ranges[i].begin;
  }
  // Each matrix's first half on node 0, second half on node 1.
  EXPECT_EQ(ranges[0].node, 0);
  EXPECT_EQ(ranges[0].end, 32u << 20);
  EXPECT_EQ(perNode[0] + perNode[1], bytes);
  EXPECT_LE(perNode[0] > perNode[1] ? perNode[0] - perNode[1]
                                    : perNode[1] - perNode[0],
            2 * kPage);
  // One node: nothing to bind.
  spread.nodes = {0};
  EXPECT_TRUE(nodeRanges(spread, bytes, kPage).empty());
}

TEST(CpuList, ParsesAndFormats) {
  std::vector<int> cpus;
  ASSERT_TRUE(parseCpuList("0-3,8,10-11", cpus));
  EXPECT_EQ(cpus, (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(formatCpuList(cpus), "0-3,8,10-11");
  for (const char *bad : {"", "3-1", "0,", "a", "1-", "-1", "0,,1"})
    EXPECT_FALSE(parseCpuList(bad, cpus)) << bad;
}
