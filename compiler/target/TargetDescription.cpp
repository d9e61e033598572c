//===- TargetDescription.cpp - Target description YAML and checks ---------===//
//
// YAML mapping of TargetDescription (llvm::yaml traits), the semantic checks
// with source locations, derived values and the `target check` summary.
//
//===----------------------------------------------------------------------===//
#include "compiler/target/TargetDescription.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/YAMLParser.h"
#include "llvm/Support/YAMLTraits.h"
#include "llvm/TargetParser/X86TargetParser.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

using namespace llvm;
using namespace ingot::target;

//===----------------------------------------------------------------------===//
// Feature table
//===----------------------------------------------------------------------===//

// Names follow Linux /proc/cpuinfo spelling; the second column is the LLVM
// X86 subtarget feature; the last two are features that must be listed too.
static const FeatureInfo featureTable[] = {
    {"sse3", "+sse3", nullptr, nullptr},
    {"ssse3", "+ssse3", "sse3", nullptr},
    {"sse4_1", "+sse4.1", "ssse3", nullptr},
    {"sse4_2", "+sse4.2", "sse4_1", nullptr},
    {"popcnt", "+popcnt", nullptr, nullptr},
    {"avx", "+avx", nullptr, nullptr},
    {"avx2", "+avx2", "avx", nullptr},
    {"fma", "+fma", "avx", nullptr},
    {"f16c", "+f16c", "avx", nullptr},
    {"bmi1", "+bmi", nullptr, nullptr},
    {"bmi2", "+bmi2", nullptr, nullptr},
    {"avx512f", "+avx512f", "avx2", "fma"},
    {"avx512cd", "+avx512cd", "avx512f", nullptr},
    {"avx512bw", "+avx512bw", "avx512f", nullptr},
    {"avx512dq", "+avx512dq", "avx512f", nullptr},
    {"avx512vl", "+avx512vl", "avx512f", nullptr},
    {"avx512_vnni", "+avx512vnni", "avx512f", nullptr},
    {"avx512_bf16", "+avx512bf16", "avx512bw", nullptr},
    {"avx512_fp16", "+avx512fp16", "avx512bw", nullptr},
    {"avx512_ifma", "+avx512ifma", "avx512f", nullptr},
    {"avx512_vbmi", "+avx512vbmi", "avx512bw", nullptr},
    {"avx512_vbmi2", "+avx512vbmi2", "avx512bw", nullptr},
    {"avx512_bitalg", "+avx512bitalg", "avx512bw", nullptr},
    {"avx512_vpopcntdq", "+avx512vpopcntdq", "avx512f", nullptr},
    {"avx_vnni", "+avxvnni", "avx2", nullptr},
    {"avx_vnni_int8", "+avxvnniint8", "avx2", nullptr},
    {"gfni", "+gfni", nullptr, nullptr},
    {"vaes", "+vaes", "avx", nullptr},
    {"vpclmulqdq", "+vpclmulqdq", "avx", nullptr},
    {"amx_tile", "+amx-tile", nullptr, nullptr},
    {"amx_int8", "+amx-int8", "amx_tile", nullptr},
    {"amx_bf16", "+amx-bf16", "amx_tile", nullptr},
    {"amx_fp16", "+amx-fp16", "amx_tile", nullptr},
    {"amx_complex", "+amx-complex", "amx_tile", nullptr},
};

ArrayRef<FeatureInfo> ingot::target::knownFeatures() { return featureTable; }

