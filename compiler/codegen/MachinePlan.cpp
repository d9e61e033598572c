//===- MachinePlan.cpp - How a planned model uses one machine -------------===//
#include "compiler/codegen/MachinePlan.h"

#include "compiler/codegen/PlanForTarget.h"
#include "compiler/dialect/IngotDialect.h"
#include "runtime/core/HumanBytes.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace llvm;
using ingot::rt::decimalBytes;
using ingot::target::TargetDescription;

namespace ingot::codegen {
namespace {

/// `bytes` over `units` equal units (rows in granules, or the matrices of a
/// stack) shared out by `shares`: each node's bytes, summing exactly to
/// `bytes`, so that no byte is placed twice or dropped.
std::vector<int64_t> splitBytes(int64_t bytes, int64_t units,
                                const std::vector<uint64_t> &shares) {
  std::vector<int64_t> out(shares.size(), 0);
  if (units < 1)
    units = 1;
  unsigned count = unsigned(std::min<int64_t>(units, UINT32_MAX));
  std::vector<unsigned> caps(shares.size(), count);
  std::vector<unsigned> perNode = target::shareOut(count, shares, caps);
  __int128 before = 0;
  uint64_t cumulative = 0;
  for (size_t k = 0; k < shares.size(); ++k) {
    cumulative += perNode[k];
    __int128 upTo = __int128(bytes) * cumulative / count;
    out[k] = int64_t(upTo - before);
    before = upTo;
  }
  return out;
}

/// Adds each payload form of `weight` to the nodes' weight bytes.
void placeWeight(WeightOp weight, const std::vector<uint64_t> &shares,
                 size_t firstNode, std::vector<NodePlan> &nodes,
                 int64_t &formBytes) {
  LayoutAttr layout = weight.getLayoutAttr();
  if (!layout)
    return;
  ArrayRef<int64_t> shape = weight.getShape();
  int64_t rows = shape.empty() ? 1 : shape[0];
  auto add = [&](int64_t bytes, int64_t units) {
    formBytes += bytes;
    std::vector<int64_t> split = splitBytes(bytes, units, shares);
    for (size_t k = 0; k < nodes.size(); ++k)
      nodes[k].weightBytes += split[k];
  };
  if (auto packed = layout.getPacked()) {
    // A stack (experts, heads) splits by matrix, a matrix by row granule.
    if (shape.size() >= 3)
      add(packed->bytes, shape[0]);
    else {
      int64_t granule = std::max<int64_t>(1, layout.getGranule().value_or(1));
      add(packed->bytes, (rows + granule - 1) / granule);
    }
  }
  if (auto raw = layout.getRaw())
    add(raw->bytes, shape.size() >= 2 ? rows : 1);
  if (auto f32 = layout.getF32()) {
    // Vectors (norm scales, biases) are read whole by every thread: one
    // copy, on the first node.
    if (shape.size() >= 2)
      add(f32->bytes, rows);
    else {
      formBytes += f32->bytes;
      nodes[firstNode].weightBytes += f32->bytes;
    }
  }
}

/// The machine's read bandwidth for `threads` decode threads and where the
/// figure comes from: the option, a point measured with that many threads,
/// the best measured, else the theoretical figure of the memory system.
std::pair<double, std::string> readBandwidth(const TargetDescription &t,
                                             unsigned threads,
                                             std::optional<double> option) {
  if (option)
    return {*option, "given with --read-gbps"};
  for (const target::BandwidthPoint &p : t.memory.measured)
    if (p.threads == threads)
      return {p.readGBps, formatv("measured with {0} threads", threads)};
  if (t.memory.measuredReadGBps)
    return {*t.memory.measuredReadGBps, "the best measured read bandwidth"};
  bool estimated = t.memory.source == "estimated";
  return {t.theoreticalBandwidthGBps(),
          formatv("{0}: {1} socket{2} x {3} channel{4} x {5}-{6} x 8 bytes; "
                  "{7}",
                  estimated ? "estimated" : "theoretical", t.sockets,
                  t.sockets == 1 ? "" : "s", t.memory.channels,
                  t.memory.channels == 1 ? "" : "s", t.memory.type,
                  t.memory.mts,
                  estimated ? "the memory system is a guess (source: "
                              "estimated), not the machine's"
                            : "the target has no measured bandwidth")};
}

/// Decode reading `bytes` per token, split over the nodes as their weights
/// are, each node from its own memory: the slowest node sets the rate.
double splitDecodeRate(const std::vector<NodePlan> &nodes, int64_t weightBytes,
                       double bytes) {
  double slowest = 0;
  for (const NodePlan &n : nodes) {
    if (n.weightBytes == 0)
      continue;
    double share =
        weightBytes ? double(n.weightBytes) / double(weightBytes) : 1;
    if (!(n.readGBps > 0))
      return 0;
    slowest = std::max(slowest, bytes * share / (n.readGBps * 1e9));
  }
  return slowest > 0 ? 1 / slowest : 0;
}

/// How many positions fit in `usable` bytes at `perPosition` bytes each
/// (negative: `usable` is short), at most `limit`.
int64_t positionsFitting(double usable, double perPosition, int64_t limit) {
  if (usable < 0)
    return -1;
  if (!(perPosition > 0))
    return limit;
  return int64_t(std::min(usable / perPosition, double(limit)));
}

RatePrediction predictPrefill(const MachinePlan &plan, const ModelInfo &info,
                              const TargetDescription &t,
                              const MachinePlanOptions &options) {
  RatePrediction r;
  double peak = 0;
  std::string peakSource;
  if (options.int8PeakGops) {
    peak = *options.int8PeakGops;
    peakSource = "given with --int8-gops";
  } else if (t.probe && t.probe->int8PeakGops) {
    peak = *t.probe->int8PeakGops;
    peakSource =
        formatv("probed with {0} threads", t.probe->int8Threads.value_or(0));
  }
  if (!(peak > 0)) {
    r.basis = "not predicted: the target has no probed int8 peak (`ingot "
              "target probe` on the machine, or --int8-gops N)";
    return r;
  }
  const StepTraffic &s = info.step;
  const double batch = double(std::max<int64_t>(1, plan.maxBatch));
  // The logits tail runs once per step, not per token.
  double macsPerToken = double(s.quantizedMacs - s.logitsTailQuantizedMacs) +
                        double(s.logitsTailQuantizedMacs) / batch;
  double computeRate = peak * 1e9 / (2 * macsPerToken);
  // A step of `batch` tokens reads the dense weights once and each expert
  // any of its tokens chose: with top-k of n chosen uniformly, a share
  // 1 - (1 - k/n)^batch of all experts.
  double expertsAll = 0, touched = 0;
  if (s.experts > 0 && s.expertsUsed > 0) {
    expertsAll =
        double(s.routedExpertBytes) * double(s.experts) / double(s.expertsUsed);
    touched =
        1 - std::pow(1 - double(s.expertsUsed) / double(s.experts), batch);
  }
  double stepBytes =
      double(s.weightBytes - s.routedExpertBytes - s.embeddingBytes) +
      expertsAll * touched + batch * double(s.embeddingBytes);
  double stepRate = splitDecodeRate(plan.nodes, plan.weightBytes, stepBytes);
  double bandwidthRate = batch * stepRate;
  std::string compute =
      formatv("{0:f0} GOPS int8 ({1}) over {2:f2} G multiply-adds per token",
              peak, peakSource, macsPerToken / 1e9);
  std::string bandwidth =
      formatv("{0:f1} GB/s over {1} of weights per step of {2} tokens",
              plan.readGBps, decimalBytes(stepBytes), int64_t(batch));
  if (bandwidthRate > 0 && bandwidthRate < computeRate) {
    r.tokensPerSecond = bandwidthRate;
    r.basis = "bandwidth-bound: " + bandwidth +
              " (int8 bound: " + formatv("{0:f1}", computeRate).str() +
              " tokens/s from " + compute + ")";
  } else {
    r.tokensPerSecond = computeRate;
    r.basis = "int8-bound: " + compute;
    if (bandwidthRate > 0)
      r.basis +=
          formatv(" (bandwidth bound: {0:f1} tokens/s)", bandwidthRate).str();
  }
  return r;
}

} // namespace

double bandwidthBoundRate(double gbps, double bytes) {
  return bytes > 0 ? gbps * 1e9 / bytes : 0;
}

MachinePlan planMachine(mlir::ModuleOp planned, const ModelInfo &info,
                        const TargetDescription &t,
                        const MachinePlanOptions &options) {
  MachinePlan plan;
  plan.decodeThreads = target::placeThreads(t, t.decodeThreads());
  plan.prefillThreads = target::placeThreads(t, t.prefillThreads());
  plan.weightBytes = info.weightBytes;
  plan.arenaBytes = info.arenaBytes;
  plan.kvBytesPerPosition = info.kvBytesPerPosition[INGOT_KV_KEY_F32];
  plan.kvBytesPerPositionQ8 = info.kvBytesPerPosition[INGOT_KV_KEY_Q8_0];
  plan.maxBatch = info.maxBatch;
  plan.maxContext = info.maxContext;
  plan.ramBytes = t.memory.capacityGiB * double(1ull << 30);
  plan.reserveBytes = (1 - kUsableRamFraction) * plan.ramBytes;

  // Nodes: the description's, or the whole machine as one.
  if (t.numa.empty()) {
    NodePlan n;
    n.cores = t.physicalCores();
    n.memoryBytes = plan.ramBytes;
    plan.nodes.push_back(n);
  }
  for (const target::NumaNode &numa : t.numa) {
    NodePlan n;
    n.id = numa.id;
    n.cores = unsigned(numa.cores.size());
    n.memoryBytes = numa.memoryGiB * double(1ull << 30);
    plan.nodes.push_back(n);
  }
  for (const target::PlacedThread &p : plan.decodeThreads)
    ++plan.nodes[p.node].decodeThreads;
  for (const target::PlacedThread &p : plan.prefillThreads)
    ++plan.nodes[p.node].prefillThreads;

  // Weights split by the nodes' decode threads, which compute them.
  std::vector<uint64_t> shares;
  for (const NodePlan &n : plan.nodes)
    shares.push_back(n.decodeThreads);
  size_t firstNode = 0;
  while (firstNode + 1 < plan.nodes.size() &&
         plan.nodes[firstNode].decodeThreads == 0)
    ++firstNode;
  int64_t formBytes = 0;
  planned.walk([&](WeightOp w) {
    placeWeight(w, shares, firstNode, plan.nodes, formBytes);
  });
  // Alignment padding between forms, to the first node.
  plan.nodes[firstNode].weightBytes += plan.weightBytes - formBytes;
  plan.nodes[firstNode].arenaBytes = plan.arenaBytes;

  // Bandwidth: the machine's figure, each node's in proportion to its cores.
  auto [gbps, source] =
      readBandwidth(t, unsigned(plan.decodeThreads.size()), options.readGBps);
  plan.readGBps = gbps;
  plan.bandwidthSource = source;
  unsigned totalDecode = unsigned(plan.decodeThreads.size());
  unsigned totalCores = 0;
  for (const NodePlan &n : plan.nodes)
    totalCores += n.cores;
  for (NodePlan &n : plan.nodes) {
    n.readGBps = totalCores ? gbps * n.cores / totalCores : gbps;
    n.kvBytesPerPosition = totalDecode ? double(plan.kvBytesPerPosition) *
                                             n.decodeThreads / totalDecode
                                       : 0;
  }

  // Context: the machine's RAM less the reserve, and every node's.
  plan.contextFits =
      positionsFitting(kUsableRamFraction * plan.ramBytes -
                           double(plan.weightBytes) - double(plan.arenaBytes),
                       double(plan.kvBytesPerPosition), plan.maxContext);
  for (NodePlan &n : plan.nodes) {
    n.contextFits =
        positionsFitting(kUsableRamFraction * n.memoryBytes -
                             double(n.weightBytes) - double(n.arenaBytes),
                         n.kvBytesPerPosition, plan.maxContext);
    plan.contextFits = std::min(plan.contextFits, n.contextFits);
  }
  plan.context = options.context > 0 ? options.context
                                     : std::max<int64_t>(0, plan.contextFits);

  // Decode: the weights a step streams, and at the planned context the
  // whole KV cache as well.
  const StepTraffic &s = info.step;
  plan.streamedBytes = s.weightBytes;
  plan.routedExpertBytes = s.routedExpertBytes;
  plan.expertsUsed = s.expertsUsed;
  plan.experts = s.experts;
  auto decodeAt = [&](int64_t positions) {
    RatePrediction r;
    double bytes = double(s.weightBytes) +
                   double(plan.kvBytesPerPosition) * double(positions);
    r.tokensPerSecond = splitDecodeRate(plan.nodes, plan.weightBytes, bytes);
    r.basis = formatv("{0} per token", decimalBytes(bytes));
    return r;
  };
  plan.decodeEmpty = decodeAt(0);
  plan.decodeFull = decodeAt(plan.context);
  plan.prefill = predictPrefill(plan, info, t, options);
  return plan;
}

} // namespace ingot::codegen
