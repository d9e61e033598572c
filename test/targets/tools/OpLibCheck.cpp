//===- OpLibCheck.cpp - ingot-oplib-check: an op library call vs interp ---===//
//
// TEST ONLY. Runs one op library function (compiled for the host) on random
// inputs and prints how far every output is from ingot::interp's, which is
// exact to ggml:
//
//   ingot-oplib-check --op=rms_norm --width=4096 --tokens=3
//   rms_norm width=4096 tokens=3: values=12288 mismatches=0 max_error=0
//
// --op=matmul --type=f32|f16|bf16 is the op library's own F32/F16/BF16
// product (its plain path: F32 weights, and F16 / BF16 ones in models that
// keep ggml's order); quantized products, and the F16 / BF16 kernels, are
// checked with their kernels by ingot-kernel-check, except the op library's
// ggml dot path (--layout=ggml --type=q4_k etc.: the GGUF rows, no kernel),
// which must equal the interpreter bit for bit. --op=fused_matmul checks
// ingot_op_fused_matmul against the unfused op library calls instead.
//
// --op=moe_experts checks ingot_op_moe_experts on the ggml dot path (no
// kernels; --width dim, --rows ffn) bit for bit against the interpreter's
// experts.
//
// --op=attention checks ingot_op_attention: with --ggml-order bit for bit,
// otherwise (the tiled path) within a rounding bound of the interpreter:
//
//   ingot-oplib-check --op=attention --width=64 --heads=8 --kv-heads=2
//       --tokens=5 --start=37
//   attention width=64 value_width=64 heads=8/2 tokens=5 start=37 vs interp:
//       values=2560 outside_bound=0 max_error=...
//
//===----------------------------------------------------------------------===//
#include "test/targets/tools/CheckSupport.h"

#include "compiler/ggml/GGMLDot.h"
#include "compiler/interp/ReferenceOps.h"
#include "targets/oplib/KVCacheLayout.h"
#include "targets/oplib/MoEBatchLayout.h"
#include "targets/oplib/OpLib.h"
#include "targets/x86/Kernels.h"

#include "llvm/Support/CommandLine.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

using namespace ingot;
using namespace llvm;

