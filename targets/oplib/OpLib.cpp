//===- OpLib.cpp - The small-op library linked into model code ------------===//
//
// Compiled to LLVM bitcode at build time (no target flags) and linked into
// every model module by the compiler, which then optimizes it for the
// target. Numerics follow compiler/interp/ReferenceOps.cpp (itself matched
// to ggml) bit for bit, except attention outside models that route to
// experts (tiled, within float rounding; see "Attention in a faster
// order"): Q8_0 activation rounding, rope with YaRN, RMS norm
// summed in double, ggml_v_expf in softmax and SiLU/SwiGLU, ggml's softmax
// block sums, attention weighted sums in ggml's mul_mat lane order over the
// KV row padded to 256 cells, MoE routing with groups, and F32/F16 weights
// computed here (ggml_vec_dot_f32 order, or tinyBLAS's for batches) rather
// than by the generated kernels, as are the quantized weights of the ggml
// dot path (compiler/ggml/GGMLDot.h, the interpreter's own arithmetic).
// Nothing here allocates.
//
//===----------------------------------------------------------------------===//
#include "targets/oplib/OpLib.h"
#include "compiler/ggml/GGMLArithmetic.h"
#include "compiler/ggml/GGMLDot.h"
#include "compiler/ggml/GGMLTypes.h"
#include "targets/oplib/KVCacheLayout.h"
#include "targets/oplib/MoEBatchLayout.h"
#include "targets/oplib/OpLibLimits.h"

#include <float.h>
#include <math.h>
#include <string.h>

// Bit-exact agreement with the reference needs every multiply-add rounded as
// written: no contraction into fma (the build also passes -ffp-contract=off).
#pragma clang fp contract(off)

namespace {

// Bounds of the fixed-size stack scratch below; the dialect's verifiers
// refuse every op beyond them.
using ingot::oplib::kMaxExperts;
using ingot::oplib::kMaxHeadWidth;
using ingot::oplib::kMaxKeyWidth;
using ingot::oplib::kMaxRopePairs;

using ingot::ggml::floatToHalf;
using ingot::ggml::halfToFloat;
using ingot::ggml::kLanes;
using ingot::ggml::loadHalf;
using ingot::ggml::reduceLanes;
using ingot::ggml::useSgemmF32;
using ingot::ggml::vecDotF32;
using ingot::ggml::vExpf;
using WeightType = ingot::ggml::Type;

/// The ggml type of a weight as the lowered code passes it.
inline WeightType weightType(int32_t wtype) { return (WeightType)wtype; }

float roundHalf(float x) { return halfToFloat(floatToHalf(x)); }

/// One block of 32 values as Q8_0: the F16-rounded max|x|/127 into *d, the
/// values scaled by 127/max and rounded to nearest even into q.
void quantizeBlockQ8(const float *x, int8_t *q, float *d) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j)
    amax = fmaxf(amax, fabsf(x[j]));
  *d = roundHalf(amax / 127.0f);
  float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  for (int j = 0; j < 32; ++j)
    q[j] = (int8_t)nearbyintf(x[j] * id);
}

/// One block of 256 values as ggml's Q8_K (ggml::quantizeQ8_KValues): its
/// quants into q and its scale into d[0..7], the slots of its 32-blocks.
void quantizeBlockQ8K(const float *x, int8_t *q, float *d) {
  const float scale = ingot::ggml::quantizeQ8_KValues(x, q);
  for (int j = 0; j < 8; ++j)
    d[j] = scale;
}

/// One activation block (kernelActivationBlock values) for the kernels of
/// weight type `type`: quants into q, scales into d (one per 32 values).
inline void quantizeKernelBlock(WeightType type, const float *x, int8_t *q,
                                float *d) {
  if (ingot::ggml::kernelActivationBlock(type) == 256)
    quantizeBlockQ8K(x, q, d);
  else
    quantizeBlockQ8(x, q, d);
}

/// The scale RMS normalisation multiplies a group of n values by:
/// 1 / sqrt(mean(x^2) + eps), the squares summed in double as ggml does.
inline float rmsNormScale(const float *x, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i)
    sum += (double)(x[i] * x[i]);
  return 1.0f / sqrtf((float)(sum / (double)n) + eps);
}

/// One normalised value; the op and the fused prologue both use this
/// product, in this order, so they agree bit for bit.
inline float rmsNormed(float x, float scale, float weight) {
  return x * scale * weight;
}

//===----------------------------------------------------------------------===//
// ggml's F32 arithmetic (x86 AVX-512 build), lane by lane, as the reference
// interpreter does it (compiler/ggml/GGMLArithmetic.h). The file is compiled
// with floating-point contraction off: every fma below is explicit.
//===----------------------------------------------------------------------===//

using Vec16 = float __attribute__((ext_vector_type(16)));
using Lanes16 = int32_t __attribute__((ext_vector_type(16)));

inline Vec16 loadVec(const float *p) {
  Vec16 v;
  memcpy(&v, p, sizeof v);
  return v;
}
inline void storeVec(float *p, Vec16 v) { memcpy(p, &v, sizeof v); }
inline Vec16 fmaVec(Vec16 a, Vec16 b, Vec16 c) {
  return __builtin_elementwise_fma(a, b, c);
}

constexpr int kVecSlots = 64; // ggml_vec_dot_f32: 4 accumulators x 16
constexpr int64_t kMaxGranule = 16;
// Probabilities kept on the stack per attention row; longer rows recompute
// their scores instead (same values, no buffer needed).
constexpr int64_t kProbBuffer = 4096;
// Value dims summed per pass of attendRowHalfValues (stack: this many
// doubles).
constexpr int64_t kSumTile = 256;

/// silu of x[i] in a row of n: ggml_v_expf for the whole blocks of 16,
/// expf for the tail.
inline float siluAt(const float *x, int64_t i, int64_t n) {
  const float v = x[i];
  const float e = i < (n & ~int64_t(kLanes - 1)) ? vExpf(-v) : expf(-v);
  return v / (1.0f + e);
}

/// g[i] = silu(g[i]) * u[i] for i in [begin, end) of a row of n values,
/// each as siluAt(g, i, n) * u[i]; the columns of the row's whole blocks of
/// 16 in a loop of their own, which the target's vector code runs (vExpf
/// has no branches; g is read and written at the same index only).
inline void swigluInPlace(float *g, const float *u, int64_t begin, int64_t end,
                          int64_t n) {
  const int64_t vecEnd = n & ~int64_t(kLanes - 1);
  const int64_t mid = end < vecEnd ? end : vecEnd;
  for (int64_t i = begin; i < mid; ++i) {
    const float v = g[i];
    g[i] = v / (1.0f + vExpf(-v)) * u[i];
  }
  for (int64_t i = mid > begin ? mid : begin; i < end; ++i)
    g[i] = siluAt(g, i, n) * u[i];
}

/// ggml's soft_max on a row of n values (scale 1, width n): blocks of 16
/// with ggml_v_expf and lane-reduced block sums added in double, expf for
/// the tail, then times (float)(1 / sum).
void softmaxRow(float *x, int64_t n) {
  float maxv = -INFINITY;
  for (int64_t i = 0; i < n; ++i)
    maxv = fmaxf(maxv, x[i]);
  double sum = 0.0;
  const int64_t vecEnd = n & ~int64_t(kLanes - 1);
  for (int64_t c = 0; c < vecEnd; c += kLanes) {
    float lanes[kLanes];
    for (int l = 0; l < kLanes; ++l)
      x[c + l] = lanes[l] = vExpf(x[c + l] - maxv);
    sum += (double)reduceLanes(lanes);
  }
  for (int64_t i = vecEnd; i < n; ++i) {
    x[i] = expf(x[i] - maxv);
    sum += (double)x[i];
  }
  const float inv = (float)(1.0 / sum);
  for (int64_t i = 0; i < n; ++i)
    x[i] *= inv;
}

/// A whole group of G F32 rows of floatRows: the same sums in the same
/// order, the accumulators kept slot-major (acc[s] holds slot s of the G
/// rows) so that each k is one G-lane fma. Explicit vectors: the bitcode is
/// optimized for no particular CPU first, where the G scalar fmas get
/// unrolled but not vectorized, and stay scalar for the target.
template <int64_t G>
void floatGroupF32(const float *w, int64_t K, const float *x, bool sgemm,
                   float *y) {
  typedef float Rows __attribute__((ext_vector_type(G)));
  const int64_t period = sgemm ? kLanes : kVecSlots;
  const int64_t np = sgemm ? K : (K & ~int64_t(kVecSlots - 1));
  Rows acc[kVecSlots];
  for (int64_t s = 0; s < kVecSlots; ++s)
    acc[s] = 0.0f;
  for (int64_t k0 = 0; k0 < np; k0 += period)
    for (int64_t s = 0; s < period; ++s) {
      Rows wk;
      memcpy(&wk, w + (k0 + s) * G, sizeof(wk));
      acc[s] = __builtin_elementwise_fma(wk, (Rows)x[k0 + s], acc[s]);
    }
  for (int64_t i = 0; i < G; ++i) {
    float slots[kVecSlots];
    for (int64_t s = 0; s < kVecSlots; ++s)
      slots[s] = acc[s][i];
    float sum = sgemm ? reduceLanes(slots)
                      : ingot::ggml::reduceVecDotAccumulators(
                            (const float (*)[kLanes])slots);
    for (int64_t k = np; k < K; ++k)
      sum = fmaf(w[k * G + i], x[k], sum);
    y[i] = sum;
  }
}

/// F32 / F16 / BF16 weights in the kernels' packed layout (groups of G
/// rows; per k the G values of the group, BF16 per pair of k a dword per
/// row), computed in the reference order instead of the generated kernels':
/// F32 as ggml_vec_dot_f32, or tinyBLAS's 16 lanes when `sgemm`; F16 and
/// BF16 summed in double (x already rounded to F16 / BF16).
/// y[r] = W[r] . x for r in [begin, end).
void floatRows(const uint8_t *packed, int32_t wtype, int64_t K, int64_t G,
               const float *x, bool sgemm, float *y, int64_t begin,
               int64_t end) {
  const int64_t elem = weightType(wtype) == WeightType::F32 ? 4 : 2;
  const int64_t groupBytes = weightType(wtype) == WeightType::BF16
                                 ? (K + 1) / 2 * G * 4
                                 : K * G * elem;
  for (int64_t r0 = begin; r0 < end;) {
    const int64_t g = r0 / G, first = r0 - g * G;
    const int64_t last = (g + 1) * G < end ? G : end - g * G;
    const uint8_t *base = packed + g * groupBytes;
    if (weightType(wtype) == WeightType::BF16) {
      double acc[kMaxGranule] = {};
      for (int64_t k = 0; k < K; ++k) {
        const uint8_t *w = base + (k / 2 * G * 2 + k % 2) * 2;
        for (int64_t i = first; i < last; ++i) {
          const uint16_t bits = (uint16_t)(w[4 * i] | w[4 * i + 1] << 8);
          acc[i] += (double)(ingot::ggml::bf16ToFloat(bits) * x[k]);
        }
      }
      for (int64_t i = first; i < last; ++i)
        y[g * G + i] = (float)acc[i];
    } else if (weightType(wtype) == WeightType::F16) {
      double acc[kMaxGranule] = {};
      for (int64_t k = 0; k < K; ++k) {
        const uint8_t *w = base + k * G * 2;
        for (int64_t i = first; i < last; ++i)
          acc[i] += (double)(loadHalf(w + 2 * i) * x[k]);
      }
      for (int64_t i = first; i < last; ++i)
        y[g * G + i] = (float)acc[i];
    } else if (first == 0 && last == G && (G == 16 || G == 8)) {
      // Whole groups of the avx512vnni (16) and avx2 (8) layouts.
      if (G == 16)
        floatGroupF32<16>((const float *)base, K, x, sgemm, y + g * G);
      else
        floatGroupF32<8>((const float *)base, K, x, sgemm, y + g * G);
    } else {
      const float *w = (const float *)base;
      const int64_t period = sgemm ? kLanes : kVecSlots;
      const int64_t np = sgemm ? K : (K & ~int64_t(kVecSlots - 1));
      float acc[kMaxGranule][kVecSlots];
      for (int64_t i = first; i < last; ++i)
        for (int s = 0; s < kVecSlots; ++s)
          acc[i][s] = 0.0f;
      for (int64_t k0 = 0; k0 < np; k0 += period)
        for (int64_t s = 0; s < period; ++s) {
          const float *wk = w + (k0 + s) * G;
          const float xk = x[k0 + s];
          for (int64_t i = first; i < last; ++i)
            acc[i][s] = fmaf(wk[i], xk, acc[i][s]);
        }
      for (int64_t i = first; i < last; ++i) {
        // Slot s = 16 * accumulator + lane, as ggml_vec_dot_f32's registers.
        float sum = sgemm ? reduceLanes(acc[i])
                          : ingot::ggml::reduceVecDotAccumulators(
                                (const float (*)[kLanes])acc[i]);
        for (int64_t k = np; k < K; ++k)
          sum = fmaf(w[k * G + i], x[k], sum);
        y[g * G + i] = sum;
      }
    }
    r0 = g * G + last;
  }
}

inline bool isFloatType(int32_t wtype) {
  return weightType(wtype) == WeightType::F32 ||
         weightType(wtype) == WeightType::F16 ||
         weightType(wtype) == WeightType::BF16;
}

