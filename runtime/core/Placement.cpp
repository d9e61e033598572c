//===- Placement.cpp - Which CPU each thread runs on ----------------------===//
#include "Placement.h"
#include "compiler/target/PlacementPolicy.h"

#include <algorithm>
#include <map>
#include <set>

namespace ingot::rt {

std::vector<int> placementOrder(const Topology &host) {
  std::vector<PolicyCore> cores;
  for (const Core &c : host.cores)
    cores.push_back({c.node, c.l3, int(c.cpus.size())});
  std::vector<int> order;
  for (const PolicySlot &slot : placementPolicyOrder(cores))
    order.push_back(host.cores[slot.core].cpus[size_t(slot.level)]);
  return order;
}

std::string describePlacement(const Topology &host,
                              const std::vector<int> &cpus, int threads) {
  if (cpus.empty())
    return "not pinned";
  std::map<int, const Core *> coreOfCpu;
  for (const Core &c : host.cores)
    for (int cpu : c.cpus)
      coreOfCpu[cpu] = &c;
  std::map<int, int> perGroup, perNode;
  std::set<const Core *> cores;
  std::string list;
  for (int i = 0; i < threads; ++i) {
    int cpu = cpus[size_t(i) % cpus.size()];
    list += (i ? "," : "") + std::to_string(cpu);
    auto it = coreOfCpu.find(cpu);
    if (it == coreOfCpu.end())
      continue;
    ++perGroup[it->second->l3];
    ++perNode[it->second->node];
    cores.insert(it->second);
  }
  auto counts = [](const std::map<int, int> &m) {
    std::string text;
    for (const auto &[key, n] : m)
      text += (text.empty() ? "" : "+") + std::to_string(n);
    return text.empty() ? std::string("none") : text;
  };
  return "CPUs " + list + " (L3 groups " + counts(perGroup) + ", NUMA nodes " +
         counts(perNode) + ", " + std::to_string(cores.size()) +
         " physical core" + (cores.size() == 1 ? "" : "s") + ")";
}

void threadsForHost(const Topology &target, int plannedDecode,
                    int plannedPrefill, const Topology &host, int &decode,
                    int &prefill) {
  // The plan's counts cover one socket (the default) or the whole machine;
  // prefill's use SMT siblings when it has more threads than cores there.
  const int targetSockets = std::max(1, target.sockets);
  const int targetPerSocket =
      std::max(1, int(target.cores.size()) / targetSockets);
  const int hostAll = int(host.cores.size());
  const int hostPerSocket = std::max(1, hostAll / std::max(1, host.sockets));
  decode = plannedDecode > targetPerSocket ? hostAll : hostPerSocket;
  const bool wholeMachine =
      plannedPrefill > targetPerSocket * target.threadsPerCore;
  const int scopeCores =
      wholeMachine ? int(target.cores.size()) : targetPerSocket;
  const bool smt = plannedPrefill > scopeCores;
  prefill = (wholeMachine ? hostAll : hostPerSocket) *
            (smt ? host.threadsPerCore : 1);
  decode = std::max(1, decode);
  prefill = std::max(1, prefill);
}

} // namespace ingot::rt