const FeatureInfo *ingot::target::lookupFeature(StringRef name) {
  for (const FeatureInfo &info : featureTable)
    if (name == info.name)
      return &info;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Derived values
//===----------------------------------------------------------------------===//

bool TargetDescription::operator==(const TargetDescription &o) const {
  // Everything but sourceFile (locations compare equal by construction).
  return name == o.name && isa == o.isa && cpu == o.cpu &&
         features == o.features && sockets == o.sockets &&
         coresPerSocket == o.coresPerSocket &&
         threadsPerCore == o.threadsPerCore && caches == o.caches &&
         numa == o.numa && memory == o.memory && hugepages == o.hugepages &&
         threads == o.threads && probe == o.probe;
}

bool TargetDescription::hasFeature(StringRef featureName) const {
  return any_of(features,
                [&](const Feature &f) { return f.name == featureName; });
}

std::vector<std::string> TargetDescription::llvmFeatureList() const {
  std::vector<std::string> result;
  for (const Feature &f : features)
    if (const FeatureInfo *info = lookupFeature(f.name))
      result.push_back(info->llvmFeature);
  return result;
}

double TargetDescription::theoreticalBandwidthGBps() const {
  return double(sockets) * memory.channels * memory.mts * 8.0 / 1000.0;
}

unsigned TargetDescription::decodeThreads() const {
  if (threads.decode)
    return *threads.decode;
  unsigned n = coresPerSocket;
  if (!memory.measured.empty()) {
    double best = 0;
    for (const BandwidthPoint &p : memory.measured)
      best = std::max(best, p.readGBps);
    unsigned saturating = n;
    for (const BandwidthPoint &p : memory.measured)
      if (p.readGBps >= 0.95 * best)
        saturating = std::min(saturating, p.threads);
    n = std::min(n, saturating);
  }
  return std::max(1u, n);
}

unsigned TargetDescription::prefillThreads() const {
  if (threads.prefill)
    return *threads.prefill;
  return std::max(1u, coresPerSocket * threadsPerCore);
}

//===----------------------------------------------------------------------===//
// YAML mapping
//===----------------------------------------------------------------------===//

namespace {

/// Passed as the yaml::IO context while reading, to locate nodes.
struct ParseContext {
  yaml::Input *input = nullptr;
  const char *bufferStart = nullptr;
  const char *bufferEnd = nullptr;
  /// Where each line starts, so that locating a node is a binary search
  /// rather than a scan from the top of the file (which made reading a file
  /// with many nodes quadratic).
  std::vector<const char *> lineStarts;

  ParseContext(StringRef text)
      : bufferStart(text.begin()), bufferEnd(text.end()) {
    lineStarts.push_back(bufferStart);
    for (const char *p = bufferStart; p < bufferEnd; ++p)
      if (*p == '\n')
        lineStarts.push_back(p + 1);
  }

  SourceLoc locate(const char *ptr) const {
    if (!ptr || ptr < bufferStart || ptr > bufferEnd)
      return {};
    auto next = std::upper_bound(lineStarts.begin(), lineStarts.end(), ptr);
    SourceLoc loc;
    loc.line = unsigned(next - lineStarts.begin());
    loc.column = unsigned(ptr - *(next - 1)) + 1;
    return loc;
  }
};

SourceLoc locateNode(const ParseContext *ctx) {
  if (!ctx || !ctx->input)
    return {};
  const yaml::Node *node = ctx->input->getCurrentNode();
  if (!node)
    return {};
  return ctx->locate(node->getSourceRange().Start.getPointer());
}

SourceLoc currentLoc(yaml::IO &io) {
  if (io.outputting())
    return {};
  return locateNode(static_cast<ParseContext *>(io.getContext()));
}

/// The shortest text that reads back as exactly `value` (LLVM's YAML
/// writer prints doubles with %g, 6 digits, so 64.123456789 came back as
/// 64.1235).
std::string roundTripText(double value) {
  for (int digits = 6;; ++digits) {
    std::string text = formatv("{0}", format("%.*g", digits, value)).str();
    if (digits >= 17 || std::strtod(text.c_str(), nullptr) == value)
      return text;
  }
}

/// A scalar field together with the place its location is recorded.
template <typename T> struct Tracked {
  T &value;
  SourceLoc &loc;
};

} // namespace

namespace llvm::yaml {

template <typename T> struct ScalarTraits<Tracked<T>> {
  static void output(const Tracked<T> &v, void *ctx, raw_ostream &os) {
    if constexpr (std::is_same_v<T, double>)
      os << roundTripText(v.value);
    else
      ScalarTraits<T>::output(v.value, ctx, os);
  }
  static StringRef input(StringRef text, void *ctx, Tracked<T> &v) {
    v.loc = locateNode(static_cast<ParseContext *>(ctx));
    return ScalarTraits<T>::input(text, ctx, v.value);
  }
  static QuotingType mustQuote(StringRef text) {
    return ScalarTraits<T>::mustQuote(text);
  }
};

namespace {

/// A field whose location is recorded when read; written with `fallback`
/// omitted.
template <typename T>
void mapOptionalTracked(IO &io, const char *key, T &value, SourceLoc &loc,
                        T fallback) {
  if (io.outputting()) {
    io.mapOptional(key, value, fallback);
  } else {
    Tracked<T> tracked{value, loc};
    io.mapOptional(key, tracked);
  }
}

/// A measured number, absent until measured: read as is, written (when
/// present) in the text that reads back the same double.
void mapMeasured(IO &io, const char *key, std::optional<double> &value,
                 SourceLoc &loc) {
  if (!io.outputting()) {
    io.mapOptional(key, value);
  } else if (value) {
    Tracked<double> tracked{*value, loc};
    io.mapRequired(key, tracked);
  }
}

} // namespace

template <> struct ScalarTraits<CoreId> {
  static void output(const CoreId &v, void *, raw_ostream &os) { os << v.id; }
  static StringRef input(StringRef text, void *ctx, CoreId &v) {
    v.loc = locateNode(static_cast<ParseContext *>(ctx));
    unsigned long long id;
    if (getAsUnsignedInteger(text, 10, id) || id > 1u << 20)
      return "core id must be a non-negative integer";
    v.id = unsigned(id);
    return {};
  }
  static QuotingType mustQuote(StringRef) { return QuotingType::None; }
};

template <> struct ScalarTraits<Feature> {
  static void output(const Feature &v, void *, raw_ostream &os) {
    os << v.name;
  }
  static StringRef input(StringRef text, void *ctx, Feature &v) {
    v.loc = locateNode(static_cast<ParseContext *>(ctx));
    v.name = text.str();
    return {};
  }
  static QuotingType mustQuote(StringRef text) { return needsQuotes(text); }
};

template <> struct MappingTraits<L3Group> {
  static void mapping(IO &io, L3Group &g) {
    g.loc = currentLoc(io);
    Tracked<double> size{g.sizeMiB, g.sizeLoc};
    io.mapRequired("size_mib", size);
    io.mapRequired("cores", g.cores);
  }
};

template <> struct MappingTraits<Caches> {
  static void mapping(IO &io, Caches &c) {
    c.loc = currentLoc(io);
    Tracked<unsigned> l1d{c.l1dKiB, c.l1dLoc}, l2{c.l2KiB, c.l2Loc};
    io.mapRequired("l1d_kib", l1d);
    io.mapRequired("l2_kib", l2);
    io.mapRequired("l3", c.l3);
  }
};

template <> struct MappingTraits<NumaNode> {
  static void mapping(IO &io, NumaNode &n) {
    n.loc = currentLoc(io);
    Tracked<unsigned> id{n.id, n.idLoc};
    Tracked<double> memory{n.memoryGiB, n.memoryLoc};
    io.mapRequired("id", id);
    io.mapRequired("cores", n.cores);
    io.mapRequired("memory_gib", memory);
  }
};

template <> struct MappingTraits<BandwidthPoint> {
  static void mapping(IO &io, BandwidthPoint &p) {
    p.loc = currentLoc(io);
    Tracked<double> read{p.readGBps, p.readLoc};
    io.mapRequired("threads", p.threads);
    io.mapRequired("read_gbps", read);
  }
};

template <> struct MappingTraits<Memory> {
  static void mapping(IO &io, Memory &m) {
    m.loc = currentLoc(io);
    Tracked<unsigned> channels{m.channels, m.channelsLoc}, mts{m.mts, m.mtsLoc};
    Tracked<std::string> type{m.type, m.typeLoc};
    io.mapRequired("channels", channels);
    io.mapRequired("type", type);
    io.mapRequired("mts", mts);
    // A Tracked value cannot take a default; the field's initial value is
    // the default when reading.
    mapOptionalTracked(io, "dimms_per_channel", m.dimmsPerChannel, m.dimmsLoc,
                       1u);
    Tracked<double> capacity{m.capacityGiB, m.capacityLoc};
    io.mapRequired("capacity_gib", capacity);
    io.mapOptional("source", m.source, std::string("spec"));
    mapMeasured(io, "measured_read_gbps", m.measuredReadGBps,
                m.measuredReadLoc);
    io.mapOptional("measured", m.measured);
  }
};

template <> struct MappingTraits<HugePages> {
  static void mapping(IO &io, HugePages &h) {
    mapOptionalTracked(io, "available_1g", h.available1G, h.loc1G, uint64_t(0));
    mapOptionalTracked(io, "available_2m", h.available2M, h.loc2M, uint64_t(0));
  }
};

template <> struct MappingTraits<Threads> {
  static void mapping(IO &io, Threads &t) {
    t.loc = currentLoc(io);
    io.mapOptional("decode", t.decode);
    io.mapOptional("prefill", t.prefill);
  }
};

template <> struct MappingTraits<ProbeResults> {
  static void mapping(IO &io, ProbeResults &p) {
    p.loc = currentLoc(io);
    mapMeasured(io, "int8_peak_gops", p.int8PeakGops, p.loc);
    io.mapOptional("int8_kernel", p.int8Kernel);
    io.mapOptional("int8_threads", p.int8Threads);
  }
};

template <> struct MappingTraits<TargetDescription> {
  static void mapping(IO &io, TargetDescription &t) {
    t.loc = currentLoc(io);
    Tracked<std::string> isa{t.isa, t.isaLoc}, cpu{t.cpu, t.cpuLoc};
    Tracked<unsigned> sockets{t.sockets, t.socketsLoc},
        cores{t.coresPerSocket, t.coresPerSocketLoc},
        smt{t.threadsPerCore, t.threadsPerCoreLoc};
    io.mapRequired("name", t.name);
    io.mapRequired("isa", isa);
    io.mapRequired("cpu", cpu);
    io.mapRequired("features", t.features);
    io.mapRequired("sockets", sockets);
    io.mapRequired("cores_per_socket", cores);
    io.mapRequired("threads_per_core", smt);
    io.mapRequired("caches", t.caches);
    io.mapRequired("numa", t.numa);
    io.mapRequired("memory", t.memory);
    io.mapOptional("hugepages", t.hugepages, HugePages());
    if (!io.outputting() || t.threads.decode || t.threads.prefill)
      io.mapOptional("threads", t.threads);
    io.mapOptional("probe", t.probe);
  }
};

} // namespace llvm::yaml

LLVM_YAML_IS_FLOW_SEQUENCE_VECTOR(ingot::target::CoreId)
LLVM_YAML_IS_FLOW_SEQUENCE_VECTOR(ingot::target::Feature)
LLVM_YAML_IS_SEQUENCE_VECTOR(ingot::target::L3Group)
LLVM_YAML_IS_SEQUENCE_VECTOR(ingot::target::NumaNode)
LLVM_YAML_IS_SEQUENCE_VECTOR(ingot::target::BandwidthPoint)

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

namespace {

/// Control characters as \xNN, so that an error stays one line whatever
/// the file contains.
void appendEscaped(std::string &out, StringRef text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      out += "\\x";
      out += hexdigit(static_cast<unsigned char>(c) >> 4);
      out += hexdigit(c & 15);
    } else {
      out += c;
    }
  }
}