//===----------------------------------------------------------------------===//
// The ggml dot path: quantized weights on the plain path (no generated
// kernel), as models that keep ggml's order read the types whose generated
// kernels do not compute as ggml does (ggml::takesGgmlDotPath). The weights
// are the GGUF rows as they are; the activations are rounded to the type's
// vec_dot_type (Q8_0, Q8_1 or Q8_K blocks) and each product is the one of
// the ggml x86 kernel that llama.cpp runs for it (ggml::ggmlKernel: for
// Q4_K, repacked gemv or, for the leading groups of four tokens of a batch,
// gemm), so the results are the interpreter's, bit for bit.
//===----------------------------------------------------------------------===//

/// Whether a weight of `wtype` multiplied with `kernel` (null: the plain
/// path) is read by the ggml dot path.
inline bool onGgmlDot(int32_t wtype, const void *kernel) {
  return !kernel && !isFloatType(wtype);
}

/// Bytes of one activation row of k values for a weight of `wtype`: the ggml
/// dot path's blocks when `dot`, else as its kernels read it.
int64_t activationBytes(int32_t wtype, bool dot, int64_t k) {
  return dot ? ingot::ggml::dotActivationRowBytes(weightType(wtype), k)
             : ingot_op_activation_bytes(wtype, k);
}

/// ingot_op_prepare_activations, or with `dot` the ggml dot path's rounding.
void prepareActivations(int32_t wtype, bool dot, const float *x, int64_t rows,
                        int64_t k, int64_t xStride, uint8_t *act) {
  if (!dot) {
    ingot_op_prepare_activations(wtype, x, rows, k, xStride, act);
    return;
  }
  const int64_t bytes = activationBytes(wtype, true, k);
  for (int64_t r = 0; r < rows; ++r)
    ingot::ggml::quantizeDotActivations(weightType(wtype), x + r * xStride, k,
                                        act + r * bytes);
}

/// Bytes one row of `cols` weights of `wtype` takes (as stored in the GGUF;
/// the packed layouts differ only by padding).
int64_t weightRowBytes(int32_t wtype, int64_t cols) {
  const ingot::ggml::TypeInfo &info =
      ingot::ggml::getTypeInfo(weightType(wtype));
  return cols / info.blockElements * info.blockBytes;
}

/// Rows [begin, end) of one matrix of `matrixRows` rows of `cols` values (the
/// GGUF rows) times the activation row `act` of token `token` of a batch of
/// `nTokens` (1 for an expert's or a head's matrix: ggml's mul_mat_id and
/// per-head products run gemv), into y.
void ggmlDotRows(const uint8_t *matrix, int32_t wtype, int64_t cols,
                 int64_t matrixRows, const uint8_t *act, int64_t token,
                 int64_t nTokens, float *y, int64_t begin, int64_t end) {
  const WeightType type = weightType(wtype);
  const int64_t rowBytes = weightRowBytes(wtype, cols);
  const ingot::ggml::DotKernel kernel =
      ingot::ggml::ggmlKernel(type, matrixRows, token, nTokens);
  ingot::ggml::quantizedDotRows(type, matrix, rowBytes, begin, end, act, cols,
                                kernel, y);
}

// How parallel ops are cut into chunks (the contract is in OpLib.h). Each
// thread claims chunks one at a time, so more chunks than threads let the
// others take over the share of a thread that is slow or descheduled; each
// claim is one contended atomic, so a chunk should carry enough work to
// hide it.
constexpr int64_t kChunksPerThread = 8;
constexpr int64_t kMinChunkWorkBytes = 32 << 10;
/// Fewest tokens a parallel chunk of MoE routing takes.
constexpr int64_t kMinRouteTokens = 4;
/// Output rows per cache line of f32 results.
constexpr int64_t kRowsPerLine = 64 / 4;

int64_t parallelThreads(const IngotContext *ctx) {
  return ctx && ctx->n_threads > 1 ? ctx->n_threads : 1;
}

/// How many chunks `units` independent units of work, `workBytes` in all
/// (bytes read, times tokens where each token reads them again), are cut
/// into: kChunksPerThread per thread, fewer when a chunk would do less than
/// kMinChunkWorkBytes, but never fewer than the threads (a single thread
/// takes the whole op as one chunk) and never more than the units.
int64_t chunkCount(const IngotContext *ctx, int64_t units, int64_t workBytes) {
  const int64_t threads = parallelThreads(ctx);
  if (threads == 1 || units <= 1)
    return 1;
  int64_t chunks = workBytes / kMinChunkWorkBytes;
  if (chunks > threads * kChunksPerThread)
    chunks = threads * kChunksPerThread;
  if (chunks < threads)
    chunks = threads;
  return chunks < units ? chunks : units;
}

/// The rows a chunk of an op computing `granule` rows at a time is a
/// multiple of: whole granules and whole cache lines of f32 output (so no
/// two chunks write the same line of a token's output).
int64_t chunkRowUnit(int64_t granule) {
  int64_t a = granule, b = kRowsPerLine;
  while (b != 0) {
    const int64_t r = a % b;
    a = b;
    b = r;
  }
  return granule / a * kRowsPerLine;
}

/// Rows per chunk of an op over `rows` output rows computed `granule` at a
/// time: a multiple of chunkRowUnit(granule).
int64_t chunkRowsFor(const IngotContext *ctx, int64_t rows, int64_t granule,
                     int64_t workBytesPerRow) {
  const int64_t unit = chunkRowUnit(granule);
  const int64_t units = (rows + unit - 1) / unit;
  const int64_t chunks = chunkCount(ctx, units, rows * workBytesPerRow);
  return (units + chunks - 1) / chunks * unit;
}

struct MatmulTask {
  IngotMatmulKernel kernel;
  const void *packed;
  const void *act;
  float *y;
  int64_t nTokens, rows, granule;
  int32_t wtype;
  int64_t cols;
  int64_t chunkRows; ///< set by parallelRows
};

/// Output rows [begin, end) of a matmul task.
void matmulRows(const MatmulTask &a, int64_t begin, int64_t end) {
  if (onGgmlDot(a.wtype, (const void *)a.kernel)) {
    ingot::ggml::quantizedDotBatch(
        weightType(a.wtype), (const uint8_t *)a.packed,
        weightRowBytes(a.wtype, a.cols), a.rows, begin, end,
        (const uint8_t *)a.act, activationBytes(a.wtype, true, a.cols),
        a.nTokens, /*oneRowEach=*/false, a.cols, a.y, a.rows);
    return;
  }
  // Quantized, F16 and BF16 weights of models that do not keep ggml's
  // order have a generated kernel; F32 (and the others in models that do)
  // take the plain path.
  if (a.kernel) {
    a.kernel(a.packed, a.act, a.y, a.nTokens, begin, end);
    return;
  }
  const bool sgemm = useSgemmF32(a.rows, a.nTokens, a.cols);
  const int64_t actBytes = ingot_op_activation_bytes(a.wtype, a.cols);
  for (int64_t t = 0; t < a.nTokens; ++t)
    floatRows((const uint8_t *)a.packed, a.wtype, a.cols, a.granule,
              (const float *)((const uint8_t *)a.act + t * actBytes), sgemm,
              a.y + t * a.rows, begin, end);
}

struct ExpertTask {
  IngotExpertKernel kernel;
  const void *stack;
  int64_t stride;
  const int32_t *ids;
  int64_t nIds;
  const void *act;
  int64_t actStride;
  float *y;
  int64_t rows, granule;
  int32_t wtype;
  int64_t cols;
  int64_t chunkRows; ///< set by parallelRows
};

/// Output rows [begin, end) of an expert task, for each of its ids.
void expertRows(const ExpertTask &a, int64_t begin, int64_t end) {
  if (onGgmlDot(a.wtype, (const void *)a.kernel)) {
    for (int64_t j = 0; j < a.nIds; ++j)
      ggmlDotRows((const uint8_t *)a.stack + a.ids[j] * a.stride, a.wtype,
                  a.cols, a.rows, (const uint8_t *)a.act + j * a.actStride, 0,
                  1, a.y + j * a.rows, begin, end);
    return;
  }
  if (a.kernel) {
    a.kernel(a.stack, a.stride, a.ids, a.nIds, a.act, a.actStride, a.y, begin,
             end);
    return;
  }
  // One token per id: ggml_vec_dot_f32 order.
  for (int64_t j = 0; j < a.nIds; ++j)
    floatRows((const uint8_t *)a.stack + a.ids[j] * a.stride, a.wtype, a.cols,
              a.granule,
              (const float *)((const uint8_t *)a.act + j * a.actStride), false,
              a.y + j * a.rows, begin, end);
}

/// The thread-pool entry of a row-split task: runs `rowsOf` on the output
/// rows of chunk `chunk`, [chunk * chunkRows, +chunkRows) clipped to the
/// rows (whole granules, see chunkRowsFor).
template <typename Task, void (*rowsOf)(const Task &, int64_t, int64_t)>
void runTask(void *args, int32_t chunk, int32_t nChunks) {
  (void)nChunks;
  const Task &a = *(const Task *)args;
  const int64_t begin = chunk * a.chunkRows;
  const int64_t end =
      begin + a.chunkRows < a.rows ? begin + a.chunkRows : a.rows;
  if (begin < end)
    rowsOf(a, begin, end);
}

/// An ingot.fused_matmul dispatch: rows are the segments' rows one after
/// another, each segment padded to whole granules so that every chunk a
/// task gets starts on a granule of its segment; with SwiGLU, the gate's
/// rows (up's are the same rows).
struct FusedMatmulTask {
  const IngotFusedMatmulArgs *args;
  const void *act;
  int64_t nTokens, rows, granule;
  int64_t chunkRows; ///< set by parallelRows
};

/// Segment s as the single matmul it was before fusion.
MatmulTask segmentTask(const FusedMatmulTask &a, int64_t s) {
  const IngotFusedMatmulArgs &f = *a.args;
  const IngotFusedSegment &seg = f.segments[s];
  return {seg.kernel, seg.packed, a.act,   seg.y, a.nTokens,
          seg.rows,   f.granule,  f.wtype, f.cols};
}

/// Rows [begin, end) of segment s: its kernel, then its bias.
void segmentRows(const FusedMatmulTask &a, int64_t s, float *y, int64_t begin,
                 int64_t end) {
  MatmulTask task = segmentTask(a, s);
  task.y = y;
  matmulRows(task, begin, end);
  if (const float *bias = a.args->segments[s].bias)
    for (int64_t t = 0; t < a.nTokens; ++t)
      for (int64_t r = begin; r < end; ++r)
        y[t * task.rows + r] += bias[r];
}

/// Rows [begin, end) of the fused row space, epilogues included.
void fusedRows(const FusedMatmulTask &a, int64_t begin, int64_t end) {
  const IngotFusedMatmulArgs &f = *a.args;
  if (f.swigluUp) {
    const int64_t width = f.segments[0].rows;
    float *gate = f.segments[0].y;
    segmentRows(a, 0, gate, begin, end);
    segmentRows(a, 1, f.swigluUp, begin, end);
    // As ingot_op_swiglu: silu's exp depends on the column in the row.
    for (int64_t t = 0; t < a.nTokens; ++t) {
      float *g = gate + t * width;
      swigluInPlace(g, f.swigluUp + t * width, begin, end, width);
    }
    return;
  }
  int64_t first = 0;
  for (int64_t s = 0; s < f.count && first < end; ++s) {
    const IngotFusedSegment &seg = f.segments[s];
    const int64_t lo = begin > first ? begin - first : 0;
    const int64_t hi = end - first < seg.rows ? end - first : seg.rows;
    if (lo < hi) {
      segmentRows(a, s, seg.y, lo, hi);
      if (f.residual)
        for (int64_t t = 0; t < a.nTokens; ++t)
          for (int64_t r = lo; r < hi; ++r)
            seg.y[t * seg.rows + r] += f.residual[t * seg.rows + r];
    }
    first += (seg.rows + f.granule - 1) / f.granule * f.granule;
  }
}

/// Whether a fused op's segments (one type, all generated or none) are read
/// by the ggml dot path.
inline bool fusedOnGgmlDot(const IngotFusedMatmulArgs &f) {
  return onGgmlDot(f.wtype, (const void *)f.segments[0].kernel);
}

/// The fused op's input prepared for its kernels. With a norm prologue each
/// token row is normalised block by block, exactly as ingot_op_rms_norm
/// computes it, and rounded at once as quantizeKernelBlock does (the
/// weights' type readsQ8Activations).
void prepareFusedInput(const IngotFusedMatmulArgs &f, const float *x,
                       int64_t nTokens, uint8_t *act) {
  if (!f.normScale) {
    prepareActivations(f.wtype, fusedOnGgmlDot(f), x, nTokens, f.cols, f.cols,
                       act);
    return;
  }
  const int64_t bytes = ingot_op_activation_bytes(f.wtype, f.cols);
  const WeightType type = weightType(f.wtype);
  const int64_t n = ingot::ggml::kernelActivationBlock(type);
  for (int64_t t = 0; t < nTokens; ++t) {
    const float *xr = x + t * f.cols;
    const float scale = rmsNormScale(xr, f.cols, f.normEps);
    int8_t *q = (int8_t *)(act + t * bytes);
    float *d = (float *)(q + f.cols);
    for (int64_t b = 0; b < f.cols / n; ++b) {
      float block[256];
      for (int64_t j = 0; j < n; ++j)
        block[j] = rmsNormed(xr[b * n + j], scale, f.normScale[b * n + j]);
      quantizeKernelBlock(type, block, q + b * n, d + b * n / 32);
    }
  }
}

