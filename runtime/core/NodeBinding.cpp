//===- NodeBinding.cpp - Weights spread over NUMA nodes, once -------------===//
#include "NodeBinding.h"
#include "Error.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/syscall.h>
#include <unistd.h>

namespace ingot::rt {
namespace {

constexpr int kMpolPreferred = 1; // linux/mempolicy.h
constexpr int kMaxNode = 1024;    // bits of the node mask below

} // namespace

std::vector<NodeRange> nodeRanges(const NodeSpread &spread, uint64_t dataBytes,
                                  uint64_t pageSize) {
  std::vector<NodeRange> ranges;
  const size_t n = spread.nodes.size();
  if (n < 2 || dataBytes == 0)
    return ranges;
  const uint64_t end = (dataBytes + pageSize - 1) / pageSize * pageSize;
  // Cut points: where each tensor's slice for node k starts, on a page
  // boundary. A later cut at the same page replaces an earlier one.
  std::vector<std::pair<uint64_t, int>> cuts;
  std::vector<TensorSpan> tensors = spread.tensors;
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorSpan &a, const TensorSpan &b) {
              return a.offset < b.offset;
            });
  size_t small = 0;
  for (const TensorSpan &t : tensors) {
    // A tensor of less than a page per node goes to one node, the nodes
    // taking turns, so that many small tensors are spread too.
    if (t.bytes < n * pageSize) {
      const uint64_t at = t.offset / pageSize * pageSize;
      const int node = spread.nodes[small++ % n];
      if (at < end && !cuts.empty() && cuts.back().first == at)
        cuts.back().second = node;
      else if (at < end)
        cuts.push_back({at, node});
      continue;
    }
    for (size_t k = 0; k < n; ++k) {
      uint64_t at = t.offset + uint64_t((unsigned __int128)t.bytes * k / n);
      at = at / pageSize * pageSize;
      if (at >= end)
        continue;
      if (!cuts.empty() && cuts.back().first == at)
        cuts.back().second = spread.nodes[k];
      else if (cuts.empty() || cuts.back().first < at)
        cuts.push_back({at, spread.nodes[k]});
    }
  }
  if (cuts.empty() || cuts.front().first != 0)
    cuts.insert(cuts.begin(), {0, spread.nodes[0]});
  for (size_t i = 0; i < cuts.size(); ++i) {
    uint64_t to = i + 1 < cuts.size() ? cuts[i + 1].first : end;
    if (!ranges.empty() && ranges.back().node == cuts[i].second)
      ranges.back().end = to;
    else
      ranges.push_back({cuts[i].first, to, cuts[i].second});
  }
  return ranges;
}

std::string bindToNodes(void *data, const std::vector<NodeRange> &ranges) {
  std::string failure;
  for (const NodeRange &r : ranges) {
    if (r.node < 0 || r.node >= kMaxNode)
      return format("node %d: beyond the %d nodes a mask holds", r.node,
                    kMaxNode);
    unsigned long mask[kMaxNode / (8 * sizeof(unsigned long))] = {};
    mask[size_t(r.node) / (8 * sizeof(unsigned long))] =
        1ul << (size_t(r.node) % (8 * sizeof(unsigned long)));
    long rc = syscall(SYS_mbind, static_cast<uint8_t *>(data) + r.begin,
                      r.end - r.begin, kMpolPreferred, mask, kMaxNode, 0);
    if (rc != 0 && failure.empty())
      failure = format("node %d: %s", r.node, std::strerror(errno));
  }
  return failure;
}

} // namespace ingot::rt