/// A value from the file in an error message: quoted, escaped, and cut
/// after 64 bytes.
std::string quoted(StringRef value) {
  std::string text = "'";
  appendEscaped(text, value.take_front(64));
  text += value.size() > 64 ? "...'" : "'";
  return text;
}

std::string locatedMessage(StringRef file, SourceLoc loc, const Twine &msg) {
  std::string text;
  raw_string_ostream os(text);
  if (!file.empty()) {
    os << file;
    if (loc.valid())
      os << ":" << loc.line << ":" << loc.column;
    os << ": ";
  }
  std::string escaped;
  appendEscaped(escaped, msg.str());
  os << escaped;
  return text;
}

class Checker {
public:
  explicit Checker(const TargetDescription &t) : t(t) {}

  Error run() {
    // Counts first: the later checks size tables from them. Only the first
    // problem is reported, so the rest is skipped once one is found.
    for (void (Checker::*check)() :
         {&Checker::checkTop, &Checker::checkCounts, &Checker::checkFeatures,
          &Checker::checkCaches, &Checker::checkNuma, &Checker::checkMemory,
          &Checker::checkThreads}) {
      (this->*check)();
      if (failed)
        return createStringError(inconvertibleErrorCode(), message);
    }
    return Error::success();
  }

private:
  const TargetDescription &t;
  bool failed = false;
  std::string message;

