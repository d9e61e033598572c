//===- Topology.cpp - Reading the host's and the target's topology --------===//
#include "Topology.h"
#include "Error.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sched.h>
#include <set>
#include <utility>

namespace ingot::rt {
namespace {

/// The first line of a sysfs file, without its newline; false when the file
/// cannot be read.
bool readLine(const std::string &path, std::string &line) {
  FILE *f = std::fopen(path.c_str(), "r");
  if (!f)
    return false;
  char buffer[4096];
  bool ok = std::fgets(buffer, sizeof(buffer), f) != nullptr;
  std::fclose(f);
  if (!ok)
    return false;
  line = buffer;
  while (!line.empty() && (line.back() == '\n' || line.back() == ' '))
    line.pop_back();
  return true;
}

bool readInt(const std::string &path, int &value) {
  std::string line;
  if (!readLine(path, line) || line.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long v = std::strtol(line.c_str(), &end, 10);
  if (errno || *end || v < INT_MIN || v > INT_MAX)
    return false;
  value = int(v);
  return true;
}

/// The CPUs sharing cpu's L3, as sysfs lists them ("" when not described).
std::string l3SharedList(const std::string &cpuDir) {
  for (int index = 0; index < 16; ++index) {
    std::string dir = cpuDir + "/cache/index" + std::to_string(index);
    int level = 0;
    if (!readInt(dir + "/level", level))
      continue;
    std::string shared;
    if (level == 3 && readLine(dir + "/shared_cpu_list", shared))
      return shared;
  }
  return "";
}

/// The NUMA node of each CPU under root (empty: no node directory, one node).
std::map<int, int> nodeOfCpu(const std::string &root) {
  std::map<int, int> nodes;
  std::string online;
  std::vector<int> ids;
  if (!readLine(root + "/devices/system/node/online", online) ||
      !parseCpuList(online, ids))
    return nodes;
  for (int id : ids) {
    std::string list;
    std::vector<int> cpus;
    if (readLine(root + "/devices/system/node/node" + std::to_string(id) +
                     "/cpulist",
                 list) &&
        parseCpuList(list, cpus))
      for (int cpu : cpus)
        nodes[cpu] = id;
  }
  return nodes;
}

/// The CPUs this process may run on.
std::set<int> allowedCpus() {
  std::set<int> cpus;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set))
        cpus.insert(c);
  return cpus;
}

template <typename Key> int indexOf(std::vector<Key> &keys, const Key &key) {
  auto it = std::find(keys.begin(), keys.end(), key);
  if (it != keys.end())
    return int(it - keys.begin());
  keys.push_back(key);
  return int(keys.size()) - 1;
}

/// Fills the group sizes, node list, socket count and SMT width from cores.
void summarize(Topology &t, int l3Count) {
  t.l3Groups.assign(size_t(l3Count), 0);
  std::set<int> nodes, sockets;
  for (const Core &c : t.cores) {
    ++t.l3Groups[size_t(c.l3)];
    nodes.insert(c.node);
    sockets.insert(c.socket);
  }
  t.l3Groups.erase(std::remove(t.l3Groups.begin(), t.l3Groups.end(), 0),
                   t.l3Groups.end());
  t.nodes.assign(nodes.begin(), nodes.end());
  t.sockets = int(sockets.size());
}

} // namespace

std::string sysfsRoot() {
  const char *root = std::getenv("INGOT_SYSFS_ROOT");
  return root && *root ? root : "/sys";
}

bool simulatedHost() {
  const char *root = std::getenv("INGOT_SYSFS_ROOT");
  return root && *root;
}

bool readHostTopology(const std::string &root, Topology &t,
                      std::string &error) {
  t = Topology();
  const std::string cpuRoot = root + "/devices/system/cpu";
  std::string online;
  std::vector<int> cpus;
  if (!readLine(cpuRoot + "/online", online) || !parseCpuList(online, cpus))
    return fail(error, "cannot read the CPU list %s/online", cpuRoot.c_str());
  const bool simulated = root != "/sys";
  const std::set<int> allowed = simulated ? std::set<int>() : allowedCpus();
  const std::map<int, int> nodes = nodeOfCpu(root);
  // A physical core is a (package, core id) pair; an L3 group the CPU list
  // its members share.
  std::vector<std::pair<int, int>> coreKeys;
  std::vector<std::string> l3Keys;
  for (int cpu : cpus) {
    if (!simulated && !allowed.count(cpu))
      continue;
    const std::string dir = cpuRoot + "/cpu" + std::to_string(cpu);
    int package = 0, coreId = cpu;
    if (!readInt(dir + "/topology/physical_package_id", package) ||
        !readInt(dir + "/topology/core_id", coreId))
      return fail(error, "cannot read the topology of CPU %d under %s", cpu,
                  dir.c_str());
    const size_t before = coreKeys.size();
    const int core = indexOf(coreKeys, {package, coreId});
    if (coreKeys.size() != before)
      t.cores.emplace_back();
    Core &c = t.cores[size_t(core)];
    c.cpus.push_back(cpu);
    c.socket = package;
    auto node = nodes.find(cpu);
    c.node = node == nodes.end() ? 0 : node->second;
    std::string shared = l3SharedList(dir);
    // Without an L3 description the socket is the group.
    c.l3 = indexOf(l3Keys, shared.empty() ? "package " + std::to_string(package)
                                          : shared);
  }
  if (t.cores.empty())
    return fail(error, "no usable CPU found under %s", cpuRoot.c_str());
  for (const Core &c : t.cores)
    t.threadsPerCore = std::max(t.threadsPerCore, int(c.cpus.size()));
  summarize(t, int(l3Keys.size()));
  return true;
}

