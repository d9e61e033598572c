//===- CpuFeatures.cpp - Does this CPU run the compiled code? -------------===//

#include "CpuFeatures.h"

#include <cpuid.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sys/syscall.h>
#include <unistd.h>

namespace ingot::rt {
namespace {

struct Regs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Regs cpuid(uint32_t leaf, uint32_t sub) {
  Regs r;
  uint32_t maxLeaf = __get_cpuid_max(leaf & 0x80000000u, nullptr);
  if (leaf > maxLeaf)
    return r;
  __cpuid_count(leaf, sub, r.eax, r.ebx, r.ecx, r.edx);
  return r;
}

uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

enum Reg { EBX, ECX, EDX, EAX };
enum State { NONE, YMM, ZMM, TILE };

struct Feature {
  const char *name;
  uint32_t leaf, sub;
  Reg reg;
  int bit;
  State state;
};

const Feature kFeatures[] = {
    {"sse3", 1, 0, ECX, 0, NONE},
    {"pclmul", 1, 0, ECX, 1, NONE},
    {"ssse3", 1, 0, ECX, 9, NONE},
    {"fma", 1, 0, ECX, 12, YMM},
    {"cx16", 1, 0, ECX, 13, NONE},
    {"sse4.1", 1, 0, ECX, 19, NONE},
    {"sse4.2", 1, 0, ECX, 20, NONE},
    {"movbe", 1, 0, ECX, 22, NONE},
    {"popcnt", 1, 0, ECX, 23, NONE},
    {"aes", 1, 0, ECX, 25, NONE},
    {"avx", 1, 0, ECX, 28, YMM},
    {"f16c", 1, 0, ECX, 29, YMM},
    {"sse2", 1, 0, EDX, 26, NONE},
    {"bmi", 7, 0, EBX, 3, NONE},
    {"avx2", 7, 0, EBX, 5, YMM},
    {"bmi2", 7, 0, EBX, 8, NONE},
    {"avx512f", 7, 0, EBX, 16, ZMM},
    {"avx512dq", 7, 0, EBX, 17, ZMM},
    {"avx512ifma", 7, 0, EBX, 21, ZMM},
    {"avx512cd", 7, 0, EBX, 28, ZMM},
    {"avx512bw", 7, 0, EBX, 30, ZMM},
    {"avx512vl", 7, 0, EBX, 31, ZMM},
    {"avx512vbmi", 7, 0, ECX, 1, ZMM},
    {"avx512vbmi2", 7, 0, ECX, 6, ZMM},
    {"avx512vnni", 7, 0, ECX, 11, ZMM},
    {"avx512bitalg", 7, 0, ECX, 12, ZMM},
    {"avx512vpopcntdq", 7, 0, ECX, 14, ZMM},
    {"amx-bf16", 7, 0, EDX, 22, TILE},
    {"avx512fp16", 7, 0, EDX, 23, ZMM},
    {"amx-tile", 7, 0, EDX, 24, TILE},
    {"amx-int8", 7, 0, EDX, 25, TILE},
    {"avxvnni", 7, 1, EAX, 4, YMM},
    {"avx512bf16", 7, 1, EAX, 5, ZMM},
    {"lzcnt", 0x80000001u, 0, ECX, 5, NONE},
    // Further ISA extensions LLVM lists for recent cpus.
    {"gfni", 7, 0, ECX, 8, NONE},
    {"vaes", 7, 0, ECX, 9, YMM},
    {"vpclmulqdq", 7, 0, ECX, 10, YMM},
    {"avx512vp2intersect", 7, 0, EDX, 8, ZMM},
    {"cx8", 1, 0, EDX, 8, NONE},
    {"cmov", 1, 0, EDX, 15, NONE},
    {"mmx", 1, 0, EDX, 23, NONE},
    {"fxsr", 1, 0, EDX, 24, NONE},
    {"sse", 1, 0, EDX, 25, NONE},
    {"xsave", 1, 0, ECX, 26, NONE},
    {"rdrnd", 1, 0, ECX, 30, NONE},
    {"fsgsbase", 7, 0, EBX, 0, NONE},
    {"sgx", 7, 0, EBX, 2, NONE},
    {"invpcid", 7, 0, EBX, 10, NONE},
    {"rdseed", 7, 0, EBX, 18, NONE},
    {"adx", 7, 0, EBX, 19, NONE},
    {"clflushopt", 7, 0, EBX, 23, NONE},
    {"clwb", 7, 0, EBX, 24, NONE},
    {"sha", 7, 0, EBX, 29, NONE},
    {"prefetchwt1", 7, 0, ECX, 0, NONE},
    {"pku", 7, 0, ECX, 3, NONE},
    {"waitpkg", 7, 0, ECX, 5, NONE},
    {"shstk", 7, 0, ECX, 7, NONE},
    {"rdpid", 7, 0, ECX, 22, NONE},
    {"kl", 7, 0, ECX, 23, NONE},
    {"cldemote", 7, 0, ECX, 25, NONE},
    {"movdiri", 7, 0, ECX, 27, NONE},
    {"movdir64b", 7, 0, ECX, 28, NONE},
    {"enqcmd", 7, 0, ECX, 29, NONE},
    {"uintr", 7, 0, EDX, 5, NONE},
    {"serialize", 7, 0, EDX, 14, NONE},
    {"tsxldtrk", 7, 0, EDX, 16, NONE},
    {"pconfig", 7, 0, EDX, 18, NONE},
    {"ibt", 7, 0, EDX, 20, NONE},
    {"sha512", 7, 1, EAX, 0, YMM},
    {"sm3", 7, 1, EAX, 1, YMM},
    {"sm4", 7, 1, EAX, 2, YMM},
    {"raoint", 7, 1, EAX, 3, NONE},
    {"cmpccxadd", 7, 1, EAX, 7, NONE},
    {"amx-fp16", 7, 1, EAX, 21, TILE},
    {"hreset", 7, 1, EAX, 22, NONE},
    {"avxifma", 7, 1, EAX, 23, YMM},
    {"avxvnniint8", 7, 1, EDX, 4, YMM},
    {"avxneconvert", 7, 1, EDX, 5, YMM},
    {"amx-complex", 7, 1, EDX, 8, TILE},
    {"avxvnniint16", 7, 1, EDX, 10, YMM},
    {"prefetchi", 7, 1, EDX, 14, NONE},
    {"usermsr", 7, 1, EDX, 15, NONE},
    {"xsaveopt", 0xD, 1, EAX, 0, NONE},
    {"xsavec", 0xD, 1, EAX, 1, NONE},
    {"xsaves", 0xD, 1, EAX, 3, NONE},
    {"sahf", 0x80000001u, 0, ECX, 0, NONE},
    {"sse4a", 0x80000001u, 0, ECX, 6, NONE},
    {"prfchw", 0x80000001u, 0, ECX, 8, NONE},
    {"xop", 0x80000001u, 0, ECX, 11, YMM},
    {"fma4", 0x80000001u, 0, ECX, 16, YMM},
    {"tbm", 0x80000001u, 0, ECX, 21, NONE},
    {"mwaitx", 0x80000001u, 0, ECX, 29, NONE},
    {"clzero", 0x80000008u, 0, EBX, 0, NONE},
    {"wbnoinvd", 0x80000008u, 0, EBX, 9, NONE},
    {"rdpru", 0x80000008u, 0, EBX, 4, NONE},
    {"64bit", 0x80000001u, 0, EDX, 29, NONE},
};

struct FeatureAlias {
  const char *spelling; // lower case, '-' for '_'
  const char *name;
};

const FeatureAlias kFeatureAliases[] = {
    {"avx-vnni", "avxvnni"},
    {"sse4-1", "sse4.1"},
    {"sse4-2", "sse4.2"},
    {"pclmulqdq", "pclmul"},
    {"lahf-lm", "sahf"},
    {"lahfsahf", "sahf"},
    {"3dnowprefetch", "prfchw"},
    {"cmpxchg16b", "cx16"},
    {"crc32", "sse4.2"},
    {"abm", "lzcnt"},
    {"bmi1", "bmi"},
    {"fp16", "avx512fp16"},
    {"avx512-fp16", "avx512fp16"},
};

/// Accepts a few alternative spellings (LLVM's, /proc/cpuinfo's).
std::string canonical(std::string n) {
  for (char &c : n) {
    if (c >= 'A' && c <= 'Z')
      c = char(c - 'A' + 'a');
    if (c == '_')
      c = '-';
  }
  if (n.rfind("avx512-", 0) == 0)
    n.erase(6, 1); // avx512-vnni -> avx512vnni
  for (const FeatureAlias &a : kFeatureAliases)
    if (n == a.spelling)
      return a.name;
  return n;
}

bool stateEnabled(State s) {
  if (s == NONE)
    return true;
  // OSXSAVE (leaf 1 ecx bit 27) must be set before xgetbv may be executed.
  if (!(cpuid(1, 0).ecx & (1u << 27)))
    return false;
  uint64_t xcr0 = xgetbv0();
  bool ymm = (xcr0 & 0x6) == 0x6;
  if (s == YMM)
    return ymm;
  if (s == ZMM)
    return ymm && (xcr0 & 0xE0) == 0xE0; // opmask, ZMM_Hi256, Hi16_ZMM
  // TILE: XTILECFG and XTILEDATA in XCR0, and Linux must grant this process
  // the permission to use the (large) tile data state.
  if ((xcr0 & 0x60000) != 0x60000)
    return false;
  static int granted = -1;
  if (granted < 0) {
    constexpr long ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18;
    granted =
        syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
  }
  return granted;
}

bool maskedByEnv(const std::string &name) {
  const char *mask = std::getenv("INGOT_CPU_FEATURES_MASK");
  if (!mask)
    return false;
  std::string m = mask;
  size_t start = 0;
  while (start <= m.size()) {
    size_t end = m.find(',', start);
    if (end == std::string::npos)
      end = m.size();
    if (canonical(m.substr(start, end - start)) == name)
      return true;
    start = end + 1;
  }
  return false;
}

} // namespace

namespace {

enum class Support { Unknown, Missing, StateRefused, Usable };

Support featureSupport(const std::string &rawName) {
  std::string name = canonical(rawName);
  for (const Feature &f : kFeatures) {
    if (name != f.name)
      continue;
    if (maskedByEnv(name))
      return Support::Missing;
    Regs r = cpuid(f.leaf, f.sub);
    uint32_t v = f.reg == EAX   ? r.eax
                 : f.reg == EBX ? r.ebx
                 : f.reg == ECX ? r.ecx
                                : r.edx;
    if (!(v >> f.bit & 1))
      return Support::Missing;
    return stateEnabled(f.state) ? Support::Usable : Support::StateRefused;
  }
  return Support::Unknown;
}

} // namespace

bool cpuHasFeature(const std::string &rawName, bool &known) {
  Support support = featureSupport(rawName);
  known = support != Support::Unknown;
  return support == Support::Usable;
}

bool checkCpuFeatures(const char *required, const char *targetName,
                      std::string &error) {
  if (!required)
    return true;
  std::string list = required;
  size_t start = 0;
  while (start < list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos)
      end = list.size();
    std::string name = list.substr(start, end - start);
    start = end + 1;
    while (!name.empty() && (name.front() == ' ' || name.front() == '+'))
      name.erase(0, 1);
    while (!name.empty() && name.back() == ' ')
      name.pop_back();
    if (name.empty() || name.front() == '-')
      continue;
    Support support = featureSupport(name);
    if (support == Support::Usable)
      continue;
    const char *target =
        targetName && *targetName ? targetName : "an unnamed target";
    error = "this binary was compiled for " + std::string(target) +
            " and needs CPU feature '" + name + "', ";
    if (support == Support::Unknown)
      error += "which this runtime cannot check";
    else if (support == Support::StateRefused)
      error += "which this CPU has but the OS does not enable for this "
               "process (AMX: Linux must grant the tile data state, "
               "arch_prctl ARCH_REQ_XCOMP_PERM)";
    else
      error += "which this CPU lacks";
    return false;
  }
  return true;
}

std::string cpuBrand() {
  if (__get_cpuid_max(0x80000000u, nullptr) < 0x80000004u)
    return "unknown CPU";
  char brand[49] = {};
  for (uint32_t i = 0; i < 3; ++i) {
    Regs r = cpuid(0x80000002u + i, 0);
    std::memcpy(brand + 16 * i, &r.eax, 4);
    std::memcpy(brand + 16 * i + 4, &r.ebx, 4);
    std::memcpy(brand + 16 * i + 8, &r.ecx, 4);
    std::memcpy(brand + 16 * i + 12, &r.edx, 4);
  }
  std::string s = brand;
  while (!s.empty() && s.front() == ' ')
    s.erase(0, 1);
  while (!s.empty() && s.back() == ' ')
    s.pop_back();
  return s;
}

} // namespace ingot::rt
