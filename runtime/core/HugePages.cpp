//===- HugePages.cpp - Placing the weights in huge pages ------------------===//
#include "HugePages.h"
#include "Console.h"
#include "Error.h"
#include "Topology.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <linux/mman.h>
#include <sys/mman.h>
#include <unistd.h>

namespace ingot::rt {
namespace {

constexpr uint64_t k2M = 2ull << 20, k1G = 1ull << 30;

uint64_t readCount(const std::string &path) {
  FILE *f = std::fopen(path.c_str(), "r");
  if (!f)
    return 0;
  unsigned long long v = 0;
  if (std::fscanf(f, "%llu", &v) != 1)
    v = 0;
  std::fclose(f);
  return v;
}

uint64_t freeHugetlbPages(uint64_t pageSize) {
  return readCount(sysfsRoot() + "/kernel/mm/hugepages/hugepages-" +
                   std::to_string(pageSize >> 10) + "kB/free_hugepages");
}

/// Whether the kernel hands out transparent huge pages on madvise: its
/// setting reads "always [madvise] never" with the current one bracketed.
bool transparentHugePagesEnabled(std::string &setting) {
  FILE *f = std::fopen(
      (sysfsRoot() + "/kernel/mm/transparent_hugepage/enabled").c_str(), "r");
  if (!f) {
    setting = "not supported by this kernel";
    return false;
  }
  char line[256] = {};
  bool ok = std::fgets(line, sizeof(line), f) != nullptr;
  std::fclose(f);
  setting = ok ? line : "";
  while (!setting.empty() && setting.back() == '\n')
    setting.pop_back();
  return ok && !std::strstr(line, "[never]");
}

/// MemAvailable of /proc/meminfo in bytes (0 when unknown).
uint64_t memoryAvailable() {
  FILE *f = std::fopen("/proc/meminfo", "r");
  if (!f)
    return 0;
  char line[256];
  unsigned long long kib = 0;
  while (std::fgets(line, sizeof(line), f))
    if (std::sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
      break;
  std::fclose(f);
  return uint64_t(kib) << 10;
}

/// Bytes of the mapping at `start` backed by transparent huge pages
/// (AnonHugePages of its /proc/self/smaps entry); -1 when not found.
int64_t anonHugeBytes(const void *start) {
  FILE *f = std::fopen("/proc/self/smaps", "r");
  if (!f)
    return -1;
  char line[512];
  bool inside = false;
  int64_t bytes = -1;
  const uintptr_t want = reinterpret_cast<uintptr_t>(start);
  while (std::fgets(line, sizeof(line), f)) {
    unsigned long long from = 0, to = 0, kib = 0;
    if (std::sscanf(line, "%llx-%llx ", &from, &to) == 2 &&
        std::strchr(line, '-') < std::strchr(line, ' ')) {
      inside = from <= want && want < to;
      continue;
    }
    if (inside && std::sscanf(line, "AnonHugePages: %llu kB", &kib) == 1) {
      bytes = int64_t(kib) << 10;
      break;
    }
  }
  std::fclose(f);
  return bytes;
}

/// Reads exactly n bytes at offset; false on a short read or an error.
bool readAll(int fd, uint8_t *p, uint64_t n, uint64_t offset) {
  while (n) {
    size_t chunk = n < (1ull << 30) ? size_t(n) : size_t(1) << 30;
    ssize_t got = pread(fd, p, chunk, off_t(offset));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    p += got;
    n -= uint64_t(got);
    offset += uint64_t(got);
  }
  return true;
}

uint64_t roundUp(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

/// Reads the weights into `memory` (writable, `bytes` long from `data`),
/// then makes it read-only: the weights are never written.
bool copyInto(int fd, uint64_t offset, uint64_t n, uint8_t *data,
              std::string &error) {
  if (!readAll(fd, data, n, offset))
    return fail(error, "cannot read the %" PRIu64 " bytes of weights: %s", n,
                std::strerror(errno ? errno : EIO));
  return true;
}

/// Binds the copy's pages to the spread's nodes before the copy touches
/// them (NodeBinding.h).
void spreadOverNodes(void *data, uint64_t n, uint64_t pageSize,
                     const NodeSpread &spread, WeightPlacement &w) {
  if (spread.nodes.size() < 2)
    return;
  w.nodes = spread.nodes;
  w.bindFailure = bindToNodes(data, nodeRanges(spread, n, pageSize));
}

/// A copy in hugetlb pages of `pageSize`; `why` says why not when the
/// mapping fails (the pages were counted free but are not, say).
bool copyToHugetlb(int fd, uint64_t offset, uint64_t n, uint64_t pageSize,
                   const NodeSpread &spread, WeightPlacement &w,
                   std::string &why, std::string &error) {
  const uint64_t bytes = roundUp(n, pageSize);
  void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
                     (pageSize == k1G ? MAP_HUGE_1GB : MAP_HUGE_2MB),
                 -1, 0);
  if (p == MAP_FAILED) {
    why = format("mmap of %" PRIu64 " bytes in %s pages failed: %s", bytes,
                 pageSize == k1G ? "1 GiB" : "2 MiB", std::strerror(errno));
    return true;
  }
  spreadOverNodes(p, n, pageSize, spread, w);
  if (!copyInto(fd, offset, n, static_cast<uint8_t *>(p), error)) {
    munmap(p, bytes);
    return false;
  }
  mprotect(p, bytes, PROT_READ);
  w.mapping = p;
  w.mappingBytes = bytes;
  w.data = static_cast<const uint8_t *>(p);
  w.kind = pageSize == k1G ? "1 GiB huge pages" : "2 MiB huge pages";
  w.copied = true;
  return true;
}

/// A copy in anonymous memory advised to be backed by transparent huge
/// pages, starting on a 2 MiB boundary (so every 2 MiB of weights can be
/// one page).
bool copyToTransparent(int fd, uint64_t offset, uint64_t n,
                       const NodeSpread &spread, WeightPlacement &w,
                       std::string &error) {
  const uint64_t bytes = roundUp(n, k2M) + k2M;
  void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return fail(error,
                "cannot allocate %" PRIu64
                " bytes for the weights in transparent huge pages: %s",
                bytes, std::strerror(errno));
  uint8_t *data =
      reinterpret_cast<uint8_t *>(roundUp(reinterpret_cast<uintptr_t>(p), k2M));
  madvise(data, roundUp(n, k2M), MADV_HUGEPAGE);
  spreadOverNodes(data, n, k2M, spread, w);
  if (!copyInto(fd, offset, n, data, error)) {
    munmap(p, bytes);
    return false;
  }
  mprotect(p, bytes, PROT_READ);
  w.mapping = p;
  w.mappingBytes = bytes;
  w.data = data;
  w.kind = "transparent huge pages";
  w.hugeBytes = anonHugeBytes(data);
  w.copied = true;
  return true;
}

/// The file mapping. The page cache may hold the file in large folios that
/// the kernel maps with 2 MiB entries (ext4 and XFS do on recent kernels):
/// `normalPages` (off) forbids that, so off means 4 KiB pages; the
/// fallback of auto takes what the kernel gives.
bool mapFile(int fd, uint64_t offset, uint64_t n, bool normalPages,
             WeightPlacement &w, std::string &error) {
  void *p = mmap(nullptr, n, PROT_READ, MAP_PRIVATE, fd, off_t(offset));
  if (p == MAP_FAILED)
    return fail(error, "cannot map the %" PRIu64 " bytes of weights: %s", n,
                std::strerror(errno));
  if (normalPages)
    madvise(p, n, MADV_NOHUGEPAGE);
  madvise(p, n, MADV_WILLNEED);
  w.mapping = p;
  w.mappingBytes = n;
  w.data = static_cast<const uint8_t *>(p);
  w.kind = normalPages ? "file mapping (4 KiB pages)" : "file mapping";
  return true;
}

/// Whether `mode` can be used for n bytes, and why not.
bool hugetlbAvailable(uint64_t n, uint64_t pageSize, std::string &why) {
  const uint64_t pages = roundUp(n, pageSize) / pageSize;
  const uint64_t free = freeHugetlbPages(pageSize);
  if (free >= pages)
    return true;
  why =
      format("%" PRIu64 " x %s pages needed, %" PRIu64 " free (reserve them in "
             "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/nr_hugepages)",
             pages, pageSize == k1G ? "1 GiB" : "2 MiB", free, pageSize >> 10);
  return false;
}

} // namespace

bool parseHugePageMode(const char *text, HugePageMode &mode) {
  static const HugePageMode all[] = {
      HugePageMode::Auto, HugePageMode::Giant1G, HugePageMode::Huge2M,
      HugePageMode::Transparent, HugePageMode::Off};
  for (HugePageMode m : all)
    if (!std::strcmp(text, hugePageModeName(m))) {
      mode = m;
      return true;
    }
  return false;
}

const char *hugePageModeName(HugePageMode mode) {
  switch (mode) {
  case HugePageMode::Auto:
    return "auto";
  case HugePageMode::Giant1G:
    return "1g";
  case HugePageMode::Huge2M:
    return "2m";
  case HugePageMode::Transparent:
    return "thp";
  case HugePageMode::Off:
    return "off";
  }
  return "?";
}

bool placeWeights(int fd, uint64_t offset, uint64_t n, HugePageMode mode,
                  const NodeSpread &spread, WeightPlacement &w,
                  std::string &error, std::vector<std::string> &notes) {
  const double start = now();
  std::string why;
  bool placed = false;
  auto tryHugetlb = [&](uint64_t pageSize, bool required) {
    if (!hugetlbAvailable(n, pageSize, why)) {
      if (required)
        return fail(error, "--hugepages %s: %s", pageSize == k1G ? "1g" : "2m",
                    why.c_str());
      // Pages reserved but too few are worth a word; none reserved is the
      // common case and says nothing.
      if (freeHugetlbPages(pageSize) > 0)
        notes.push_back("note: --hugepages auto: " + why);
      return true;
    }
    why.clear();
    if (!copyToHugetlb(fd, offset, n, pageSize, spread, w, why, error))
      return false;
    placed = w.copied;
    if (!placed && required)
      return fail(error, "--hugepages %s: %s", pageSize == k1G ? "1g" : "2m",
                  why.c_str());
    if (!placed)
      notes.push_back("note: --hugepages auto: " + why);
    return true;
  };
  std::string thpSetting;
  switch (mode) {
  case HugePageMode::Giant1G:
    if (!tryHugetlb(k1G, true))
      return false;
    break;
  case HugePageMode::Huge2M:
    if (!tryHugetlb(k2M, true))
      return false;
    break;
  case HugePageMode::Transparent:
    if (!transparentHugePagesEnabled(thpSetting))
      return fail(error,
                  "--hugepages thp: transparent huge pages are off (%s/kernel/"
                  "mm/transparent_hugepage/enabled: %s)",
                  sysfsRoot().c_str(), thpSetting.c_str());
    if (!copyToTransparent(fd, offset, n, spread, w, error))
      return false;
    placed = true;
    break;
  case HugePageMode::Auto:
    // Weights smaller than a huge page gain nothing from one.
    if (n < k2M)
      break;
    if (n >= (512ull << 20) && !tryHugetlb(k1G, false))
      return false;
    if (!placed && !tryHugetlb(k2M, false))
      return false;
    if (!placed && transparentHugePagesEnabled(thpSetting) &&
        n <= memoryAvailable() / 2) {
      if (!copyToTransparent(fd, offset, n, spread, w, error))
        return false;
      placed = true;
    }
    break;
  case HugePageMode::Off:
    break;
  }
  if (!placed && !mapFile(fd, offset, n, mode == HugePageMode::Off, w, error))
    return false;
  w.loadSeconds = now() - start;
  return true;
}

} // namespace ingot::rt
