//===- Topology.h - Cores, L3 groups and NUMA nodes ------------*- C++ -*-===//
//
// The same shape for the two machines the binary knows: the target it was
// compiled for (from the machine plan the compiler emits, ModelABI.h) and
// the host it runs on (from sysfs). Thread placement (Placement.h) reads
// the host's; the two are compared at start, and when they differ the
// binary says so once and places threads for the host.
//
// The host is read from /sys/devices/system/{cpu,node}: per CPU its package,
// core id and the CPUs sharing its L3 (cache/index*/ with level 3), per
// node its CPU list. INGOT_SYSFS_ROOT replaces /sys (a fake tree describing
// another machine, for tests); threads are then not pinned, because the
// CPUs it names are not this machine's.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_TOPOLOGY_H
#define INGOT_RUNTIME_CORE_TOPOLOGY_H

#include <string>
#include <vector>

namespace ingot::rt {

/// One physical core.
struct Core {
  int socket = 0;
  /// NUMA node id.
  int node = 0;
  /// Index into Topology::l3Groups.
  int l3 = 0;
  /// Linux CPU numbers of its hardware threads, primary first (host only;
  /// the target's cores have none).
  std::vector<int> cpus;
};

struct Topology {
  int sockets = 0;
  /// Hardware threads per core (the most of any core).
  int threadsPerCore = 1;
  std::vector<Core> cores;
  /// Cores of each L3 group (a CCD on AMD, a socket on most Intel parts).
  std::vector<int> l3Groups;
  /// NUMA node ids, ascending.
  std::vector<int> nodes;

  /// "1 socket, 16 cores x 2 threads, L3 groups 8+8 cores, 1 NUMA node":
  /// two topologies with the same text have the same shape.
  std::string describe() const;
  int hardwareThreads() const;
};

/// The sysfs root the host is read from: INGOT_SYSFS_ROOT, else "/sys".
std::string sysfsRoot();
/// Whether sysfsRoot() is a stand-in (INGOT_SYSFS_ROOT set).
bool simulatedHost();

/// The host's CPUs under `root` that this process may use (all CPUs of the
/// tree when the host is simulated). False and `error` when the tree has no
/// readable CPU topology.
bool readHostTopology(const std::string &root, Topology &t, std::string &error);

/// The target's topology and planned warm-up rounds from the machine plan
/// text (ModelABI.h). False when the plan is empty (the model object does
/// not describe its target); `error` set when it is malformed.
bool parseMachinePlan(const char *text, Topology &t, int &warmupRounds,
                      std::string &error);

/// "0-3,8,10-11" for ascending CPU numbers; parseCpuList reads it back.
std::string formatCpuList(std::vector<int> cpus);
bool parseCpuList(const std::string &text, std::vector<int> &cpus);

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_TOPOLOGY_H
