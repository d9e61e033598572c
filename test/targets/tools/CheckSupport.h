//===- CheckSupport.h - Shared parts of the kernel and op library checks --===//
//
// TEST ONLY. The check tools run generated kernels and the op library
// (compiled for the host) on random data and compare every value with the
// reference interpreter: random ggml weight bytes, generated code made
// executable, and the one-line report the lit tests check. The kernel unit
// tests use the same helpers.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_TEST_TARGETS_TOOLS_CHECKSUPPORT_H
#define INGOT_TEST_TARGETS_TOOLS_CHECKSUPPORT_H

#include "compiler/ggml/GGMLTypes.h"
#include "targets/x86/Kernels.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

struct IngotContext;

namespace ingot::check {

/// Threads the check tools' context (parallelContext) gives the op library
/// to cut its parallel loops for; their stand-in for ingot_rt_parallel
/// (SerialParallel.cpp) runs the chunks one after the other on the calling
/// thread.
extern int32_t parallelThreads;
/// The IngotContext the check tools pass to the op library: no arena, no
/// pool, parallelThreads threads.
IngotContext *parallelContext();

/// `rows` rows of k values of `type` with random bytes, except that every
/// f16 block scale is a finite value of moderate size (so no product
/// overflows and errors stay comparable).
std::vector<uint8_t> randomWeights(ggml::Type type, int64_t rows, int64_t k,
                                   std::mt19937 &rng);

/// n floats uniform in [-range, range].
std::vector<float> randomFloats(int64_t n, float range, std::mt19937 &rng);

/// Compares `got` with `want` value by value (bit patterns, so that NaNs
/// compare too) and prints "<label>: values=N mismatches=M max_error=E".
/// Returns whether all values are identical.
bool report(const std::string &label, const std::vector<float> &got,
            const std::vector<float> &want);

/// Generated code copied into an anonymous mapping made read-execute. The
/// binaries Ingot emits never do this: their kernels are ordinary functions
/// in the object file.
class ExecutableCode {
public:
  explicit ExecutableCode(const std::vector<uint8_t> &code);
  ~ExecutableCode();
  ExecutableCode(const ExecutableCode &) = delete;
  ExecutableCode &operator=(const ExecutableCode &) = delete;
  bool ok() const { return base != nullptr; }
  const void *address() const { return base; }
  template <typename Fn> Fn as() const { return reinterpret_cast<Fn>(base); }

private:
  void *base = nullptr;
  size_t size = 0;
};

/// Names the first CPU feature code for `isa` needs that the host lacks, or
/// returns "".
std::string missingFeature(targets::ISA isa);

/// Prints "error: <message>" to stderr and exits 1.
[[noreturn]] void fail(const std::string &message);

} // namespace ingot::check

#endif // INGOT_TEST_TARGETS_TOOLS_CHECKSUPPORT_H
