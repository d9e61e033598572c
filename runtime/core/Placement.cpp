//===- Placement.cpp - Which CPU each thread runs on ----------------------===//
#include "Placement.h"

#include <algorithm>
#include <map>
#include <set>

namespace ingot::rt {

std::vector<int> placementOrder(const Topology &host) {
  // The cores of each L3 group, in core order, and each group's node.
  std::map<int, std::vector<int>> groupCores;
  for (size_t i = 0; i < host.cores.size(); ++i)
    groupCores[host.cores[i].l3].push_back(int(i));
  std::map<int, std::vector<int>> nodeGroups;
  for (const auto &[group, cores] : groupCores)
    nodeGroups[host.cores[size_t(cores.front())].node].push_back(group);
  // Round r takes the r-th group of every node in turn.
  std::vector<const std::vector<int> *> groups;
  for (size_t round = 0; groups.size() < groupCores.size(); ++round)
    for (const auto &[node, ids] : nodeGroups)
      if (round < ids.size())
        groups.push_back(&groupCores[ids[round]]);
  std::vector<int> order;
  for (int level = 0; level < host.threadsPerCore; ++level) {
    std::vector<size_t> next(groups.size(), 0);
    for (bool any = true; any;) {
      any = false;
      for (size_t g = 0; g < groups.size(); ++g) {
        if (next[g] >= groups[g]->size())
          continue;
        any = true;
        const Core &c = host.cores[size_t((*groups[g])[next[g]++])];
        if (size_t(level) < c.cpus.size())
          order.push_back(c.cpus[size_t(level)]);
      }
    }
  }
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
