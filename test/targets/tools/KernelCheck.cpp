//===- KernelCheck.cpp - ingot-kernel-check: a kernel vs the reference ----===//
//
// TEST ONLY. Generates one x86 kernel (matmul or MoE expert) for a weight
// type, shape and ISA, runs it on random weights and activations the way an
// emitted binary does (the op library prepares the activations and, for a
// matmul, splits the rows over its parallel loop) and prints how far every
// output is from ingot::interp's, which is exact to ggml:
//
//   ingot-kernel-check --type=q8_0 --isa=avx2 --rows=17 --cols=32 --tokens=3
//   matmul q8_0 avx2 rows=17 cols=32 tokens=3: values=51 mismatches=0 ...
//
// A generator error is printed as "error: ..." with exit code 1.
//
//===----------------------------------------------------------------------===//
#include "test/targets/tools/CheckSupport.h"

#include "compiler/interp/ReferenceOps.h"
#include "targets/oplib/OpLib.h"
#include "targets/x86/Kernels.h"

#include "llvm/Support/CommandLine.h"

#include <algorithm>
#include <cctype>
#include <memory>

using namespace ingot;
using namespace llvm;

namespace {

cl::opt<std::string> typeName("type", cl::desc("weight type (q8_0, q4_0)"),
                              cl::Required);
cl::opt<std::string> isaName("isa", cl::desc("avx2 or avx512vnni"),
                             cl::Required);
cl::opt<int64_t> rows("rows", cl::desc("output rows N"), cl::Required);
cl::opt<int64_t> cols("cols", cl::desc("input columns K"), cl::Required);
cl::opt<int64_t> tokens("tokens",
                        cl::desc("activation rows (ids with "
                                 "--expert)"),
                        cl::init(1));
cl::opt<bool> expert("expert", cl::desc("the MoE expert kernel"));
cl::opt<int64_t> experts("experts", cl::desc("stacked experts"), cl::init(4));
cl::opt<int> tasks("tasks", cl::desc("threads the parallel loops are cut for"),
                   cl::init(3));
cl::opt<unsigned> seed("seed", cl::init(1));

/// The generated kernel for the options, mapped executable; a generator
/// error ends the tool.
std::unique_ptr<check::ExecutableCode> generate(ggml::Type type,
                                                targets::ISA isa) {
  const targets::MatmulShape shape{rows, cols};
  targets::GenerateResult generated =
      expert ? targets::generateExpertMatmul(type, shape, isa, "expert")
             : targets::generateMatmul(type, shape, isa, "matmul");
  if (!generated)
    check::fail(generated.error);
  auto code = std::make_unique<check::ExecutableCode>(generated.kernel.code);
  if (!code->ok())
    check::fail("cannot map the kernel");
  return code;
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

/// y = W x through ingot_op_matmul with the generated kernel.
bool checkMatmul(ggml::Type type, targets::ISA isa, const std::string &label,
                 std::mt19937 &rng) {
  std::unique_ptr<check::ExecutableCode> code = generate(type, isa);
  const targets::MatmulShape shape{rows, cols};
  std::vector<uint8_t> weights = check::randomWeights(type, rows, cols, rng);
  std::vector<uint8_t> packed(targets::packedWeightBytes(type, shape, isa));
  if (!targets::packWeights(type, shape, isa, weights.data(), packed.data()))
    check::fail("cannot pack a " + std::to_string(rows) + "x" +
                std::to_string(cols) + " weight");

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
  return check::report(label, got, want);
}

/// y_j = W_{ids[j]} x_j through the expert kernel, the rows in two parts.
bool checkExpert(ggml::Type type, targets::ISA isa, const std::string &label,
                 std::mt19937 &rng) {
  std::unique_ptr<check::ExecutableCode> code = generate(type, isa);
  auto kernel =
      reinterpret_cast<IngotExpertKernel>(const_cast<void *>(code->address()));
  const targets::MatmulShape shape{rows, cols};
  const uint64_t stride = targets::packedWeightBytes(type, shape, isa);
  const uint64_t matrixBytes = *ggml::rowBytes(type, uint64_t(cols)) * rows;
  std::vector<uint8_t> weights =
      check::randomWeights(type, rows * experts, cols, rng);
  std::vector<uint8_t> packed(stride * uint64_t(experts));
  for (int64_t e = 0; e < experts; ++e)
    if (!targets::packWeights(type, shape, isa,
                              weights.data() + e * matrixBytes,
                              packed.data() + e * stride))
      check::fail("cannot pack expert " + std::to_string(e));

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

  interp::WeightView stack = view(type, weights, experts);
  std::vector<float> want(got.size());
  for (int64_t j = 0; j < tokens; ++j) {
    interp::WeightView w = stack.matrix(ids[size_t(j)]);
    for (int64_t r = 0; r < rows; ++r)
      want[size_t(j * rows + r)] = interp::dotRow(w, r, x.data() + j * cols);
  }
  return check::report(label, got, want);
}

} // namespace

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(argc, argv,
                              "one generated kernel vs ingot::interp\n");
  std::optional<ggml::Type> type = ggml::parseTypeName(typeName);
  if (!type)
    check::fail("unknown weight type '" + typeName + "'");
  targets::ISA isa;
  if (isaName == "avx2")
    isa = targets::ISA::AVX2;
  else if (isaName == "avx512vnni")
    isa = targets::ISA::AVX512VNNI;
  else
    check::fail("unknown ISA '" + isaName + "'");
  if (rows < 1 || cols < 1 || tokens < 1 || experts < 1 || tasks < 1)
    check::fail("rows, cols, tokens, experts and tasks must be positive");
  std::string missing = check::missingFeature(isa);
  if (!missing.empty())
    check::fail("host CPU lacks " + missing);
  check::parallelThreads = tasks;

  std::string lowerType = typeName;
  for (char &c : lowerType)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  const std::string label =
      std::string(expert ? "expert" : "matmul") + " " + lowerType + " " +
      isaName + " rows=" + std::to_string(rows) +
      " cols=" + std::to_string(cols) + " tokens=" + std::to_string(tokens);
  std::mt19937 rng(seed);
  const bool same = expert ? checkExpert(*type, isa, label, rng)
                           : checkMatmul(*type, isa, label, rng);
  return same ? 0 : 1;
}