/// Runs `rowsOf` over all of task.rows on the thread pool, cut into chunks
/// of task.chunkRows (chosen here; each row reads `workBytesPerRow`).
template <typename Task, void (*rowsOf)(const Task &, int64_t, int64_t)>
void parallelRows(IngotContext *ctx, Task &task, int64_t workBytesPerRow) {
  task.chunkRows = chunkRowsFor(ctx, task.rows, task.granule, workBytesPerRow);
  const int64_t chunks = (task.rows + task.chunkRows - 1) / task.chunkRows;
  ingot_rt_parallel(ctx, runTask<Task, rowsOf>, &task, (int32_t)chunks);
}

/// Chunk `chunk` of `items` items cut into chunks of `perChunk`.
inline void itemRange(int64_t items, int64_t perChunk, int32_t chunk,
                      int64_t &begin, int64_t &end) {
  begin = chunk * perChunk;
  end = begin + perChunk < items ? begin + perChunk : items;
}

/// prepareFusedInput over the tokens in parallel: each chunk prepares its
/// own token rows with the same per-token code, so the bits do not depend
/// on the chunking.
struct PrepareFusedTask {
  const IngotFusedMatmulArgs *args;
  const float *x;
  uint8_t *act;
  int64_t nTokens, tokensPerChunk;
};

void prepareFusedChunk(void *p, int32_t chunk, int32_t nChunks) {
  (void)nChunks;
  const PrepareFusedTask &t = *(const PrepareFusedTask *)p;
  int64_t begin, end;
  itemRange(t.nTokens, t.tokensPerChunk, chunk, begin, end);
  if (begin >= end)
    return;
  const int64_t cols = t.args->cols;
  prepareFusedInput(*t.args, t.x + begin * cols, end - begin,
                    t.act + begin * activationBytes(t.args->wtype,
                                                    fusedOnGgmlDot(*t.args),
                                                    cols));
}

void prepareFusedInputParallel(IngotContext *ctx, const IngotFusedMatmulArgs &f,
                               const float *x, int64_t nTokens, uint8_t *act) {
  // A token's prologue reads its row (and the norm scale) once: 4 bytes a
  // column of work.
  const int64_t chunks = chunkCount(ctx, nTokens, nTokens * f.cols * 4);
  if (chunks <= 1) {
    prepareFusedInput(f, x, nTokens, act);
    return;
  }
  PrepareFusedTask task = {&f, x, act, nTokens,
                           (nTokens + chunks - 1) / chunks};
  ingot_rt_parallel(
      ctx, prepareFusedChunk, &task,
      (int32_t)((nTokens + task.tokensPerChunk - 1) / task.tokensPerChunk));
}

/// W x 16 consecutive value dims of a weighted sum.
template <int W> struct ValueTile {
  Vec16 v[W];
  static ValueTile zero() {
    ValueTile t;
    for (int i = 0; i < W; ++i)
      t.v[i] = Vec16(0.0f);
    return t;
  }
  /// this = fma(p, src, this), dim by dim.
  void fmaFrom(float p, const float *src) {
    for (int i = 0; i < W; ++i)
      v[i] = fmaVec(Vec16(p), loadVec(src + 16 * i), v[i]);
  }
  void store(float *dst) const {
    for (int i = 0; i < W; ++i)
      storeVec(dst + 16 * i, v[i]);
  }
  friend ValueTile operator+(const ValueTile &a, const ValueTile &b) {
    ValueTile t;
    for (int i = 0; i < W; ++i)
      t.v[i] = a.v[i] + b.v[i];
    return t;
  }
};

/// One value dim of a weighted sum (the dims past the last whole tile).
struct ValueDim {
  float v;
  static ValueDim zero() { return {0.0f}; }
  void fmaFrom(float p, const float *src) { v = fmaf(p, *src, v); }
  void store(float *dst) const { *dst = v; }
  friend ValueDim operator+(ValueDim a, ValueDim b) { return {a.v + b.v}; }
};

/// The dims [d0, d0 + width of Tile) of out[d] = sum_j prob(j) * value(j)[d]
/// for j < nKV, summed as ggml's mul_mat(v, kq): cell j goes to slot j mod
/// period (period: tinyBLAS's 16 lanes when `sgemm`, ggml_vec_dot_f32's 64
/// slots otherwise), each slot an fma chain from 0 over its cells, and the
/// slots are added in ggml's tree: per lane l, (acc0 + acc2) + (acc1 +
/// acc3) with acc_k slot 16k + l (tinyBLAS: its one accumulator), then
/// reduceLanes (t_i = l_i + l_{i+8}, s_i = t_i + t_{i+4}, (s0 + s2) + (s1 +
/// s3), ggml::reduceLanes). The cells are visited in order (the slots' sums
/// on the stack), so the cache rows are read one after another, not 64
/// apart.
template <typename Tile, typename ProbFn, typename ValueFn>
void weightedSumTile(int64_t nKV, bool sgemm, ProbFn prob, ValueFn value,
                     int64_t d0, float *out) {
  const int64_t period = sgemm ? kLanes : kVecSlots;
  Tile slots[kVecSlots];
  for (int64_t i = 0; i < period; ++i)
    slots[i] = Tile::zero();
  for (int64_t j = 0, i = 0; j < nKV; ++j) {
    slots[i].fmaFrom(prob(j), value(j) + d0);
    if (++i == period)
      i = 0;
  }
  if (sgemm) {
    reduceLanes(slots).store(out + d0);
    return;
  }
  Tile lanes[kLanes];
  for (int l = 0; l < kLanes; ++l)
    lanes[l] = (slots[l] + slots[32 + l]) + (slots[16 + l] + slots[48 + l]);
  reduceLanes(lanes).store(out + d0);
}

/// out[d] = sum_j prob(j) * value(j)[d] for j < nKV in ggml's order
/// (weightedSumTile), 32 dims at a time, then one at a time. Each pass
/// calls prob(j) once per cell; rows longer than softmaxRowThen's buffer
/// recompute a score per call, so those take 128 dims a pass first (a
/// 128-wide head: one score per cell, as with a buffer).
template <typename ProbFn, typename ValueFn>
void weightedSumF32(int64_t nKV, bool sgemm, ProbFn prob, ValueFn value,
                    int64_t dim, float *out) {
  int64_t d0 = 0;
  if (nKV > kProbBuffer)
    for (; d0 + 128 <= dim; d0 += 128)
      weightedSumTile<ValueTile<8>>(nKV, sgemm, prob, value, d0, out);
  for (; d0 + 32 <= dim; d0 += 32)
    weightedSumTile<ValueTile<2>>(nKV, sgemm, prob, value, d0, out);
  for (; d0 < dim; ++d0)
    weightedSumTile<ValueDim>(nKV, sgemm, prob, value, d0, out);
}

/// The softmax of one attention row as ReferenceOps does it: scores s_j =
/// scale * score(j) for j < nKV, ggml's soft_max over a row of
/// paddedKV(nKV) cells (the padding masked); then calls weigh(prob) with
/// prob(j) giving p_j. Scores are kept on the stack when they fit,
/// recomputed otherwise.
template <typename ScoreFn, typename WeighFn>
void softmaxRowThen(int64_t nKV, float scale, ScoreFn score, WeighFn weigh) {
  float probs[kProbBuffer];
  const bool buffered = nKV <= kProbBuffer;
  float maxv = -INFINITY;
  for (int64_t j = 0; j < nKV; ++j) {
    float s = score(j) * scale;
    if (buffered)
      probs[j] = s;
    maxv = fmaxf(maxv, s);
  }
  // The padded row width is a multiple of 256, so every cell < nKV lies in
  // a whole block of 16: all use ggml_v_expf.
  double sum = 0.0;
  for (int64_t c = 0; c < nKV; c += kLanes) {
    float lanes[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      const int64_t j = c + l;
      if (j < nKV) {
        float e = vExpf((buffered ? probs[j] : score(j) * scale) - maxv);
        lanes[l] = e;
        if (buffered)
          probs[j] = e;
      } else {
        lanes[l] = 0.0f;
      }
    }
    sum += (double)reduceLanes(lanes);
  }
  const float inv = (float)(1.0 / sum);
  if (buffered)
    for (int64_t j = 0; j < nKV; ++j)
      probs[j] *= inv;
  auto prob = [&](int64_t j) {
    return buffered ? probs[j] : vExpf(score(j) * scale - maxv) * inv;
  };
  weigh(prob);
}

/// One attention row (one token, one head): the softmax, then the values
/// weighted by weightedSumF32.
template <typename ScoreFn, typename ValueFn>
void attendRow(int64_t nKV, float scale, bool sgemm, ScoreFn score,
               ValueFn value, int64_t dim, float *out) {
  softmaxRowThen(nKV, scale, score, [&](auto prob) {
    weightedSumF32(nKV, sgemm, prob, value, dim, out);
  });
}

/// The same with F16 values (an MLA cache of F16 keys, whose latent part
/// the values are): the reference multiplies them with the probabilities
/// rounded to F16, each product summed in double as its F16 products are.
template <typename ScoreFn>
void attendRowHalfValues(int64_t nKV, float scale, ScoreFn score,
                         const uint8_t *values, int64_t valueStride,
                         int64_t dim, float *out) {
  softmaxRowThen(nKV, scale, score, [&](auto prob) {
    for (int64_t d0 = 0; d0 < dim; d0 += kSumTile) {
      const int64_t dn = dim - d0 < kSumTile ? dim - d0 : kSumTile;
      double sums[kSumTile];
      for (int64_t d = 0; d < dn; ++d)
        sums[d] = 0.0;
      for (int64_t j = 0; j < nKV; ++j) {
        const float p = roundHalf(prob(j));
        const uint8_t *v = values + j * valueStride + 2 * d0;
        for (int64_t d = 0; d < dn; ++d)
          sums[d] += (double)(loadHalf(v + 2 * d) * p);
      }
      for (int64_t d = 0; d < dn; ++d)
        out[d0 + d] = (float)sums[d];
    }
  });
}

/// llama.cpp pads the KV cells an attention step sees to a multiple of 256.
inline int64_t paddedKV(int64_t nKV) { return (nKV + 255) / 256 * 256; }

/// The cache row of token t's sequence's position 0 (ModelABI.h).
inline int64_t sequenceStart(const int32_t *starts, int64_t t) {
  return starts ? starts[t] : 0;
}

/// The most keys a token of the batch attends (its position + 1): the last
/// token's for one sequence, whose positions ascend.
int64_t mostKeys(const int32_t *positions, int64_t nTokens) {
  int64_t most = 0;
  for (int64_t t = 0; t < nTokens; ++t)
    most = positions[t] + 1 > most ? positions[t] + 1 : most;
  return most;
}

/// A layer's cache as ingot_op_attention and ingot_op_mla_core read it:
/// rows of KVCacheLayout.h's layout for the key type the runtime chose.
struct CacheRows {
  const uint8_t *base; ///< row 0 of the layer
  int32_t keyType;     ///< IngotKVKeyType
  int64_t rowBytes, keyHeadBytes, keyBytes;

  const uint8_t *key(int64_t row, int64_t head) const {
    return base + row * rowBytes + head * keyHeadBytes;
  }
  /// Rows are a multiple of 4 bytes and the keys are padded to 4: the
  /// values are aligned floats.
  const float *values(int64_t row) const {
    return (const float *)(base + row * rowBytes + keyBytes);
  }
};

CacheRows cacheRows(const uint8_t *cache, int32_t keyType, int64_t kvHeads,
                    int64_t keyDim, int64_t valueDim) {
  const ingot::oplib::KVRowLayout<int64_t> row =
      ingot::oplib::kvRowLayout<int64_t>(keyType, kvHeads, keyDim, valueDim);
  return CacheRows{cache, keyType, row.rowBytes, row.keyHeadBytes,
                   row.keyBytes};
}

/// Writes n values as one key in the cache's key type: F32 as is, F16
/// rounded to nearest even, Q8_0 as ggml's quantize_row_q8_0 (the x86
/// rounding the reference's set_rows uses) into 34-byte blocks.
void storeKey(int32_t keyType, const float *x, int64_t n, uint8_t *out) {
  if (keyType == INGOT_KV_KEY_F32) {
    memcpy(out, x, n * 4);
  } else if (keyType == INGOT_KV_KEY_F16) {
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t h = floatToHalf(x[i]);
      memcpy(out + 2 * i, &h, 2);
    }
  } else {
    for (int64_t b = 0; b < n / 32; ++b) {
      ingot::ggml::DotBlockQ8_0 rounded;
      ingot::ggml::quantizeDotQ8_0(x + b * 32, 32, &rounded);
      uint8_t *block = out + b * ingot::oplib::kQ8BlockBytes;
      const uint16_t h = floatToHalf(rounded.d);
      memcpy(block, &h, 2);
      memcpy(block + 2, rounded.q, 32);
    }
  }
}