namespace {

cl::opt<std::string> op("op",
                        cl::desc("matmul, fused_matmul, embedding, "
                                 "rms_norm, rope, attention, "
                                 "silu, swiglu, gelu"),
                        cl::Required);
cl::opt<std::string> typeName("type",
                              cl::desc("weight type (matmul, "
                                       "embedding)"),
                              cl::init("f32"));
cl::opt<int64_t> width("width", cl::desc("row width (K for matmul)"),
                       cl::Required);
cl::opt<int64_t> rows("rows",
                      cl::desc("matmul output rows; embedding "
                               "vocabulary"),
                      cl::init(16));
cl::opt<int64_t> tokens("tokens", cl::desc("activation rows"), cl::init(1));
cl::opt<int64_t> experts("experts", cl::desc("moe_experts: stacked experts"),
                         cl::init(4));
cl::opt<int64_t> used("used", cl::desc("moe_experts: experts per token"),
                      cl::init(2));
cl::opt<int64_t> heads("heads",
                       cl::desc("rope: heads per row; attention: query "
                                "heads"),
                       cl::init(1));
cl::opt<int64_t> ropeDims("rope-dims",
                          cl::desc("rope: rotated dims per "
                                   "head (default: all)"),
                          cl::init(0));
cl::opt<int64_t> kvHeads("kv-heads",
                         cl::desc("attention: KV heads (default: heads)"),
                         cl::init(0));
cl::opt<int64_t> valueWidth("value-width",
                            cl::desc("attention: value head width "
                                     "(default: width)"),
                            cl::init(0));
cl::opt<int64_t> start("start",
                       cl::desc("attention: position of the first token "
                                "(earlier positions are cached already)"),
                       cl::init(0));
cl::opt<bool> ggmlOrder("ggml-order",
                        cl::desc("attention: the exact path (ggml's order)"));
cl::opt<bool> neox("neox", cl::desc("rope: NeoX pair order"));
cl::opt<float> extFactor("ext-factor", cl::desc("rope: YaRN mix"),
                         cl::init(0.0f));
cl::opt<int> tasks("tasks", cl::desc("threads the parallel loops are cut for"),
                   cl::init(3));
cl::opt<unsigned> seed("seed", cl::init(1));
cl::opt<std::string> keyTypeName("key-type",
                                 cl::desc("attention: how the cache stores "
                                          "keys (f32, f16 or q8_0)"),
                                 cl::init("f32"));
cl::opt<std::string> layoutName("layout",
                                cl::desc("matmul: the packed layout of "
                                         "avx512vnni (granule 16) or avx2 "
                                         "(granule 8) targets, or ggml (the "
                                         "GGUF rows of a quantized type, "
                                         "for the ggml dot path)"),
                                cl::init("avx512vnni"));

std::string lower(std::string s) {
  for (char &c : s)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

ggml::Type weightType() {
  std::optional<ggml::Type> type = ggml::parseTypeName(typeName);
  if (!type)
    check::fail("unknown weight type '" + typeName + "'");
  return *type;
}

interp::WeightView view(ggml::Type type, const std::vector<uint8_t> &data,
                        int64_t nRows) {
  interp::WeightView w;
  w.type = type;
  w.shape = {uint64_t(width), uint64_t(nRows)};
  w.data = ArrayRef<uint8_t>(data.data(), data.size());
  return w;
}

/// y = W x on the ggml dot path: quantized weights as the GGUF rows, no
/// kernel (the op library rounds the activations to the type's
/// vec_dot_type and picks ggml's kernel per token of the batch).
bool checkGgmlDotMatmul(const std::string &label, std::mt19937 &rng) {
  const ggml::Type type = weightType();
  if (!ggml::hasQuantizedDot(type))
    check::fail("--layout=ggml: a type with a quantized dot product");
  if (width % ggml::dotActivationBlock(type))
    check::fail("--width: whole blocks of the type");
  std::vector<uint8_t> weights = check::randomWeights(type, rows, width, rng);
  std::vector<float> x = check::randomFloats(tokens * width, 2.0f, rng);
  std::vector<float> bias = check::randomFloats(rows, 1.0f, rng);
  std::vector<uint8_t> scratch(
      uint64_t(tokens) * uint64_t(ggml::dotActivationRowBytes(type, width)));
  std::vector<float> got(size_t(tokens * rows));
  ingot_op_matmul(check::parallelContext(), nullptr, weights.data(),
                  int32_t(type), rows, width, 1, x.data(), tokens, got.data(),
                  bias.data(), scratch.data());
  std::vector<float> want(got.size());
  interp::matmul(view(type, weights, rows), x.data(), tokens, want.data(),
                 bias.data());
  return check::report(label, got, want);
}

/// ingot_op_moe_experts on the ggml dot path: random gate / up / down stacks
/// of the type (--width: dim, --rows: ffn, --experts stacked, --used per
/// token), random routing, token by token against the interpreter's
/// experts (ffnSwiGLU per chosen expert, ggml's gemv), summed with the
/// routing weights as interp::moe sums them. The down activations are
/// prepared chunk by chunk in the gate/up dispatch (whole blocks of the
/// type's vec_dot_type: 256 values for Q8_K).
bool checkGgmlDotExperts(const std::string &label, std::mt19937 &rng) {
  const ggml::Type type = weightType();
  if (!ggml::hasQuantizedDot(type))
    check::fail("--op=moe_experts: a type with a quantized dot product");
  const int64_t dim = width, ffn = rows;
  if (dim % ggml::dotActivationBlock(type) ||
      ffn % ggml::dotActivationBlock(type))
    check::fail("--width and --rows: whole blocks of the type");
  if (used < 1 || used > experts)
    check::fail("--used: between 1 and --experts");
  std::vector<uint8_t> gate =
      check::randomWeights(type, experts * ffn, dim, rng);
  std::vector<uint8_t> up = check::randomWeights(type, experts * ffn, dim, rng);
  std::vector<uint8_t> down =
      check::randomWeights(type, experts * dim, ffn, rng);
  std::vector<float> x = check::randomFloats(tokens * dim, 1.0f, rng);
  std::vector<int32_t> ids(size_t(tokens * used));
  std::vector<float> weights = check::randomFloats(tokens * used, 1.0f, rng);
  std::uniform_int_distribution<int32_t> expert(0, int32_t(experts - 1));
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t j = 0; j < used; ++j) {
      int32_t e;
      do
        e = expert(rng);
      while (std::find(ids.begin() + t * used, ids.begin() + t * used + j, e) !=
             ids.begin() + t * used + j);
      ids[size_t(t * used + j)] = e;
    }
  const int64_t gateUpStride = int64_t(gate.size()) / experts,
                downStride = int64_t(down.size()) / experts;
  IngotMoEExpertsArgs args = {nullptr,
                              nullptr,
                              gate.data(),
                              up.data(),
                              down.data(),
                              gateUpStride,
                              downStride,
                              dim,
                              ffn,
                              1,
                              1,
                              used,
                              int32_t(type),
                              int32_t(type),
                              nullptr,
                              nullptr};
  // One token's buffers, or, for a batch (bucketed by expert), the
  // bucketed path's.
  const int64_t oneToken = (2 * used * ffn + used * dim) * 4 +
                           ggml::dotActivationRowBytes(type, dim) +
                           used * ggml::dotActivationRowBytes(type, ffn);
  const int64_t bucketed =
      oplib::MoEBatchLayout<int64_t>(tokens, used, dim, ffn,
                                     ggml::dotActivationRowBytes(type, dim),
                                     ggml::dotActivationRowBytes(type, ffn))
          .total;
  std::vector<uint8_t> scratch(size_t(std::max(oneToken, bucketed)));
  std::vector<float> got(size_t(tokens * dim));
  ingot_op_moe_experts(check::parallelContext(), &args, x.data(), tokens,
                       ids.data(), weights.data(), got.data(), scratch.data());
  auto stack = [&](const std::vector<uint8_t> &data, int64_t matrixRows,
                   int64_t cols) {
    interp::WeightView w;
    w.type = type;
    w.shape = {uint64_t(cols), uint64_t(matrixRows), uint64_t(experts)};
    w.data = ArrayRef<uint8_t>(data.data(), data.size());
    return w;
  };
  const interp::WeightView gates = stack(gate, ffn, dim),
                           ups = stack(up, ffn, dim),
                           downs = stack(down, dim, ffn);
  std::vector<float> want(got.size());
  std::vector<float> expertOut(static_cast<size_t>(dim));
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t j = 0; j < used; ++j) {
      const int32_t e = ids[size_t(t * used + j)];
      interp::ffnSwiGLU(gates.matrix(e), ups.matrix(e), downs.matrix(e),
                        x.data() + t * dim, 1, expertOut.data());
      for (int64_t d = 0; d < dim; ++d) {
        const float v = expertOut[size_t(d)] * weights[size_t(t * used + j)];
        float &o = want[size_t(t * dim + d)];
        o = j == 0 ? v : o + v;
      }
    }
  return check::report(label, got, want);
}

