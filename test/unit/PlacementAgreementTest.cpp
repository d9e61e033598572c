//===- PlacementAgreementTest.cpp - The plan's placement is the binary's --===//
//
// The compiler reports where decode and prefill threads run
// (compiler/target/ThreadPlacement.h, in `ingot plan` and the compile
// summary); the emitted binary pins its pool by the host's topology
// (runtime/core/Placement.h), which on the target machine is the target's.
// For every example target (examples/targets/*.yaml), and for shapes the
// examples lack, this builds the binary's topology the two ways it is built
// at run time, from the machine plan text the compiler embeds
// (EmittedMachinePlan.h) and from a sysfs tree of the same machine, and
// checks that the runtime's placement of the plan's decode and prefill
// threads (and of every other thread count) puts as many threads on each
// NUMA node, each L3 group and each SMT level as the compiler's.
//
//===----------------------------------------------------------------------===//

#include "compiler/codegen/EmittedMachinePlan.h"
#include "compiler/target/TargetDescription.h"
#include "compiler/target/ThreadPlacement.h"
#include "runtime/core/Placement.h"
#include "runtime/core/Topology.h"

#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

using ingot::target::TargetDescription;
namespace rt = ingot::rt;
namespace fs = std::filesystem;

namespace {

/// Threads per NUMA node id, per L3 group (named by its cores) and per SMT
/// level (0: a core's first hardware thread), as text that names them.
struct Spread {
  std::map<int, int> perNode;
  std::map<std::string, int> perL3;
  std::map<int, int> perLevel;

  std::string text() const {
    std::string s = "nodes";
    for (const auto &[node, n] : perNode)
      s += " " + std::to_string(node) + ":" + std::to_string(n);
    s += "; L3 groups";
    for (const auto &[cores, n] : perL3)
      s += " [" + cores + "]:" + std::to_string(n);
    s += "; SMT levels";
    for (const auto &[level, n] : perLevel)
      s += " " + std::to_string(level) + ":" + std::to_string(n);
    return s;
  }
};

/// "0-7" for target core ids.
std::string coreList(const std::vector<unsigned> &cores) {
  std::vector<ingot::target::CoreId> ids;
  for (unsigned c : cores)
    ids.push_back({c, {}});
  return ingot::target::formatCoreList(ids);
}

/// The compiler's placement of `count` threads.
Spread compilerSpread(const TargetDescription &t, unsigned count) {
  std::vector<std::string> l3Names;
  for (const ingot::target::L3Group &g : t.caches.l3)
    l3Names.push_back(ingot::target::formatCoreList(g.cores));
  Spread s;
  for (const ingot::target::PlacedThread &p :
       ingot::target::placeThreads(t, count)) {
    ++s.perNode[int(t.numa.at(p.node).id)];
    ++s.perL3[l3Names.at(p.l3Group)];
    ++s.perLevel[int(p.smtIndex)];
  }
  return s;
}

/// The runtime's placement on a host whose CPUs are numbered as Linux
/// numbers them (`cpuOfThread`: a core's first CPU is the target's core
/// id): where each thread of the pool runs.
struct RuntimePlacement {
  struct Thread {
    int node, level;
    std::string l3;
  };
  std::vector<Thread> threads;

  explicit RuntimePlacement(const rt::Topology &host) {
    std::map<int, std::vector<unsigned>> coresOfL3;
    for (const rt::Core &c : host.cores)
      coresOfL3[c.l3].push_back(unsigned(c.cpus.at(0)));
    std::map<int, Thread> threadOfCpu;
    for (const rt::Core &c : host.cores)
      for (size_t level = 0; level < c.cpus.size(); ++level)
        threadOfCpu[c.cpus[level]] = {c.node, int(level),
                                      coreList(coresOfL3.at(c.l3))};
    for (int cpu : rt::placementOrder(host))
      threads.push_back(threadOfCpu.at(cpu));
  }