  // Keeps the first problem only: later ones are often consequences.
  void fail(SourceLoc loc, const Twine &msg) {
    if (failed)
      return;
    failed = true;
    message = locatedMessage(t.sourceFile, loc, msg);
  }
  static SourceLoc pick(SourceLoc a, SourceLoc b) { return a.valid() ? a : b; }

  /// A double as %g ("1e+300", "inf", "16"): Twine has no double.
  static std::string printed(double v) {
    std::string text;
    raw_string_ostream(text) << format("%g", v);
    return text;
  }

  template <typename T>
  void atMost(StringRef key, T value, T limit, SourceLoc loc) {
    if (value > limit)
      fail(loc, key + " " + Twine(value) + " is more than " + Twine(limit));
  }
  /// Positive, finite and at most `limit` (NaN fails every comparison).
  void positiveAtMost(StringRef key, double value, double limit,
                      SourceLoc loc) {
    if (!(value > 0))
      fail(loc, key + " must be positive");
    else if (!(value <= limit))
      fail(loc, key + " " + printed(value) + " is more than " + printed(limit));
  }

  /// Every number that sizes a table or enters a product, against
  /// limits::; the machine's core and thread totals in 64 bits, so that no
  /// product wraps.
  void checkCounts() {
    using namespace limits;
    atMost("sockets", t.sockets, kMaxSockets, pick(t.socketsLoc, t.loc));
    atMost("cores_per_socket", t.coresPerSocket, kMaxCoresPerSocket,
           pick(t.coresPerSocketLoc, t.loc));
    uint64_t cores = uint64_t(t.sockets) * t.coresPerSocket;
    if (cores > kMaxPhysicalCores)
      fail(pick(t.coresPerSocketLoc, t.loc),
           "sockets x cores_per_socket = " + Twine(cores) +
               " cores is more than " + Twine(kMaxPhysicalCores));
    const Caches &c = t.caches;
    atMost("l1d_kib", c.l1dKiB, kMaxL1dKiB, pick(c.l1dLoc, c.loc));
    atMost("l2_kib", c.l2KiB, kMaxL2KiB, pick(c.l2Loc, c.loc));
    if (cores > 0 && c.l3.size() > cores)
      fail(pick(c.l3[cores].loc, c.loc), "caches: " + Twine(c.l3.size()) +
                                             " L3 groups for " + Twine(cores) +
                                             " cores");
    for (const L3Group &g : c.l3)
      if (!(g.sizeMiB <= kMaxL3MiB))
        fail(pick(g.sizeLoc, g.loc), "size_mib " + printed(g.sizeMiB) +
                                         " is more than " + printed(kMaxL3MiB));
    if (t.numa.size() > kMaxNumaNodes)
      fail(pick(t.numa[kMaxNumaNodes].loc, t.loc),
           "numa: more than " + Twine(kMaxNumaNodes) + " nodes");
    for (const NumaNode &n : t.numa) {
      if (n.id >= kMaxNumaNodes)
        fail(pick(n.idLoc, n.loc), "NUMA node id " + Twine(n.id) +
                                       " is more than " +
                                       Twine(kMaxNumaNodes - 1));
      if (!(n.memoryGiB <= kMaxMemoryGiB))
        fail(pick(n.memoryLoc, n.loc), "memory_gib " + printed(n.memoryGiB) +
                                           " is more than " +
                                           printed(kMaxMemoryGiB));
    }
    const Memory &m = t.memory;
    atMost("memory channels", m.channels, kMaxChannels,
           pick(m.channelsLoc, m.loc));
    atMost("memory mts", m.mts, kMaxMts, pick(m.mtsLoc, m.loc));
    atMost("memory dimms_per_channel", m.dimmsPerChannel, kMaxDimmsPerChannel,
           pick(m.dimmsLoc, m.loc));
    if (!(m.capacityGiB <= kMaxMemoryGiB))
      fail(pick(m.capacityLoc, m.loc),
           "memory capacity_gib " + printed(m.capacityGiB) + " is more than " +
               printed(kMaxMemoryGiB));
    atMost("hugepages available_1g", t.hugepages.available1G, kMaxHugePages1G,
           pick(t.hugepages.loc1G, t.loc));
    atMost("hugepages available_2m", t.hugepages.available2M, kMaxHugePages2M,
           pick(t.hugepages.loc2M, t.loc));
  }

