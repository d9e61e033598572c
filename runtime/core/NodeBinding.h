//===- NodeBinding.h - Weights spread over NUMA nodes, once -----*- C++ -*-===//
//
// On a host with several NUMA nodes the copy of the weights (HugePages.h) is
// not duplicated per node: each tensor's bytes are cut into one contiguous
// slice per node, in node order, so that a matrix's rows (and an expert
// stack's experts) are spread over the nodes' memory and every node's
// channels serve a share of each product. Each slice is given its node with
// mbind (MPOL_PREFERRED, a raw system call: no libnuma) before the copy
// first touches it. Cuts fall on page boundaries of the copy; a tensor of
// less than a page per node goes whole to one node, in turns; adjacent
// slices of the same node are bound in one call.
//
// The threads claim a call's chunks in one block per node, in the same node
// order (ThreadPool.h): a node's threads take their own block first, so a
// slice is mostly read by its node's threads, and the others take over
// what a node leaves unclaimed.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_NODEBINDING_H
#define INGOT_RUNTIME_CORE_NODEBINDING_H

#include <cstdint>
#include <string>
#include <vector>

namespace ingot::rt {

/// One tensor of the weights: bytes at offset from the start of the data.
struct TensorSpan {
  uint64_t offset, bytes;
};

/// What to spread over which nodes (no binding with fewer than two).
struct NodeSpread {
  std::vector<TensorSpan> tensors;
  std::vector<int> nodes;
};

/// One bound range: [begin, end) of the data on `node`.
struct NodeRange {
  uint64_t begin, end;
  int node;
};

/// The ranges the data's `dataBytes` bytes (as mapped: rounded up to
/// pageSize) are bound as, in address order, covering it exactly once.
std::vector<NodeRange> nodeRanges(const NodeSpread &spread, uint64_t dataBytes,
                                  uint64_t pageSize);

/// Binds the ranges of the mapping at `data`; "" when every call succeeded,
/// else the first failure ("node 1: Invalid argument").
std::string bindToNodes(void *data, const std::vector<NodeRange> &ranges);

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_NODEBINDING_H
