//===- Roofline.cpp - What a token costs and what the target can do -------===//
#include "Roofline.h"

#include "Console.h"
#include "CpuFeatures.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ingot::rt {

TargetFigure targetReadBandwidth(const IngotModelInfo &info, int threads) {
  TargetFigure f;
  if (!(info.target_read_gbps > 0)) {
    f.note = "target '" + std::string(orEmpty(info.target_name)) +
             "' has no measured read bandwidth (compile for a description "
             "written by `ingot target probe`)";
    return f;
  }
  // "THREADS:GBPS,..." as the compiler wrote it (ModelABI.h).
  for (const char *p = orEmpty(info.target_read_points); *p;) {
    char *end = nullptr;
    long n = std::strtol(p, &end, 10);
    if (end == p || *end != ':')
      break;
    double gbps = std::strtod(end + 1, &end);
    if (n == threads && gbps > 0) {
      f.value = gbps;
      f.note = "measured with " + std::to_string(n) + " thread" +
               (n == 1 ? "" : "s");
      return f;
    }
    p = *end == ',' ? end + 1 : end;
  }
  f.value = info.target_read_gbps;
  f.note = "the best measured; none with " + std::to_string(threads) +
           " thread" + (threads == 1 ? "" : "s");
  return f;
}

TargetFigure targetInt8Peak(const IngotModelInfo &info) {
  TargetFigure f;
  if (!(info.target_int8_peak_gops > 0)) {
    f.note = "target '" + std::string(orEmpty(info.target_name)) +
             "' has no probed int8 peak (compile for a description written "
             "by `ingot target probe`)";
    return f;
  }
  f.value = info.target_int8_peak_gops;
  int64_t n = info.target_int8_peak_threads;
  f.note = n > 0 ? "probed with " + std::to_string(n) + " thread" +
                       (n == 1 ? "" : "s")
                 : "probed";
  return f;
}

double meanKvBytesPerStep(int64_t kvBytesPerPosition, int64_t steps) {
  // Step k (position k) attends over positions 0..k: k + 1 of them.
  return steps > 0 ? double(kvBytesPerPosition) * (double(steps) + 1) / 2 : 0;
}

std::string hostVersusTarget(const IngotModelInfo &info) {
  // The vector features that set what a machine's kernels can do; the
  // required list names what the target has (ModelABI.h spelling).
  static const char *const kTelling[] = {"avx2",       "avx512f", "avx512vnni",
                                         "avx512bf16", "avxvnni", "amx-int8"};
  std::string required =
      "," + std::string(orEmpty(info.required_features)) + ",";
  std::string extra;
  for (const char *name : kTelling) {
    bool known = false;
    if (required.find("," + std::string(name) + ",") == std::string::npos &&
        cpuHasFeature(name, known) && known)
      extra += (extra.empty() ? "" : ", ") + std::string(name);
  }
  std::string text = "host: " + cpuBrand() + "; compiled for target '" +
                     orEmpty(info.target_name) + "' (cpu " +
                     orEmpty(info.target_cpu) + ")";
  if (!extra.empty())
    text += "; they differ: the host has " + extra +
            ", which the target lacks, so its figures describe another "
            "machine";
  return text;
}

} // namespace ingot::rt
