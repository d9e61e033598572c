//===- EmittedMachinePlan.cpp - Target topology for the binary ----------===//
#include "compiler/codegen/EmittedMachinePlan.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>

using namespace llvm;

namespace ingot::codegen {

int64_t plannedWarmupRounds(const StepTraffic &step, int64_t maxBatch) {
  if (step.experts <= 0 || step.expertsUsed <= 0)
    return 1;
  const int64_t picksPerRound =
      (std::max<int64_t>(maxBatch, 1) + 1) * step.expertsUsed;
  const int64_t rounds = (3 * step.experts + picksPerRound - 1) / picksPerRound;
  return std::clamp<int64_t>(rounds, 1, 8);
}

std::string machinePlanText(const target::TargetDescription &target,
                            int64_t warmupRounds) {
  std::string text =
      formatv("sockets {0}\ncores_per_socket {1}\n"
              "threads_per_core {2}\n",
              target.sockets, target.coresPerSocket, target.threadsPerCore)
          .str();
  for (const target::L3Group &g : target.caches.l3)
    text += "l3 " + target::formatCoreList(g.cores) + "\n";
  for (const target::NumaNode &n : target.numa)
    text +=
        formatv("node {0} {1}\n", n.id, target::formatCoreList(n.cores)).str();
  text += formatv("warmup {0}\n", warmupRounds).str();
  return text;
}

} // namespace ingot::codegen