bool isPlainType(ggml::Type type) {
  return type == ggml::Type::F32 || type == ggml::Type::F16 ||
         type == ggml::Type::BF16;
}

/// y = W x for F32 / F16 / BF16 weights in the kernels' packed layout, no
/// kernel.
bool checkMatmul(const std::string &label, std::mt19937 &rng) {
  if (layoutName == "ggml")
    return checkGgmlDotMatmul(label, rng);
  const ggml::Type type = weightType();
  if (!isPlainType(type))
    check::fail("the op library computes f32, f16 and bf16 products only in "
                "the "
                "kernels' layouts (--layout=ggml: its ggml dot path); "
                "ingot-kernel-check runs the quantized ones");
  const targets::ISA isa =
      layoutName == "avx2" ? targets::ISA::AVX2 : targets::ISA::AVX512VNNI;
  if (layoutName != "avx2" && layoutName != "avx512vnni")
    check::fail("--layout: avx512vnni or avx2");
  const targets::MatmulShape shape{rows, width};
  std::vector<uint8_t> weights = check::randomWeights(type, rows, width, rng);
  std::vector<uint8_t> packed(targets::packedWeightBytes(type, shape, isa));
  if (!targets::packWeights(type, shape, isa, weights.data(), packed.data()))
    check::fail("cannot pack the weight");
  std::vector<float> x = check::randomFloats(tokens * width, 2.0f, rng);
  std::vector<float> bias = check::randomFloats(rows, 1.0f, rng);
  std::vector<uint8_t> scratch(uint64_t(tokens) *
                               targets::activationBytesPerToken(type, width));
  std::vector<float> got(size_t(tokens * rows));
  ingot_op_matmul(check::parallelContext(), nullptr, packed.data(),
                  int32_t(type), rows, width, targets::rowGranule(type, isa),
                  x.data(), tokens, got.data(), bias.data(), scratch.data());
  std::vector<float> want(got.size());
  interp::matmul(view(type, weights, rows), x.data(), tokens, want.data(),
                 bias.data());
  return check::report(label, got, want);
}