  void checkTop() {
    if (t.name.empty())
      fail(t.loc, "target name is empty");
    if (t.isa != "x86_64")
      fail(pick(t.isaLoc, t.loc),
           "unsupported isa " + quoted(t.isa) + " (only x86_64)");
    if (t.cpu.empty())
      fail(pick(t.cpuLoc, t.loc),
           "cpu name is empty (an LLVM cpu name such as znver4)");
    else if (t.isa == "x86_64" &&
             X86::parseArchX86(t.cpu, /*Only64Bit=*/true) == X86::CK_None)
      fail(pick(t.cpuLoc, t.loc),
           "unknown cpu " + quoted(t.cpu) + " (not an LLVM x86-64 cpu name)");
    if (t.sockets == 0)
      fail(pick(t.socketsLoc, t.loc), "sockets must be at least 1");
    if (t.coresPerSocket == 0)
      fail(pick(t.coresPerSocketLoc, t.loc),
           "cores_per_socket must be at least 1");
    if (t.threadsPerCore == 0 || t.threadsPerCore > limits::kMaxThreadsPerCore)
      fail(pick(t.threadsPerCoreLoc, t.loc),
           "threads_per_core must be between 1 and " +
               Twine(limits::kMaxThreadsPerCore) + ", not " +
               Twine(t.threadsPerCore));
  }

  void checkFeatures() {
    StringSet<> seen;
    for (const Feature &f : t.features) {
      if (!lookupFeature(f.name))
        fail(pick(f.loc, t.loc), "unknown feature " + quoted(f.name));
      else if (!seen.insert(f.name).second)
        fail(pick(f.loc, t.loc),
             "feature " + quoted(f.name) + " is listed twice");
    }
    for (const Feature &f : t.features) {
      const FeatureInfo *info = lookupFeature(f.name);
      if (!info)
        continue;
      for (const char *req : {info->requires1, info->requires2})
        if (req && !seen.contains(req))
          fail(pick(f.loc, t.loc),
               "feature " + quoted(f.name) + " requires feature '" + req + "'");
    }
  }

  /// Each of the machine's cores in exactly one group.
  void
  checkCover(StringRef what, StringRef plural,
             ArrayRef<std::pair<SourceLoc, const std::vector<CoreId> *>> groups,
             SourceLoc listLoc) {
    unsigned n = t.physicalCores();
    if (n == 0)
      return;
    std::vector<int> owner(n, -1);
    for (auto [index, group] : enumerate(groups)) {
      if (group.second->empty())
        fail(pick(group.first, listLoc),
             what + " " + Twine(index) + " has no cores");
      for (const CoreId &c : *group.second) {
        SourceLoc loc = pick(c.loc, pick(group.first, listLoc));
        if (c.id >= n) {
          fail(loc, "core " + Twine(c.id) + " in " + what + " " + Twine(index) +
                        " is out of range (the target has cores 0-" +
                        Twine(n - 1) + ")");
          continue;
        }
        if (owner[c.id] == int(index))
          fail(loc, "core " + Twine(c.id) + " is listed twice in " + what +
                        " " + Twine(index));
        else if (owner[c.id] >= 0)
          fail(loc, "core " + Twine(c.id) + " is in both " + what + " " +
                        Twine(owner[c.id]) + " and " + what + " " +
                        Twine(index));
        owner[c.id] = int(index);
      }
    }
    std::vector<CoreId> missing;
    for (unsigned i = 0; i < n; ++i)
      if (owner[i] < 0)
        missing.push_back({i, {}});
    if (!missing.empty())
      fail(listLoc, plural + " do not cover core" +
                        (missing.size() > 1 ? "s " : " ") +
                        formatCoreList(missing) + " (every core 0-" +
                        Twine(n - 1) + " must be in exactly one)");
  }

