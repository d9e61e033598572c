//===- MachinePlan.h - How a planned model uses one machine -----*- C++ -*-===//
//
// What `ingot plan` prints, from the planned module (weight layouts, arena,
// KV cache), its StepTraffic and the target description alone, never the
// tensor data: where the decode and prefill threads run, how the weights
// split over the NUMA nodes (each matrix's rows, or each stack's matrices
// such as experts, on one node only, in proportion to the node's decode
// threads), the memory each node holds, the largest context that fits, and
// the decode and prefill rates the target's bandwidth and int8 peak allow.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_CODEGEN_MACHINEPLAN_H
#define INGOT_CODEGEN_MACHINEPLAN_H

#include "compiler/codegen/ObjectEmitter.h"
#include "compiler/target/TargetDescription.h"
#include "compiler/target/ThreadPlacement.h"

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ingot::codegen {

struct MachinePlanOptions {
  /// Positions of KV cache to plan for (0: the largest that fits, at most
  /// the model's context).
  int64_t context = 0;
  /// Overrides of the target's read bandwidth (GB/s) and int8 peak (GOPS,
  /// a multiply-add counts 2), e.g. from a measurement elsewhere.
  std::optional<double> readGBps, int8PeakGops;
};

/// One NUMA node's share.
struct NodePlan {
  unsigned id = 0;
  unsigned cores = 0;
  unsigned decodeThreads = 0, prefillThreads = 0;
  double memoryBytes = 0;
  /// Payload bytes placed on the node (sums to the payload over nodes).
  int64_t weightBytes = 0;
  /// Its share of the KV cache per position (sums to the model's).
  double kvBytesPerPosition = 0;
  /// The activation arena (on the first node with decode threads).
  int64_t arenaBytes = 0;
  /// Read bandwidth the node's memory gives, GB/s.
  double readGBps = 0;
  /// Positions of KV cache that fit beside its weights and arena.
  int64_t contextFits = 0;
};

/// A rate predicted from one bound, or why there is none.
struct RatePrediction {
  double tokensPerSecond = 0; ///< 0: not predicted
  std::string basis;          ///< the assumption, or why not predicted
};

struct MachinePlan {
  std::vector<target::PlacedThread> decodeThreads, prefillThreads;
  std::vector<NodePlan> nodes;
  int64_t weightBytes = 0, arenaBytes = 0, kvBytesPerPosition = 0;
  /// With Q8_0 keys (--cache-type-k q8_0; 0: the heads cannot be Q8_0).
  /// The plan itself is made with F32 keys, the runtime's default.
  int64_t kvBytesPerPositionQ8 = 0;
  int64_t maxBatch = 0, maxContext = 0;
  /// The machine's RAM and what is left to the system.
  double ramBytes = 0, reserveBytes = 0;
  /// The largest context that fits (every node and the machine), at most
  /// the model's; negative: not even the weights fit.
  int64_t contextFits = 0;
  /// The context planned for (the option, else contextFits).
  int64_t context = 0;
  /// The bandwidth decode is predicted from and where it comes from.
  double readGBps = 0;
  std::string bandwidthSource;
  /// Weight bytes one decode step streams (StepTraffic) and the routed
  /// experts' share of them.
  int64_t streamedBytes = 0, routedExpertBytes = 0;
  int64_t expertsUsed = 0, experts = 0;
  /// Decode at position 0 and at the planned context (the KV cache read
  /// grows with it).
  RatePrediction decodeEmpty, decodeFull;
  /// Prefill in steps of maxBatch tokens: the lower of the int8 compute
  /// bound and the bandwidth bound (the weights a step touches).
  RatePrediction prefill;
};

/// The plan of `planned` (after the planning passes) described by `info`
/// on `target`.
MachinePlan planMachine(mlir::ModuleOp planned, const ModelInfo &info,
                        const target::TargetDescription &target,
                        const MachinePlanOptions &options);

/// Tokens per second when each step reads `bytes` at `gbps` GB/s.
double bandwidthBoundRate(double gbps, double bytes);

} // namespace ingot::codegen

#endif // INGOT_CODEGEN_MACHINEPLAN_H