  /// The spread of the pool's first `count` threads.
  Spread spread(unsigned count) const {
    Spread s;
    EXPECT_GE(threads.size(), size_t(count));
    for (size_t i = 0; i < count && i < threads.size(); ++i) {
      ++s.perNode[threads[i].node];
      ++s.perL3[threads[i].l3];
      ++s.perLevel[threads[i].level];
    }
    return s;
  }
};

/// Linux's CPU number of hardware thread `level` of core `core`: the
/// first threads of all cores, socket by socket, then the second ones.
int cpuOfThread(const TargetDescription &t, unsigned core, unsigned level) {
  return int(level * t.physicalCores() + core);
}

/// The binary's view of the target from the machine plan text the
/// compiler embeds, with its cores given CPU numbers (the plan has none).
rt::Topology topologyFromPlan(const TargetDescription &t) {
  rt::Topology topology;
  int warmup = 0;
  std::string error;
  std::string text = ingot::codegen::machinePlanText(t, 1);
  EXPECT_TRUE(rt::parseMachinePlan(text.c_str(), topology, warmup, error))
      << error;
  for (size_t c = 0; c < topology.cores.size(); ++c)
    for (unsigned level = 0; level < t.threadsPerCore; ++level)
      topology.cores[c].cpus.push_back(cpuOfThread(t, unsigned(c), level));
  return topology;
}

void writeLine(const fs::path &path, const std::string &text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text << "\n";
}

/// A sysfs tree under `root` describing `t` (package and core id of every
/// CPU, the CPUs sharing its L3, each node's CPUs), read back the way the
/// binary reads the host.
rt::Topology topologyFromSysfs(const TargetDescription &t,
                               const fs::path &root) {
  fs::remove_all(root);
  const fs::path cpuRoot = root / "devices/system/cpu";
  const unsigned cores = t.physicalCores();
  auto cpusOf = [&](const std::vector<ingot::target::CoreId> &ids) {
    std::vector<int> cpus;
    for (const ingot::target::CoreId &c : ids)
      for (unsigned level = 0; level < t.threadsPerCore; ++level)
        cpus.push_back(cpuOfThread(t, c.id, level));
    return rt::formatCpuList(cpus);
  };
  std::vector<std::string> l3OfCore(cores);
  for (const ingot::target::L3Group &g : t.caches.l3)
    for (const ingot::target::CoreId &c : g.cores)
      l3OfCore.at(c.id) = cpusOf(g.cores);
  writeLine(cpuRoot / "online",
            "0-" + std::to_string(cores * t.threadsPerCore - 1));
  for (unsigned core = 0; core < cores; ++core)
    for (unsigned level = 0; level < t.threadsPerCore; ++level) {
      const fs::path dir =
          cpuRoot / ("cpu" + std::to_string(cpuOfThread(t, core, level)));
      writeLine(dir / "topology/physical_package_id",
                std::to_string(core / t.coresPerSocket));
      writeLine(dir / "topology/core_id",
                std::to_string(core % t.coresPerSocket));
      writeLine(dir / "cache/index3/level", "3");
      writeLine(dir / "cache/index3/shared_cpu_list", l3OfCore[core]);
    }
  std::vector<int> nodeIds;
  for (const ingot::target::NumaNode &n : t.numa) {
    nodeIds.push_back(int(n.id));
    writeLine(root / "devices/system/node" / ("node" + std::to_string(n.id)) /
                  "cpulist",
              cpusOf(n.cores));
  }
  writeLine(root / "devices/system/node/online", rt::formatCpuList(nodeIds));
  rt::Topology topology;
  std::string error;
  EXPECT_TRUE(rt::readHostTopology(root.string(), topology, error)) << error;
  return topology;
}

/// The compiler's and the runtime's placement agree on `t` for the plan's
/// decode and prefill counts and for every count up to the hardware
/// threads; the runtime's topology built both ways has the target's shape.
void expectAgreement(const TargetDescription &t) {
  SCOPED_TRACE(t.name);
  // Per process: another checkout's tests may run at the same time.
  const fs::path root =
      fs::path(testing::TempDir()) /
      ("ingot-placement-" + std::to_string(getpid()) + "-" + t.name);
  struct Way {
    const char *name;
    rt::Topology topology;
  };
  std::vector<Way> ways = {{"machine plan", topologyFromPlan(t)},
                           {"sysfs", topologyFromSysfs(t, root)}};
  fs::remove_all(root);
  ASSERT_EQ(ways[0].topology.describe(), ways[1].topology.describe());
  ASSERT_EQ(int(ways[0].topology.cores.size()), int(t.physicalCores()));
  std::vector<RuntimePlacement> runtime;
  for (const Way &way : ways)
    runtime.emplace_back(way.topology);
  std::vector<std::pair<const char *, unsigned>> counts = {
      {"decode", t.decodeThreads()}, {"prefill", t.prefillThreads()}};
  for (unsigned n = 1; n <= t.hardwareThreads(); ++n)
    counts.push_back({"threads", n});
  for (const auto &[what, n] : counts) {
    const std::string compiler = compilerSpread(t, n).text();
    for (size_t w = 0; w < ways.size(); ++w) {
      const std::string placed = runtime[w].spread(n).text();
      EXPECT_EQ(compiler, placed)
          << what << ": " << n << " threads, runtime topology from the "
          << ways[w].name;
      if (compiler != placed)
        return; // one disagreement tells; the rest would repeat it
    }
  }
}

TargetDescription parse(const std::string &text) {
  auto t = ingot::target::parseTargetDescription(
      llvm::MemoryBufferRef(text, "t.yaml"));
  if (!t) {
    ADD_FAILURE() << llvm::toString(t.takeError());
    return {};
  }
  return std::move(*t);
}

/// A description of `sockets` x `coresPerSocket` two-thread cores with the
/// given L3 groups and NUMA nodes (YAML flow lists of core ids).
std::string shape(const std::string &name, int sockets, int coresPerSocket,
                  const std::vector<std::string> &l3,
                  const std::vector<std::string> &nodes,
                  const std::string &threads = "") {
  std::string text = "name: " + name +
                     "\nisa: x86_64\ncpu: haswell\n"
                     "features: [avx, avx2, fma, f16c]\n"
                     "sockets: " +
                     std::to_string(sockets) +
                     "\ncores_per_socket: " + std::to_string(coresPerSocket) +
                     "\nthreads_per_core: 2\ncaches:\n  l1d_kib: 32\n"
                     "  l2_kib: 1024\n  l3:\n";
  for (const std::string &g : l3)
    text += "    - size_mib: 16\n      cores: " + g + "\n";
  text += "numa:\n";
  for (size_t n = 0; n < nodes.size(); ++n)
    text += "  - id: " + std::to_string(n) + "\n    cores: " + nodes[n] +
            "\n    memory_gib: 32\n";
  text += "memory:\n  channels: 2\n  type: DDR5\n  mts: 4800\n"
          "  capacity_gib: " +
          std::to_string(32 * nodes.size()) + "\n" + threads;
  return text;
}

} // namespace

