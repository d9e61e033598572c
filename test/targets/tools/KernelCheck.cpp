//===- KernelCheck.cpp - ingot-kernel-check: a kernel vs the reference ----===//
//
// TEST ONLY. Generates one x86 kernel (matmul or MoE expert) for a weight
// type, shape and ISA, runs it on random weights and activations the way an
// emitted binary does (the op library prepares the activations and, for a
// matmul, splits the rows over its parallel loop) and prints how far every
// output is from the documented block order (check::blockOrderDot, which the
// kernels must match bit for bit), then whether it lies within the rounding
// bound of ingot::interp's, which is exact to ggml:
//
//   ingot-kernel-check --type=q8_0 --isa=avx2 --rows=17 --cols=32 --tokens=3
//   matmul q8_0 avx2 rows=17 cols=32 tokens=3: values=51 mismatches=0 ...
//   matmul q8_0 avx2 rows=17 cols=32 tokens=3 vs interp: values=51
//       outside_bound=0 max_error=...
//
// With --ggml-order (KernelNumerics::GgmlOrder) the one line compares with
// ingot::interp bit for bit.
//
// --isa=amx checks the AMX prefill kernel (targets/x86/AmxGemm.h) alone, and
// --isa=amx+avx512vnni the combined kernel (AVX512VNNI below amxMinTokens
// tokens, AMX from there). Their numerics are not ggml's order: the values
// must equal a block-order reference bit for bit (exact int32 block dot,
// one fp32 fma per block), and a second line reports the largest distance
// from ingot::interp relative to the sum of the absolute block terms, which
// must stay below 1e-5:
//
//   matmul q8_0 amx rows=17 cols=32 tokens=3: values=51 mismatches=0 ...
//   interp: max_scaled_error=1.2e-08 tolerance=1e-05
//
// Q4_K and Q6_K kernels read the activations rounded to Q8_0, where
// ingot::interp multiplies these types with the f32 ones; their second line
// compares with the exact dot of the dequantized weights with the Q8_0
// activations (check::exactDot) instead, within check::roundingBound:
//
//   matmul q4_k avx2 rows=17 cols=256 tokens=3 vs exact: values=51
//       outside_bound=0 max_error=...
//
// --bench-runs=R (matmul): after the check, times R calls of the kernel
// alone over all rows and --tokens tokens on this thread and prints the
// median bandwidth over the packed weight bytes and the median int8 rate
// (2 x rows x cols x tokens operations per call):
//
//   bench matmul q4_k avx512vnni rows=... cols=...: bytes=... runs=...
//       median_gbps=... median_gops=...
//
// A generator error is printed as "error: ..." with exit code 1.
//
//===----------------------------------------------------------------------===//
#include "test/targets/tools/CheckSupport.h"

#include "compiler/ggml/GGMLBlocks.h"
#include "compiler/interp/ReferenceOps.h"
#include "targets/oplib/MoEBatchLayout.h"
#include "targets/oplib/OpLib.h"
#include "targets/x86/AmxGemm.h"
#include "targets/x86/Kernels.h"

#include "llvm/Support/CommandLine.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>

using namespace ingot;
using namespace llvm;

