//===- ReferenceOps.h - Reference numerics of the model-level ops -*- C++
//-*-===//
//
// One plain C++ function per `ingot` dialect op (embedding, rms_norm, matmul,
// rope, attention, mla_attention, moe, silu, gelu, swiglu, add, ...). The
// reference interpreter (`ingot interpret`) calls these while it walks a
// model function; generated kernels are tested against them.
//
// Numerics follow ggml's CPU backend, so that the results can be compared with
// llama.cpp's reference logits at tight tolerances:
//  - Quantized weights: the activation row is first rounded to the weight
//    type's vec_dot_type (Q8_0, Q8_1 or Q8_K) as ggml's x86 CPU backend does,
//    the products are exact integer sums per block and the blocks are
//    combined with the float scales (QuantizedDot.h). Q8_0, Q4_0, Q4_1,
//    Q5_0, Q5_1, Q4_K, Q5_K and Q6_K follow the order of the kernel ggml's
//    x86 build runs for that product (vec_dot, tinyBLAS, or the repacked
//    Q4_K gemv / gemm, chosen by ggmlKernel from the batch), which makes
//    whole forward passes bit-identical to llama.cpp's; the other types
//    follow ggml's reference C order, which differs from its SIMD kernels
//    only in the float additions.
//  - F16 / BF16 weights: the activations are rounded to F16 / BF16 first.
//  - F32 weights and the F32 products inside attention: the summation order
//    of ggml's AVX-512 kernels (ggml_vec_dot_f32, or llamafile's tinyBLAS
//    when llama.cpp would use it: several tokens in the batch), emulated
//    lane by lane; see ggml::vecDotF32 / sgemmDotF32 / useSgemmF32.
//  - RMS norm sums squares in double. Softmax and silu use ggml_v_expf's
//    polynomial (ggml::vExpf) where ggml vectorises (blocks of 16), expf for
//    the tails; attention sees the KV row padded to 256 cells as llama.cpp
//    does. KV cache F32.
//  - Results depend on the batch size exactly where llama.cpp's do (F32
//    products through tinyBLAS for >= 2 tokens, repacked Q4_K through gemm
//    for the rows of whole groups of four): pass the prompt as one batch and
//    generated tokens one at a time to reproduce its logits.
//
// All functions are single-threaded, allocate only small scratch, and take
// every shape and attribute as a parameter: nothing here knows a model.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_INTERP_REFERENCEOPS_H
#define INGOT_INTERP_REFERENCEOPS_H

#include "compiler/ggml/GGMLArithmetic.h"
#include "compiler/ggml/GGMLTypes.h"
#include "compiler/interp/QuantizedDot.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace ingot::gguf {
class GGUFFile;
struct TensorInfo;
} // namespace ingot::gguf

namespace ingot::interp {

/// A weight as stored in the GGUF: ggml type, shape in ggml order (shape[0] is
/// the row length, i.e. in_features for a matmul weight) and the raw bytes.
struct WeightView {
  ggml::Type type = ggml::Type::F32;
  llvm::SmallVector<uint64_t, 4> shape;
  llvm::ArrayRef<uint8_t> data;

  /// The view of `tensor` in `file`; an error when its rows are not whole
  /// blocks of its type.
  static llvm::Expected<WeightView> fromTensor(const gguf::GGUFFile &file,
                                               const gguf::TensorInfo &tensor);