  void checkCaches() {
    const Caches &c = t.caches;
    if (c.l1dKiB == 0)
      fail(pick(c.l1dLoc, c.loc), "l1d_kib must be positive");
    if (c.l2KiB == 0)
      fail(pick(c.l2Loc, c.loc), "l2_kib must be positive");
    if (c.l3.empty()) {
      fail(pick(c.loc, t.loc), "caches: l3 needs at least one group");
      return;
    }
    std::vector<std::pair<SourceLoc, const std::vector<CoreId> *>> groups;
    for (auto [index, g] : enumerate(c.l3)) {
      if (!(g.sizeMiB > 0))
        fail(pick(g.loc, c.loc),
             "L3 group " + Twine(index) +
                 " has no size (size_mib must be positive)");
      groups.push_back({g.loc, &g.cores});
    }
    checkCover("L3 group", "L3 groups", groups, pick(c.l3.front().loc, c.loc));
  }

  void checkNuma() {
    if (t.numa.empty()) {
      fail(t.loc, "numa needs at least one node");
      return;
    }
    std::set<unsigned> ids;
    std::vector<std::pair<SourceLoc, const std::vector<CoreId> *>> groups;
    for (const NumaNode &node : t.numa) {
      if (!ids.insert(node.id).second)
        fail(pick(node.loc, t.loc),
             "NUMA node id " + Twine(node.id) + " is used twice");
      if (node.memoryGiB < 0)
        fail(pick(node.loc, t.loc),
             "NUMA node " + Twine(node.id) + " has negative memory");
      groups.push_back({node.loc, &node.cores});
    }
    checkCover("NUMA node", "NUMA nodes", groups,
               pick(t.numa.front().loc, t.loc));
  }

  void checkMemory() {
    const Memory &m = t.memory;
    if (m.channels == 0)
      fail(pick(m.channelsLoc, m.loc), "memory channels must be at least 1");
    static const char *types[] = {"DDR4", "DDR5", "LPDDR5", "LPDDR5X",
                                  "MRDIMM"};
    if (none_of(types, [&](const char *ty) { return m.type == ty; }))
      fail(pick(m.typeLoc, m.loc),
           "unknown memory type " + quoted(m.type) +
               " (DDR4, DDR5, LPDDR5, LPDDR5X or MRDIMM)");
    if (m.mts == 0)
      fail(pick(m.mtsLoc, m.loc), "memory mts must be positive");
    if (m.dimmsPerChannel == 0)
      fail(pick(m.dimmsLoc, m.loc),
           "memory dimms_per_channel must be at least 1");
    if (!(m.capacityGiB > 0))
      fail(pick(m.capacityLoc, m.loc), "memory capacity_gib must be positive");
    if (m.source != "spec" && m.source != "estimated")
      fail(m.loc, "memory source must be 'spec' or 'estimated', not " +
                      quoted(m.source));
    if (m.measuredReadGBps)
      positiveAtMost("measured_read_gbps", *m.measuredReadGBps,
                     limits::kMaxBandwidthGBps, m.loc);
    unsigned previous = 0;
    for (const BandwidthPoint &p : m.measured) {
      SourceLoc loc = pick(p.loc, m.loc);
      if (p.threads == 0 || p.threads > t.hardwareThreads())
        fail(loc, "measured bandwidth for " + Twine(p.threads) +
                      " threads: the target has " + Twine(t.hardwareThreads()) +
                      " hardware threads");
      else if (p.threads <= previous)
        fail(loc,
             "measured bandwidth points must have increasing thread counts");
      positiveAtMost("measured read_gbps", p.readGBps,
                     limits::kMaxBandwidthGBps, pick(p.readLoc, loc));
      previous = p.threads;
    }
  }

  void checkThreads() {
    unsigned hw = t.hardwareThreads();
    if (hw == 0)
      return;
    auto check = [&](StringRef what, std::optional<unsigned> n) {
      if (!n)
        return;
      if (*n == 0)
        fail(pick(t.threads.loc, t.loc), what + " threads must be at least 1");
      else if (*n > hw)
        fail(pick(t.threads.loc, t.loc), what + " threads (" + Twine(*n) +
                                             ") exceed the " + Twine(hw) +
                                             " hardware threads of the target");
    };
    check("decode", t.threads.decode);
    check("prefill", t.threads.prefill);
    if (t.probe && t.probe->int8PeakGops)
      positiveAtMost("probe int8_peak_gops", *t.probe->int8PeakGops,
                     limits::kMaxInt8PeakGops, pick(t.probe->loc, t.loc));
    if (t.probe && t.probe->int8Threads && *t.probe->int8Threads > hw)
      fail(pick(t.probe->loc, t.loc),
           "probe int8_threads " + Twine(*t.probe->int8Threads) +
               " exceeds the " + Twine(hw) + " hardware threads of the target");
  }
};

struct DiagCollector {
  std::string first;
};

void collectDiagnostic(const SMDiagnostic &diag, void *context) {
  auto *collector = static_cast<DiagCollector *>(context);
  if (!collector->first.empty() || diag.getKind() != SourceMgr::DK_Error)
    return;
  SourceLoc loc;
  if (diag.getLineNo() > 0) {
    loc.line = diag.getLineNo();
    loc.column = diag.getColumnNo() + 1;
  }
  collector->first = locatedMessage(diag.getFilename(), loc, diag.getMessage());
}

} // namespace

Error ingot::target::validateTargetDescription(
    const TargetDescription &target) {
  return Checker(target).run();
}