namespace {

cl::opt<std::string>
    typeName("type",
             cl::desc("weight type (q8_0, q4_0, q4_k, q6_k, f16, bf16)"),
             cl::Required);
cl::opt<std::string> isaName("isa",
                             cl::desc("avx2, avxvnni, avx512vnni, amx or "
                                      "amx+avx512vnni"),
                             cl::Required);
cl::opt<int64_t> rows("rows", cl::desc("output rows N"), cl::Required);
cl::opt<int64_t> cols("cols", cl::desc("input columns K"), cl::Required);
cl::opt<int64_t> tokens("tokens",
                        cl::desc("activation rows (ids with "
                                 "--expert)"),
                        cl::init(1));
cl::opt<bool> expert("expert", cl::desc("the MoE expert kernel"));
cl::opt<bool> ggmlOrder("ggml-order",
                        cl::desc("generate the kernel in ggml's summation "
                                 "order and compare with the interpreter "
                                 "bit for bit"));
cl::opt<int64_t> experts("experts", cl::desc("stacked experts"), cl::init(4));
cl::opt<bool> moe("moe",
                  cl::desc("ingot_op_moe_experts over a batch: bucketed by "
                           "expert against token by token (--rows: ffn, "
                           "--cols: dim)"));
cl::opt<int64_t> used("used", cl::desc("experts per token (--moe)"),
                      cl::init(2));
cl::opt<bool> perHead("per-head",
                      cl::desc("ingot_op_per_head_matmul over a batch (one "
                               "matrix per head, --experts heads): all "
                               "tokens per call against token by token"));
cl::opt<int> tasks("tasks", cl::desc("threads the parallel loops are cut for"),
                   cl::init(3));
cl::opt<bool> avx512Bf16("avx512-bf16",
                         cl::desc("generate for a target with avx512_bf16 "
                                  "(BF16 weights: vdpbf16ps)"));
cl::opt<unsigned> seed("seed", cl::init(1));
cl::opt<int> benchRuns("bench-runs",
                       cl::desc("time this many calls of the matmul kernel "
                                "over all rows and --tokens tokens (median "
                                "GB/s and GOPS)"),
                       cl::init(0));

/// A generated kernel of `shape` (matmul, or expert with `expertKernel`),
/// mapped executable, in the numerics the options name.
std::unique_ptr<check::ExecutableCode> generateShape(ggml::Type type,
                                                     targets::ISA isa,
                                                     targets::MatmulShape shape,
                                                     bool expertKernel) {
  const targets::KernelNumerics numerics =
      ggmlOrder ? targets::KernelNumerics::GgmlOrder
                : targets::KernelNumerics::BlockOrder;
  targets::KernelTargetFacts facts;
  facts.avx512Bf16 = avx512Bf16;
  targets::GenerateResult generated =
      expertKernel ? targets::generateExpertMatmul(type, shape, isa, "expert",
                                                   numerics, facts)
                   : targets::generateMatmul(type, shape, isa, "matmul",
                                             numerics, facts);
  if (!generated)
    check::fail(generated.error);
  auto code = std::make_unique<check::ExecutableCode>(generated.kernel.code);
  if (!code->ok())
    check::fail("cannot map the kernel");
  return code;
}

/// The generated kernel for the options, mapped executable; a generator
/// error ends the tool.
std::unique_ptr<check::ExecutableCode> generate(ggml::Type type,
                                                targets::ISA isa) {
  return generateShape(type, isa, {rows, cols}, expert);
}

/// Reports `got` against the block order and against the interpreter's
/// `interp`; refs(i) gives the ggml weight row and prepared activations of
/// value i.
bool reportBoth(
    ggml::Type type, targets::ISA isa, const std::string &label,
    const std::vector<float> &got, const std::vector<float> &interp,
    const std::function<std::pair<const uint8_t *, const uint8_t *>(size_t)>
        &refs) {
  if (ggmlOrder)
    return check::report(label, got, interp);
  const bool kQuant = type == ggml::Type::Q4_K || type == ggml::Type::Q6_K;
  std::vector<float> blockOrder(got.size()), want = interp;
  std::vector<double> bound(got.size());
  for (size_t i = 0; i < got.size(); ++i) {
    auto [weightRow, act] = refs(i);
    blockOrder[i] = check::blockOrderDot(type, isa, weightRow, act, cols);
    bound[i] = check::roundingBound(type, weightRow, act, cols);
    if (kQuant)
      want[i] = float(check::exactDot(type, weightRow, act, cols));
  }
  const bool exact = check::report(label, got, blockOrder);
  const bool near =
      kQuant ? check::reportWithinBound(label, got, want, bound, "exact")
             : check::reportWithinBound(label, got, want, bound);
  return exact && near;
}

/// Times benchRuns calls of the matmul kernel over all rows and `tokens`
/// tokens and prints the median bandwidth over the packed weight's bytes and
/// the median operation rate.
void bench(const check::ExecutableCode &code,
           const std::vector<uint8_t> &packed, const uint8_t *act,
           const std::string &label) {
  using MatmulFn =
      void (*)(const void *, const void *, float *, int64_t, int64_t, int64_t);
  auto fn = code.as<MatmulFn>();
  std::vector<float> y(static_cast<size_t>(rows * tokens));
  std::vector<double> seconds;
  fn(packed.data(), act, y.data(), tokens, 0, rows); // warm the code and TLB
  for (int run = 0; run < benchRuns; ++run) {
    const auto start = std::chrono::steady_clock::now();
    fn(packed.data(), act, y.data(), tokens, 0, rows);
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  const double ops = 2.0 * double(rows) * double(cols) * double(tokens);
  std::printf("bench %s: bytes=%zu runs=%d median_gbps=%.2f median_gops=%.1f\n",
              label.c_str(), packed.size(), benchRuns.getValue(),
              double(packed.size()) / median * 1e-9, ops / median * 1e-9);
}

interp::WeightView view(ggml::Type type, const std::vector<uint8_t> &data,
                        int64_t count) {
  interp::WeightView w;
  w.type = type;
  w.shape = {uint64_t(cols), uint64_t(rows)};
  if (count > 1)
    w.shape.push_back(uint64_t(count));
  w.data = ArrayRef<uint8_t>(data.data(), data.size());
  return w;
}

/// `count` random [rows, cols] matrices back to back, in ggml's layout
/// (`weights`, matrixBytes apart) and packed for the kernel (`packed`,
/// stride apart): one matrix, an expert stack or per-head matrices.
struct PackedStack {
  std::vector<uint8_t> weights, packed;
  uint64_t stride, matrixBytes;
  PackedStack(ggml::Type type, targets::ISA isa, targets::MatmulShape shape,
              int64_t count, std::mt19937 &rng)
      : stride(targets::packedWeightBytes(type, shape, isa)),
        matrixBytes(*ggml::rowBytes(type, uint64_t(shape.cols)) *
                    uint64_t(shape.rows)) {
    weights = check::randomWeights(type, shape.rows * count, shape.cols, rng);
    packed.resize(stride * uint64_t(count));
    for (int64_t e = 0; e < count; ++e)
      if (!targets::packWeights(type, shape, isa,
                                weights.data() + e * matrixBytes,
                                packed.data() + e * stride))
        check::fail("cannot pack matrix " + std::to_string(e) + " (" +
                    std::to_string(shape.rows) + "x" +
                    std::to_string(shape.cols) + ")");
  }
};

/// y = W x through ingot_op_matmul with the generated kernel.
bool checkMatmul(ggml::Type type, targets::ISA isa, const std::string &label,
                 std::mt19937 &rng) {
  std::unique_ptr<check::ExecutableCode> code = generate(type, isa);
  const targets::MatmulShape shape{rows, cols};
  PackedStack matrix(type, isa, shape, 1, rng);
  const std::vector<uint8_t> &weights = matrix.weights, &packed = matrix.packed;

  std::vector<float> x = check::randomFloats(tokens * cols, 2.0f, rng);
  std::vector<uint8_t> scratch(uint64_t(tokens) *
                               targets::activationBytesPerToken(type, cols));
  std::vector<float> got(size_t(tokens * rows));
  ingot_op_matmul(
      check::parallelContext(),
      reinterpret_cast<IngotMatmulKernel>(const_cast<void *>(code->address())),
      packed.data(), int32_t(type), rows, cols, targets::rowGranule(type, isa),
      x.data(), tokens, got.data(), nullptr, scratch.data());
  std::vector<float> want(got.size());
  interp::matmul(view(type, weights, 1), x.data(), tokens, want.data());
  // ingot_op_matmul left the prepared activations in scratch.
  const uint64_t rowBytes = *ggml::rowBytes(type, uint64_t(cols));
  const uint64_t actBytes = targets::activationBytesPerToken(type, cols);
  const bool same = reportBoth(type, isa, label, got, want, [&](size_t i) {
    return std::make_pair(weights.data() + (i % rows) * rowBytes,
                          scratch.data() + (i / rows) * actBytes);
  });
  if (benchRuns > 0)
    bench(*code, packed, scratch.data(), label);
  return same;
}

/// y_j = W_{ids[j]} x_j through the expert kernel, the rows in two parts.
bool checkExpert(ggml::Type type, targets::ISA isa, const std::string &label,
                 std::mt19937 &rng) {
  std::unique_ptr<check::ExecutableCode> code = generate(type, isa);
  auto kernel =
      reinterpret_cast<IngotExpertKernel>(const_cast<void *>(code->address()));
  const targets::MatmulShape shape{rows, cols};
  PackedStack stack(type, isa, shape, experts, rng);
  const uint64_t stride = stack.stride, matrixBytes = stack.matrixBytes;
  const std::vector<uint8_t> &weights = stack.weights, &packed = stack.packed;

  std::vector<int32_t> ids(static_cast<size_t>(tokens.getValue()));
  for (int64_t j = 0; j < tokens; ++j)
    ids[size_t(j)] = int32_t((3 * j + 1) % experts);
  std::vector<float> x = check::randomFloats(tokens * cols, 2.0f, rng);
  const uint64_t actBytes = targets::activationBytesPerToken(type, cols);
  std::vector<uint8_t> act(uint64_t(tokens) * actBytes);
  ingot_op_prepare_activations(int32_t(type), x.data(), tokens, cols, cols,
                               act.data());
  const int64_t g = targets::rowGranule(type, isa);
  const int64_t mid = std::min<int64_t>(rows, (rows / 2 + g - 1) / g * g);
  std::vector<float> got(size_t(tokens * rows));
  kernel(packed.data(), int64_t(stride), ids.data(), tokens, act.data(),
         int64_t(actBytes), got.data(), 0, mid);
  kernel(packed.data(), int64_t(stride), ids.data(), tokens, act.data(),
         int64_t(actBytes), got.data(), mid, rows);

  interp::WeightView stackView = view(type, weights, experts);
  std::vector<float> want(got.size());
  for (int64_t j = 0; j < tokens; ++j) {
    interp::WeightView w = stackView.matrix(ids[size_t(j)]);
    for (int64_t r = 0; r < rows; ++r)
      want[size_t(j * rows + r)] = interp::dotRow(w, r, x.data() + j * cols);
  }
  const uint64_t rowBytes = *ggml::rowBytes(type, uint64_t(cols));
  return reportBoth(type, isa, label, got, want, [&](size_t i) {
    const int64_t j = int64_t(i) / rows, r = int64_t(i) % rows;
    return std::make_pair(weights.data() + ids[size_t(j)] * matrixBytes +
                              r * rowBytes,
                          act.data() + j * actBytes);
  });
}

/// ingot_op_moe_experts for `tokens` tokens with `used` experts each, run
/// bucketed by expert (the matmul kernels over each expert's bucket) and
/// token by token (the expert kernels): the outputs must be the same bits.
/// The routing leaves expert 0's bucket empty, gives expert 1 one pair
/// (token 0's first slot) and spreads the others over the remaining
/// experts; the label lists the bucket sizes. With --ggml-order both must
/// also equal ingot::interp's products, SwiGLU and weighted sum.
bool checkMoE(ggml::Type type, targets::ISA isa, const std::string &label,
              std::mt19937 &rng) {
  const int64_t ffn = rows, dim = cols;
  if (experts < 3 || used > experts - 2)
    check::fail("--moe needs --experts >= 3 and --used <= experts - 2");
  const targets::MatmulShape gateShape{ffn, dim}, downShape{dim, ffn};
  auto gateUpKernel = generateShape(type, isa, gateShape, true);
  auto downKernel = generateShape(type, isa, downShape, true);
  auto gateUpBatch = generateShape(type, isa, gateShape, false);
  auto downBatch = generateShape(type, isa, downShape, false);
  PackedStack gate(type, isa, gateShape, experts, rng),
      up(type, isa, gateShape, experts, rng),
      down(type, isa, downShape, experts, rng);

  std::vector<int32_t> ids(size_t(tokens * used));
  std::vector<int64_t> bucketSizes(size_t(experts.getValue()));
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t j = 0; j < used; ++j) {
      const int32_t id =
          t == 0 && j == 0
              ? 1
              : int32_t(2 + (t * used + j) % (experts.getValue() - 2));
      ids[size_t(t * used + j)] = id;
      ++bucketSizes[size_t(id)];
    }
  std::vector<float> x = check::randomFloats(tokens * dim, 2.0f, rng);
  std::vector<float> slotWeights =
      check::randomFloats(tokens * used, 1.0f, rng);

  const int64_t xBytes = int64_t(targets::activationBytesPerToken(type, dim));
  const int64_t hBytes = int64_t(targets::activationBytesPerToken(type, ffn));
  const int64_t perToken =
      2 * used * ffn * 4 + used * dim * 4 + xBytes + used * hBytes;
  const int64_t bucketed =
      oplib::MoEBatchLayout<int64_t>(tokens, used, dim, ffn, xBytes, hBytes)
          .total;
  std::vector<uint8_t> scratch(size_t(std::max(perToken, bucketed)));
  const int64_t g = targets::rowGranule(type, isa);
  auto kernelOf = [](const check::ExecutableCode &code) {
    return const_cast<void *>(code.address());
  };
  IngotMoEExpertsArgs args = {
      reinterpret_cast<IngotExpertKernel>(kernelOf(*gateUpKernel)),
      reinterpret_cast<IngotExpertKernel>(kernelOf(*downKernel)),
      gate.packed.data(),
      up.packed.data(),
      down.packed.data(),
      int64_t(gate.stride),
      int64_t(down.stride),
      dim,
      ffn,
      g,
      g,
      used,
      int32_t(type),
      int32_t(type),
      nullptr,
      nullptr};
  std::vector<float> byToken(size_t(tokens * dim));
  ingot_op_moe_experts(check::parallelContext(), &args, x.data(), tokens,
                       ids.data(), slotWeights.data(), byToken.data(),
                       scratch.data());
  args.gateUpBatchKernel =
      reinterpret_cast<IngotMatmulKernel>(kernelOf(*gateUpBatch));
  args.downBatchKernel =
      reinterpret_cast<IngotMatmulKernel>(kernelOf(*downBatch));
  std::vector<float> got(byToken.size());
  ingot_op_moe_experts(check::parallelContext(), &args, x.data(), tokens,
                       ids.data(), slotWeights.data(), got.data(),
                       scratch.data());

  std::string sizes;
  for (int64_t size : bucketSizes)
    sizes += (sizes.empty() ? "" : ",") + std::to_string(size);
  bool same = check::report(label + " buckets=" + sizes, got, byToken);
  if (!ggmlOrder)
    return same;
  // ggml's order: the interpreter's expert FFN, slot by slot.
  auto matrix = [&](const PackedStack &stack, int64_t n, int64_t k, int32_t e) {
    interp::WeightView w;
    w.type = type;
    w.shape = {uint64_t(k), uint64_t(n)};
    w.data = ArrayRef<uint8_t>(stack.weights.data() + e * stack.matrixBytes,
                               stack.matrixBytes);
    return w;
  };
  std::vector<float> want(got.size()), h(static_cast<size_t>(ffn)),
      u(static_cast<size_t>(ffn)), d(static_cast<size_t>(dim));
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t j = 0; j < used; ++j) {
      const int32_t e = ids[size_t(t * used + j)];
      const float *xt = x.data() + t * dim;
      for (int64_t r = 0; r < ffn; ++r) {
        h[size_t(r)] = interp::dotRow(matrix(gate, ffn, dim, e), r, xt);
        u[size_t(r)] = interp::dotRow(matrix(up, ffn, dim, e), r, xt);
      }
      interp::swiglu(h.data(), u.data(), ffn, h.data());
      for (int64_t r = 0; r < dim; ++r)
        d[size_t(r)] = interp::dotRow(matrix(down, dim, ffn, e), r, h.data());
      float *o = want.data() + t * dim;
      const float w = slotWeights[size_t(t * used + j)];
      for (int64_t i = 0; i < dim; ++i)
        o[i] = j == 0 ? d[size_t(i)] * w : o[i] + d[size_t(i)] * w;
    }
  return check::report(label + " vs interp", got, want) && same;
}