  bool empty() const { return data.empty(); }
  /// Elements per row (shape[0]).
  int64_t rowLength() const { return shape.empty() ? 0 : int64_t(shape[0]); }
  /// Rows in one 2-D matrix (shape[1], or 1).
  int64_t matrixRows() const {
    return shape.size() < 2 ? 1 : int64_t(shape[1]);
  }
  /// Total number of rows over all dimensions above 0.
  int64_t totalRows() const;
  /// Number of 2-D matrices (product of shape[2..]).
  int64_t matrixCount() const;
  /// Bytes of one row (rows are whole blocks: fromTensor checks).
  uint64_t rowBytes() const;
  /// Raw bytes of row `row` (counting over all matrices).
  const uint8_t *rowData(int64_t row) const;
  /// Matrix `index` of a 3-D (or higher) weight, e.g. one expert of a
  /// stacked expert tensor or one head of attn_k_b.
  WeightView matrix(int64_t index) const;
  /// Row `row` converted to f32 (dequantized).
  void readRow(int64_t row, float *out) const;
};

//===----------------------------------------------------------------------===//
// Activation rounding, as ggml does before a quantized or half product.
//===----------------------------------------------------------------------===//

// The rounding to Q8_0 / Q8_1 / Q8_K: QuantizedDot.h.

/// Rounds every value to F16 (resp. BF16) and back.
void roundToF16(const float *x, int64_t n, float *out);
void roundToBF16(const float *x, int64_t n, float *out);

//===----------------------------------------------------------------------===//
// Ops.
//===----------------------------------------------------------------------===//

/// out[n_embd] = row `token` of the embedding table (dequantized); an error
/// when the table has no such row.
llvm::Error embedding(const WeightView &table, int64_t token, float *out);

/// out = x / sqrt(mean(x^2) + eps) * weight, over each of `rows` rows of
/// length `n` (weight may be null: no scaling; it has n elements and is
/// broadcast over the rows, e.g. per-head q/k norms). In place is allowed.
void rmsNorm(const float *x, const float *weight, float eps, int64_t n,
             int64_t rows, float *out);

/// y[t][o] = sum_i W[o][i] * x[t][i] (+ bias[o]) for `nTokens` rows of x.
/// W is a 2-D weight {in_features, out_features}. x and y must not overlap.
void matmul(const WeightView &w, const float *x, int64_t nTokens, float *y,
            const float *bias = nullptr);

/// Whether matmul and dotRow multiply weights of this type: every type
/// with a vec_dot_type (interp::vecDotType).
bool canMultiply(ggml::Type type);

/// Dot product of one weight row with one activation row, with ggml's
/// rounding of the activations for the weight's type. Building block for
/// matmul; exposed for kernel tests. The weight type must be one that
/// canMultiply.
float dotRow(const WeightView &w, int64_t row, const float *x);

// ggml's F32 arithmetic (x86 AVX-512 build): ggml::vecDotF32,
// ggml::sgemmDotF32, ggml::useSgemmF32 and ggml::vExpf in
// compiler/ggml/GGMLArithmetic.h.

enum class RopeMode {
  Normal, ///< rotates adjacent pairs (x[2i], x[2i+1]) (llama, deepseek2)
  NeoX,   ///< rotates x[i] with x[i + nDims/2] (qwen2, qwen3moe)
};

/// ggml_rope_ext's parameters. With extFactor != 0 this is YaRN: rotation
/// frequencies blend interpolation (freqScale) and extrapolation over the
/// correction range computed from betaFast/betaSlow and nCtxOrig, and the
/// rotation is scaled by attnFactor * (1 + 0.1 * ln(1 / freqScale)).
struct RopeParams {
  int64_t nDims = 0; ///< leading dims of each head that are rotated
  RopeMode mode = RopeMode::Normal;
  float freqBase = 10000.0f;
  float freqScale = 1.0f;
  float extFactor = 0.0f;
  float attnFactor = 1.0f;
  float betaFast = 32.0f;
  float betaSlow = 1.0f;
  int64_t nCtxOrig = 0;
  /// nDims / 2 factors dividing each pair's angle (Llama 3.1 rope_freqs), or
  /// null.
  const float *freqFactors = nullptr;
};

/// Rotates, in place, the first params.nDims values of each of `nHeads`
/// heads; head h starts at x + h * headStride. Dims past nDims are left
/// unchanged.
void rope(float *x, int64_t nHeads, int64_t headStride, int64_t pos,
          const RopeParams &params);

/// The YaRN correction range [low, high] in dimension-pair units, as ggml's
/// ggml_rope_yarn_corr_dims computes it.
void ropeYarnCorrDims(int64_t nDims, int64_t nCtxOrig, float freqBase,
                      float betaFast, float betaSlow, float dims[2]);

/// Key/value cache of one layer: `capacity` positions, each holding the
/// keys of kHeads heads of kDim values (head after head) and vWidth value
/// floats. Keys are stored as `keyType` (F32, F16 or Q8_0: ggml's blocks,
/// written as ggml's set_rows converts F32 rows on x86), values as F32. MLA
/// stores the compressed latent + rope key as one key and no V.
class KVCacheLayer {
public:
  KVCacheLayer() = default;
  KVCacheLayer(int64_t capacity, int64_t kHeads, int64_t kDim, int64_t vWidth,
               ggml::Type keyType = ggml::Type::F32);