namespace {

/// A node the reader refuses: where, and why.
struct BadNode {
  const char *at = nullptr;
  std::string why;
};

/// A collection being visited: its children one by one (a mapping's
/// children are its keys and values, alternately). The iterator advances
/// only after the previous child was visited completely, so that the parser
/// never has to skip (recursively) over an unvisited subtree.
struct CollectionVisit {
  yaml::SequenceNode *sequence = nullptr;
  yaml::SequenceNode::iterator sequenceEntry;
  yaml::MappingNode *mapping = nullptr;
  yaml::MappingNode::iterator mappingEntry;
  bool started = false, valueNext = false;

  /// Sets `child` to the next child (which may be null); false when every
  /// child was visited.
  bool next(yaml::Node *&child) {
    if (sequence) {
      if (started)
        ++sequenceEntry;
      started = true;
      if (sequenceEntry == sequence->end())
        return false;
      child = &*sequenceEntry;
      return true;
    }
    if (valueNext) {
      child = mappingEntry->getValue();
      valueNext = false;
      return true;
    }
    if (started)
      ++mappingEntry;
    started = true;
    if (mappingEntry == mapping->end())
      return false;
    child = mappingEntry->getKey();
    valueNext = true;
    return true;
  }
};

/// Walks a YAML tree with an explicit stack, stopping at the first node
/// the reader refuses.
class BadNodeFinder {
public:
  BadNode walk(yaml::Node *root) {
    if (!enter(root))
      return bad;
    while (!stack.empty()) {
      yaml::Node *child;
      if (!stack.back().next(child)) {
        stack.pop_back();
        continue;
      }
      if (!enter(child))
        return bad;
    }
    return bad;
  }

private:
  /// Checks `node` and pushes it when it is a collection; false when it is
  /// refused.
  bool enter(yaml::Node *node) {
    if (!node)
      return true;
    if (isa<yaml::AliasNode>(node) || !node->getAnchor().empty()) {
      bad = {node->getSourceRange().Start.getPointer(),
             "YAML anchors and aliases are not supported"};
      return false;
    }
    bool collection = isa<yaml::SequenceNode, yaml::MappingNode>(node);
    if (!collection)
      return true;
    if (stack.size() >= limits::kMaxNesting) {
      bad = {node->getSourceRange().Start.getPointer(),
             "nested more than " + std::to_string(limits::kMaxNesting) +
                 " levels deep"};
      return false;
    }
    CollectionVisit visit;
    if (auto *sequence = dyn_cast<yaml::SequenceNode>(node)) {
      visit.sequence = sequence;
      visit.sequenceEntry = sequence->begin();
    } else {
      visit.mapping = cast<yaml::MappingNode>(node);
      visit.mappingEntry = visit.mapping->begin();
    }
    stack.push_back(visit);
    return true;
  }

  std::vector<CollectionVisit> stack;
  BadNode bad;
};

/// The first collection nested deeper than limits::kMaxNesting, or the
/// first anchor or alias (yaml::Input does not resolve them and would say
/// only "unknown node kind"), found by walking LLVM's (lazy,
/// non-recursive) YAML parser with an explicit stack; yaml::Input would
/// recurse once per level and overflow the stack on a deep enough
/// document. Only the first document is walked, as only it is read. Syntax
/// errors are left to yaml::Input, which reports them located.
BadNode findBadNode(MemoryBufferRef buffer) {
  SourceMgr sm;
  sm.setDiagHandler([](const SMDiagnostic &, void *) {}, nullptr);
  yaml::Stream stream(buffer, sm, /*ShowColors=*/false);
  yaml::document_iterator document = stream.begin();
  if (document == stream.end())
    return {};
  return BadNodeFinder().walk(document->getRoot());
}

} // namespace

Expected<TargetDescription>
ingot::target::parseTargetDescription(MemoryBufferRef buffer) {
  StringRef file = buffer.getBufferIdentifier();
  if (buffer.getBufferSize() > limits::kMaxFileBytes)
    return createStringError(
        inconvertibleErrorCode(),
        file + ": larger than " + Twine(limits::kMaxFileBytes) +
            " bytes, the most a target description may have");
  if (buffer.getBuffer().trim().empty())
    return createStringError(inconvertibleErrorCode(),
                             file + ": empty target description");

  TargetDescription target;
  DiagCollector diags;
  ParseContext context(buffer.getBuffer());
  BadNode bad = findBadNode(buffer);
  if (bad.at)
    return createStringError(
        inconvertibleErrorCode(),
        locatedMessage(file, context.locate(bad.at), bad.why));
  {
    yaml::Input in(buffer, &context, collectDiagnostic, &diags);
    context.input = &in;
    in >> target;
    if (in.error()) {
      if (diags.first.empty())
        diags.first =
            locatedMessage(file, {}, "no target description (empty document?)");
      return createStringError(inconvertibleErrorCode(), diags.first);
    }
  }
  target.sourceFile = file.str();
  if (Error err = validateTargetDescription(target))
    return std::move(err);
  return target;
}