/// ingot_op_fused_matmul over F32 / F16 / BF16 segments against the unfused
/// calls
/// it stands for: three segments of ragged row counts with biases in one
/// dispatch, one segment with a residual epilogue, and a gate/up pair with
/// the swiglu epilogue. All outputs are compared, concatenated.
bool checkFusedMatmul(const std::string &label, std::mt19937 &rng) {
  const ggml::Type type = weightType();
  if (!isPlainType(type))
    check::fail("fused_matmul is checked with the op library's f32, f16 and "
                "bf16 products");
  const targets::ISA isa = targets::ISA::AVX512VNNI;
  const int64_t granule = targets::rowGranule(type, isa);
  const int64_t segmentRows[3] = {rows, rows + 5, 2 * rows + 3};
  std::vector<std::vector<uint8_t>> packed;
  std::vector<std::vector<float>> biases;
  for (int64_t n : segmentRows) {
    const targets::MatmulShape shape{n, width};
    std::vector<uint8_t> weights = check::randomWeights(type, n, width, rng);
    packed.emplace_back(targets::packedWeightBytes(type, shape, isa));
    if (!targets::packWeights(type, shape, isa, weights.data(),
                              packed.back().data()))
      check::fail("cannot pack the weight");
    biases.push_back(check::randomFloats(n, 1.0f, rng));
  }
  std::vector<float> x = check::randomFloats(tokens * width, 2.0f, rng);
  std::vector<float> residual = check::randomFloats(tokens * rows, 2.0f, rng);
  std::vector<uint8_t> scratch(uint64_t(tokens) *
                               targets::activationBytesPerToken(type, width));
  std::vector<float> got, want;
  auto matmul = [&](int s, const float *bias) {
    std::vector<float> y(size_t(tokens * segmentRows[s]));
    ingot_op_matmul(nullptr, nullptr, packed[s].data(), int32_t(type),
                    segmentRows[s], width, granule, x.data(), tokens, y.data(),
                    bias, scratch.data());
    return y;
  };
  auto fused = [&](std::vector<IngotFusedSegment> segments,
                   const float *residualRows, float *up) {
    IngotFusedMatmulArgs args = {segments.data(),
                                 int64_t(segments.size()),
                                 width,
                                 granule,
                                 nullptr,
                                 residualRows,
                                 up,
                                 0.0f,
                                 int32_t(type)};
    ingot_op_fused_matmul(nullptr, &args, x.data(), tokens, scratch.data());
  };
  // Siblings with biases.
  std::vector<std::vector<float>> outs;
  std::vector<IngotFusedSegment> segments;
  for (int s = 0; s < 3; ++s) {
    outs.emplace_back(size_t(tokens * segmentRows[s]));
    segments.push_back({nullptr, packed[s].data(), biases[s].data(),
                        outs.back().data(), segmentRows[s]});
  }
  fused(segments, nullptr, nullptr);
  for (int s = 0; s < 3; ++s) {
    llvm::append_range(got, outs[s]);
    llvm::append_range(want, matmul(s, biases[s].data()));
  }
  // A residual: add(residual, product) as the model adds it.
  std::vector<float> sum(size_t(tokens * rows));
  fused({{nullptr, packed[0].data(), nullptr, sum.data(), rows}},
        residual.data(), nullptr);
  llvm::append_range(got, sum);
  std::vector<float> product = matmul(0, nullptr);
  ingot_op_add(residual.data(), product.data(), tokens * rows, product.data());
  llvm::append_range(want, product);
  // SwiGLU of gate (segment 0) and up (segment 0's weights again, with a
  // bias, so the two differ).
  std::vector<float> act(size_t(tokens * rows)), up(act.size());
  fused({{nullptr, packed[0].data(), nullptr, act.data(), rows},
         {nullptr, packed[0].data(), biases[0].data(), nullptr, rows}},
        nullptr, up.data());
  llvm::append_range(got, act);
  std::vector<float> gate = matmul(0, nullptr),
                     upWant = matmul(0, biases[0].data());
  ingot_op_swiglu(gate.data(), upWant.data(), tokens, rows, gate.data());
  llvm::append_range(want, gate);
  return check::report(label, got, want);
}