  /// Whether keys of kDim values can be stored as `keyType` (Q8_0: whole
  /// blocks of 32).
  static bool canStoreKeys(ggml::Type keyType, int64_t kDim);

  /// Writes the keys (and values, if vWidth > 0) of position `pos`; an error
  /// when `pos` is outside the cache.
  llvm::Error store(int64_t pos, const float *k, const float *v);
  /// Head `head`'s key at `pos`, raw (ggml's bytes of keyType).
  const uint8_t *keyData(int64_t pos, int64_t head) const {
    return k.data() + pos * keyRowBytes + head * keyHeadBytes;
  }
  /// The first n values of that key as floats.
  void readKey(int64_t pos, int64_t head, int64_t n, float *out) const;
  const float *value(int64_t pos) const { return v.data() + pos * vWidth; }
  int64_t getCapacity() const { return capacity; }
  int64_t getKHeads() const { return kHeads; }
  int64_t getKDim() const { return kDim; }
  int64_t getVWidth() const { return vWidth; }
  ggml::Type getKeyType() const { return keyType; }

private:
  int64_t capacity = 0, kHeads = 0, kDim = 0, vWidth = 0;
  ggml::Type keyType = ggml::Type::F32;
  int64_t keyHeadBytes = 0, keyRowBytes = 0;
  std::vector<uint8_t> k;
  std::vector<float> v;
};

/// In-place softmax of n values of x * scale, as ggml_soft_max computes it
/// (ggml_v_expf in blocks of 16, block sums added in double).
void softmax(float *x, int64_t n, float scale = 1.0f);

struct AttentionParams {
  int64_t nHeads = 0;
  int64_t nKVHeads = 0; ///< nHeads must be a multiple (GQA / MQA)
  int64_t headDimK = 0;
  int64_t headDimV = 0;
  float scale = 1.0f; ///< applied to Q.K before the softmax
};

/// Causal multi-head attention of `nTokens` queries over a cache. Query t
/// (q + t * nHeads * headDimK, heads consecutive) at position positions[t]
/// attends to cache positions 0 .. positions[t] (its own K/V must already be
/// stored). Output head h of token t goes to
/// out + t * nHeads * headDimV + h * headDimV.
void attention(const float *q, int64_t nTokens, const int64_t *positions,
               const KVCacheLayer &cache, const AttentionParams &params,
               float *out);

struct MLAParams {
  int64_t nHeads = 0;
  int64_t qkNopeDim = 0;  ///< non-rotated part of each query head
  int64_t qkRopeDim = 0;  ///< rotated part (after the nope part in q)
  int64_t kvLoraRank = 0; ///< width of the compressed latent
  int64_t vHeadDim = 0;   ///< output width of each head
  float scale = 1.0f;     ///< applied to the scores before the softmax
};

/// DeepSeek-V2/V3 multi-head latent attention with absorbed weights, as
/// llama.cpp computes it (MQA over the compressed cache):
///   q (per head: [nope | rope], rope part already rotated) ->
///   q_abs[h] = attn_k_b[h] . q_nope[h]            (kvLoraRank)
///   score_j  = scale * ([q_abs[h] | q_rope[h]] . cache.key(j))
///   ctx[h]   = sum_j softmax(score)_j * cache.key(j)[0 .. kvLoraRank)
///   out[h]   = attn_v_b[h] . ctx[h]                 (vHeadDim)
/// The cache key of a position is [rms-normed kv latent | rotated k_pe]
/// (kWidth = kvLoraRank + qkRopeDim). kB is {qkNope, kvLoraRank, nHeads},
/// vB is {kvLoraRank, vHeadDim, nHeads}. Output: nTokens x nHeads x vHeadDim.
void mlaAttention(const float *q, int64_t nTokens, const int64_t *positions,
                  const KVCacheLayer &cache, const WeightView &kB,
                  const WeightView &vB, const MLAParams &params, float *out);

/// out = silu(x) = x / (1 + exp(-x)).
void silu(const float *x, int64_t n, float *out);
/// out = gelu(x), tanh approximation (ggml_gelu).
void gelu(const float *x, int64_t n, float *out);
/// out = silu(gate) * up.
void swiglu(const float *gate, const float *up, int64_t n, float *out);
/// out = a + b (element-wise; out may alias a or b).
void add(const float *a, const float *b, int64_t n, float *out);

/// Gated feed-forward block: down(swiglu(gate(x), up(x))) for nTokens rows.
/// The dense FFN of llama-like models and the shared expert of MoE.
void ffnSwiGLU(const WeightView &gate, const WeightView &up,
               const WeightView &down, const float *x, int64_t nTokens,
               float *out);

enum class GatingFunc {
  Softmax, ///< probs = softmax(router logits)
  Sigmoid, ///< probs = sigmoid(router logits)
};

struct MoEParams {
  int64_t nExperts = 0;
  int64_t nExpertsUsed = 0;
  GatingFunc gating = GatingFunc::Softmax;
  bool normalizeWeights = false; ///< divide the top-k weights by their sum
  float weightsScale = 0.0f;     ///< routed scaling factor (0 or 1: none)
  int64_t nGroups = 1;           ///< expert groups (DeepSeek-V3)
  int64_t nGroupsUsed = 1;       ///< groups kept per token
};

/// The routing of one token: selected experts (best first) and their weights.
struct ExpertRoute {
  llvm::SmallVector<int32_t, 8> experts;
  llvm::SmallVector<float, 8> weights;
  /// How close the decision was: the smallest gap between the last chosen
  /// and the best rejected selection score (experts, and groups when
  /// group-limited); infinity when nothing was rejected. A tiny margin means
  /// another implementation may route the token differently.
  float margin = 0.0f;
};

/// Router: probabilities from the router logits, selection scores (probs +
/// selectionBias when given), group-limited selection (the score of a group is
/// the sum of its two best selection scores; only the best nGroupsUsed groups
/// compete), top-k, then weights = unbiased probs of the chosen experts,
/// optionally normalised and scaled.
ExpertRoute routeExperts(const float *routerLogits, const float *selectionBias,
                         const MoEParams &params);

struct MoEWeights {
  WeightView router; ///< {n_embd, nExperts}
  /// The router product when already computed (nTokens x nExperts): then
  /// `router` is not read.
  const float *routerLogits = nullptr;
  const float *selectionBias = nullptr; ///< exp_probs_b (nExperts) or null
  WeightView gateExps;                  ///< {n_embd, n_ff, nExperts}
  WeightView upExps;                    ///< {n_embd, n_ff, nExperts}
  WeightView downExps;                  ///< {n_ff, n_embd, nExperts}
};

/// Routed mixture of SwiGLU experts for nTokens rows of x (n_embd each):
/// out = sum over selected experts e of weight_e * down_e(swiglu(gate_e x,
/// up_e x)), summed in selection order. Shared experts are a separate
/// ffnSwiGLU added by the caller. If `routes` is given, it receives the
/// routing of each token.
void moe(const MoEWeights &weights, const MoEParams &params, const float *x,
         int64_t nTokens, float *out,
         std::vector<ExpertRoute> *routes = nullptr);

} // namespace ingot::interp

#endif // INGOT_INTERP_REFERENCEOPS_H
