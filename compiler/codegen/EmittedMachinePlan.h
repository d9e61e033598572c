//===- EmittedMachinePlan.h - Target topology for the binary --*- C++ -*-===//
//
// The text the compiler emits as `ingot_machine_plan` (ModelABI.h; not
// `ingot plan`'s report, MachinePlan.h): the
// target's sockets, cores, SMT width, L3 groups and NUMA nodes, which the
// binary places its threads by and compares with the host at start, and
// the warm-up rounds bench and serve run before they take work.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_CODEGEN_EMITTEDMACHINEPLAN_H
#define INGOT_CODEGEN_EMITTEDMACHINEPLAN_H

#include "compiler/codegen/StepTraffic.h"
#include "compiler/target/TargetDescription.h"

#include <cstdint>
#include <string>

namespace ingot::codegen {

/// Warm-up rounds (runtime/core/Warmup.h) for a model whose rounds each
/// run maxBatch + 1 tokens: one for a dense model, whose every round reads
/// every weight; for MoE enough that each expert is expected to be chosen
/// about three times (so a cold one is the exception), at most 8.
int64_t plannedWarmupRounds(const StepTraffic &step, int64_t maxBatch);

/// The `ingot_machine_plan` text for `target`.
std::string machinePlanText(const target::TargetDescription &target,
                            int64_t warmupRounds);

} // namespace ingot::codegen

#endif // INGOT_CODEGEN_EMITTEDMACHINEPLAN_H