/// ingot_op_per_head_matmul (MLA's absorbed k_b / v_b) for `tokens` tokens
/// and --experts heads, each head's input a strided slice of the token's
/// row as in MLA: with the batch kernel (each head's matrix times all
/// tokens) and token by token (the expert kernel) the outputs must be the
/// same bits; with --ggml-order also ingot::interp's dot products.
bool checkPerHead(ggml::Type type, targets::ISA isa, const std::string &label,
                  std::mt19937 &rng) {
  const int64_t heads = experts;
  const targets::MatmulShape shape{rows, cols};
  auto kernel = generateShape(type, isa, shape, true);
  auto batchKernel = generateShape(type, isa, shape, false);
  PackedStack stack(type, isa, shape, heads, rng);
  // Each head's input is followed by 32 values it does not read (MLA's
  // rope part), the heads by one more block (another tensor's columns).
  const int64_t xHeadStride = cols + 32,
                xTokenStride = heads * xHeadStride + 32;
  std::vector<float> x = check::randomFloats(tokens * xTokenStride, 2.0f, rng);
  const int64_t actBytes =
      int64_t(targets::activationBytesPerToken(type, cols));
  std::vector<uint8_t> scratch(size_t(tokens * heads * (rows * 4 + actBytes)));
  IngotPerHeadMatmulArgs args = {reinterpret_cast<IngotExpertKernel>(
                                     const_cast<void *>(kernel->address())),
                                 stack.packed.data(),
                                 int64_t(stack.stride),
                                 heads,
                                 rows,
                                 cols,
                                 targets::rowGranule(type, isa),
                                 xHeadStride,
                                 xTokenStride,
                                 rows,
                                 heads * rows,
                                 int32_t(type),
                                 nullptr};
  std::vector<float> byToken(size_t(tokens * heads * rows));
  ingot_op_per_head_matmul(check::parallelContext(), &args, x.data(), tokens,
                           byToken.data(), scratch.data());
  args.batchKernel = reinterpret_cast<IngotMatmulKernel>(
      const_cast<void *>(batchKernel->address()));
  std::vector<float> got(byToken.size());
  ingot_op_per_head_matmul(check::parallelContext(), &args, x.data(), tokens,
                           got.data(), scratch.data());
  bool same = check::report(label, got, byToken);
  if (!ggmlOrder)
    return same;
  std::vector<float> want(got.size());
  for (int64_t h = 0; h < heads; ++h) {
    interp::WeightView w;
    w.type = type;
    w.shape = {uint64_t(cols), uint64_t(rows)};
    w.data = ArrayRef<uint8_t>(stack.weights.data() + h * stack.matrixBytes,
                               stack.matrixBytes);
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t r = 0; r < rows; ++r)
        want[size_t((t * heads + h) * rows + r)] =
            interp::dotRow(w, r, x.data() + t * xTokenStride + h * xHeadStride);
  }
  return check::report(label + " vs interp", got, want) && same;
}

