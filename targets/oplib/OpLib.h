//===- OpLib.h - The small-op library linked into model code ----*- C++ -*-===//
//
// Functions the lowered model code calls for everything that is not a
// matmul or expert kernel: embedding lookup, norms, rope, attention over the
// KV cache, MoE routing, element-wise ops, and the drivers that prepare
// activations and run the generated kernels on the thread pool. The build
// compiles OpLib.cpp to LLVM bitcode, the compiler links it into each model
// module, so it is optimized for the target CPU together with the model.
// It allocates nothing: scratch comes from the arena.
//
// Parallel dispatch. Every op that runs on the thread pool cuts its work
// into independent chunks and calls ingot_rt_parallel(ctx, fn, args,
// nChunks) (ModelABI.h); each thread, the caller included, claims the next
// unclaimed chunk until none is left, so a slow thread's share is taken by
// the others. Row-split ops (matmuls, experts) use the Task + runTask +
// parallelRows pattern of OpLib.cpp: a chunk is a range of whole granules
// and of whole 64-byte lines of f32 output, about kChunksPerThread chunks
// per thread of ctx->n_threads, fewer when a chunk would read less than
// kMinChunkWorkBytes, and one chunk when there is one thread. A chunk
// computes each of its output values exactly as any other split would (no
// value is summed across chunks), so results do not depend on the thread
// count or on which thread ran which chunk.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_OPLIB_OPLIB_H
#define INGOT_OPLIB_OPLIB_H

#include "ingot/ModelABI.h"

#include <stdint.h>

