//===- TargetProbe.cpp - Measure the host's bandwidth and int8 peak -------===//
//
// Read bandwidth: each of k threads, pinned to its own physical core, sums
// its slice of one large buffer (first-touched by the same threads); the
// time of the slowest thread counts; best of several passes.
// Int8 peak: independent chains of vpdpbusd (AVX-512 VNNI or AVX-VNNI), or
// vpmaddubsw + vpmaddwd + vpaddd with AVX2, one thread per physical core.
//
//===----------------------------------------------------------------------===//
#include "compiler/target/TargetDescription.h"

#include "llvm/ADT/STLExtras.h"

#include <immintrin.h>
#include <sched.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>

using namespace llvm;
using namespace ingot::target;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void pinToCpu(unsigned cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set); // best effort
}

std::atomic<uint64_t> sink{0};

/// Sums 64-bit words; four accumulators so loads are not serialised.
uint64_t sumWords(const uint64_t *data, size_t words) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  size_t i = 0;
  for (; i + 8 <= words; i += 8) {
    a += data[i] + data[i + 4];
    b += data[i + 1] + data[i + 5];
    c += data[i + 2] + data[i + 6];
    d += data[i + 3] + data[i + 7];
  }
  for (; i < words; ++i)
    a += data[i];
  return a + b + c + d;
}

/// A large page-aligned buffer, transparent huge pages requested.
struct Buffer {
  uint64_t *data = nullptr;
  size_t bytes = 0;
  explicit Buffer(size_t size) : bytes(size) {
    void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      return;
    madvise(p, size, MADV_HUGEPAGE);
    data = static_cast<uint64_t *>(p);
  }
  ~Buffer() {
    if (data)
      munmap(data, bytes);
  }
};

/// Runs body(i) on k threads pinned to the first logical cpu of cores
/// 0..k-1, all released at once; returns the wall time of the slowest.
template <typename Body>
double runPinned(const HostTopology &topology, unsigned k, Body body) {
  std::atomic<unsigned> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < k; ++i)
    threads.emplace_back([&, i] {
      pinToCpu(topology.logicalCpus[i % topology.logicalCpus.size()].front());
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire))
        ;
      body(i);
    });
  while (ready.load() != k)
    std::this_thread::yield();
  auto start = Clock::now();
  go.store(true, std::memory_order_release);
  for (std::thread &t : threads)
    t.join();
  return secondsSince(start);
}

/// Bytes [begin, end) of slice i of n, 4 KiB aligned.
std::pair<size_t, size_t> slice(size_t bytes, unsigned i, unsigned n) {
  size_t pages = bytes / 4096;
  return {pages * i / n * 4096, pages * (i + 1) / n * 4096};
}

double measureRead(const Buffer &buffer, const HostTopology &topology,
                   unsigned k, unsigned passes, double budgetSeconds) {
  double best = 0;
  auto start = Clock::now();
  for (unsigned pass = 0; pass < passes; ++pass) {
    double seconds = runPinned(topology, k, [&](unsigned i) {
      auto [begin, end] = slice(buffer.bytes, i, k);
      sink += sumWords(buffer.data + begin / 8, (end - begin) / 8);
    });
    if (seconds > 0)
      best = std::max(best, double(buffer.bytes) / seconds / 1e9);
    if (pass >= 1 && secondsSince(start) > budgetSeconds)
      break;
  }
  return best;
}

void firstTouch(Buffer &buffer, const HostTopology &topology, unsigned k) {
  runPinned(topology, k, [&](unsigned i) {
    auto [begin, end] = slice(buffer.bytes, i, k);
    std::memset(reinterpret_cast<char *>(buffer.data) + begin, 1, end - begin);
  });
}

//===-- int8 kernels: return the number of int8 operations done ----------===//
// One multiply and one add per byte pair: ops = 2 * bytes multiplied.

constexpr unsigned kChains = 12;

__attribute__((target("avx512f,avx512vnni"))) uint64_t
int8Avx512Vnni(uint64_t iterations) {
  __m512i a = _mm512_set1_epi8(static_cast<char>(sink.load() | 1));
  __m512i b = _mm512_set1_epi8(3);
  __m512i acc[kChains];
  for (unsigned j = 0; j < kChains; ++j)
    acc[j] = _mm512_setzero_si512();
  for (uint64_t i = 0; i < iterations; ++i)
    for (unsigned j = 0; j < kChains; ++j) {
      acc[j] = _mm512_dpbusd_epi32(acc[j], a, b);
      asm volatile("" : "+v"(acc[j]));
    }
  __m512i total = acc[0];
  for (unsigned j = 1; j < kChains; ++j)
    total = _mm512_add_epi32(total, acc[j]);
  sink += uint32_t(_mm512_reduce_add_epi32(total));
  return iterations * kChains * 64 * 2;
}

__attribute__((target("avx2,avxvnni"))) uint64_t
int8AvxVnni(uint64_t iterations) {
  __m256i a = _mm256_set1_epi8(static_cast<char>(sink.load() | 1));
  __m256i b = _mm256_set1_epi8(3);
  __m256i acc[kChains];
  for (unsigned j = 0; j < kChains; ++j)
    acc[j] = _mm256_setzero_si256();
  for (uint64_t i = 0; i < iterations; ++i)
    for (unsigned j = 0; j < kChains; ++j) {
      acc[j] = _mm256_dpbusd_avx_epi32(acc[j], a, b);
      asm volatile("" : "+x"(acc[j]));
    }
  __m256i total = acc[0];
  for (unsigned j = 1; j < kChains; ++j)
    total = _mm256_add_epi32(total, acc[j]);
  sink += uint32_t(_mm256_extract_epi32(total, 0));
  return iterations * kChains * 32 * 2;
}

