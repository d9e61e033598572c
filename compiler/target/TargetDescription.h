//===- TargetDescription.h - One CPU server SKU -----------------*- C++ -*-===//
//
// A target description says what the code generator may assume about the
// machine an executable is built for: ISA features, core/cache/NUMA
// topology, memory system and the thread counts to use. It is read from and
// written to YAML (schema: examples/targets/README.md) with LLVM's YAML I/O.
//
// Core ids are physical cores numbered 0 .. sockets*cores_per_socket-1,
// socket by socket; SMT siblings are not listed separately.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_TARGET_TARGETDESCRIPTION_H
#define INGOT_TARGET_TARGETDESCRIPTION_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBufferRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ingot::target {

/// Where a value was read from (1-based line and column); 0 when the value
/// was not read from a file. Locations never take part in equality, so a
/// parsed description equals the one it was written from.
struct SourceLoc {
  unsigned line = 0;
  unsigned column = 0;
  bool valid() const { return line != 0; }
  friend bool operator==(const SourceLoc &, const SourceLoc &) { return true; }
};

/// A core id as listed in an L3 group or a NUMA node.
struct CoreId {
  unsigned id = 0;
  SourceLoc loc;
  bool operator==(const CoreId &) const = default;
};

/// One ISA feature name as written in the file (e.g. avx512_vnni).
struct Feature {
  std::string name;
  SourceLoc loc;
  bool operator==(const Feature &) const = default;
};

/// A known feature name, the LLVM target feature it enables, and the
/// features it requires to be listed too.
struct FeatureInfo {
  const char *name;        // as written in target files: "avx512_vnni"
  const char *llvmFeature; // for the code generator: "+avx512vnni"
  const char *requires1;   // nullptr when none
  const char *requires2;
};

/// All feature names a target file may list.
llvm::ArrayRef<FeatureInfo> knownFeatures();
const FeatureInfo *lookupFeature(llvm::StringRef name);

/// A set of cores sharing one L3 (an AMD CCX/CCD, an Intel socket).
struct L3Group {
  double sizeMiB = 0;
  std::vector<CoreId> cores;
  SourceLoc loc, sizeLoc;
  bool operator==(const L3Group &) const = default;
};

struct Caches {
  unsigned l1dKiB = 0; // per core
  unsigned l2KiB = 0;  // per core
  std::vector<L3Group> l3;
  SourceLoc loc, l1dLoc, l2Loc;
  bool operator==(const Caches &) const = default;
};

struct NumaNode {
  unsigned id = 0;
  std::vector<CoreId> cores;
  double memoryGiB = 0;
  SourceLoc loc, idLoc, memoryLoc;
  bool operator==(const NumaNode &) const = default;
};

/// Read bandwidth measured with a given number of threads (one per
/// physical core).
struct BandwidthPoint {
  unsigned threads = 0;
  double readGBps = 0;
  SourceLoc loc, readLoc;
  bool operator==(const BandwidthPoint &) const = default;
};

struct Memory {
  unsigned channels = 0; // per socket
  std::string type;      // DDR4, DDR5, ...
  unsigned mts = 0;      // mega-transfers per second
  unsigned dimmsPerChannel = 1;
  double capacityGiB = 0;      // whole machine
  std::string source = "spec"; // "spec" or "estimated"
  std::optional<double> measuredReadGBps;
  std::vector<BandwidthPoint> measured;
  SourceLoc loc, channelsLoc, typeLoc, mtsLoc, dimmsLoc, capacityLoc, sourceLoc,
      measuredReadLoc;
  bool operator==(const Memory &) const = default;
};

struct HugePages {
  uint64_t available1G = 0;
  uint64_t available2M = 0;
  SourceLoc loc1G, loc2M;
  bool operator==(const HugePages &) const = default;
};

struct Threads {
  std::optional<unsigned> decode;
  std::optional<unsigned> prefill;
  SourceLoc loc;
  bool operator==(const Threads &) const = default;
};

struct ProbeResults {
  std::optional<double> int8PeakGops;    // whole machine, all threads
  std::optional<std::string> int8Kernel; // avx512_vnni, avx_vnni or avx2
  std::optional<unsigned> int8Threads;
  SourceLoc loc;
  bool operator==(const ProbeResults &) const = default;
};

struct TargetDescription {
  std::string name;
  std::string isa = "x86_64";
  std::string cpu;
  std::vector<Feature> features;
  unsigned sockets = 0;
  unsigned coresPerSocket = 0;
  unsigned threadsPerCore = 0;
  Caches caches;
  std::vector<NumaNode> numa;
  Memory memory;
  HugePages hugepages;
  Threads threads;
  std::optional<ProbeResults> probe;

  /// The file it was read from, for diagnostics ("" when built in memory).
  std::string sourceFile;
  SourceLoc loc, isaLoc, cpuLoc, socketsLoc, coresPerSocketLoc,
      threadsPerCoreLoc;

  bool operator==(const TargetDescription &other) const;

