//===- TargetDetect.cpp - Describe the host machine -----------------------===//
//
// Features from cpuid (leaves 1, 7.0, 7.1) and XCR0 (OS support of the
// AVX/AVX-512/AMX register state); topology and caches from
// /sys/devices/system/cpu; NUMA from /sys/devices/system/node; memory size
// and huge pages from /proc/meminfo and /sys/kernel/mm/hugepages.
// DRAM channels, type and speed are not visible (no SMBIOS access, often a
// VM): they are estimated, and the memory section says so.
//
//===----------------------------------------------------------------------===//
#include "compiler/target/TargetDescription.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/X86TargetParser.h"

#include <cpuid.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

using namespace llvm;
using namespace ingot::target;

namespace {

std::optional<std::string> readSysFile(const Twine &path) {
  auto buffer = MemoryBuffer::getFileAsStream(path);
  if (!buffer)
    return std::nullopt;
  return (*buffer)->getBuffer().trim().str();
}

std::optional<uint64_t> readSysNumber(const Twine &path) {
  auto text = readSysFile(path);
  unsigned long long value;
  if (!text || getAsUnsignedInteger(*text, 10, value))
    return std::nullopt;
  return uint64_t(value);
}

/// Parses a Linux cpu list such as "0-3,8,10-11".
std::vector<unsigned> parseCpuList(StringRef text) {
  std::vector<unsigned> cpus;
  SmallVector<StringRef, 8> parts;
  text.trim().split(parts, ',', -1, false);
  for (StringRef part : parts) {
    auto [lo, hi] = part.split('-');
    unsigned first, last;
    if (lo.trim().getAsInteger(10, first))
      continue;
    last = first;
    if (!hi.empty() && hi.trim().getAsInteger(10, last))
      continue;
    for (unsigned c = first; c <= last; ++c)
      cpus.push_back(c);
  }
  return cpus;
}

/// "32768K" -> 32768 (KiB).
uint64_t parseCacheSizeKiB(StringRef text) {
  text = text.trim();
  uint64_t multiplier = 1;
  if (text.consume_back("K"))
    multiplier = 1;
  else if (text.consume_back("M"))
    multiplier = 1024;
  uint64_t value = 0;
  if (text.getAsInteger(10, value))
    return 0;
  return value * multiplier;
}

uint64_t readXcr0() {
  uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

double roundTo(double value, double step) {
  return std::round(value / step) * step;
}

const char *const sysCpu = "/sys/devices/system/cpu";

/// The sysfs path of `leaf` of logical cpu `cpu`.
std::string cpuPath(unsigned cpu, const Twine &leaf) {
  return (Twine(sysCpu) + "/cpu" + Twine(cpu) + "/" + leaf).str();
}

/// The socket of logical cpu `cpu` (0 when sysfs does not say).
uint64_t packageOf(unsigned cpu) {
  return readSysNumber(cpuPath(cpu, "topology/physical_package_id"))
      .value_or(0);
}

} // namespace

namespace {

/// The features cpuid reports and the OS enabled the register state of.
std::set<std::string> cpuidFeatures() {
  std::set<std::string> present;
  unsigned eax, ebx, ecx, edx;
  unsigned maxLeaf = __get_cpuid_max(0, nullptr);
  if (maxLeaf < 1 || !__get_cpuid(1, &eax, &ebx, &ecx, &edx))
    return present;
  unsigned ecx1 = ecx;
  bool osxsave = ecx1 & (1u << 27);
  uint64_t xcr0 = osxsave ? readXcr0() : 0;
  bool osAvx = (xcr0 & 0x6) == 0x6;
  bool osAvx512 = osAvx && (xcr0 & 0xE0) == 0xE0;
  bool osAmx = (xcr0 & 0x60000) == 0x60000;

  unsigned b7 = 0, c7 = 0, d7 = 0, a71 = 0, d71 = 0;
  if (maxLeaf >= 7) {
    unsigned subleaves;
    __get_cpuid_count(7, 0, &subleaves, &b7, &c7, &d7);
    if (subleaves >= 1)
      __get_cpuid_count(7, 1, &a71, &ebx, &ecx, &d71);
  }
  auto bit = [](unsigned reg, unsigned n) -> bool { return (reg >> n) & 1u; };
  struct Entry {
    const char *name;
    bool present;
  };
  const Entry entries[] = {
      {"sse3", bit(ecx1, 0)},
      {"ssse3", bit(ecx1, 9)},
      {"sse4_1", bit(ecx1, 19)},
      {"sse4_2", bit(ecx1, 20)},
      {"popcnt", bit(ecx1, 23)},
      {"avx", bit(ecx1, 28) && osAvx},
      {"avx2", bit(b7, 5) && osAvx},
      {"fma", bit(ecx1, 12) && osAvx},
      {"f16c", bit(ecx1, 29) && osAvx},
      {"bmi1", bit(b7, 3)},
      {"bmi2", bit(b7, 8)},
      {"avx512f", bit(b7, 16) && osAvx512},
      {"avx512cd", bit(b7, 28) && osAvx512},
      {"avx512bw", bit(b7, 30) && osAvx512},
      {"avx512dq", bit(b7, 17) && osAvx512},
      {"avx512vl", bit(b7, 31) && osAvx512},
      {"avx512_vnni", bit(c7, 11) && osAvx512},
      {"avx512_bf16", bit(a71, 5) && osAvx512},
      {"avx512_fp16", bit(d7, 23) && osAvx512},
      {"avx512_ifma", bit(b7, 21) && osAvx512},
      {"avx512_vbmi", bit(c7, 1) && osAvx512},
      {"avx512_vbmi2", bit(c7, 6) && osAvx512},
      {"avx512_bitalg", bit(c7, 12) && osAvx512},
      {"avx512_vpopcntdq", bit(c7, 14) && osAvx512},
      {"avx_vnni", bit(a71, 4) && osAvx},
      {"avx_vnni_int8", bit(d71, 4) && osAvx},
      {"gfni", bit(c7, 8)},
      {"vaes", bit(c7, 9) && osAvx},
      {"vpclmulqdq", bit(c7, 10) && osAvx},
      {"amx_tile", bit(d7, 24) && osAmx},
      {"amx_int8", bit(d7, 25) && osAmx},
      {"amx_bf16", bit(d7, 22) && osAmx},
      {"amx_fp16", bit(a71, 21) && osAmx},
      {"amx_complex", bit(d71, 8) && osAmx},
  };
  for (const Entry &e : entries)
    if (e.present)
      present.insert(e.name);
  return present;
}

/// Keeps only features whose prerequisites are present too, so the result
/// always validates (a hypervisor may hide one bit of a family).
void dropFeaturesWithoutPrerequisites(std::set<std::string> &present) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (auto it = present.begin(); it != present.end();) {
      const FeatureInfo *info = lookupFeature(*it);
      bool ok = info && (!info->requires1 || present.count(info->requires1)) &&
                (!info->requires2 || present.count(info->requires2));
      if (!ok) {
        it = present.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
  }
}

} // namespace

std::vector<std::string> ingot::target::detectHostFeatures() {
  std::set<std::string> present = cpuidFeatures();
  dropFeaturesWithoutPrerequisites(present);
  std::vector<std::string> features;
  for (const FeatureInfo &info : knownFeatures()) // table order
    if (present.count(info.name))
      features.push_back(info.name);
  return features;
}

Expected<HostTopology> ingot::target::detectHostTopology() {
  auto online = readSysFile(Twine(sysCpu) + "/online");
  if (!online)
    return createStringError(inconvertibleErrorCode(), "cannot read %s/online",
                             sysCpu);
  // (package, core_id) -> logical cpus, in logical cpu order.
  std::map<std::pair<uint64_t, uint64_t>, std::vector<unsigned>> cores;
  std::vector<std::pair<uint64_t, uint64_t>> order;
  for (unsigned cpu : parseCpuList(*online)) {
    uint64_t coreId =
        readSysNumber(cpuPath(cpu, "topology/core_id")).value_or(cpu);
    auto key = std::make_pair(packageOf(cpu), coreId);
    if (!cores.count(key))
      order.push_back(key);
    cores[key].push_back(cpu);
  }
  if (order.empty())
    return createStringError(inconvertibleErrorCode(), "no online cpus found");
  // Physical core numbering: socket by socket, by first logical cpu.
  std::sort(order.begin(), order.end(), [&](auto &a, auto &b) {
    return std::make_pair(a.first, cores[a].front()) <
           std::make_pair(b.first, cores[b].front());
  });
  HostTopology topology;
  for (auto &key : order)
    topology.logicalCpus.push_back(cores[key]);
  return topology;
}

namespace {

/// LLVM's name of the host cpu, or "x86-64" when LLVM does not know it.
std::string hostCpuName() {
  std::string cpu = sys::getHostCPUName().str();
  if (cpu.empty() || X86::parseArchX86(cpu, /*Only64Bit=*/true) == X86::CK_None)
    return "x86-64";
  return cpu;
}

/// Physical core numbers (HostTopology's order) of logical cpus.
class CoreNumbering {
public:
  explicit CoreNumbering(const HostTopology &topology) {
    for (auto [index, cpus] : enumerate(topology.logicalCpus))
      for (unsigned cpu : cpus)
        physicalOfLogical[cpu] = unsigned(index);
  }
  /// The physical cores that `cpus` run on, each once, in order.
  std::vector<CoreId> coresOf(ArrayRef<unsigned> cpus) const {
    std::set<unsigned> ids;
    for (unsigned cpu : cpus)
      if (auto it = physicalOfLogical.find(cpu); it != physicalOfLogical.end())
        ids.insert(it->second);
    std::vector<CoreId> result;
    for (unsigned id : ids)
      result.push_back({id, {}});
    return result;
  }

private:
  std::map<unsigned, unsigned> physicalOfLogical;
};

/// Sockets, cores per socket and threads per core; sockets must agree.
Error describeCores(const HostTopology &topology, TargetDescription &t) {
  std::map<uint64_t, unsigned> coresPerPackage;
  unsigned threadsPerCore = 1;
  for (const std::vector<unsigned> &cpus : topology.logicalCpus) {
    ++coresPerPackage[packageOf(cpus.front())];
    threadsPerCore = std::max<unsigned>(threadsPerCore, cpus.size());
  }
  t.sockets = coresPerPackage.size();
  t.coresPerSocket = coresPerPackage.begin()->second;
  for (auto &entry : coresPerPackage)
    if (entry.second != t.coresPerSocket)
      return createStringError(
          inconvertibleErrorCode(),
          "sockets have different core counts (%u and %u); "
          "offline cpus?",
          t.coresPerSocket, entry.second);
  t.threadsPerCore = threadsPerCore;
  return Error::success();
}

/// Which cores share an L3 of how many MiB.
using L3Groups = std::map<std::vector<unsigned>, double>;

/// L1d and L2 sizes from the first cpu, L3 groups from every cpu's sysfs
/// cache entries.
L3Groups readCaches(const HostTopology &topology, const CoreNumbering &cores,
                    TargetDescription &t) {
  L3Groups l3Groups;
  for (auto &cpus : topology.logicalCpus) {
    for (unsigned index = 0; index < 8; ++index) {
      std::string base = cpuPath(cpus.front(), "cache/index" + Twine(index));
      auto level = readSysNumber(base + "/level");
      if (!level)
        break;
      std::string type = readSysFile(base + "/type").value_or("");
      uint64_t kib =
          parseCacheSizeKiB(readSysFile(base + "/size").value_or(""));
      if (*level == 1 && type == "Data" && t.caches.l1dKiB == 0)
        t.caches.l1dKiB = kib;
      else if (*level == 2 && t.caches.l2KiB == 0)
        t.caches.l2KiB = kib;
      else if (*level == 3) {
        std::vector<unsigned> ids;
        for (const CoreId &c : cores.coresOf(parseCpuList(
                 readSysFile(base + "/shared_cpu_list").value_or(""))))
          ids.push_back(c.id);
        if (!ids.empty())
          l3Groups[ids] = double(kib) / 1024.0;
      }
    }
  }
  return l3Groups;
}

/// Whether every core is in exactly one of `groups`.
bool partitionsCores(const L3Groups &groups, unsigned numCores) {
  if (groups.empty())
    return false;
  std::vector<bool> owned(numCores, false);
  for (auto &[ids, mib] : groups)
    for (unsigned id : ids) {
      if (owned[id])
        return false;
      owned[id] = true;
    }
  return std::count(owned.begin(), owned.end(), false) == 0;
}

/// Cache sizes and L3 groups; what sysfs does not say is assumed.
void describeCaches(const HostTopology &topology, const CoreNumbering &cores,
                    TargetDescription &t) {
  L3Groups l3Groups = readCaches(topology, cores, t);
  // Cores the kernel reports no L3 for (or overlapping reports) fall back to
  // one group per socket.
  if (partitionsCores(l3Groups, t.physicalCores())) {
    // Groups in order of their first core (the map's order).
    for (auto &[ids, mib] : l3Groups) {
      L3Group g;
      g.sizeMiB = roundTo(mib, 0.25);
      for (unsigned id : ids)
        g.cores.push_back({id, {}});
      t.caches.l3.push_back(g);
    }
  } else {
    for (unsigned s = 0; s < t.sockets; ++s) {
      L3Group g;
      g.sizeMiB = 1.0 * t.coresPerSocket; // unknown: assume 1 MiB per core
      for (unsigned c = 0; c < t.coresPerSocket; ++c)
        g.cores.push_back({s * t.coresPerSocket + c, {}});
      t.caches.l3.push_back(g);
    }
  }
  if (t.caches.l1dKiB == 0)
    t.caches.l1dKiB = 32;
  if (t.caches.l2KiB == 0)
    t.caches.l2KiB = 512;
}

/// The MemTotal line of a meminfo file (/proc/meminfo or a NUMA node's,
/// which prefixes "Node N"), in GiB; 0 when there is none.
double memTotalGiB(const std::optional<std::string> &meminfo) {
  double gib = 0;
  if (!meminfo)
    return gib;
  SmallVector<StringRef, 64> lines;
  StringRef(*meminfo).split(lines, '\n');
  for (StringRef line : lines) {
    size_t pos = line.find("MemTotal:");
    if (pos == StringRef::npos)
      continue;
    uint64_t kib = 0;
    line.drop_front(pos + 9).trim().split(' ').first.getAsInteger(10, kib);
    gib = double(kib) / (1024.0 * 1024.0);
  }
  return gib;
}

/// NUMA nodes with cpus; one node of all cores when sysfs's nodes do not
/// cover every core.
void describeNuma(const CoreNumbering &cores, double totalGiB,
                  TargetDescription &t) {
  unsigned numCores = t.physicalCores();
  std::set<unsigned> numaCovered;
  for (unsigned node = 0; node < 1024; ++node) {
    std::string base =
        (Twine("/sys/devices/system/node/node") + Twine(node)).str();
    auto cpulist = readSysFile(base + "/cpulist");
    if (!cpulist) {
      if (node > 64 && t.numa.size() > 0)
        break;
      continue;
    }
    NumaNode n;
    n.id = node;
    n.cores = cores.coresOf(parseCpuList(*cpulist));
    if (n.cores.empty())
      continue; // a memory-only node
    if (auto meminfo = readSysFile(base + "/meminfo"))
      n.memoryGiB = roundTo(memTotalGiB(meminfo), 0.01);
    for (const CoreId &c : n.cores)
      numaCovered.insert(c.id);
    t.numa.push_back(n);
  }
  if (t.numa.empty() || numaCovered.size() != numCores) {
    t.numa.clear();
    NumaNode n;
    n.id = 0;
    for (unsigned c = 0; c < numCores; ++c)
      n.cores.push_back({c, {}});
    n.memoryGiB = roundTo(totalGiB, 0.01);
    t.numa.push_back(n);
  }
}

/// Whether LLVM's cpu name is of a generation that takes DDR5.
bool usesDDR5(StringRef cpu) {
  return cpu.starts_with("znver4") || cpu.starts_with("znver5") ||
         cpu == "sapphirerapids" || cpu == "emeraldrapids" ||
         cpu.starts_with("graniterapids") || cpu == "alderlake" ||
         cpu == "raptorlake" || cpu == "meteorlake" || cpu == "arrowlake" ||
         cpu == "lunarlake";
}

/// The memory system: estimated (see README.md), the channel count from a
/// quick measurement when asked for.
void describeMemory(const HostTopology &topology, double totalGiB,
                    bool measureMemory, TargetDescription &t) {
  bool ddr5 = usesDDR5(t.cpu);
  t.memory.type = ddr5 ? "DDR5" : "DDR4";
  t.memory.mts = ddr5 ? 4800 : 3200;
  t.memory.dimmsPerChannel = 1;
  t.memory.capacityGiB = roundTo(totalGiB, 0.01);
  if (!(t.memory.capacityGiB > 0))
    t.memory.capacityGiB = 1;
  t.memory.source = "estimated";
  t.memory.channels = 1;
  if (!measureMemory)
    return;
  double measured = roundTo(quickReadBandwidthGBps(topology), 0.1);
  if (measured > 0) {
    t.memory.measuredReadGBps = measured;
    double perChannel = t.memory.mts * 8.0 / 1000.0 * t.sockets;
    t.memory.channels =
        std::max(1u, unsigned(std::ceil(measured / perChannel)));
  }
}

/// Huge pages available now.
void describeHugePages(TargetDescription &t) {
  const char *const pages = "/sys/kernel/mm/hugepages";
  t.hugepages.available2M =
      readSysNumber(Twine(pages) + "/hugepages-2048kB/free_hugepages")
          .value_or(0);
  t.hugepages.available1G =
      readSysNumber(Twine(pages) + "/hugepages-1048576kB/free_hugepages")
          .value_or(0);
}

} // namespace

Expected<TargetDescription> ingot::target::detectHost(bool measureMemory) {
  auto topology = detectHostTopology();
  if (!topology)
    return topology.takeError();
  TargetDescription t;
  t.isa = "x86_64";
  t.cpu = hostCpuName();
  t.name = "host-" + t.cpu;
  for (const std::string &f : detectHostFeatures())
    t.features.push_back({f, {}});
  if (Error e = describeCores(*topology, t))
    return std::move(e);
  CoreNumbering cores(*topology);
  describeCaches(*topology, cores, t);
  double totalGiB = memTotalGiB(readSysFile("/proc/meminfo"));
  describeNuma(cores, totalGiB, t);
  describeMemory(*topology, totalGiB, measureMemory, t);
  describeHugePages(t);
  if (Error err = validateTargetDescription(t))
    return createStringError(inconvertibleErrorCode(),
                             "the detected description is invalid: " +
                                 toString(std::move(err)));
  return t;
}