/// Rows of a table of any dequantizable type.
bool checkEmbedding(const std::string &label, std::mt19937 &rng) {
  const ggml::Type type = weightType();
  if (!ggml::getTypeInfo(type).canDequantize)
    check::fail(std::string("no decoder for ") + ggml::typeName(type));
  if (!ggml::rowBytes(type, uint64_t(width)))
    check::fail("width is not a whole number of blocks");
  std::vector<uint8_t> table = check::randomWeights(type, rows, width, rng);
  std::uniform_int_distribution<int32_t> pick(0, int32_t(rows - 1));
  std::vector<int32_t> ids(static_cast<size_t>(tokens.getValue()));
  for (int32_t &id : ids)
    id = pick(rng);
  ids.back() = int32_t(rows - 1); // the last row, too
  std::vector<float> got(size_t(tokens * width));
  ingot_op_embedding(table.data(), int32_t(type), width, ids.data(), tokens,
                     got.data());
  std::vector<float> want(got.size());
  interp::WeightView w = view(type, table, rows);
  for (int64_t t = 0; t < tokens; ++t)
    if (Error e = interp::embedding(w, ids[size_t(t)], want.data() + t * width))
      check::fail(toString(std::move(e)));
  return check::report(label, got, want);
}

bool checkRmsNorm(const std::string &label, std::mt19937 &rng) {
  std::vector<float> x = check::randomFloats(tokens * width, 3.0f, rng);
  std::vector<float> weight = check::randomFloats(width, 1.0f, rng);
  const float eps = 1e-6f;
  std::vector<float> got(x.size()), want(x.size());
  ingot_op_rms_norm(x.data(), weight.data(), eps, width, tokens, got.data());
  interp::rmsNorm(x.data(), weight.data(), eps, width, tokens, want.data());
  return check::report(label, got, want);
}

/// Rope over `heads` heads of `width` values per token, positions 0, 7, 14..
bool checkRope(const std::string &label, std::mt19937 &rng) {
  const int64_t dims = ropeDims ? ropeDims : width;
  if (dims % 2 || dims > width)
    check::fail("rope dims must be even and at most the head width");
  std::vector<float> x = check::randomFloats(tokens * heads * width, 1.0f, rng);
  std::vector<int32_t> positions(static_cast<size_t>(tokens.getValue()));
  for (int64_t t = 0; t < tokens; ++t)
    positions[size_t(t)] = int32_t(7 * t);
  interp::RopeParams p;
  p.nDims = dims;
  p.mode = neox ? interp::RopeMode::NeoX : interp::RopeMode::Normal;
  p.freqBase = 10000.0f;
  p.freqScale = extFactor != 0.0f ? 0.25f : 1.0f;
  p.extFactor = extFactor;
  p.nCtxOrig = 4096;
  std::vector<float> got(x.size());
  ingot_op_rope(x.data(), got.data(), positions.data(), tokens, heads, width,
                /*offset=*/0, dims, neox, p.freqBase, p.freqScale, p.extFactor,
                p.attnFactor, p.betaFast, p.betaSlow, p.nCtxOrig, nullptr);
  std::vector<float> want = x;
  for (int64_t t = 0; t < tokens; ++t)
    interp::rope(want.data() + t * heads * width, heads, width,
                 positions[size_t(t)], p);
  return check::report(label, got, want);
}