/// The first n values of one stored key as floats (MLA's values are the
/// latent part of its keys, which need not end on a block boundary).
void loadKey(int32_t keyType, const uint8_t *key, int64_t n, float *out) {
  if (keyType == INGOT_KV_KEY_F32) {
    memcpy(out, key, n * 4);
  } else if (keyType == INGOT_KV_KEY_F16) {
    for (int64_t i = 0; i < n; ++i)
      out[i] = loadHalf(key + 2 * i);
  } else {
    for (int64_t b = 0; b * 32 < n; ++b) {
      const uint8_t *block = key + b * ingot::oplib::kQ8BlockBytes;
      const float d = loadHalf(block);
      const int8_t *q = (const int8_t *)(block + 2);
      const int64_t count = n - b * 32 < 32 ? n - b * 32 : 32;
      for (int64_t i = 0; i < count; ++i)
        out[b * 32 + i] = d * (float)q[i];
    }
  }
}

/// A query head rounded as the reference multiplies it with keys of the
/// cache's type (the vec_dot_type of K: F32 as is, F16, or Q8_0 blocks).
struct PreparedQuery {
  int32_t keyType;
  int64_t n;
  const float *f32;
  float rounded[kMaxKeyWidth];
  ingot::ggml::DotBlockQ8_0 q8[kMaxKeyWidth / 32];
};

void prepareQuery(PreparedQuery &p, int32_t keyType, const float *x,
                  int64_t n) {
  p.keyType = keyType;
  p.n = n;
  p.f32 = x;
  if (keyType == INGOT_KV_KEY_F16)
    for (int64_t i = 0; i < n; ++i)
      p.rounded[i] = roundHalf(x[i]);
  else if (keyType == INGOT_KV_KEY_Q8_0)
    ingot::ggml::quantizeDotQ8_0(x, n, p.q8);
}

/// The unscaled score of a stored key, as the reference's K x Q product:
/// F32 as ggml_vec_dot_f32, F16 summed in double as the reference's F16
/// products, Q8_0 as ggml's Q8_0 x Q8_0 (GGMLDot.h, the interpreter's).
float scoreKey(const PreparedQuery &p, const uint8_t *key) {
  if (p.keyType == INGOT_KV_KEY_F32)
    return vecDotF32((const float *)key, p.f32, p.n);
  if (p.keyType == INGOT_KV_KEY_F16) {
    double sum = 0.0;
    for (int64_t i = 0; i < p.n; ++i)
      sum += (double)(loadHalf(key + 2 * i) * p.rounded[i]);
    return (float)sum;
  }
  return ingot::ggml::quantizedDot(WeightType::Q8_0, key, p.q8, p.n);
}

struct AttentionTask {
  const float *q;
  const int32_t *positions, *starts;
  CacheRows rows;
  int64_t nTokens, nHeads, nKVHeads, headDim, valueDim;
  float scale;
  float *out;
  int64_t itemsPerChunk; ///< items are (token, head) pairs, token-major
};

void runAttentionTask(void *argsVoid, int32_t chunk, int32_t nChunks) {
  (void)nChunks;
  AttentionTask *a = (AttentionTask *)argsVoid;
  const int64_t group = a->nHeads / a->nKVHeads;
  PreparedQuery query;
  int64_t begin, end;
  itemRange(a->nTokens * a->nHeads, a->itemsPerChunk, chunk, begin, end);
  for (int64_t item = begin; item < end; ++item) {
    int64_t t = item / a->nHeads, h = item % a->nHeads, kvh = h / group;
    prepareQuery(query, a->rows.keyType,
                 a->q + (t * a->nHeads + h) * a->headDim, a->headDim);
    const int64_t first = sequenceStart(a->starts, t);
    const int64_t nKV = a->positions[t] + 1;
    const bool sgemm = useSgemmF32(a->valueDim, a->nTokens, paddedKV(nKV));
    attendRow(
        nKV, a->scale, sgemm,
        [&](int64_t j) { return scoreKey(query, a->rows.key(first + j, kvh)); },
        [&](int64_t j) {
          return a->rows.values(first + j) + kvh * a->valueDim;
        },
        a->valueDim, a->out + (t * a->nHeads + h) * a->valueDim);
  }
}

//===----------------------------------------------------------------------===//
// Attention in a faster order (models that do not route to experts). The
// design allows the compiled binary any order within tolerance of
// llama.cpp's logits; the exact path above stays for routed models, whose
// near-tied expert choices follow every rounding upstream.
//
// A tile is up to 16 query rows (tokens x query heads of one KV head), one
// row per vector lane, so each cached key and value row is read once per
// tile and the scores of one key for all rows are one vector. The softmax
// is online (running max and sum per row, rescaled as blocks of 16 keys
// come in), so nothing scales with the context. A row's result does not
// depend on the other rows of its tile (a block a row sees no key of
// rescales it by exactly 1), so it is the same for any thread count.
//===----------------------------------------------------------------------===//

constexpr int64_t kTileRows = 16;
constexpr int64_t kKeyBlock = 16;
/// Widest key or value head the tiled path takes (its stack buffers are
/// 16 rows of this); wider heads take the exact path.
constexpr int64_t kTiledHeadWidth = 256;
/// Keys whose scores share one pass over the tile's queries.
constexpr int64_t kKeysPerPass = 4;
/// Value dims one pass of the weighted sum keeps in registers.
constexpr int64_t kValueLanes = 4 * 16;

inline Vec16 maxVec(Vec16 a, Vec16 b) {
  return __builtin_elementwise_max(a, b);
}
/// The lanes of v where `keep` is all ones, 0 elsewhere.
inline Vec16 keepLanes(Vec16 v, Lanes16 keep) {
  return (Vec16)((Lanes16)v & keep);
}

/// e^x for x <= 0 per lane: ggml_v_expf's range reduction and polynomial;
/// x is clamped to -87 first (about 1.6e-38), so 2^n stays a normal float
/// and no lane needs ggml's overflow handling.
inline Vec16 expNonPositive(Vec16 x) {
  x = maxVec(x, Vec16(-87.0f));
  const Vec16 shift = 0x1.8p23f;
  const Vec16 n = fmaVec(x, Vec16(0x1.715476p+0f), shift) - shift;
  const Vec16 b =
      fmaVec(-n, Vec16(0x1.7f7d1cp-20f), fmaVec(-n, Vec16(0x1.62e4p-1f), x));
  const Vec16 u = b * b;
  const Vec16 j =
      fmaVec(fmaVec(fmaVec(Vec16(0x1.0e4020p-7f), b, Vec16(0x1.573e2ep-5f)), u,
                    fmaVec(Vec16(0x1.555e66p-3f), b, Vec16(0x1.fffdb6p-2f))),
             u, fmaVec(Vec16(0x1.ffffecp-1f), b, Vec16(1.0f)));
  const Lanes16 scale = (__builtin_convertvector(n, Lanes16) + 127) << 23;
  return j * (Vec16)scale;
}

struct TiledAttentionTask {
  const float *q;
  const int32_t *positions, *starts;
  CacheRows rows;
  int64_t nTokens, nHeads, nKVHeads, headDim, valueDim;
  float scale;
  float *out;
  int64_t headsPerTile, tokensPerTile; ///< rows = heads x tokens <= 16
  int64_t headTiles;                   ///< head tiles per KV head
  int64_t tokenTiles;                  ///< token tiles of the batch
  int64_t tilesPerChunk;
};

/// One tile: query heads [h0, h0 + nh) (all reading KV head kvHead) of
/// tokens [t0, t0 + nt), all of one sequence; row r is head h0 + r % nh of
/// token t0 + r / nh.
void attendTile(const TiledAttentionTask &a, int64_t kvHead, int64_t h0,
                int64_t nh, int64_t t0, int64_t nt) {
  const int64_t rows = nh * nt;
  // Queries transposed (dim-major, a lane per row) and pre-scaled; lanes
  // past the tile's rows are 0 and see no keys.
  alignas(64) float queries[kTiledHeadWidth][kTileRows];
  alignas(64) float sums[kTileRows][kTiledHeadWidth];
  alignas(64) int32_t visible[kTileRows] = {};
  int64_t keys = 0;
  for (int64_t r = 0; r < kTileRows; ++r) {
    const float *qr = nullptr;
    if (r < rows) {
      const int64_t t = t0 + r / nh, h = h0 + r % nh;
      qr = a.q + (t * a.nHeads + h) * a.headDim;
      visible[r] = a.positions[t] + 1;
      keys = visible[r] > keys ? visible[r] : keys;
    }
    for (int64_t d = 0; d < a.headDim; ++d)
      queries[d][r] = qr ? qr[d] * a.scale : 0.0f;
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t d = 0; d < a.valueDim; ++d)
      sums[r][d] = 0.0f;
  Lanes16 visibleLanes;
  memcpy(&visibleLanes, visible, sizeof visibleLanes);

  const int64_t first = sequenceStart(a.starts, t0);
  const int64_t rowFloats = a.rows.rowBytes / 4;
  const float *valueRows = a.rows.values(first) + kvHead * a.valueDim;
  // F32 keys are read in place; F16 and Q8_0 keys are turned into floats a
  // block of keys at a time (the queries stay F32: this path is judged by
  // tolerance, not bits).
  const bool keysInPlace = a.rows.keyType == INGOT_KV_KEY_F32;
  alignas(64) float keyBlock[kKeyBlock][kTiledHeadWidth];
  // Running max and sum of exp(score - max) per row; -FLT_MAX rather than
  // -inf, so that rows with no visible key yet give no inf - inf.
  Vec16 runMax = -FLT_MAX, runSum = 0.0f;
  for (int64_t j0 = 0; j0 < keys; j0 += kKeyBlock) {
    const int64_t jn = keys - j0 < kKeyBlock ? keys - j0 : kKeyBlock;
    Vec16 scores[kKeyBlock];
    Lanes16 sees[kKeyBlock];
    if (!keysInPlace)
      for (int64_t j = 0; j < jn; ++j)
        loadKey(a.rows.keyType, a.rows.key(first + j0 + j, kvHead), a.headDim,
                keyBlock[j]);
    auto keyAt = [&](int64_t j) {
      return keysInPlace ? (const float *)a.rows.key(first + j0 + j, kvHead)
                         : keyBlock[j];
    };
    int64_t jj = 0;
    // Scores of kKeysPerPass keys per pass over the queries.
    for (; jj + kKeysPerPass <= jn; jj += kKeysPerPass) {
      const float *k0 = keyAt(jj), *k1 = keyAt(jj + 1), *k2 = keyAt(jj + 2),
                  *k3 = keyAt(jj + 3);
      Vec16 s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
      for (int64_t d = 0; d < a.headDim; ++d) {
        const Vec16 qd = loadVec(queries[d]);
        s0 = fmaVec(qd, Vec16(k0[d]), s0);
        s1 = fmaVec(qd, Vec16(k1[d]), s1);
        s2 = fmaVec(qd, Vec16(k2[d]), s2);
        s3 = fmaVec(qd, Vec16(k3[d]), s3);
      }
      scores[jj] = s0;
      scores[jj + 1] = s1;
      scores[jj + 2] = s2;
      scores[jj + 3] = s3;
    }
    for (; jj < jn; ++jj) {
      const float *k = keyAt(jj);
      Vec16 s = 0.0f;
      for (int64_t d = 0; d < a.headDim; ++d)
        s = fmaVec(loadVec(queries[d]), Vec16(k[d]), s);
      scores[jj] = s;
    }
    Vec16 blockMax = -FLT_MAX;
    for (jj = 0; jj < jn; ++jj) {
      sees[jj] = Lanes16((int32_t)(j0 + jj)) < visibleLanes;
      scores[jj] = sees[jj] ? scores[jj] : Vec16(-FLT_MAX);
      blockMax = maxVec(blockMax, scores[jj]);
    }
    const Vec16 newMax = maxVec(runMax, blockMax);
    alignas(64) float rescale[kTileRows];
    storeVec(rescale, expNonPositive(runMax - newMax));
    runSum *= loadVec(rescale);
    runMax = newMax;
    alignas(64) float probs[kKeyBlock][kTileRows];
    for (jj = 0; jj < jn; ++jj) {
      const Vec16 p = keepLanes(expNonPositive(scores[jj] - newMax), sees[jj]);
      runSum += p;
      storeVec(probs[jj], p);
    }
    // sums[r] = sums[r] * rescale[r] + sum_j probs[j][r] * value(j), over
    // the keys row r sees (a row seeing none of the block keeps its sums:
    // its rescale is 1).
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t rowKeys = visible[r] - j0 < jn ? visible[r] - j0 : jn;
      if (rowKeys <= 0)
        continue;
      const Vec16 keep = rescale[r];
      float *sr = sums[r];
      int64_t d0 = 0;
      for (; d0 + kValueLanes <= a.valueDim; d0 += kValueLanes) {
        Vec16 o0 = loadVec(sr + d0) * keep, o1 = loadVec(sr + d0 + 16) * keep,
              o2 = loadVec(sr + d0 + 32) * keep,
              o3 = loadVec(sr + d0 + 48) * keep;
        for (int64_t j = 0; j < rowKeys; ++j) {
          const float *v = valueRows + (j0 + j) * rowFloats + d0;
          const Vec16 p = probs[j][r];
          o0 = fmaVec(p, loadVec(v), o0);
          o1 = fmaVec(p, loadVec(v + 16), o1);
          o2 = fmaVec(p, loadVec(v + 32), o2);
          o3 = fmaVec(p, loadVec(v + 48), o3);
        }
        storeVec(sr + d0, o0);
        storeVec(sr + d0 + 16, o1);
        storeVec(sr + d0 + 32, o2);
        storeVec(sr + d0 + 48, o3);
      }
      for (; d0 + 16 <= a.valueDim; d0 += 16) {
        Vec16 o = loadVec(sr + d0) * keep;
        for (int64_t j = 0; j < rowKeys; ++j)
          o = fmaVec(Vec16(probs[j][r]),
                     loadVec(valueRows + (j0 + j) * rowFloats + d0), o);
        storeVec(sr + d0, o);
      }
      for (int64_t d = d0; d < a.valueDim; ++d) {
        float o = sr[d] * rescale[r];
        for (int64_t j = 0; j < rowKeys; ++j)
          o = fmaf(probs[j][r], valueRows[(j0 + j) * rowFloats + d], o);
        sr[d] = o;
      }
    }
  }
  alignas(64) float total[kTileRows];
  storeVec(total, runSum);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = t0 + r / nh, h = h0 + r % nh;
    float *o = a.out + (t * a.nHeads + h) * a.valueDim;
    const float inv = 1.0f / total[r];
    for (int64_t d = 0; d < a.valueDim; ++d)
      o[d] = sums[r][d] * inv;
  }
}