__attribute__((target("avx2"))) uint64_t int8Avx2(uint64_t iterations) {
  __m256i a = _mm256_set1_epi8(static_cast<char>(sink.load() | 1));
  __m256i b = _mm256_set1_epi8(3);
  __m256i ones = _mm256_set1_epi16(1);
  constexpr unsigned chains = 6;
  __m256i acc[chains];
  for (unsigned j = 0; j < chains; ++j)
    acc[j] = _mm256_setzero_si256();
  for (uint64_t i = 0; i < iterations; ++i)
    for (unsigned j = 0; j < chains; ++j) {
      __m256i products = _mm256_maddubs_epi16(a, b);
      asm volatile("" : "+x"(products));
      acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(products, ones));
      asm volatile("" : "+x"(acc[j]));
    }
  __m256i total = acc[0];
  for (unsigned j = 1; j < chains; ++j)
    total = _mm256_add_epi32(total, acc[j]);
  sink += uint32_t(_mm256_extract_epi32(total, 0));
  return iterations * chains * 32 * 2;
}

using Int8Kernel = uint64_t (*)(uint64_t);

/// GOPS of the kernel on k threads, run for about `seconds`.
double measureInt8(Int8Kernel kernel, const HostTopology &topology, unsigned k,
                   double seconds) {
  // Calibrate on one thread.
  uint64_t iterations = 1 << 12;
  double elapsed = 0;
  while (true) {
    auto start = Clock::now();
    kernel(iterations);
    elapsed = secondsSince(start);
    if (elapsed > 0.02 || iterations > (uint64_t(1) << 40))
      break;
    iterations *= 4;
  }
  uint64_t target =
      std::max<uint64_t>(1, uint64_t(iterations * (seconds / elapsed)));
  std::atomic<uint64_t> ops{0};
  double wall =
      runPinned(topology, k, [&](unsigned) { ops += kernel(target); });
  return wall > 0 ? double(ops.load()) / wall / 1e9 : 0;
}

} // namespace

double ingot::target::quickReadBandwidthGBps(const HostTopology &topology) {
  unsigned k = topology.logicalCpus.size();
  if (k == 0)
    return 0;
  Buffer buffer(size_t(256) << 20);
  if (!buffer.data)
    return 0;
  firstTouch(buffer, topology, k);
  return measureRead(buffer, topology, k, 4, 0.3);
}

Expected<ProbeReport> ingot::target::runProbe(const ProbeOptions &options,
                                              const HostTopology &topology,
                                              const TargetDescription &host) {
  ProbeReport report;
  auto start = Clock::now();
  unsigned cores = topology.logicalCpus.size();
  if (cores == 0)
    return createStringError(inconvertibleErrorCode(), "no cores to probe");
  unsigned maxThreads =
      options.maxThreads ? std::min(options.maxThreads, cores) : cores;

  uint64_t bytes = options.bufferBytes;
  if (bytes == 0) {
    double l3MiB = 0;
    for (const L3Group &g : host.caches.l3)
      l3MiB += g.sizeMiB;
    bytes = std::max<uint64_t>(uint64_t(1) << 30, uint64_t(l3MiB * 8) << 20);
  }
  bytes =
      std::max<uint64_t>(bytes & ~uint64_t(4095), uint64_t(maxThreads) * 4096);
  Buffer buffer(bytes);
  if (!buffer.data)
    return createStringError(inconvertibleErrorCode(),
                             "cannot allocate a %llu MiB probe buffer",
                             (unsigned long long)(bytes >> 20));
  firstTouch(buffer, topology, maxThreads);

  // Thread counts: all of 1..N when N <= 16, else powers of two, every
  // eighth count and N.
  std::vector<unsigned> counts;
  for (unsigned k = 1; k <= maxThreads; ++k)
    if (maxThreads <= 16 || (k & (k - 1)) == 0 || k % 8 == 0 || k == maxThreads)
      counts.push_back(k);

  // 70% of the budget for bandwidth, the rest for the int8 peak.
  double bandwidthBudget = options.maxSeconds * 0.7 - secondsSince(start);
  double perCount = std::max(0.01, bandwidthBudget / counts.size());
  for (unsigned k : counts) {
    double gbps = measureRead(buffer, topology, k, 10, perCount);
    report.read.push_back({k, std::round(gbps * 10) / 10, {}, {}});
  }

  Int8Kernel kernel = nullptr;
  std::vector<std::string> features = detectHostFeatures();
  auto has = [&](StringRef f) { return is_contained(features, f); };
  if (has("avx512_vnni")) {
    kernel = int8Avx512Vnni;
    report.int8Kernel = "avx512_vnni";
  } else if (has("avx_vnni")) {
    kernel = int8AvxVnni;
    report.int8Kernel = "avx_vnni";
  } else if (has("avx2")) {
    kernel = int8Avx2;
    report.int8Kernel = "avx2";
  }
  if (kernel) {
    double remaining = options.maxSeconds - secondsSince(start);
    double seconds = std::clamp(remaining * 0.8, 0.05, 2.0);
    report.int8Threads = maxThreads;
    double gops = measureInt8(kernel, topology, maxThreads, seconds);
    if (gops > 0)
      report.int8PeakGops = std::round(gops * 10) / 10;
  }
  return report;
}