extern "C" {

/// Generated kernels (see targets/x86): a matmul over row range
/// [rowBegin, rowEnd) for nTokens activation rows, and the per-expert form.
typedef void (*IngotMatmulKernel)(const void *packed, const void *act, float *y,
                                  int64_t nTokens, int64_t rowBegin,
                                  int64_t rowEnd);
typedef void (*IngotExpertKernel)(const void *packedStack, int64_t expertStride,
                                  const int32_t *ids, int64_t nIds,
                                  const void *act, int64_t actStride, float *y,
                                  int64_t rowBegin, int64_t rowEnd);

// Weight types (`wtype`, `type`) are ggml type ids (compiler/ggml/GGMLTypes.h,
// ggml::Type): the matmul drivers read F32, F16, Q4_0, Q8_0, Q4_K and Q6_K with
// generated kernels, F32 and F16 on the plain path (null kernel), and on the
// plain path too every quantized type ggml::hasQuantizedDot names: the ggml
// dot path, which multiplies the GGUF rows as they are with activations
// rounded to the type's vec_dot_type, exactly as ggml's CPU backend does
// (compiler/ggml/GGMLDot.h). Embedding lookups read every type the table can
// dequantize.

/// Bytes one activation row of width k takes for a kernel of weight type
/// `wtype` (ggml::activationRowBytes).
int64_t ingot_op_activation_bytes(int32_t wtype, int64_t k);
/// Prepares rows of x for a kernel of weight type `wtype`.
void ingot_op_prepare_activations(int32_t wtype, const float *x, int64_t rows,
                                  int64_t k, int64_t xStride, uint8_t *act);

/// y = W x (+ bias) for nTokens rows: prepares activations into `scratch`,
/// then splits the output rows over the thread pool.
void ingot_op_matmul(IngotContext *ctx, IngotMatmulKernel kernel,
                     const void *packed, int32_t wtype, int64_t rows,
                     int64_t cols, int64_t granule, const float *x,
                     int64_t nTokens, float *y, const float *bias,
                     uint8_t *scratch);

/// One weight of a fused matmul: the kernel (null: the plain path) and
/// packed weight, its optional bias, and the nTokens x rows output.
struct IngotFusedSegment {
  IngotMatmulKernel kernel;
  const void *packed;
  const float *bias; ///< null: none
  float *y;
  int64_t rows;
};
/// Matmuls of one input (ingot.fused_matmul): every segment has weight type
/// `wtype`, `cols` columns and row groups of `granule`.
struct IngotFusedMatmulArgs {
  const struct IngotFusedSegment *segments;
  int64_t count; ///< segments
  int64_t cols, granule;
  const float *normScale; ///< null: x is the input; else rms_norm(x) is
  const float *residual;  ///< null: none; added to the single segment
  float *swigluUp;        ///< null: none; else segments are gate, up
  float normEps;
  int32_t wtype;
};
/// Prepares x (normalized first when normScale is given) once into
/// `scratch`, then runs one parallel dispatch over the segments' rows; each
/// chunk adds its bias and residual, or with `swigluUp` computes
/// silu(gate) * up into the gate segment's output (up's kernel writes
/// swigluUp).
void ingot_op_fused_matmul(IngotContext *ctx,
                           const struct IngotFusedMatmulArgs *args,
                           const float *x, int64_t nTokens, uint8_t *scratch);

/// Rows tokens[t] of a [vocab, dim] table of `type` (any type the ggml
/// table can dequantize), dequantized by the table's decoder.
void ingot_op_embedding(const uint8_t *table, int32_t type, int64_t dim,
                        const int32_t *tokens, int64_t nTokens, float *out);
void ingot_op_rms_norm(const float *x, const float *weight, float eps,
                       int64_t group, int64_t groups, float *out);
void ingot_op_rope(const float *x, float *out, const int32_t *positions,
                   int64_t nTokens, int64_t nHeads, int64_t headDim,
                   int64_t offset, int64_t dims, int32_t neox, float freqBase,
                   float freqScale, float extFactor, float attnFactor,
                   float betaFast, float betaSlow, int64_t origContext,
                   const float *freqFactors);
/// Stores this step's keys/values at their positions in a layer's cache
/// (cache row = [kWidth keys | vWidth values]), then attends. Token t's
/// sequence starts at cache row starts[t] (null: every token's at row 0):
/// it is stored at row starts[t] + positions[t] and attends rows
/// starts[t] .. starts[t] + positions[t]. With
/// `ggmlOrder`, exactly as the reference (ggml's sums and exp, in its
/// order); otherwise in tiles of query rows with an online softmax, within
/// float rounding of it (heads wider than 256 always take the exact path).
void ingot_op_attention(IngotContext *ctx, const float *q, const float *k,
                        const float *v, const int32_t *positions,
                        const int32_t *starts, int64_t nTokens, uint8_t *cache,
                        int64_t nHeads, int64_t nKVHeads, int64_t headDim,
                        int64_t valueDim, float scale, int32_t ggmlOrder,
                        float *out);
/// MLA core: stores [latent | ropeKey] per position (cache rows as
/// ingot_op_attention's, `starts` the same), then for each head
/// attends with the absorbed query (qNopeAbs: kvLoraRank per head, and the
/// rotated rope part of q: the last ropeDim of each (nopeDim + ropeDim)
/// head) and writes the context (kvLoraRank per head) to ctxOut.
void ingot_op_mla_core(IngotContext *ctx, const float *qNopeAbs, const float *q,
                       const float *latent, const float *ropeKey,
                       const int32_t *positions, const int32_t *starts,
                       int64_t nTokens, uint8_t *cache, int64_t nHeads,
                       int64_t nopeDim, int64_t kvLoraRank, int64_t ropeDim,
                       float scale, float *ctxOut);
/// Copies columns [offset, offset + width) of each row.
void ingot_op_slice(const float *x, int64_t rows, int64_t inWidth,
                    int64_t offset, int64_t width, float *out);
/// Element-wise over rows of `width` (ggml's exp blocks restart per row).
void ingot_op_silu(const float *x, int64_t rows, int64_t width, float *out);
void ingot_op_gelu(const float *x, int64_t n, float *out);
void ingot_op_swiglu(const float *gate, const float *up, int64_t rows,
                     int64_t width, float *out);
void ingot_op_add(const float *a, const float *b, int64_t n, float *out);

/// One ingot.moe's routing for nTokens rows of x (dim wide), as one call:
/// the router product into `logits` (nTokens x nExperts; the generated
/// `routerKernel` of `routerType` and `granule`, or the plain path when
/// null; `scratch` holds its activation rows), then per token the expert
/// choice (softmax or sigmoid, selection bias, group top-k, top-k, ties to
/// the lower expert index, normalisation, routed scale), writing `used`
/// expert ids and weights per token; batches are routed in parallel chunks
/// of tokens. Adds `expertBytes` (one expert's packed gate, up and down
/// bytes) for each distinct expert the batch chose to
/// ctx->routed_expert_bytes.
void ingot_op_moe_route(IngotContext *ctx, IngotMatmulKernel routerKernel,
                        const void *router, int32_t routerType, int64_t granule,
                        const float *x, int64_t nTokens, int64_t dim,
                        int64_t nExperts, int64_t used, int32_t sigmoid,
                        const float *selectionBias, int64_t nGroups,
                        int64_t groupsUsed, int32_t normalize, float scale,
                        int64_t expertBytes, float *logits, uint8_t *scratch,
                        int32_t *ids, float *weights);
/// Routed SwiGLU experts for nTokens rows given the routing. One token:
/// the expert kernels run the token's experts; `scratch` holds 2 * used *
/// ffn + used * dim floats + activation rows for the kernels. More tokens,
/// with the batch kernels given: the (token, slot) pairs are bucketed by
/// expert and each chosen expert runs as one GEMM over its bucket (its
/// weights read once per batch); `scratch` holds MoEBatchLayout's buffers
/// (targets/oplib/MoEBatchLayout.h). Both give the same bits.
struct IngotMoEExpertsArgs {
  IngotExpertKernel gateUpKernel, downKernel; ///< null: the plain path
  const void *gate, *up, *down;               ///< packed expert stacks
  int64_t gateUpStride, downStride;           ///< bytes per expert
  int64_t dim, ffn, granuleGateUp, granuleDown;
  int64_t used; ///< experts per token
  int32_t gateUpType, downType;
  /// Matmul kernels of one expert's gate / up and down matrix for many
  /// tokens; null: the batch runs token by token.
  IngotMatmulKernel gateUpBatchKernel, downBatchKernel;
};
void ingot_op_moe_experts(IngotContext *ctx,
                          const struct IngotMoEExpertsArgs *args,
                          const float *x, int64_t nTokens, const int32_t *ids,
                          const float *weights, float *out, uint8_t *scratch);
/// Per-head products with a stack of matrices (MLA's absorbed k_b / v_b):
/// out[h] = W_h x_h for each token, with `rows` outputs per head; `scratch`
/// holds heads * rows floats + activation rows for the kernel, per token of
/// the batch when `batchKernel` is given (then each head's matrix
/// multiplies all tokens in one call, giving the same bits).
struct IngotPerHeadMatmulArgs {
  IngotExpertKernel kernel; ///< null: the plain path
  const void *stack;        ///< packed per-head matrices
  int64_t stride;           ///< bytes per head's matrix
  int64_t heads, rows, cols, granule;
  int64_t xHeadStride, xTokenStride;     ///< floats between x_h, tokens
  int64_t outHeadStride, outTokenStride; ///< floats between out[h], tokens
  int32_t wtype;
  IngotMatmulKernel batchKernel; ///< one head's matrix; null: token by token
};
void ingot_op_per_head_matmul(IngotContext *ctx,
                              const struct IngotPerHeadMatmulArgs *args,
                              const float *x, int64_t nTokens, float *out,
                              uint8_t *scratch);
}

#endif // INGOT_OPLIB_OPLIB_H