/// Tiles are numbered with the last tokens first (they see the most keys,
/// so the longest chunks are claimed first), then by KV head and head
/// tile.
void runTiledAttentionTask(void *argsVoid, int32_t chunk, int32_t nChunks) {
  (void)nChunks;
  const TiledAttentionTask &a = *(const TiledAttentionTask *)argsVoid;
  const int64_t perTokenTile = a.nKVHeads * a.headTiles;
  const int64_t group = a.nHeads / a.nKVHeads;
  int64_t begin, end;
  itemRange(a.tokenTiles * perTokenTile, a.tilesPerChunk, chunk, begin, end);
  for (int64_t tile = begin; tile < end; ++tile) {
    const int64_t tokenTile = a.tokenTiles - 1 - tile / perTokenTile;
    const int64_t kvHead = tile % perTokenTile / a.headTiles;
    const int64_t headTile = tile % a.headTiles;
    const int64_t t0 = tokenTile * a.tokensPerTile;
    const int64_t hInGroup = headTile * a.headsPerTile;
    const int64_t nt =
        a.nTokens - t0 < a.tokensPerTile ? a.nTokens - t0 : a.tokensPerTile;
    const int64_t nh =
        group - hInGroup < a.headsPerTile ? group - hInGroup : a.headsPerTile;
    // A tile's rows share its keys: where the tile's tokens cross into
    // another sequence it is split (a row's result does not depend on the
    // other rows, so one sequence gives the same bits either way).
    for (int64_t from = t0, end = t0 + nt; from < end;) {
      int64_t to = from + 1;
      while (to < end &&
             sequenceStart(a.starts, to) == sequenceStart(a.starts, from))
        ++to;
      attendTile(a, kvHead, kvHead * group + hInGroup, nh, from, to - from);
      from = to;
    }
  }
}

struct MLATask {
  const float *qNopeAbs, *q;
  const int32_t *positions, *starts;
  CacheRows rows; ///< one key of kvLoraRank + ropeDim per row, no values
  int64_t nTokens, nHeads, nopeDim, kvLoraRank, ropeDim;
  float scale;
  float *out;
  int64_t itemsPerChunk; ///< items are (token, head) pairs, token-major
};

void runMLATask(void *argsVoid, int32_t chunk, int32_t nChunks) {
  (void)nChunks;
  MLATask *a = (MLATask *)argsVoid;
  const int64_t keyWidth = a->kvLoraRank + a->ropeDim;
  const int64_t qHead = a->nopeDim + a->ropeDim;
  float qFull[kMaxKeyWidth];
  PreparedQuery query;
  // The values are the latent part of the keys: read in place when F32,
  // else (Q8_0) turned into floats row by row; F16 values are multiplied as
  // the reference's F16 product does (attendRowHalfValues).
  const bool valuesInPlace = a->rows.keyType == INGOT_KV_KEY_F32;
  float latent[kMaxKeyWidth];
  int64_t begin, end;
  itemRange(a->nTokens * a->nHeads, a->itemsPerChunk, chunk, begin, end);
  for (int64_t item = begin; item < end; ++item) {
    int64_t t = item / a->nHeads, h = item % a->nHeads;
    // The reference dots each cache row with [absorbed q_nope | q_rope].
    memcpy(qFull, a->qNopeAbs + (t * a->nHeads + h) * a->kvLoraRank,
           a->kvLoraRank * 4);
    memcpy(qFull + a->kvLoraRank,
           a->q + (t * a->nHeads + h) * qHead + a->nopeDim, a->ropeDim * 4);
    prepareQuery(query, a->rows.keyType, qFull, keyWidth);
    const int64_t nKV = a->positions[t] + 1;
    const bool sgemm = useSgemmF32(a->kvLoraRank, a->nTokens, paddedKV(nKV));
    const int64_t first = sequenceStart(a->starts, t);
    auto score = [&](int64_t j) {
      return scoreKey(query, a->rows.key(first + j, 0));
    };
    if (a->rows.keyType == INGOT_KV_KEY_F16) {
      attendRowHalfValues(nKV, a->scale, score, a->rows.key(first, 0),
                          a->rows.rowBytes, a->kvLoraRank,
                          a->out + (t * a->nHeads + h) * a->kvLoraRank);
      continue;
    }
    attendRow(
        nKV, a->scale, sgemm, score,
        [&](int64_t j) -> const float * {
          const uint8_t *key = a->rows.key(first + j, 0);
          if (valuesInPlace)
            return (const float *)key;
          loadKey(a->rows.keyType, key, a->kvLoraRank, latent);
          return latent;
        },
        a->kvLoraRank, a->out + (t * a->nHeads + h) * a->kvLoraRank);
  }
}

/// Indices of the k largest of n values (0 < k <= n), best first, ties to
/// the lower index: the order of a stable sort by descending value, as the
/// reference's. One pass keeping the best k so far in order: a later value
/// enters only when strictly greater than the one it passes.
void topK(const float *values, int64_t n, int64_t k, int32_t *out) {
  int64_t kept = 0;
  for (int64_t e = 0; e < n; ++e) {
    const float v = values[e];
    if (kept == k && !(v > values[out[k - 1]]))
      continue;
    int64_t at = kept < k ? kept++ : k - 1;
    for (; at > 0 && v > values[out[at - 1]]; --at)
      out[at] = out[at - 1];
    out[at] = (int32_t)e;
  }
}

//===----------------------------------------------------------------------===//
// MoE experts for one token (decode): two dispatches over the selected
// experts' rows, cut into slices of one expert's rows each (ExpertSlicing;
// several per expert, so the threads share the bytes, not the experts):
//  1. gate and up, then SwiGLU and the down kernels' activations of the
//     slice's rows (slices of whole activation blocks, so each quantizes
//     its own);
//  2. down; then the routing-weighted sum into the output, out = d_0 w_0,
//     then += d_j w_j in selection order (the reference's).
//===----------------------------------------------------------------------===//

/// Values per activation block of a weight of `wtype`: the ggml dot path's
/// (`dot`) or its kernels' (kernelActivationBlock); a decode gate/up chunk
/// quantizes whole blocks of the down kernels' input.
inline int64_t activationBlock(int32_t wtype, bool dot) {
  return dot ? ingot::ggml::dotActivationBlock(weightType(wtype))
             : ingot::ggml::kernelActivationBlock(weightType(wtype));
}

/// Columns [begin, end) of a BF16 weight's activation row `act` of k values
/// (ggml::activationRowBytes): the floats rounded to bf16, their bf16 copy,
/// and with the last column of an odd k the copy's zero pad.
void writeBf16Columns(const float *x, int64_t k, int64_t begin, int64_t end,
                      uint8_t *act) {
  float *rounded = (float *)act;
  uint16_t *bits = (uint16_t *)(act + 4 * k);
  for (int64_t i = begin; i < end; ++i) {
    bits[i] = ingot::ggml::floatToBf16(x[i]);
    rounded[i] = ingot::ggml::bf16ToFloat(bits[i]);
  }
  if (end == k && k % 2)
    bits[k] = 0;
}

/// Columns [begin, end) of one row x of `k` values prepared for a kernel
/// of `wtype` (or the ggml dot path: `dot`) into its row `act` (as
/// prepareActivations writes the whole row; for the quantized types begin
/// and end are multiples of activationBlock or end == k).
void prepareActivationColumns(int32_t wtype, bool dot, const float *x,
                              int64_t k, int64_t begin, int64_t end,
                              uint8_t *act) {
  const WeightType type = weightType(wtype);
  if (dot) {
    const int64_t block = activationBlock(wtype, true);
    ingot::ggml::quantizeDotActivations(
        type, x + begin, end - begin,
        act + begin / block * activationBytes(wtype, true, block));
  } else if (ingot::ggml::readsQ8Activations(type)) {
    const int64_t n = ingot::ggml::kernelActivationBlock(type);
    for (int64_t b = begin / n; b < end / n; ++b)
      quantizeKernelBlock(type, x + b * n, (int8_t *)act + b * n,
                          (float *)(act + k) + b * n / 32);
  } else if (type == WeightType::F16) {
    for (int64_t i = begin; i < end; ++i)
      ((float *)act)[i] = roundHalf(x[i]);
  } else if (type == WeightType::BF16) {
    writeBf16Columns(x, k, begin, end, act);
  } else {
    memcpy((float *)act + begin, x + begin, (end - begin) * 4);
  }
}

/// How a dispatch over chosen experts cuts their rows: slices of one
/// expert's rows, expert after expert (perExpert slices of sliceRows rows
/// each, whole granules and cache lines of output), so that a chunk
/// streams one contiguous range of each matrix it reads. Cutting every
/// expert's rows at the same place instead (a chunk = a row range of all
/// of them) starts a new stream per expert per chunk, each cold to the
/// hardware prefetchers.
struct ExpertSlicing {
  int64_t perExpert, sliceRows;
  /// Chunk `chunk`'s slice: the expert's place among the chosen `j`, the
  /// slice's index among that expert's and its rows [begin, end) of `rows`.
  struct Slice {
    int64_t j, index, begin, end;
  };
  Slice of(int32_t chunk, int64_t rows) const {
    Slice s = {chunk / perExpert, chunk % perExpert, 0, 0};
    s.begin = s.index * sliceRows;
    s.end = s.begin + sliceRows < rows ? s.begin + sliceRows : rows;
    return s;
  }
};
/// Most slices per expert that expertSlicing cuts unless maxChunkBytes
/// asks for more (more chunks than any thread pool wants; the decode down
/// dispatch keeps a counter per slice).
constexpr int64_t kMaxExpertSlices = 256;

/// Slices of `rows` rows of each of `experts` experts, about chunkCount's
/// number in all (`rowBytes`: weight bytes per row, of all matrices a chunk
/// reads), none reading more than maxChunkBytes.
ExpertSlicing expertSlicing(const IngotContext *ctx, int64_t rows,
                            int64_t granule, int64_t experts, int64_t rowBytes,
                            int64_t maxChunkBytes) {
  const int64_t unit = chunkRowUnit(granule);
  const int64_t unitsPerExpert = (rows + unit - 1) / unit;
  const int64_t units = experts * unitsPerExpert;
  const int64_t chunks = chunkCount(ctx, units, units * unit * rowBytes);
  int64_t unitsPerChunk = (units + chunks - 1) / chunks;
  const int64_t fewest =
      (unitsPerExpert + kMaxExpertSlices - 1) / kMaxExpertSlices;
  if (unitsPerChunk < fewest)
    unitsPerChunk = fewest;
  if (unitsPerChunk * unit * rowBytes > maxChunkBytes)
    unitsPerChunk = maxChunkBytes / (unit * rowBytes);
  if (unitsPerChunk > unitsPerExpert)
    unitsPerChunk = unitsPerExpert;
  if (unitsPerChunk < 1)
    unitsPerChunk = 1;
  const int64_t sliceRows = unitsPerChunk * unit;
  return {(rows + sliceRows - 1) / sliceRows, sliceRows};
}

/// Expert j of a task as a task of its own (one id).
ExpertTask oneExpert(const ExpertTask &a, int64_t j) {
  ExpertTask e = a;
  e.ids = a.ids + j;
  e.nIds = 1;
  e.act = (const uint8_t *)a.act + j * a.actStride;
  e.y = a.y + j * a.rows;
  return e;
}

struct DecodeGateUpTask {
  ExpertTask gate, up;
  uint8_t *downAct;      ///< the down kernels' input, one row per expert
  int32_t downType;      ///< of the down weights
  bool downDot;          ///< the down weights are on the ggml dot path
  int64_t downActStride; ///< bytes per row of downAct
  ExpertSlicing slicing; ///< granule: whole 32-blocks and kernel groups
};

