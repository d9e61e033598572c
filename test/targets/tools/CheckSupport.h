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

/// One output of a generated Q8_0 / Q4_0 / Q4_K / Q6_K kernel for `isa`
/// computed the way Kernels.h documents (Numerics): per 32-block the exact
/// int32 dot of the weight and activation quants, then
/// sum = fma(float(isum), d_w * d_x, sum) block after block (Q4_K: the
/// sub-block's scale and min fmas; Q6_K: one fma per 16-value sub-block;
/// on AVX2 both in their folded orders). F16 / BF16: one fma per value (BF16:
/// per pair, odd then even) from 0 with the rounded float activations.
/// `weightRow` is one ggml-layout row of K values, `act` one token's
/// activations as the op library prepares them
/// (targets::activationBytesPerToken bytes). With `magnitude`, also the sum of
/// |float(isum) * d_w * d_x| over the blocks (the scale of rounding differences
/// between summation orders).
float blockOrderDot(ggml::Type type, targets::ISA isa, const uint8_t *weightRow,
                    const uint8_t *act, int64_t k, double *magnitude = nullptr);

/// How far a sum of the same terms in another float order (ggml's, per
/// 4-byte chunk) may lie from blockOrderDot: twice the rounding error bound
/// of a float sum over K/32 + 4 steps, (K/32 + 4) * 2^-23 * sum |term|, where
/// the terms are the products of each 4-element chunk (integer dot times
/// d_w * d_x). A wrong scale, block or row is off by about a whole term.
/// F16 / BF16: how far the interpreter's double sum of float products may
/// lie from blockOrderDot, (K + 2) * 2^-24 * sum |w x|.
/// Q4_K / Q6_K: how far blockOrderDot may lie from exactDot: twice the error
/// bound of its K/16 fmas and rounded scale products, (K/16 + 2) * 2^-23 *
/// sum |term|, plus 2^-23 * sum |w x| for exactDot's float weights.
double roundingBound(ggml::Type type, const uint8_t *weightRow,
                     const uint8_t *act, int64_t k);

/// The dot of one row's weights, dequantized as ggml does
/// (ggml::dequantizeRow), with one token's Q8_0 activations (K int8 quants
/// times their block scales, as `act` holds them), summed in double; with
/// `magnitude`, also the sum of the absolute products.
double exactDot(ggml::Type type, const uint8_t *weightRow, const uint8_t *act,
                int64_t k, double *magnitude = nullptr);

/// Prints "<label> vs <wantName>: values=N outside_bound=M max_error=E" for
/// a kernel's outputs `got` and the reference's `want` (by default the
/// reference interpreter's), counting
/// the values farther apart than bound[i]. Returns whether none is.
bool reportWithinBound(const std::string &label, const std::vector<float> &got,
                       const std::vector<float> &want,
                       const std::vector<double> &bound,
                       const std::string &wantName = "interp");

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

/// Makes AMX usable in this process: the CPU has amx-tile and amx-int8, the
/// OS enabled the tile state, and Linux granted this process the tile data
/// (arch_prctl ARCH_REQ_XCOMP_PERM). Returns "" or why not.
std::string requestAmx();

/// Prints "error: <message>" to stderr and exits 1.
[[noreturn]] void fail(const std::string &message);

} // namespace ingot::check

#endif // INGOT_TEST_TARGETS_TOOLS_CHECKSUPPORT_H
