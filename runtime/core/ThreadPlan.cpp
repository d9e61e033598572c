//===- ThreadPlan.cpp - Thread counts and placement of one run ------------===//
#include "ThreadPlan.h"
#include "CommandLine.h"
#include "Console.h"
#include "Error.h"
#include "Placement.h"
#include "ThreadPool.h"
#include "ingot/ModelABI.h"

#include <algorithm>
#include <set>

namespace ingot::rt {
namespace {

/// The CPUs of the host a --pin list may name.
bool checkPinList(const ThreadPlan &plan, const std::vector<int> &list,
                  std::string &error) {
  if (!plan.hostKnown)
    return true; // the kernel refuses what it must, sched_setaffinity fails
  std::set<int> usable;
  for (const Core &c : plan.host.cores)
    usable.insert(c.cpus.begin(), c.cpus.end());
  for (int cpu : list)
    if (!usable.count(cpu))
      return fail(error,
                  "--pin: CPU %d is not one this process may use (it may use "
                  "%s)",
                  cpu, formatCpuList({usable.begin(), usable.end()}).c_str());
  return true;
}

} // namespace

bool planThreads(const Options &o, ThreadPlan &plan, std::string &error,
                 std::vector<std::string> &warnings) {
  plan.simulated = simulatedHost();
  std::string problem;
  plan.hostKnown = readHostTopology(sysfsRoot(), plan.host, problem);
  if (!plan.hostKnown) {
    if (plan.simulated)
      return fail(error, "INGOT_SYSFS_ROOT: %s", problem.c_str());
    plan.hostProblem = problem;
  }
  int planWarmup = 1;
  plan.targetKnown =
      parseMachinePlan(ingot_machine_plan, plan.target, planWarmup, error);
  if (!plan.targetKnown && !error.empty())
    return false;
  plan.warmupRounds = int(o.warmup >= 0 ? o.warmup : planWarmup);

  const int cpus =
      plan.hostKnown ? plan.host.hardwareThreads() : availableCpus();
  int decode = ingot_planned_threads[0], prefill = ingot_planned_threads[1];
  plan.differs = plan.hostKnown && plan.targetKnown &&
                 plan.host.describe() != plan.target.describe();
  if (plan.differs) {
    warnings.push_back(format(
        "warning: this host (%s%s) is not the target %s (%s): threads are "
        "placed for the host",
        plan.host.describe().c_str(),
        plan.simulated ? ", from INGOT_SYSFS_ROOT" : "",
        orEmpty(ingot_model_info.target_name), plan.target.describe().c_str()));
    threadsForHost(plan.target, decode, prefill, plan.host, decode, prefill);
  }
  // 0 (no plan) or more than the CPUs there are: all of them.
  auto bounded = [&](int n) { return n > 0 && n < cpus ? n : cpus; };
  plan.decode = o.threads ? int(o.threads) : bounded(decode);
  plan.prefill = o.batchThreads ? int(o.batchThreads)
                 : o.threads    ? int(o.threads)
                                : bounded(prefill);

  switch (o.pin.mode) {
  case PinRequest::Mode::None:
    plan.pinning = "none";
    break;
  case PinRequest::Mode::List:
    if (!checkPinList(plan, o.pin.cpus, error))
      return false;
    plan.cpus = o.pin.cpus;
    plan.pinning = "list";
    break;
  case PinRequest::Mode::Auto:
    plan.pinning = "auto";
    if (plan.hostKnown)
      plan.cpus = placementOrder(plan.host);
    else
      plan.pinning += " (not pinned: " + plan.hostProblem + ")";
    break;
  }
  if (plan.simulated)
    plan.pinning += " (not pinned: the host is simulated by INGOT_SYSFS_ROOT)";
  return true;
}

} // namespace ingot::rt