TEST(PlacementAgreement, EveryExampleTarget) {
  std::vector<fs::path> files;
  for (const fs::directory_entry &e :
       fs::directory_iterator(INGOT_EXAMPLE_TARGETS_DIR))
    if (e.path().extension() == ".yaml")
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 7u)
      << "example targets not found under " << INGOT_EXAMPLE_TARGETS_DIR;
  for (const fs::path &file : files) {
    auto t = ingot::target::readTargetDescriptionFile(file.string());
    ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
    expectAgreement(*t);
  }
}

TEST(PlacementAgreement, SubNumaClustering) {
  // Intel SNC2: one L3 per socket, two NUMA nodes in each.
  expectAgreement(parse(shape(
      "snc2", 2, 8,
      {"[0, 1, 2, 3, 4, 5, 6, 7]", "[8, 9, 10, 11, 12, 13, 14, 15]"},
      {"[0, 1, 2, 3]", "[4, 5, 6, 7]", "[8, 9, 10, 11]", "[12, 13, 14, 15]"})));
}

TEST(PlacementAgreement, GroupsOfUnequalSize) {
  // One node, L3 groups of 8 and 4 cores; 6 decode threads.
  expectAgreement(parse(shape("uneven-l3", 1, 12,
                              {"[0, 1, 2, 3, 4, 5, 6, 7]", "[8, 9, 10, 11]"},
                              {"[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]"},
                              "threads:\n  decode: 6\n  prefill: 12\n")));
}

TEST(PlacementAgreement, NodesOfUnequalSize) {
  // Three CCDs of 4 cores, two in node 0 and one in node 1; 6 decode
  // threads.
  expectAgreement(parse(shape(
      "uneven-nodes", 1, 12, {"[0, 1, 2, 3]", "[4, 5, 6, 7]", "[8, 9, 10, 11]"},
      {"[0, 1, 2, 3, 4, 5, 6, 7]", "[8, 9, 10, 11]"},
      "threads:\n  decode: 6\n  prefill: 12\n")));
}