/// Block-order reference of the AMX kernels (check::blockOrderDot for every
/// token and row); `absSums` receives each value's block magnitude.
std::vector<float> blockOrderReference(ggml::Type type,
                                       const std::vector<uint8_t> &weights,
                                       const std::vector<uint8_t> &act,
                                       std::vector<double> &absSums) {
  const uint64_t rowBytes = *ggml::rowBytes(type, uint64_t(cols));
  const uint64_t actStride = targets::activationBytesPerToken(type, cols);
  std::vector<float> y(size_t(tokens * rows));
  absSums.assign(y.size(), 0.0);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t r = 0; r < rows; ++r) {
      const size_t i = size_t(t * rows + r);
      y[i] = check::blockOrderDot(
          type, targets::ISA::AVX512VNNI, weights.data() + r * rowBytes,
          act.data() + t * actStride, cols, &absSums[i]);
    }
  return y;
}

/// The AMX kernel (with the AVX512VNNI kernel for small batches when
/// `combined`) through ingot_op_matmul, against the block-order reference
/// (exactly) and ingot::interp (within rounding).
bool checkAmxMatmul(ggml::Type type, bool combined, const std::string &label,
                    std::mt19937 &rng) {
  const targets::ISA isa = targets::ISA::AVX512VNNI; // the packed layout
  const targets::MatmulShape shape{rows, cols};
  targets::GenerateResult small;
  if (combined) {
    small = targets::generateMatmul(type, shape, isa, "small");
    if (!small)
      check::fail(small.error);
  }
  targets::GenerateResult generated = targets::generateAmxMatmul(
      type, shape, "matmul", combined ? &small.kernel : nullptr);
  if (!generated)
    check::fail(generated.error);
  check::ExecutableCode code(generated.kernel.code);
  if (!code.ok())
    check::fail("cannot map the kernel");

  PackedStack matrix(type, isa, shape, 1, rng);
  const std::vector<uint8_t> &weights = matrix.weights, &packed = matrix.packed;
  std::vector<float> x = check::randomFloats(tokens * cols, 2.0f, rng);
  std::vector<uint8_t> act(uint64_t(tokens) *
                           targets::activationBytesPerToken(type, cols));
  std::vector<float> got(size_t(tokens * rows));
  ingot_op_matmul(
      nullptr,
      reinterpret_cast<IngotMatmulKernel>(const_cast<void *>(code.address())),
      packed.data(), int32_t(type), rows, cols, targets::rowGranule(type, isa),
      x.data(), tokens, got.data(), nullptr, act.data());
  // ingot_op_matmul left the activations the kernel read in `act`.
  std::vector<double> absSums;
  std::vector<float> exact = blockOrderReference(type, weights, act, absSums);
  bool same = true;
  if (combined && tokens < targets::amxMinTokens) {
    // The small-batch kernel must have run: the same values as on its own.
    check::ExecutableCode alone(small.kernel.code);
    if (!alone.ok())
      check::fail("cannot map the kernel");
    std::vector<float> want(got.size());
    ingot_op_matmul(nullptr,
                    reinterpret_cast<IngotMatmulKernel>(
                        const_cast<void *>(alone.address())),
                    packed.data(), int32_t(type), rows, cols,
                    targets::rowGranule(type, isa), x.data(), tokens,
                    want.data(), nullptr, act.data());
    same = check::report(label + " (small-batch path)", got, want);
  } else {
    same = check::report(label, got, exact);
  }
  std::vector<float> want(got.size());
  interp::matmul(view(type, weights, 1), x.data(), tokens, want.data());
  constexpr double tolerance = 1e-5;
  double maxScaled = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    double error = std::fabs(double(got[i]) - double(want[i]));
    double scaled = absSums[i] > 0 ? error / absSums[i] : error;
    if (std::isnan(error) || scaled > maxScaled)
      maxScaled = std::isnan(error) ? INFINITY : scaled;
  }
  std::printf("interp: max_scaled_error=%g tolerance=%g\n", maxScaled,
              tolerance);
  return same && maxScaled <= tolerance;
}

} // namespace

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(
      argc, argv,
      "one generated kernel vs its block order and ingot::interp\n");
  std::optional<ggml::Type> type = ggml::parseTypeName(typeName);
  if (!type)
    check::fail("unknown weight type '" + typeName + "'");
  const bool amx = isaName == "amx" || isaName == "amx+avx512vnni";
  targets::ISA isa = targets::ISA::AVX512VNNI;
  if (amx)
    ; // the AVX512VNNI layout, checked below
  else if (isaName == "avx2")
    isa = targets::ISA::AVX2;
  else if (isaName == "avxvnni")
    isa = targets::ISA::AVXVNNI;
  else if (isaName == "avx512vnni")
    isa = targets::ISA::AVX512VNNI;
  else
    check::fail("unknown ISA '" + isaName + "'");
  if (rows < 1 || cols < 1 || tokens < 1 || experts < 1 || tasks < 1)
    check::fail("rows, cols, tokens, experts and tasks must be positive");
  if (benchRuns < 0 || (benchRuns > 0 && (amx || moe || perHead || expert)))
    check::fail("--bench-runs times a matmul kernel only");
  std::string missing = check::missingFeature(isa);
  if (!missing.empty())
    check::fail("host CPU lacks " + missing);
  if (avx512Bf16 && !__builtin_cpu_supports("avx512bf16"))
    check::fail("host CPU lacks avx512_bf16");
  if (amx) {
    if (expert)
      check::fail("no AMX expert kernel");
    if (!targets::isAmxWeightType(*type))
      check::fail("the AMX kernel reads Q8_0 and Q4_0 weights only");
    std::string refused = check::requestAmx();
    if (!refused.empty())
      check::fail(refused);
  }
  check::parallelThreads = tasks;

  std::string lowerType = typeName;
  for (char &c : lowerType)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  const std::string label = moe ? "moe " + lowerType + " " + isaName +
                                      " ffn=" + std::to_string(rows) +
                                      " dim=" + std::to_string(cols) +
                                      " tokens=" + std::to_string(tokens) +
                                      " used=" + std::to_string(used) +
                                      (ggmlOrder ? " ggml-order" : "")
                                : std::string(perHead  ? "per-head"
                                              : expert ? "expert"
                                                       : "matmul") +
                                      " " + lowerType + " " + isaName +
                                      (avx512Bf16 ? "+bf16" : "") +
                                      " rows=" + std::to_string(rows) +
                                      " cols=" + std::to_string(cols) +
                                      " tokens=" + std::to_string(tokens) +
                                      (ggmlOrder ? " ggml-order" : "");
  std::mt19937 rng(seed);
  const bool same = amx   ? checkAmxMatmul(*type, isaName != "amx", label, rng)
                    : moe ? checkMoE(*type, isa, label, rng)
                    : perHead ? checkPerHead(*type, isa, label, rng)
                    : expert  ? checkExpert(*type, isa, label, rng)
                              : checkMatmul(*type, isa, label, rng);
  return same ? 0 : 1;
}