void runDecodeGateUp(void *p, int32_t chunk, int32_t nChunks) {
  (void)nChunks;
  const DecodeGateUpTask &a = *(const DecodeGateUpTask *)p;
  const int64_t rows = a.gate.rows; // ffn
  const ExpertSlicing::Slice s = a.slicing.of(chunk, rows);
  expertRows(oneExpert(a.gate, s.j), s.begin, s.end);
  expertRows(oneExpert(a.up, s.j), s.begin, s.end);
  float *g = a.gate.y + s.j * rows;
  const float *u = a.up.y + s.j * rows;
  // As ingot_op_swiglu on the expert's row: silu's exp depends on the
  // column.
  swigluInPlace(g, u, s.begin, s.end, rows);
  prepareActivationColumns(a.downType, a.downDot, g, rows, s.begin, s.end,
                           a.downAct + s.j * a.downActStride);
}

struct DecodeDownTask {
  ExpertTask down;
  ExpertSlicing slicing;
  const float *weights; ///< routing weight of each selected expert
  float *out;
  int32_t *slicesDone; ///< per row slice: experts whose slice is done
};

/// out = d_0 w_0, then += d_j w_j in selection order (the reference's), on
/// rows [begin, end) of `rows` (d: one row of results per expert).
void weightedExpertSum(const float *d, const float *weights, int64_t used,
                       int64_t rows, int64_t begin, int64_t end, float *out) {
  for (int64_t i = begin; i < end; ++i)
    out[i] = d[i] * weights[0];
  for (int64_t j = 1; j < used; ++j)
    for (int64_t i = begin; i < end; ++i)
      out[i] += d[j * rows + i] * weights[j];
}

/// Down on one slice of one expert's rows; the chunk that finishes a row
/// slice's last expert sums that slice into the output (acquiring the
/// other experts' results through the counter's read-modify-write), so
/// the sum needs no dispatch of its own and runs in parallel.
void runDecodeDown(void *p, int32_t chunk, int32_t nChunks) {
  (void)nChunks;
  const DecodeDownTask &a = *(const DecodeDownTask *)p;
  const ExpertSlicing::Slice s = a.slicing.of(chunk, a.down.rows);
  expertRows(oneExpert(a.down, s.j), s.begin, s.end);
  if (__atomic_add_fetch(&a.slicesDone[s.index], 1, __ATOMIC_ACQ_REL) ==
      a.down.nIds)
    weightedExpertSum(a.down.y, a.weights, a.down.nIds, a.down.rows, s.begin,
                      s.end, a.out);
}

/// Least common multiple of two positive granules.
int64_t lcm(int64_t a, int64_t b) {
  int64_t x = a, y = b;
  while (y != 0) {
    const int64_t r = x % y;
    x = y;
    y = r;
  }
  return a / x * b;
}

/// The routing of one ingot.moe for a batch (ingot_op_moe_route).
struct RouteTask {
  const float *logits, *selectionBias;
  int64_t nTokens, nExperts, used, nGroups, groupsUsed;
  int32_t sigmoid, normalize;
  float scale;
  int32_t *ids;
  float *weights;
  int64_t tokensPerChunk;
};

/// Sum of the two best of n values (n >= 2), added best first as the
/// reference's group score; the one value when n == 1.
inline float topTwoSum(const float *v, int64_t n) {
  if (n < 2)
    return v[0];
  int64_t first = v[1] > v[0] ? 1 : 0, second = 1 - first;
  for (int64_t e = 2; e < n; ++e) {
    if (v[e] > v[first]) {
      second = first;
      first = e;
    } else if (v[e] > v[second]) {
      second = e;
    }
  }
  return 0.0f + v[first] + v[second];
}

/// Token t's experts and weights.
void routeToken(const RouteTask &a, int64_t t) {
  const int64_t nExperts = a.nExperts, used = a.used;
  float probs[kMaxExperts], selection[kMaxExperts];
  const float *l = a.logits + t * nExperts;
  if (a.sigmoid) {
    for (int64_t e = 0; e < nExperts; ++e)
      probs[e] = 1.0f / (1.0f + expf(-l[e]));
  } else {
    memcpy(probs, l, nExperts * 4);
    softmaxRow(probs, nExperts);
  }
  if (a.selectionBias)
    for (int64_t e = 0; e < nExperts; ++e)
      selection[e] = probs[e] + a.selectionBias[e];
  else
    memcpy(selection, probs, nExperts * 4);
  if (a.nGroups > 1) {
    const int64_t per = nExperts / a.nGroups;
    float groupScores[kMaxExperts];
    for (int64_t g = 0; g < a.nGroups; ++g)
      groupScores[g] = topTwoSum(selection + g * per, per);
    int32_t keep[kMaxExperts];
    topK(groupScores, a.nGroups, a.groupsUsed, keep);
    bool kept[kMaxExperts] = {};
    for (int64_t i = 0; i < a.groupsUsed; ++i)
      kept[keep[i]] = true;
    for (int64_t g = 0; g < a.nGroups; ++g)
      if (!kept[g])
        for (int64_t e = g * per; e < (g + 1) * per; ++e)
          selection[e] = -INFINITY;
  }
  int32_t *tid = a.ids + t * used;
  float *tw = a.weights + t * used;
  topK(selection, nExperts, used, tid);
  double sum = 0.0;
  for (int64_t i = 0; i < used; ++i) {
    tw[i] = probs[tid[i]];
    sum += tw[i];
  }
  if (a.normalize) {
    // As the reference: the sum clamped to the smallest normal F16.
    const float denom = fmaxf((float)sum, 6.103515625e-5f);
    for (int64_t i = 0; i < used; ++i)
      tw[i] /= denom;
  }
  if (a.scale != 0.0f && a.scale != 1.0f)
    for (int64_t i = 0; i < used; ++i)
      tw[i] *= a.scale;
}

void runRouteTask(void *args, int32_t chunk, int32_t nChunks) {
  (void)nChunks;
  const RouteTask &a = *(const RouteTask *)args;
  int64_t begin, end;
  itemRange(a.nTokens, a.tokensPerChunk, chunk, begin, end);
  for (int64_t t = begin; t < end; ++t)
    routeToken(a, t);
}

/// Runs an attention-like task over nTokens * nHeads (token, head) items,
/// `workBytesPerItem` each, in chunks of task.itemsPerChunk (set here).
template <typename Task>
void parallelItems(IngotContext *ctx, void (*fn)(void *, int32_t, int32_t),
                   Task &task, int64_t workBytesPerItem) {
  const int64_t items = task.nTokens * task.nHeads;
  const int64_t chunks = chunkCount(ctx, items, items * workBytesPerItem);
  task.itemsPerChunk = (items + chunks - 1) / chunks;
  ingot_rt_parallel(
      ctx, fn, &task,
      (int32_t)((items + task.itemsPerChunk - 1) / task.itemsPerChunk));
}

/// Stores each token's cache row at its sequence's start plus its position:
/// `keyWidth` values of `key` (every KV head's, or MLA's latent followed by
/// `ropeWidth` of `rope`, as one key) in the key type, then `valueWidth`
/// floats of `value`.
void storeCacheRows(const CacheRows &rows, const int32_t *positions,
                    const int32_t *starts, int64_t nTokens, const float *key,
                    int64_t keyHeads, int64_t keyDim, const float *rope,
                    int64_t ropeWidth, const float *value, int64_t valueWidth) {
  float joined[kMaxKeyWidth];
  for (int64_t t = 0; t < nTokens; ++t) {
    const int64_t row = sequenceStart(starts, t) + positions[t];
    for (int64_t h = 0; h < keyHeads; ++h) {
      const float *k = key + (t * keyHeads + h) * (keyDim - ropeWidth);
      if (ropeWidth) {
        // MLA: one head, the latent then the rope key.
        memcpy(joined, k, (keyDim - ropeWidth) * 4);
        memcpy(joined + keyDim - ropeWidth, rope + t * ropeWidth,
               ropeWidth * 4);
        k = joined;
      }
      storeKey(rows.keyType, k, keyDim, (uint8_t *)rows.key(row, h));
    }
    if (valueWidth)
      memcpy((float *)rows.values(row), value + t * valueWidth, valueWidth * 4);
  }
}

//===----------------------------------------------------------------------===//
// MoE experts over a batch, bucketed by expert
//===----------------------------------------------------------------------===//

/// A batch's (token, slot) pairs sorted by expert: the bucket of expert e
/// is the places [start[e], start[e + 1]); within a bucket the pairs keep
/// their order (token by token, slot by slot), so the layout is the same
/// on every run. `chosen` lists the experts with a non-empty bucket,
/// largest first, for scheduling only.
struct ExpertBuckets {
  int32_t start[kMaxExperts + 1];
  int32_t chosen[kMaxExperts];
  int64_t chosenCount;
  int64_t size(int32_t e) const { return start[e + 1] - start[e]; }
};

/// Counting sort of the pairs' expert ids into buckets: order[place] is the
/// pair (t * used + slot) at a place, place[pair] its inverse.
void bucketPairs(const int32_t *ids, int64_t pairs, ExpertBuckets &b,
                 int32_t *order, int32_t *place) {
  int64_t experts = 0;
  for (int64_t p = 0; p < pairs; ++p)
    if (ids[p] + 1 > experts)
      experts = ids[p] + 1;
  for (int64_t e = 0; e <= experts; ++e)
    b.start[e] = 0;
  for (int64_t p = 0; p < pairs; ++p)
    ++b.start[ids[p] + 1];
  b.chosenCount = 0;
  for (int64_t e = 0; e < experts; ++e) {
    if (b.start[e + 1] > 0) {
      // Insertion by size, descending; equal sizes stay in expert order.
      int64_t i = b.chosenCount++;
      for (; i > 0 && b.start[b.chosen[i - 1] + 1] < b.start[e + 1]; --i)
        b.chosen[i] = b.chosen[i - 1];
      b.chosen[i] = (int32_t)e;
    }
  }
  for (int64_t e = 0; e < experts; ++e)
    b.start[e + 1] += b.start[e];
  int32_t next[kMaxExperts];
  for (int64_t e = 0; e < experts; ++e)
    next[e] = b.start[e];
  for (int64_t p = 0; p < pairs; ++p) {
    const int32_t at = next[ids[p]]++;
    order[at] = (int32_t)p;
    place[p] = at;
  }
}

/// One expert stack multiplied, for each chosen expert, by the rows of its
/// bucket: act and y hold one row per place (the bucket's rows follow each
/// other, so each expert is one matmul kernel call over them). Without a
/// kernel the stack is on the ggml dot path (of `wtype`, `cols` values a
/// row): each place's row is multiplied as ggml's mul_mat_id does, one
/// gemv per token, the chunk's weight rows staying in cache across them.
struct BucketGemm {
  IngotMatmulKernel kernel;
  const uint8_t *stack;
  int64_t stride;
  const uint8_t *act;
  int64_t actBytes;
  float *y;
  int64_t rows;
  int32_t wtype = 0;
  int64_t cols = 0;

  void run(const ExpertBuckets &b, int32_t e, int64_t begin,
           int64_t end) const {
    const int64_t first = b.start[e];
    if (kernel) {
      kernel(stack + e * stride, act + first * actBytes, y + first * rows,
             b.size(e), begin, end);
      return;
    }
    ingot::ggml::quantizedDotBatch(
        weightType(wtype), stack + e * stride, weightRowBytes(wtype, cols),
        rows, begin, end, act + first * actBytes, actBytes, b.size(e),
        /*oneRowEach=*/true, cols, y + first * rows, rows);
  }
};

/// One phase of the bucketed experts: gate and up with SwiGLU (up.kernel
/// set), or down. Chunk c is slice c of `slicing` (set by runBucketPhase),
/// its expert chosen[slice.j].
struct BucketPhase {
  const ExpertBuckets *buckets;
  BucketGemm first, up;
  int64_t rows;
  ExpertSlicing slicing;
};

void runBucketChunk(void *args, int32_t chunk, int32_t nChunks) {
  (void)nChunks;
  const BucketPhase &a = *(const BucketPhase *)args;
  const ExpertBuckets &b = *a.buckets;
  const ExpertSlicing::Slice s = a.slicing.of(chunk, a.rows);
  const int32_t e = b.chosen[s.j];
  const int64_t begin = s.begin, end = s.end;
  a.first.run(b, e, begin, end);
  if (!a.up.stack)
    return;
  a.up.run(b, e, begin, end);
  // As ingot_op_swiglu on each place's row: silu's exp depends on the
  // column.
  for (int64_t p = b.start[e]; p < b.start[e + 1]; ++p) {
    float *g = a.first.y + p * a.rows;
    swigluInPlace(g, a.up.y + p * a.rows, begin, end, a.rows);
  }
}

/// Weight bytes one chunk of a bucketed phase reads at most: every token
/// tile of a bucket passes over the chunk's rows again, which then come
/// from the core's L2 rather than from memory.
constexpr int64_t kBucketChunkBytes = 512 << 10;

/// Cuts a phase into slices of one expert's rows (expertSlicing, none
/// reading more than kBucketChunkBytes) and runs it on the thread pool.
void runBucketPhase(IngotContext *ctx, BucketPhase &phase, int64_t granule,
                    int64_t rowBytes) {
  phase.slicing =
      expertSlicing(ctx, phase.rows, granule, phase.buckets->chosenCount,
                    rowBytes, kBucketChunkBytes);
  ingot_rt_parallel(
      ctx, runBucketChunk, &phase,
      (int32_t)(phase.buckets->chosenCount * phase.slicing.perExpert));
}