Expected<TargetDescription>
ingot::target::readTargetDescriptionFile(StringRef path) {
  // Read at most one byte more than a description may have: the file may be
  // a pipe or a device that never ends.
  Expected<sys::fs::file_t> fd =
      path == "-" ? Expected<sys::fs::file_t>(sys::fs::getStdinHandle())
                  : sys::fs::openNativeFileForRead(path);
  auto cannotRead = [&](std::error_code ec) {
    return createStringError(ec, "cannot read '" + path + "': " + ec.message());
  };
  if (!fd)
    return cannotRead(errorToErrorCode(fd.takeError()));
  std::string text;
  const size_t cap = limits::kMaxFileBytes + 1;
  text.resize(cap);
  size_t size = 0;
  std::error_code readError;
  while (size < cap) {
    Expected<size_t> n = sys::fs::readNativeFile(
        *fd, MutableArrayRef<char>(text.data() + size, cap - size));
    if (!n) {
      readError = errorToErrorCode(n.takeError());
      break;
    }
    if (*n == 0)
      break;
    size += *n;
  }
  if (path != "-")
    sys::fs::closeFile(*fd);
  if (readError)
    return cannotRead(readError);
  text.resize(size);
  return parseTargetDescription(MemoryBufferRef(text, path));
}

std::string
ingot::target::writeTargetDescription(const TargetDescription &target) {
  std::string text;
  raw_string_ostream os(text);
  yaml::Output out(os, nullptr, /*WrapColumn=*/0);
  TargetDescription copy = target;
  out << copy;
  return text;
}

//===----------------------------------------------------------------------===//
// Summary
//===----------------------------------------------------------------------===//

std::string ingot::target::formatCoreList(ArrayRef<CoreId> cores) {
  std::vector<unsigned> ids;
  for (const CoreId &c : cores)
    ids.push_back(c.id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::string text;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1)
      ++j;
    if (!text.empty())
      text += ",";
    text += std::to_string(ids[i]);
    if (j > i)
      text += "-" + std::to_string(ids[j]);
    i = j + 1;
  }
  return text;
}

void ingot::target::printTargetSummary(const TargetDescription &t,
                                       raw_ostream &os) {
  os << "target: " << t.name << "\n";
  os << "  isa: " << t.isa << ", cpu: " << t.cpu << "\n";
  os << "  cores: " << t.physicalCores() << " physical (" << t.sockets
     << " socket" << (t.sockets > 1 ? "s" : "") << " x " << t.coresPerSocket
     << " cores), " << t.hardwareThreads() << " hardware threads ("
     << t.threadsPerCore << " per core)\n";
  os << "  caches: L1d " << t.caches.l1dKiB << " KiB/core, L2 "
     << t.caches.l2KiB << " KiB/core, L3 " << t.caches.l3.size() << " group"
     << (t.caches.l3.size() > 1 ? "s" : "") << "\n";
  for (auto [index, g] : enumerate(t.caches.l3))
    os << "  L3 group " << index << ": " << format("%g", g.sizeMiB)
       << " MiB, cores " << formatCoreList(g.cores) << "\n";
  for (const NumaNode &n : t.numa)
    os << "  NUMA node " << n.id << ": cores " << formatCoreList(n.cores)
       << ", " << format("%g", n.memoryGiB) << " GiB\n";
  const Memory &m = t.memory;
  os << "  memory: " << m.channels << " channel" << (m.channels > 1 ? "s" : "")
     << "/socket " << m.type << "-" << m.mts << ", " << m.dimmsPerChannel
     << " DIMM/channel, " << format("%g", m.capacityGiB) << " GiB (" << m.source
     << ")\n";
  os << "  bandwidth: theoretical "
     << format("%.1f", t.theoreticalBandwidthGBps()) << " GB/s";
  if (m.measuredReadGBps)
    os << ", measured read " << format("%.1f", *m.measuredReadGBps) << " GB/s";
  os << "\n";
  for (const BandwidthPoint &p : m.measured)
    os << "  measured read with " << p.threads << " thread"
       << (p.threads > 1 ? "s" : "") << ": " << format("%.1f", p.readGBps)
       << " GB/s\n";
  os << "  hugepages: " << t.hugepages.available1G << " x 1G, "
     << t.hugepages.available2M << " x 2M available\n";
  os << "  threads: decode " << t.decodeThreads()
     << (t.threads.decode ? "" : " (derived)") << ", prefill "
     << t.prefillThreads() << (t.threads.prefill ? "" : " (derived)") << "\n";
  if (t.probe && t.probe->int8PeakGops) {
    os << "  int8 peak: " << format("%.1f", *t.probe->int8PeakGops) << " GOPS";
    if (t.probe->int8Kernel)
      os << " (" << *t.probe->int8Kernel;
    if (t.probe->int8Threads)
      os << (t.probe->int8Kernel ? ", " : " (") << *t.probe->int8Threads
         << " threads";
    if (t.probe->int8Kernel || t.probe->int8Threads)
      os << ")";
    os << "\n";
  }
  os << "  features:";
  for (const Feature &f : t.features)
    os << " " << f.name;
  os << "\n  llvm features: " << join(t.llvmFeatureList(), ",") << "\n";
}