bool parseMachinePlan(const char *text, Topology &t, int &warmupRounds,
                      std::string &error) {
  t = Topology();
  if (!text || !*text)
    return false;
  int coresPerSocket = 0;
  std::vector<std::vector<int>> l3, nodeCores;
  std::vector<int> nodeIds;
  const char *p = text;
  while (*p) {
    const char *nl = std::strchr(p, '\n');
    std::string line(p, nl ? size_t(nl - p) : std::strlen(p));
    p += line.size() + (nl ? 1 : 0);
    char key[32] = {}, list[4096] = {};
    int value = 0;
    bool ok = true;
    if (std::sscanf(line.c_str(), "%31s", key) != 1)
      continue;
    std::string k = key;
    if (k == "sockets" || k == "cores_per_socket" || k == "threads_per_core" ||
        k == "warmup") {
      ok = std::sscanf(line.c_str(), "%*s %d", &value) == 1 && value >= 0;
      if (k == "sockets")
        t.sockets = value;
      else if (k == "cores_per_socket")
        coresPerSocket = value;
      else if (k == "threads_per_core")
        t.threadsPerCore = value;
      else
        warmupRounds = value;
    } else if (k == "l3") {
      l3.emplace_back();
      ok = std::sscanf(line.c_str(), "%*s %4095s", list) == 1 &&
           parseCpuList(list, l3.back());
    } else if (k == "node") {
      nodeCores.emplace_back();
      nodeIds.push_back(0);
      ok = std::sscanf(line.c_str(), "%*s %d %4095s", &nodeIds.back(), list) ==
               2 &&
           parseCpuList(list, nodeCores.back());
    }
    if (!ok)
      return fail(error, "the model's machine plan has a bad line '%s'",
                  line.c_str());
  }
  const int64_t total = int64_t(t.sockets) * coresPerSocket;
  if (total < 1 || total > 1 << 20 || t.threadsPerCore < 1)
    return fail(error,
                "the model's machine plan has no cores (sockets %d, cores per "
                "socket %d, threads per core %d)",
                t.sockets, coresPerSocket, t.threadsPerCore);
  t.cores.resize(size_t(total));
  for (int i = 0; i < int(total); ++i) {
    t.cores[size_t(i)].socket = i / coresPerSocket;
    // Cores no group lists share their socket's (a plan without L3 lines).
    t.cores[size_t(i)].l3 = int(l3.size()) + i / coresPerSocket;
  }
  for (size_t g = 0; g < l3.size(); ++g)
    for (int core : l3[g])
      if (core < total)
        t.cores[size_t(core)].l3 = int(g);
  for (size_t n = 0; n < nodeCores.size(); ++n)
    for (int core : nodeCores[n])
      if (core < total)
        t.cores[size_t(core)].node = nodeIds[n];
  summarize(t, int(l3.size()) + t.sockets);
  return true;
}

std::string Topology::describe() const {
  auto plural = [](int n, const char *one, const char *many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::string text = plural(sockets, "socket", "sockets") + ", " +
                     plural(int(cores.size()), "core", "cores") + " x " +
                     plural(threadsPerCore, "thread", "threads") +
                     ", L3 groups ";
  for (size_t g = 0; g < l3Groups.size(); ++g)
    text += (g ? "+" : "") + std::to_string(l3Groups[g]);
  text += " cores, NUMA nodes ";
  for (size_t n = 0; n < nodes.size(); ++n) {
    int count = 0;
    for (const Core &c : cores)
      count += c.node == nodes[n];
    text += (n ? "+" : "") + std::to_string(count);
  }
  return text + " cores";
}

int Topology::hardwareThreads() const {
  int n = 0;
  for (const Core &c : cores)
    n += c.cpus.empty() ? threadsPerCore : int(c.cpus.size());
  return n;
}

std::string formatCpuList(std::vector<int> cpus) {
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  std::string text;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1)
      ++j;
    text += (text.empty() ? "" : ",") + std::to_string(cpus[i]);
    if (j > i)
      text += "-" + std::to_string(cpus[j]);
    i = j + 1;
  }
  return text;
}

bool parseCpuList(const std::string &text, std::vector<int> &cpus) {
  constexpr long kMaxCpu = 1 << 20;
  cpus.clear();
  const char *p = text.c_str();
  if (!*p)
    return false;
  while (*p) {
    char *end = nullptr;
    errno = 0;
    long first = std::strtol(p, &end, 10);
    if (end == p || errno || first < 0 || first > kMaxCpu ||
        !(*p >= '0' && *p <= '9'))
      return false;
    long last = first;
    p = end;
    if (*p == '-') {
      ++p;
      last = std::strtol(p, &end, 10);
      if (end == p || errno || last < first || last > kMaxCpu ||
          !(*p >= '0' && *p <= '9'))
        return false;
      p = end;
    }
    for (long c = first; c <= last; ++c)
      cpus.push_back(int(c));
    if (*p == ',' && p[1])
      ++p;
    else if (*p)
      return false;
    if (cpus.size() > size_t(kMaxCpu))
      return false;
  }
  return true;
}

} // namespace ingot::rt