/// Rows of floats prepared for a kernel (or the ggml dot path: `dot`), cut
/// into chunks of rows.
struct PrepareRowsTask {
  int32_t wtype;
  bool dot;
  const float *x;
  int64_t width, actBytes;
  uint8_t *act;
  int64_t nRows, rowsPerChunk;
};

void runPrepareRows(void *args, int32_t chunk, int32_t nChunks) {
  (void)nChunks;
  const PrepareRowsTask &a = *(const PrepareRowsTask *)args;
  int64_t begin, end;
  itemRange(a.nRows, a.rowsPerChunk, chunk, begin, end);
  prepareActivations(a.wtype, a.dot, a.x + begin * a.width, end - begin,
                     a.width, a.width, a.act + begin * a.actBytes);
}

/// Each token's output: its slots' down rows times their weights, summed
/// slot by slot as the token-by-token path sums them.
struct ScatterTask {
  const float *down;
  const int32_t *place;
  const float *weights;
  float *out;
  int64_t dim, used, nTokens, tokensPerChunk;
};

void runScatter(void *args, int32_t chunk, int32_t nChunks) {
  (void)nChunks;
  const ScatterTask &a = *(const ScatterTask *)args;
  int64_t begin, end;
  itemRange(a.nTokens, a.tokensPerChunk, chunk, begin, end);
  for (int64_t t = begin; t < end; ++t) {
    float *o = a.out + t * a.dim;
    const float *w = a.weights + t * a.used;
    const int32_t *place = a.place + t * a.used;
    const float *d = a.down + place[0] * a.dim;
    for (int64_t i = 0; i < a.dim; ++i)
      o[i] = d[i] * w[0];
    for (int64_t j = 1; j < a.used; ++j) {
      d = a.down + place[j] * a.dim;
      for (int64_t i = 0; i < a.dim; ++i)
        o[i] += d[i] * w[j];
    }
  }
}

/// Runs `fn` over `items` items of `workBytesPerItem`, setting *perChunk.
void parallelCount(IngotContext *ctx, void (*fn)(void *, int32_t, int32_t),
                   void *task, int64_t items, int64_t workBytesPerItem,
                   int64_t *perChunk) {
  const int64_t chunks = chunkCount(ctx, items, items * workBytesPerItem);
  *perChunk = (items + chunks - 1) / chunks;
  ingot_rt_parallel(ctx, fn, task,
                    (int32_t)((items + *perChunk - 1) / *perChunk));
}

/// ingot_op_moe_experts for a batch, bucketed by expert (OpLib.h): the
/// same kernels' numerics as token by token, each expert's weights read
/// once per batch instead of once per token that chose it.
void moeExpertsBucketed(IngotContext *ctx, const IngotMoEExpertsArgs &a,
                        const float *x, int64_t nTokens, const int32_t *ids,
                        const float *weights, float *out, uint8_t *scratch) {
  const bool gateUpDot = onGgmlDot(a.gateUpType, (const void *)a.gateUpKernel),
             downDot = onGgmlDot(a.downType, (const void *)a.downKernel);
  const int64_t xBytes = activationBytes(a.gateUpType, gateUpDot, a.dim);
  const int64_t hBytes = activationBytes(a.downType, downDot, a.ffn);
  const ingot::oplib::MoEBatchLayout<int64_t> layout(nTokens, a.used, a.dim,
                                                     a.ffn, xBytes, hBytes);
  int32_t *order = (int32_t *)(scratch + layout.pairOrder);
  int32_t *place = (int32_t *)(scratch + layout.pairPlace);
  uint8_t *tokenAct = scratch + layout.tokenActivations;
  uint8_t *pairAct = scratch + layout.pairActivations;
  float *gate = (float *)(scratch + layout.gate);
  float *up = (float *)(scratch + layout.up);
  uint8_t *hiddenAct = scratch + layout.hiddenActivations;
  float *down = (float *)(scratch + layout.down);
  const int64_t pairs = nTokens * a.used;

  ExpertBuckets buckets;
  bucketPairs(ids, pairs, buckets, order, place);
  // Each token's row is quantized once, then copied to its places.
  prepareActivations(a.gateUpType, gateUpDot, x, nTokens, a.dim, a.dim,
                     tokenAct);
  for (int64_t p = 0; p < pairs; ++p)
    memcpy(pairAct + p * xBytes, tokenAct + order[p] / a.used * xBytes, xBytes);

  BucketPhase gateUp = {
      &buckets,
      {a.gateUpBatchKernel, (const uint8_t *)a.gate, a.gateUpStride, pairAct,
       xBytes, gate, a.ffn, a.gateUpType, a.dim},
      {a.gateUpBatchKernel, (const uint8_t *)a.up, a.gateUpStride, pairAct,
       xBytes, up, a.ffn, a.gateUpType, a.dim},
      a.ffn,
      {}};
  runBucketPhase(ctx, gateUp, a.granuleGateUp,
                 2 * weightRowBytes(a.gateUpType, a.dim));

  PrepareRowsTask prepare = {a.downType, downDot,   gate,  a.ffn,
                             hBytes,     hiddenAct, pairs, 0};
  parallelCount(ctx, runPrepareRows, &prepare, pairs, a.ffn * 4,
                &prepare.rowsPerChunk);

  BucketPhase downPhase = {&buckets,
                           {a.downBatchKernel, (const uint8_t *)a.down,
                            a.downStride, hiddenAct, hBytes, down, a.dim,
                            a.downType, a.ffn},
                           {},
                           a.dim,
                           {}};
  runBucketPhase(ctx, downPhase, a.granuleDown,
                 weightRowBytes(a.downType, a.ffn));

  ScatterTask scatter = {down, place, weights, out, a.dim, a.used, nTokens, 0};
  parallelCount(ctx, runScatter, &scatter, nTokens, a.used * a.dim * 4,
                &scatter.tokensPerChunk);
}

/// ingot_op_per_head_matmul for a batch (OpLib.h): head h's activation
/// rows and outputs are the places [h * nTokens, (h + 1) * nTokens), as a
/// bucket per head, so each head's matrix multiplies all tokens in one
/// kernel call; then the rows go to their token's place in `out`.
void perHeadMatmulBatched(IngotContext *ctx, const IngotPerHeadMatmulArgs &a,
                          const float *x, int64_t nTokens, float *out,
                          uint8_t *scratch) {
  const int64_t actBytes = ingot_op_activation_bytes(a.wtype, a.cols);
  float *y = (float *)scratch;
  uint8_t *act = (uint8_t *)(y + a.heads * nTokens * a.rows);
  ExpertBuckets heads;
  heads.chosenCount = a.heads;
  for (int64_t h = 0; h <= a.heads; ++h)
    heads.start[h] = (int32_t)(h * nTokens);
  for (int64_t h = 0; h < a.heads; ++h) {
    heads.chosen[h] = (int32_t)h;
    ingot_op_prepare_activations(a.wtype, x + h * a.xHeadStride, nTokens,
                                 a.cols, a.xTokenStride,
                                 act + h * nTokens * actBytes);
  }
  BucketPhase phase = {&heads,
                       {a.batchKernel, (const uint8_t *)a.stack, a.stride, act,
                        actBytes, y, a.rows},
                       {},
                       a.rows,
                       {}};
  runBucketPhase(ctx, phase, a.granule, weightRowBytes(a.wtype, a.cols));
  for (int64_t h = 0; h < a.heads; ++h)
    for (int64_t t = 0; t < nTokens; ++t)
      memcpy(out + t * a.outTokenStride + h * a.outHeadStride,
             y + (h * nTokens + t) * a.rows, a.rows * 4);
}

/// The routed experts of one token: gate and up in one dispatch ending in
/// SwiGLU and the down input, then down ending in the routing-weighted sum
/// into `out` (d0 * w0, then += dj * wj, the reference's order).
void moeExpertsOneToken(IngotContext *ctx,
                        const struct IngotMoEExpertsArgs *args, const float *x,
                        const int32_t *ids, const float *weights, float *out,
                        uint8_t *scratch) {
  IngotExpertKernel gateUpKernel = args->gateUpKernel,
                    downKernel = args->downKernel;
  const void *gate = args->gate, *up = args->up, *down = args->down;
  const int64_t gateUpStride = args->gateUpStride,
                downStride = args->downStride, dim = args->dim, ffn = args->ffn,
                granuleGateUp = args->granuleGateUp,
                granuleDown = args->granuleDown, used = args->used;
  const int32_t gateUpType = args->gateUpType, downType = args->downType;
  const bool gateUpDot = onGgmlDot(gateUpType, (const void *)gateUpKernel),
             downDot = onGgmlDot(downType, (const void *)downKernel);
  float *g = (float *)scratch;
  float *u = g + used * ffn;
  float *d = u + used * ffn;
  uint8_t *actX = (uint8_t *)(d + used * dim);
  uint8_t *actH = actX + activationBytes(gateUpType, gateUpDot, dim);
  const int64_t hBytes = activationBytes(downType, downDot, ffn);
  prepareActivations(gateUpType, gateUpDot, x, 1, dim, dim, actX);
  ExpertTask gateTask = {
      gateUpKernel, gate,          gateUpStride, ids, used, actX, 0, g,
      ffn,          granuleGateUp, gateUpType,   dim, 0};
  ExpertTask upTask = gateTask;
  upTask.stack = up;
  upTask.y = u;
  DecodeGateUpTask gateUp = {
      gateTask,
      upTask,
      actH,
      downType,
      downDot,
      hBytes,
      expertSlicing(ctx, ffn,
                    lcm(granuleGateUp, activationBlock(downType, downDot)),
                    used, 2 * weightRowBytes(gateUpType, dim), INT64_MAX)};
  ingot_rt_parallel(ctx, runDecodeGateUp, &gateUp,
                    (int32_t)(used * gateUp.slicing.perExpert));
  ExpertTask downTask = {downKernel, down,   downStride, ids, used,
                         actH,       hBytes, d,          dim, granuleDown,
                         downType,   ffn,    0};
  int32_t slicesDone[kMaxExpertSlices] = {};
  DecodeDownTask downRows = {downTask,
                             expertSlicing(ctx, dim, granuleDown, used,
                                           weightRowBytes(downType, ffn),
                                           INT64_MAX),
                             weights, out, slicesDone};
  ingot_rt_parallel(ctx, runDecodeDown, &downRows,
                    (int32_t)(used * downRows.slicing.perExpert));
}

} // namespace

