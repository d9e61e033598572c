//===- HugePages.h - Placing the weights in huge pages ----------*- C++ -*-===//
//
// Decode streams every weight once per token; with 4 KiB pages that is one
// TLB entry per 4 KiB read, with 2 MiB or 1 GiB pages a few hundred or
// none. --hugepages chooses where the weights live:
//   1g    a copy in 1 GiB hugetlb pages (reserved by the administrator);
//   2m    a copy in 2 MiB hugetlb pages (reserved likewise);
//   thp   a copy in anonymous memory the kernel backs with transparent
//         huge pages (madvise MADV_HUGEPAGE);
//   off   the file mapping in 4 KiB pages (MADV_NOHUGEPAGE: the page
//         cache may hold the file in large folios, which the kernel would
//         otherwise map 2 MiB at a time where it can);
//   auto  the first of 1g, 2m, thp that is available, else the file
//         mapping as the kernel maps it. A 1 GiB
//         page is not spent on weights under 512 MiB, no huge page on
//         weights smaller than one, and thp only copies when the weights
//         take at most half the memory available (the copy and the page
//         cache of the file both hold them for a while).
// The payload's data starts on a 2 MiB boundary of the file, so the file
// mapping and every copy start huge-page aligned.
//
// /sys/kernel/mm is read under INGOT_SYSFS_ROOT too (Topology.h), so a test
// can describe reservations this machine does not have.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_HUGEPAGES_H
#define INGOT_RUNTIME_CORE_HUGEPAGES_H

#include "NodeBinding.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ingot::rt {

enum class HugePageMode { Auto, Giant1G, Huge2M, Transparent, Off };

/// "auto", "1g", "2m", "thp" or "off" <-> the mode; false for other text.
bool parseHugePageMode(const char *text, HugePageMode &mode);
const char *hugePageModeName(HugePageMode mode);

/// Where the weights ended up and what it took.
struct WeightPlacement {
  /// The mapping holding them (to munmap) and where the data starts in it.
  void *mapping = nullptr;
  size_t mappingBytes = 0;
  const uint8_t *data = nullptr;
  /// "1 GiB huge pages", "2 MiB huge pages", "transparent huge pages",
  /// "file mapping" or "file mapping (4 KiB pages)".
  const char *kind = "file mapping";
  /// For transparent huge pages: bytes of the copy the kernel backed with
  /// huge pages (from /proc/self/smaps), -1 when unknown.
  int64_t hugeBytes = -1;
  /// Seconds spent reading (copies) or mapping (the file) the weights.
  double loadSeconds = 0;
  bool copied = false;
  /// The nodes the copy is spread over (NodeBinding.h; empty: not spread)
  /// and the first binding that failed ("" when none did).
  std::vector<int> nodes;
  std::string bindFailure;
};

/// Places `bytes` bytes of `fd` at `offset` (2 MiB aligned) as `mode`
/// says; a copy is spread over `spread`'s nodes when it names two or more
/// (the file mapping is the page cache's, shared, and stays as it is).
/// False and `error` when a mode asked for by name is unavailable or
/// reading fails; `notes` receives what auto passed over when something was
/// reserved but not enough.
bool placeWeights(int fd, uint64_t offset, uint64_t bytes, HugePageMode mode,
                  const NodeSpread &spread, WeightPlacement &placement,
                  std::string &error, std::vector<std::string> &notes);

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_HUGEPAGES_H