  unsigned physicalCores() const { return sockets * coresPerSocket; }
  unsigned hardwareThreads() const { return physicalCores() * threadsPerCore; }
  bool hasFeature(llvm::StringRef name) const;
  /// LLVM target features ("+avx2", "+avx512vnni", ...) in file order.
  std::vector<std::string> llvmFeatureList() const;
  /// Theoretical DRAM bandwidth of the machine in GB/s (10^9 bytes/s):
  /// sockets * channels * MT/s * 8 bytes.
  double theoreticalBandwidthGBps() const;
  /// The threads field when given, else derived (see README.md):
  /// decode = physical cores of one socket, lowered to the smallest measured
  /// thread count reaching 95% of the best measured read bandwidth;
  /// prefill = hardware threads of one socket.
  unsigned decodeThreads() const;
  unsigned prefillThreads() const;
};

/// What a description may contain. Every count is checked against these
/// before anything is sized from it, so that a typo or a hostile file gives
/// an error instead of gigabytes of tables or a wrapped product.
namespace limits {
constexpr uint64_t kMaxFileBytes = 1 << 20;
/// Collection nesting (a valid description needs 5): LLVM's YAML reader
/// recurses once per level.
constexpr unsigned kMaxNesting = 32;
constexpr unsigned kMaxSockets = 64;
constexpr unsigned kMaxCoresPerSocket = 1024;
constexpr unsigned kMaxPhysicalCores = 16384;
constexpr unsigned kMaxThreadsPerCore = 8;
constexpr unsigned kMaxNumaNodes = 1024; // also the largest id + 1
constexpr unsigned kMaxL1dKiB = 16384;
constexpr unsigned kMaxL2KiB = 262144;
constexpr double kMaxL3MiB = 65536;
constexpr unsigned kMaxChannels = 64; // per socket
constexpr unsigned kMaxMts = 32000;
constexpr unsigned kMaxDimmsPerChannel = 8;
constexpr double kMaxMemoryGiB = 1 << 20; // whole machine and per node
constexpr double kMaxBandwidthGBps = 1e6;
constexpr double kMaxInt8PeakGops = 1e9;
constexpr uint64_t kMaxHugePages1G = 1 << 20;
constexpr uint64_t kMaxHugePages2M = 1 << 29;
} // namespace limits

/// Parses and validates a description; the buffer identifier names the file
/// in diagnostics. The error is one line: "FILE:LINE:COL: MESSAGE". Buffers
/// over limits::kMaxFileBytes or nested deeper than limits::kMaxNesting are
/// refused before the YAML reader sees them.
llvm::Expected<TargetDescription>
parseTargetDescription(llvm::MemoryBufferRef buffer);
llvm::Expected<TargetDescription>
readTargetDescriptionFile(llvm::StringRef path);

/// Semantic checks; the first problem found, located when possible.
llvm::Error validateTargetDescription(const TargetDescription &target);

/// YAML text of a description; parseTargetDescription of it gives back an
/// equal description.
std::string writeTargetDescription(const TargetDescription &target);

/// The human-readable summary printed by `ingot target check`.
void printTargetSummary(const TargetDescription &target, llvm::raw_ostream &os);

/// "0-3,8,10-11" for a list of core ids.
std::string formatCoreList(llvm::ArrayRef<CoreId> cores);

//===-- Host detection (TargetDetect.cpp) ---------------------------------===//

/// How physical cores map to Linux logical CPUs on the host (for pinning).
struct HostTopology {
  /// logicalCpus[core] = the Linux CPU numbers of physical core `core`,
  /// primary thread first.
  std::vector<std::vector<unsigned>> logicalCpus;
};

/// Cores, sockets and SMT siblings of the host from /sys.
llvm::Expected<HostTopology> detectHostTopology();

/// Describes the host from cpuid, /sys and /proc. The memory section is
/// estimated (see README.md) from a short bandwidth measurement unless
/// measureMemory is false (then from the assumed type alone, 1 channel).
llvm::Expected<TargetDescription> detectHost(bool measureMemory = true);

/// Host features from cpuid (names from knownFeatures()), OS support of the
/// AVX-512 and AMX register state taken into account.
std::vector<std::string> detectHostFeatures();

//===-- Measurements (TargetProbe.cpp) ------------------------------------===//

struct ProbeOptions {
  uint64_t bufferBytes = 0; // 0: max(1 GiB, 8 x total L3)
  double maxSeconds = 20;   // budget for the whole probe
  unsigned maxThreads = 0;  // 0: all physical cores
};

struct ProbeReport {
  std::vector<BandwidthPoint> read; // one per thread count
  std::optional<double> int8PeakGops;
  std::string int8Kernel;
  unsigned int8Threads = 0;
};

/// Measures read bandwidth for 1..N threads (pinned, one per physical core)
/// and the int8 dot-product peak with the best kernel the host has.
llvm::Expected<ProbeReport> runProbe(const ProbeOptions &options,
                                     const HostTopology &topology,
                                     const TargetDescription &host);

/// A quick (~0.3 s) read-bandwidth measurement with all given cores.
double quickReadBandwidthGBps(const HostTopology &topology);

} // namespace ingot::target

#endif // INGOT_TARGET_TARGETDESCRIPTION_H