extern "C" {

int64_t ingot_op_activation_bytes(int32_t wtype, int64_t k) {
  return ingot::ggml::activationRowBytes(weightType(wtype), k);
}

void ingot_op_prepare_activations(int32_t wtype, const float *x, int64_t rows,
                                  int64_t k, int64_t xStride, uint8_t *act) {
  int64_t bytes = ingot_op_activation_bytes(wtype, k);
  for (int64_t r = 0; r < rows; ++r)
    prepareActivationColumns(wtype, false, x + r * xStride, k, 0, k,
                             act + r * bytes);
}

void ingot_op_matmul(IngotContext *ctx, IngotMatmulKernel kernel,
                     const void *packed, int32_t wtype, int64_t rows,
                     int64_t cols, int64_t granule, const float *x,
                     int64_t nTokens, float *y, const float *bias,
                     uint8_t *scratch) {
  prepareActivations(wtype, onGgmlDot(wtype, (const void *)kernel), x, nTokens,
                     cols, cols, scratch);
  MatmulTask task = {kernel, packed,  scratch, y,    nTokens,
                     rows,   granule, wtype,   cols, 0};
  parallelRows<MatmulTask, matmulRows>(ctx, task,
                                       weightRowBytes(wtype, cols) * nTokens);
  if (bias)
    for (int64_t t = 0; t < nTokens; ++t)
      for (int64_t r = 0; r < rows; ++r)
        y[t * rows + r] += bias[r];
}

void ingot_op_fused_matmul(IngotContext *ctx,
                           const struct IngotFusedMatmulArgs *args,
                           const float *x, int64_t nTokens, uint8_t *scratch) {
  prepareFusedInputParallel(ctx, *args, x, nTokens, scratch);
  int64_t rows = 0;
  if (args->swigluUp)
    rows = args->segments[0].rows;
  else
    for (int64_t s = 0; s < args->count; ++s)
      rows += (args->segments[s].rows + args->granule - 1) / args->granule *
              args->granule;
  FusedMatmulTask task = {args, scratch, nTokens, rows, args->granule, 0};
  // A row of the fused space reads one weight row (two with SwiGLU: gate's
  // and up's).
  const int64_t rowWork = weightRowBytes(args->wtype, args->cols) * nTokens *
                          (args->swigluUp ? 2 : 1);
  parallelRows<FusedMatmulTask, fusedRows>(ctx, task, rowWork);
}

// Rows are decoded by the same code as the interpreter's (the ggml type
// table), so they agree bit for bit; the compiler refuses any type the table
// cannot dequantize.
void ingot_op_embedding(const uint8_t *table, int32_t type, int64_t dim,
                        const int32_t *tokens, int64_t nTokens, float *out) {
  const ingot::ggml::TypeInfo &info =
      ingot::ggml::getTypeInfo(weightType(type));
  const int64_t rowBytes = dim / info.blockElements * info.blockBytes;
  for (int64_t t = 0; t < nTokens; ++t)
    info.dequantize(table + tokens[t] * rowBytes, out + t * dim, dim);
}

void ingot_op_rms_norm(const float *x, const float *weight, float eps,
                       int64_t group, int64_t groups, float *out) {
  for (int64_t g = 0; g < groups; ++g, x += group, out += group) {
    const float scale = rmsNormScale(x, group, eps);
    for (int64_t i = 0; i < group; ++i)
      out[i] = rmsNormed(x[i], scale, weight[i]);
  }
}

void ingot_op_rope(const float *x, float *out, const int32_t *positions,
                   int64_t nTokens, int64_t nHeads, int64_t headDim,
                   int64_t offset, int64_t dims, int32_t neox, float freqBase,
                   float freqScale, float extFactor, float attnFactor,
                   float betaFast, float betaSlow, int64_t origContext,
                   const float *freqFactors) {
  const int64_t width = nHeads * headDim;
  if (out != x)
    memcpy(out, x, nTokens * width * 4);
  const float thetaScale = powf(freqBase, -2.0f / (float)dims);
  float corr0 = 0.0f, corr1 = 0.0f;
  if (extFactor != 0.0f) {
    auto corrDim = [&](float nRot) {
      return (float)dims *
             logf((float)origContext /
                  (nRot * 2.0f * 3.14159265358979323846f)) /
             (2.0f * logf(freqBase));
    };
    corr0 = fmaxf(0.0f, floorf(corrDim(betaFast)));
    corr1 = fminf((float)(dims - 1), ceilf(corrDim(betaSlow)));
  }
  float cosv[kMaxRopePairs], sinv[kMaxRopePairs];
  for (int64_t t = 0; t < nTokens; ++t) {
    float thetaBase = (float)positions[t];
    for (int64_t i0 = 0; i0 < dims; i0 += 2) {
      float thetaExtrap =
          freqFactors ? thetaBase / freqFactors[i0 / 2] : thetaBase;
      float thetaInterp = freqScale * thetaExtrap;
      float theta = thetaInterp, mscale = attnFactor;
      if (extFactor != 0.0f) {
        float y = ((float)(i0 / 2) - corr0) / fmaxf(0.001f, corr1 - corr0);
        float ramp = 1.0f - fminf(1.0f, fmaxf(0.0f, y));
        float mix = ramp * extFactor;
        theta = thetaInterp * (1.0f - mix) + thetaExtrap * mix;
        mscale *= 1.0f + 0.1f * logf(1.0f / freqScale);
      }
      cosv[i0 / 2] = cosf(theta) * mscale;
      sinv[i0 / 2] = sinf(theta) * mscale;
      thetaBase *= thetaScale;
    }
    for (int64_t h = 0; h < nHeads; ++h) {
      float *v = out + t * width + h * headDim + offset;
      for (int64_t i = 0; i < dims / 2; ++i) {
        int64_t a = neox ? i : 2 * i, b = neox ? i + dims / 2 : 2 * i + 1;
        float x0 = v[a], x1 = v[b];
        v[a] = x0 * cosv[i] - x1 * sinv[i];
        v[b] = x0 * sinv[i] + x1 * cosv[i];
      }
    }
  }
}

void ingot_op_attention(IngotContext *ctx, const float *q, const float *k,
                        const float *v, const int32_t *positions,
                        const int32_t *starts, int64_t nTokens, uint8_t *cache,
                        int64_t nHeads, int64_t nKVHeads, int64_t headDim,
                        int64_t valueDim, float scale, int32_t ggmlOrder,
                        float *out) {
  const CacheRows rows =
      cacheRows(cache, ctx->kv_key_type, nKVHeads, headDim, valueDim);
  storeCacheRows(rows, positions, starts, nTokens, k, nKVHeads, headDim,
                 nullptr, 0, v, nKVHeads * valueDim);
  // Each query row reads its KV head's keys and values up to its position.
  const int64_t cachedRows = mostKeys(positions, nTokens);
  const int64_t rowWork = cachedRows * (headDim + valueDim) * 4;
  if (nTokens <= 0)
    return;
  if (ggmlOrder || headDim > kTiledHeadWidth || valueDim > kTiledHeadWidth) {
    AttentionTask task = {q,        positions, starts,   rows,  nTokens, nHeads,
                          nKVHeads, headDim,   valueDim, scale, out,     0};
    parallelItems(ctx, runAttentionTask, task, rowWork);
    return;
  }
  // Tiles of a whole group of query heads (up to 16) times as many tokens as
  // fill 16 rows; a group wider than 16 is cut into head tiles, and so is a
  // group when there are too few tiles to keep every thread busy (decode).
  const int64_t group = nHeads / nKVHeads;
  int64_t headsPerTile = group < kTileRows ? group : kTileRows;
  int64_t tokensPerTile = kTileRows / headsPerTile;
  if (tokensPerTile > nTokens)
    tokensPerTile = nTokens;
  const int64_t tokenTiles = (nTokens + tokensPerTile - 1) / tokensPerTile;
  auto tilesWith = [&](int64_t heads) {
    return tokenTiles * nKVHeads * ((group + heads - 1) / heads);
  };
  while (headsPerTile > 1 && tilesWith(headsPerTile) < 2 * parallelThreads(ctx))
    headsPerTile = (headsPerTile + 1) / 2;
  TiledAttentionTask task = {q,
                             positions,
                             starts,
                             rows,
                             nTokens,
                             nHeads,
                             nKVHeads,
                             headDim,
                             valueDim,
                             scale,
                             out,
                             headsPerTile,
                             tokensPerTile,
                             (group + headsPerTile - 1) / headsPerTile,
                             tokenTiles,
                             0};
  const int64_t tiles = tilesWith(headsPerTile);
  // A tile reads its KV head's rows once for all its query rows.
  const int64_t chunks = chunkCount(ctx, tiles, tiles * rowWork);
  task.tilesPerChunk = (tiles + chunks - 1) / chunks;
  ingot_rt_parallel(
      ctx, runTiledAttentionTask, &task,
      (int32_t)((tiles + task.tilesPerChunk - 1) / task.tilesPerChunk));
}

void ingot_op_mla_core(IngotContext *ctx, const float *qNopeAbs, const float *q,
                       const float *latent, const float *ropeKey,
                       const int32_t *positions, const int32_t *starts,
                       int64_t nTokens, uint8_t *cache, int64_t nHeads,
                       int64_t nopeDim, int64_t kvLoraRank, int64_t ropeDim,
                       float scale, float *ctxOut) {
  const CacheRows rows =
      cacheRows(cache, ctx->kv_key_type, 1, kvLoraRank + ropeDim, 0);
  storeCacheRows(rows, positions, starts, nTokens, latent, 1,
                 kvLoraRank + ropeDim, ropeKey, ropeDim, nullptr, 0);
  MLATask task = {qNopeAbs, q,      positions, starts,     rows,
                  nTokens,  nHeads, nopeDim,   kvLoraRank, ropeDim,
                  scale,    ctxOut, 0};
  const int64_t cachedRows = mostKeys(positions, nTokens);
  parallelItems(ctx, runMLATask, task, cachedRows * (kvLoraRank + ropeDim) * 4);
}

void ingot_op_slice(const float *x, int64_t rows, int64_t inWidth,
                    int64_t offset, int64_t width, float *out) {
  for (int64_t r = 0; r < rows; ++r)
    memcpy(out + r * width, x + r * inWidth + offset, width * 4);
}

void ingot_op_silu(const float *x, int64_t rows, int64_t width, float *out) {
  for (int64_t r = 0; r < rows; ++r, x += width, out += width)
    for (int64_t i = 0; i < width; ++i)
      out[i] = siluAt(x, i, width);
}

void ingot_op_gelu(const float *x, int64_t n, float *out) {
  const float c = 0.79788456080286535587989211986876f;
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    out[i] = 0.5f * v * (1.0f + tanhf(c * v * (1.0f + 0.044715f * v * v)));
  }
}

void ingot_op_swiglu(const float *gate, const float *up, int64_t rows,
                     int64_t width, float *out) {
  // Row by row, as ggml: the exp approximation works in blocks of 16 from
  // the start of each row.
  for (int64_t r = 0; r < rows; ++r, gate += width, up += width, out += width)
    for (int64_t i = 0; i < width; ++i)
      out[i] = siluAt(gate, i, width) * up[i];
}

void ingot_op_add(const float *a, const float *b, int64_t n, float *out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = a[i] + b[i];
}

void ingot_op_moe_route(IngotContext *ctx, IngotMatmulKernel routerKernel,
                        const void *router, int32_t routerType, int64_t granule,
                        const float *x, int64_t nTokens, int64_t dim,
                        int64_t nExperts, int64_t used, int32_t sigmoid,
                        const float *selectionBias, int64_t nGroups,
                        int64_t groupsUsed, int32_t normalize, float scale,
                        int64_t expertBytes, float *logits, uint8_t *scratch,
                        int32_t *ids, float *weights) {
  // The router product as the plain matmul op computes it (its F32 order
  // depends on the batch, as the reference's).
  ingot_op_matmul(ctx, routerKernel, router, routerType, nExperts, dim, granule,
                  x, nTokens, logits, nullptr, scratch);
  RouteTask task = {logits,  selectionBias, nTokens, nExperts,  used,
                    nGroups, groupsUsed,    sigmoid, normalize, scale,
                    ids,     weights,       nTokens};
  // A token's routing is a few microseconds: batches go in chunks of at
  // least kMinRouteTokens tokens so that dispatch does not dominate.
  const int64_t threads = parallelThreads(ctx);
  if (threads > 1 && nTokens >= 2 * kMinRouteTokens) {
    int64_t chunks = nTokens / kMinRouteTokens;
    if (chunks > threads * kChunksPerThread)
      chunks = threads * kChunksPerThread;
    task.tokensPerChunk = (nTokens + chunks - 1) / chunks;
    ingot_rt_parallel(
        ctx, runRouteTask, &task,
        (int32_t)((nTokens + task.tokensPerChunk - 1) / task.tokensPerChunk));
  } else {
    for (int64_t t = 0; t < nTokens; ++t)
      routeToken(task, t);
  }
  // Accounting: every distinct expert of the batch is read once by an
  // implementation that groups the batch's tokens by expert.
  bool chosen[kMaxExperts] = {};
  int64_t distinct = 0;
  for (int64_t i = 0; i < nTokens * used; ++i)
    if (!chosen[ids[i]]) {
      chosen[ids[i]] = true;
      ++distinct;
    }
  ctx->routed_expert_bytes += distinct * expertBytes;
}

void ingot_op_moe_experts(IngotContext *ctx,
                          const struct IngotMoEExpertsArgs *args,
                          const float *x, int64_t nTokens, const int32_t *ids,
                          const float *weights, float *out, uint8_t *scratch) {
  // Bucketed when each matrix has a batch kernel or is on the ggml dot
  // path (the planner's MoEScratchLayout::runsBucketed sized the scratch
  // for it).
  const bool gateUpBatches =
      args->gateUpBatchKernel ||
      onGgmlDot(args->gateUpType, (const void *)args->gateUpKernel);
  const bool downBatches =
      args->downBatchKernel ||
      onGgmlDot(args->downType, (const void *)args->downKernel);
  if (nTokens > 1 && gateUpBatches && downBatches) {
    moeExpertsBucketed(ctx, *args, x, nTokens, ids, weights, out, scratch);
    return;
  }
  // One token at a time (decode, or experts without batch kernels).
  const int64_t dim = args->dim, used = args->used;
  for (int64_t t = 0; t < nTokens; ++t)
    moeExpertsOneToken(ctx, args, x + t * dim, ids + t * used,
                       weights + t * used, out + t * dim, scratch);
}

void ingot_op_per_head_matmul(IngotContext *ctx,
                              const struct IngotPerHeadMatmulArgs *args,
                              const float *x, int64_t nTokens, float *out,
                              uint8_t *scratch) {
  const int64_t heads = args->heads, rows = args->rows, cols = args->cols;
  const int32_t wtype = args->wtype;
  if (nTokens > 1 && args->batchKernel) {
    perHeadMatmulBatched(ctx, *args, x, nTokens, out, scratch);
    return;
  }
  int32_t headIds[kMaxExperts];
  for (int64_t h = 0; h < heads; ++h)
    headIds[h] = (int32_t)h;
  const bool dot = onGgmlDot(wtype, (const void *)args->kernel);
  const int64_t actBytes = activationBytes(wtype, dot, cols);
  float *y = (float *)scratch;
  uint8_t *act = (uint8_t *)(y + heads * rows);
  for (int64_t t = 0; t < nTokens; ++t) {
    prepareActivations(wtype, dot, x + t * args->xTokenStride, heads, cols,
                       args->xHeadStride, act);
    ExpertTask task = {args->kernel,
                       args->stack,
                       args->stride,
                       headIds,
                       heads,
                       act,
                       actBytes,
                       y,
                       rows,
                       args->granule,
                       wtype,
                       cols,
                       0};
    parallelRows<ExpertTask, expertRows>(ctx, task,
                                         weightRowBytes(wtype, cols) * heads);
    for (int64_t h = 0; h < heads; ++h)
      memcpy(out + t * args->outTokenStride + h * args->outHeadStride,
             y + h * rows, rows * 4);
  }
}

} // extern "C"