/// silu, gelu and swiglu row by row (ggml's exp blocks restart per row).
bool checkActivation(const std::string &label, std::mt19937 &rng) {
  std::vector<float> x = check::randomFloats(tokens * width, 8.0f, rng);
  std::vector<float> up = check::randomFloats(tokens * width, 2.0f, rng);
  std::vector<float> got(x.size()), want(x.size());
  if (op == "silu")
    ingot_op_silu(x.data(), tokens, width, got.data());
  else if (op == "swiglu")
    ingot_op_swiglu(x.data(), up.data(), tokens, width, got.data());
  else
    ingot_op_gelu(x.data(), tokens * width, got.data());
  for (int64_t t = 0; t < tokens; ++t) {
    const int64_t at = t * width;
    if (op == "silu")
      interp::silu(x.data() + at, width, want.data() + at);
    else if (op == "swiglu")
      interp::swiglu(x.data() + at, up.data() + at, width, want.data() + at);
    else
      interp::gelu(x.data() + at, width, want.data() + at);
  }
  return check::report(label, got, want);
}

/// Attention of `tokens` queries at positions start, start + 1, .. over a
/// cache whose first `start` positions hold random keys and values. The
/// tiled path is held to a first-order rounding bound per output d of a
/// row: with S = max_j scale * sum_i |q_i k_ji| (the scale of the scores'
/// rounding) and M = sum_j p_j |v_j[d]| (p in double),
///   |got - want| <= ((4 (width + 2) S + 16) 2^-24 + 2 (keys + 2) 2^-24) M,
/// that is twice the error of a score in either order and a few ulps of the
/// exponential (both count twice: numerator and normaliser), plus the two
/// orders' float sums over the keys. A wrong key, value, head or mask is off
/// by a sizeable part of M.
bool checkAttention(const std::string &label, std::mt19937 &rng) {
  const int64_t nKV = kvHeads ? kvHeads : heads;
  const int64_t vWidth = valueWidth ? valueWidth : width;
  if (heads % nKV)
    check::fail("heads must be a multiple of kv-heads");
  if (start < 0)
    check::fail("start must not be negative");
  const int64_t positionsUsed = start + tokens;
  const int64_t kWidth = nKV * width, vAll = nKV * vWidth;
  const float scale = 1.0f / std::sqrt(float(width));
  std::vector<float> keys =
      check::randomFloats(positionsUsed * kWidth, 1.5f, rng);
  std::vector<float> values =
      check::randomFloats(positionsUsed * vAll, 2.0f, rng);
  std::vector<float> q = check::randomFloats(tokens * heads * width, 1.5f, rng);
  std::vector<int32_t> positions(static_cast<size_t>(tokens.getValue()));
  std::vector<int64_t> positions64(positions.size());
  for (int64_t t = 0; t < tokens; ++t)
    positions[size_t(t)] = int32_t(positions64[size_t(t)] = start + t);

  // The keys as the cache stores them (--key-type): the interpreter's cache
  // converts them, and the op library's rows of the earlier positions are
  // copied from its bytes, so both read the same stored keys.
  int32_t keyType = INGOT_KV_KEY_F32;
  ggml::Type keyGgmlType = ggml::Type::F32;
  if (keyTypeName == "f16") {
    keyType = INGOT_KV_KEY_F16;
    keyGgmlType = ggml::Type::F16;
  } else if (keyTypeName == "q8_0") {
    keyType = INGOT_KV_KEY_Q8_0;
    keyGgmlType = ggml::Type::Q8_0;
  } else if (keyTypeName != "f32") {
    check::fail("unknown key type '" + keyTypeName + "'");
  }
  interp::KVCacheLayer layer(positionsUsed, nKV, width, vAll, keyGgmlType);
  for (int64_t p = 0; p < positionsUsed; ++p)
    if (Error e =
            layer.store(p, keys.data() + p * kWidth, values.data() + p * vAll))
      check::fail(toString(std::move(e)));

  // The op library's cache (targets/oplib/KVCacheLayout.h): one row of
  // [keys | values] per position, the earlier positions written here, this
  // step's by the call.
  const oplib::KVRowLayout<int64_t> row =
      oplib::kvRowLayout<int64_t>(keyType, nKV, width, vWidth);
  if (!row.valid)
    check::fail("keys of this width cannot be stored as " + keyTypeName);
  const int64_t keyHeadBytes =
      int64_t(*ggml::rowBytes(keyGgmlType, uint64_t(width)));
  if (keyHeadBytes != row.keyHeadBytes)
    check::fail("the interpreter and the op library store a key head in "
                "different sizes");
  std::vector<uint8_t> cache(size_t(positionsUsed * row.rowBytes), 0);
  for (int64_t p = 0; p < start; ++p) {
    uint8_t *at = cache.data() + p * row.rowBytes;
    for (int64_t h = 0; h < nKV; ++h)
      std::memcpy(at + h * keyHeadBytes, layer.keyData(p, h),
                  size_t(keyHeadBytes));
    std::memcpy(at + row.keyBytes, values.data() + p * vAll,
                size_t(vAll) * sizeof(float));
  }
  std::vector<float> got(size_t(tokens * heads * vWidth));
  IngotContext *ctx = check::parallelContext();
  ctx->kv_key_type = keyType;
  ingot_op_attention(ctx, q.data(), keys.data() + start * kWidth,
                     values.data() + start * vAll, positions.data(), nullptr,
                     tokens, cache.data(), heads, nKV, width, vWidth, scale,
                     ggmlOrder, got.data());
  ctx->kv_key_type = INGOT_KV_KEY_F32;
  // The step's own rows as the op library stored them: the same bytes.
  for (int64_t p = start; p < positionsUsed; ++p)
    for (int64_t h = 0; h < nKV; ++h)
      if (std::memcmp(cache.data() + p * row.rowBytes + h * keyHeadBytes,
                      layer.keyData(p, h), size_t(keyHeadBytes)) != 0)
        check::fail("position " + std::to_string(p) + " head " +
                    std::to_string(h) +
                    ": the op library stored other key "
                    "bytes than the interpreter");

  interp::AttentionParams params;
  params.nHeads = heads;
  params.nKVHeads = nKV;
  params.headDimK = width;
  params.headDimV = vWidth;
  params.scale = scale;
  std::vector<float> want(got.size());
  // Exact (asked for, or heads wider than the tiles' 256): against the
  // interpreter with the same key type (the query rounded as the reference
  // rounds it). Tiled: its queries stay F32, so against the interpreter over
  // the stored keys as floats.
  const bool exactPath = ggmlOrder || width > 256 || vWidth > 256;
  if (exactPath || keyType == INGOT_KV_KEY_F32) {
    interp::attention(q.data(), tokens, positions64.data(), layer, params,
                      want.data());
  } else {
    interp::KVCacheLayer asFloats(positionsUsed, nKV, width, vAll);
    std::vector<float> key(static_cast<size_t>(kWidth));
    for (int64_t p = 0; p < positionsUsed; ++p) {
      for (int64_t h = 0; h < nKV; ++h)
        layer.readKey(p, h, width, key.data() + h * width);
      if (Error e = asFloats.store(p, key.data(), values.data() + p * vAll))
        check::fail(toString(std::move(e)));
    }
    interp::attention(q.data(), tokens, positions64.data(), asFloats, params,
                      want.data());
  }
  if (ggmlOrder)
    return check::report(label, got, want);

  std::vector<double> bound(got.size());
  const double ulp = std::ldexp(1.0, -24);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      const float *qh = q.data() + (t * heads + h) * width;
      const int64_t kvh = h / (heads / nKV), visible = start + t + 1;
      std::vector<double> score(static_cast<size_t>(visible));
      double scoreScale = 0.0, maxScore = -INFINITY;
      for (int64_t j = 0; j < visible; ++j) {
        std::vector<float> stored(static_cast<size_t>(width.getValue()));
        layer.readKey(j, kvh, width, stored.data());
        const float *k = stored.data();
        double dot = 0.0, magnitude = 0.0;
        for (int64_t i = 0; i < width; ++i) {
          dot += double(qh[i]) * k[i];
          magnitude += std::fabs(double(qh[i]) * k[i]);
        }
        score[size_t(j)] = dot * scale;
        scoreScale = std::max(scoreScale, magnitude * scale);
        maxScore = std::max(maxScore, score[size_t(j)]);
      }
      double total = 0.0;
      for (double &s : score)
        total += (s = std::exp(s - maxScore));
      const double relative = (4.0 * double(width + 2) * scoreScale + 16.0 +
                               2.0 * double(visible + 2)) *
                              ulp;
      for (int64_t d = 0; d < vWidth; ++d) {
        double weighted = 0.0;
        for (int64_t j = 0; j < visible; ++j)
          weighted += score[size_t(j)] / total *
                      std::fabs(layer.value(j)[kvh * vWidth + d]);
        bound[size_t((t * heads + h) * vWidth + d)] = relative * weighted;
      }
    }
  return check::reportWithinBound(label, got, want, bound);
}

} // namespace

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(argc, argv,
                              "one op library function vs ingot::interp\n");
  if (width < 1 || rows < 1 || tokens < 1 || heads < 1 || tasks < 1)
    check::fail("width, rows, tokens, heads and tasks must be positive");
  check::parallelThreads = tasks;
  std::string label = op + " width=" + std::to_string(width) +
                      " tokens=" + std::to_string(tokens);
  if (op == "rope")
    label += " heads=" + std::to_string(heads) +
             " dims=" + std::to_string(ropeDims ? ropeDims : width) +
             (neox ? " neox" : " normal") + (extFactor != 0.0f ? " yarn" : "");
  if (op == "attention")
    label = op + " width=" + std::to_string(width) +
            " value_width=" + std::to_string(valueWidth ? valueWidth : width) +
            " heads=" + std::to_string(heads) + "/" +
            std::to_string(kvHeads ? kvHeads : heads) +
            " tokens=" + std::to_string(tokens) +
            " start=" + std::to_string(start) +
            (keyTypeName != "f32" ? " keys=" + keyTypeName : "") +
            (ggmlOrder ? " ggml-order" : "");
  if (op == "moe_experts")
    label = op + " " + lower(typeName) + " dim=" + std::to_string(width) +
            " ffn=" + std::to_string(rows) +
            " experts=" + std::to_string(experts) + "/" + std::to_string(used) +
            " tokens=" + std::to_string(tokens);
  if (op == "matmul" || op == "fused_matmul" || op == "embedding")
    label = op + " " + lower(typeName) + " rows=" + std::to_string(rows) +
            " width=" + std::to_string(width) +
            " tokens=" + std::to_string(tokens);
  std::mt19937 rng(seed);
  bool same;
  if (op == "matmul")
    same = checkMatmul(label, rng);
  else if (op == "fused_matmul")
    same = checkFusedMatmul(label, rng);
  else if (op == "embedding")
    same = checkEmbedding(label, rng);
  else if (op == "moe_experts")
    same = checkGgmlDotExperts(label, rng);
  else if (op == "rms_norm")
    same = checkRmsNorm(label, rng);
  else if (op == "rope")
    same = checkRope(label, rng);
  else if (op == "attention")
    same = checkAttention(label, rng);
  else if (op == "silu" || op == "swiglu" || op == "gelu")
    same = checkActivation(label, rng);
  else
    check::fail("unknown op '" + op + "'");
  return same ? 0 : 1;
}
