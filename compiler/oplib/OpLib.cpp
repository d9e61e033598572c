//===- OpLib.cpp - The small-op library linked into model code ------------===//
//
// Compiled to LLVM bitcode at build time (no target flags) and linked into
// every model module by the compiler, which then optimizes it for the
// target. Numerics follow compiler/interp/ReferenceOps.cpp (itself matched
// to ggml): Q8_0 activation rounding, rope with YaRN, RMS norm summed in
// double, MoE routing with groups. Nothing here allocates.
//
//===----------------------------------------------------------------------===//
#include "compiler/oplib/OpLib.h"

#include <math.h>
#include <string.h>

namespace {

// Bounds of the fixed-size stack scratch below; the compiler checks every
// model against them before emitting code (compiler/lowering).
constexpr int64_t kMaxHeadWidth = 4096;
constexpr int64_t kMaxExperts = 1024;
constexpr int64_t kMaxRopePairs = 1024;

float halfToFloat(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {
      int shift = 0;
      while (!(mantissa & 0x400)) {
        mantissa <<= 1;
        ++shift;
      }
      bits = sign | ((uint32_t)(113 - shift) << 23) | ((mantissa & 0x3FF) << 13);
    }
  } else if (exponent == 0x1F) {
    bits = sign | 0x7F800000 | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToHalf(float value) {
  uint32_t bits;
  memcpy(&bits, &value, 4);
  uint32_t sign = (bits >> 16) & 0x8000, a = bits & 0x7FFFFFFF;
  if (a > 0x7F800000)
    return (uint16_t)(sign | 0x7E00);
  if (a >= 0x477FF000)
    return (uint16_t)(sign | 0x7C00);
  if (a < 0x38800000) {
    if (a < 0x33000000)
      return (uint16_t)sign;
    uint32_t m = (a & 0x7FFFFF) | 0x800000;
    int shift = 126 - (int)(a >> 23);
    uint32_t hm = m >> shift, rest = m & ((1u << shift) - 1),
             half = 1u << (shift - 1);
    if (rest > half || (rest == half && (hm & 1)))
      ++hm;
    return (uint16_t)(sign | hm);
  }
  uint32_t r = a + 0xFFF + ((a >> 13) & 1);
  return (uint16_t)(sign | ((r - 0x38000000) >> 13));
}

float roundHalf(float x) { return halfToFloat(floatToHalf(x)); }

/// One row of x as Q8_0 activations: k int8 values, then k/32 float scales
/// (the F16-rounded max|x|/127), values scaled by 127/max and rounded to
/// nearest even, as ggml's x86 quantize_row_q8_0.
void quantizeRowQ8(const float *x, int64_t k, uint8_t *out) {
  int8_t *q = (int8_t *)out;
  float *d = (float *)(out + k);
  for (int64_t b = 0; b < k / 32; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j)
      amax = fmaxf(amax, fabsf(x[b * 32 + j]));
    d[b] = roundHalf(amax / 127.0f);
    float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int j = 0; j < 32; ++j)
      q[b * 32 + j] = (int8_t)nearbyintf(x[b * 32 + j] * id);
  }
}

struct MatmulTask {
  IngotMatmulKernel kernel;
  const void *packed;
  const void *act;
  float *y;
  int64_t nTokens, rows, granule;
};

/// Splits [0, rows) into n_tasks ranges on granule boundaries.
void taskRange(int64_t rows, int64_t granule, int32_t task, int32_t nTasks,
               int64_t &begin, int64_t &end) {
  int64_t units = (rows + granule - 1) / granule;
  int64_t per = units / nTasks, extra = units % nTasks;
  int64_t first = task * per + (task < extra ? task : extra);
  int64_t count = per + (task < extra ? 1 : 0);
  begin = first * granule;
  end = (first + count) * granule;
  if (end > rows)
    end = rows;
  if (begin > rows)
    begin = rows;
}

void runMatmulTask(void *argsVoid, int32_t task, int32_t nTasks) {
  MatmulTask *a = (MatmulTask *)argsVoid;
  int64_t begin, end;
  taskRange(a->rows, a->granule, task, nTasks, begin, end);
  if (begin < end)
    a->kernel(a->packed, a->act, a->y, a->nTokens, begin, end);
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
};

void runExpertTask(void *argsVoid, int32_t task, int32_t nTasks) {
  ExpertTask *a = (ExpertTask *)argsVoid;
  int64_t begin, end;
  taskRange(a->rows, a->granule, task, nTasks, begin, end);
  if (begin < end)
    a->kernel(a->stack, a->stride, a->ids, a->nIds, a->act, a->actStride,
              a->y, begin, end);
}

inline float dot(const float *a, const float *b, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i)
    s += a[i] * b[i];
  return s;
}

struct AttentionTask {
  const float *q;
  const int32_t *positions;
  const uint8_t *cache;
  int64_t nTokens, nHeads, nKVHeads, headDim, valueDim, rowFloats;
  float scale;
  float *out;
};

void runAttentionTask(void *argsVoid, int32_t task, int32_t nTasks) {
  AttentionTask *a = (AttentionTask *)argsVoid;
  const int64_t group = a->nHeads / a->nKVHeads;
  const float *cache = (const float *)a->cache;
  const int64_t kWidth = a->nKVHeads * a->headDim;
  float acc[kMaxHeadWidth];
  for (int64_t item = task; item < a->nTokens * a->nHeads; item += nTasks) {
    int64_t t = item / a->nHeads, h = item % a->nHeads, kvh = h / group;
    const float *qh = a->q + (t * a->nHeads + h) * a->headDim;
    int64_t nKV = a->positions[t] + 1;
    // Two passes over the cache (max, then exp-weighted sum) need no score
    // buffer whatever the context length.
    float maxScore = -INFINITY;
    for (int64_t j = 0; j < nKV; ++j) {
      const float *kj = cache + j * a->rowFloats + kvh * a->headDim;
      maxScore = fmaxf(maxScore, a->scale * dot(qh, kj, a->headDim));
    }
    for (int64_t d = 0; d < a->valueDim; ++d)
      acc[d] = 0.0f;
    double sum = 0.0;
    for (int64_t j = 0; j < nKV; ++j) {
      const float *kj = cache + j * a->rowFloats + kvh * a->headDim;
      const float *vj = cache + j * a->rowFloats + kWidth + kvh * a->valueDim;
      float e = expf(a->scale * dot(qh, kj, a->headDim) - maxScore);
      sum += e;
      for (int64_t d = 0; d < a->valueDim; ++d)
        acc[d] += e * vj[d];
    }
    float inv = (float)(1.0 / sum);
    float *o = a->out + (t * a->nHeads + h) * a->valueDim;
    for (int64_t d = 0; d < a->valueDim; ++d)
      o[d] = acc[d] * inv;
  }
}

struct MLATask {
  const float *qNopeAbs, *q;
  const int32_t *positions;
  const uint8_t *cache;
  int64_t nTokens, nHeads, nopeDim, kvLoraRank, ropeDim;
  float scale;
  float *out;
};

void runMLATask(void *argsVoid, int32_t task, int32_t nTasks) {
  MLATask *a = (MLATask *)argsVoid;
  const float *cache = (const float *)a->cache;
  const int64_t rowFloats = a->kvLoraRank + a->ropeDim;
  const int64_t qHead = a->nopeDim + a->ropeDim;
  float acc[kMaxHeadWidth];
  for (int64_t item = task; item < a->nTokens * a->nHeads; item += nTasks) {
    int64_t t = item / a->nHeads, h = item % a->nHeads;
    const float *qn = a->qNopeAbs + (t * a->nHeads + h) * a->kvLoraRank;
    const float *qr = a->q + (t * a->nHeads + h) * qHead + a->nopeDim;
    int64_t nKV = a->positions[t] + 1;
    auto score = [&](int64_t j) {
      const float *row = cache + j * rowFloats;
      return a->scale * (dot(qn, row, a->kvLoraRank) +
                         dot(qr, row + a->kvLoraRank, a->ropeDim));
    };
    float maxScore = -INFINITY;
    for (int64_t j = 0; j < nKV; ++j)
      maxScore = fmaxf(maxScore, score(j));
    for (int64_t d = 0; d < a->kvLoraRank; ++d)
      acc[d] = 0.0f;
    double sum = 0.0;
    for (int64_t j = 0; j < nKV; ++j) {
      float e = expf(score(j) - maxScore);
      sum += e;
      const float *row = cache + j * rowFloats;
      for (int64_t d = 0; d < a->kvLoraRank; ++d)
        acc[d] += e * row[d];
    }
    float inv = (float)(1.0 / sum);
    float *o = a->out + (t * a->nHeads + h) * a->kvLoraRank;
    for (int64_t d = 0; d < a->kvLoraRank; ++d)
      o[d] = acc[d] * inv;
  }
}

/// Indices of the k largest of n values, best first, ties to the lower
/// index (n <= kMaxExperts).
void topK(const float *values, int64_t n, int64_t k, int32_t *out) {
  bool taken[kMaxExperts] = {};
  for (int64_t i = 0; i < k; ++i) {
    int32_t best = -1;
    for (int64_t e = 0; e < n; ++e)
      if (!taken[e] && (best < 0 || values[e] > values[best]))
        best = (int32_t)e;
    taken[best] = true;
    out[i] = best;
  }
}

} // namespace

extern "C" {

int64_t ingot_op_activation_bytes(int32_t wtype, int64_t k) {
  if (wtype == INGOT_Q8_0 || wtype == INGOT_Q4_0)
    return k + 4 * (k / 32);
  return 4 * k;
}

void ingot_op_prepare_activations(int32_t wtype, const float *x, int64_t rows,
                                  int64_t k, int64_t xStride, uint8_t *act) {
  int64_t bytes = ingot_op_activation_bytes(wtype, k);
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * xStride;
    uint8_t *ar = act + r * bytes;
    if (wtype == INGOT_Q8_0 || wtype == INGOT_Q4_0) {
      quantizeRowQ8(xr, k, ar);
    } else if (wtype == INGOT_F16) {
      float *f = (float *)ar;
      for (int64_t i = 0; i < k; ++i)
        f[i] = roundHalf(xr[i]);
    } else {
      memcpy(ar, xr, 4 * k);
    }
  }
}

void ingot_op_matmul(IngotContext *ctx, IngotMatmulKernel kernel,
                     const void *packed, int32_t wtype, int64_t rows,
                     int64_t cols, int64_t granule, const float *x,
                     int64_t nTokens, float *y, const float *bias,
                     uint8_t *scratch) {
  ingot_op_prepare_activations(wtype, x, nTokens, cols, cols, scratch);
  MatmulTask task = {kernel, packed, scratch, y, nTokens, rows, granule};
  ingot_rt_parallel(ctx, runMatmulTask, &task);
  if (bias)
    for (int64_t t = 0; t < nTokens; ++t)
      for (int64_t r = 0; r < rows; ++r)
        y[t * rows + r] += bias[r];
}

void ingot_op_embedding(const uint8_t *table, int32_t type, int64_t dim,
                        const int32_t *tokens, int64_t nTokens, float *out) {
  for (int64_t t = 0; t < nTokens; ++t) {
    float *o = out + t * dim;
    int64_t token = tokens[t];
    if (type == INGOT_F32) {
      memcpy(o, table + token * dim * 4, dim * 4);
    } else if (type == INGOT_F16) {
      const uint8_t *row = table + token * dim * 2;
      for (int64_t i = 0; i < dim; ++i)
        o[i] = halfToFloat((uint16_t)(row[2 * i] | (row[2 * i + 1] << 8)));
    } else if (type == INGOT_Q8_0) {
      const uint8_t *row = table + token * (dim / 32) * 34;
      for (int64_t b = 0; b < dim / 32; ++b, row += 34) {
        float d = halfToFloat((uint16_t)(row[0] | (row[1] << 8)));
        for (int j = 0; j < 32; ++j)
          o[b * 32 + j] = (int8_t)row[2 + j] * d;
      }
    } else if (type == INGOT_Q4_0) {
      const uint8_t *row = table + token * (dim / 32) * 18;
      for (int64_t b = 0; b < dim / 32; ++b, row += 18) {
        float d = halfToFloat((uint16_t)(row[0] | (row[1] << 8)));
        for (int j = 0; j < 16; ++j) {
          o[b * 32 + j] = ((row[2 + j] & 0xF) - 8) * d;
          o[b * 32 + j + 16] = ((row[2 + j] >> 4) - 8) * d;
        }
      }
    }
  }
}

void ingot_op_rms_norm(const float *x, const float *weight, float eps,
                       int64_t group, int64_t groups, float *out) {
  for (int64_t g = 0; g < groups; ++g, x += group, out += group) {
    double sum = 0.0;
    for (int64_t i = 0; i < group; ++i)
      sum += (double)(x[i] * x[i]);
    float scale = 1.0f / sqrtf((float)(sum / (double)group) + eps);
    for (int64_t i = 0; i < group; ++i)
      out[i] = x[i] * scale * weight[i];
  }
}

void ingot_op_rope(const float *x, float *out, const int32_t *positions,
                   int64_t nTokens, int64_t nHeads, int64_t headDim,
                   int64_t offset, int64_t dims, int32_t neox, float freqBase,
                   float freqScale, float extFactor, float attnFactor,
                   float betaFast, float betaSlow, int64_t origContext) {
  const int64_t width = nHeads * headDim;
  if (out != x)
    memcpy(out, x, nTokens * width * 4);
  const float thetaScale = powf(freqBase, -2.0f / (float)dims);
  float corr0 = 0.0f, corr1 = 0.0f;
  if (extFactor != 0.0f) {
    auto corrDim = [&](float nRot) {
      return (float)dims *
             logf((float)origContext / (nRot * 2.0f * 3.14159265358979323846f)) /
             (2.0f * logf(freqBase));
    };
    corr0 = fmaxf(0.0f, floorf(corrDim(betaFast)));
    corr1 = fminf((float)(dims - 1), ceilf(corrDim(betaSlow)));
  }
  float cosv[kMaxRopePairs], sinv[kMaxRopePairs];
  for (int64_t t = 0; t < nTokens; ++t) {
    float thetaExtrap = (float)positions[t];
    for (int64_t i0 = 0; i0 < dims; i0 += 2) {
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
      thetaExtrap *= thetaScale;
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
                        int64_t nTokens, uint8_t *cache, int64_t nHeads,
                        int64_t nKVHeads, int64_t headDim, int64_t valueDim,
                        float scale, float *out) {
  const int64_t kWidth = nKVHeads * headDim, vWidth = nKVHeads * valueDim;
  const int64_t rowFloats = kWidth + vWidth;
  float *rows = (float *)cache;
  for (int64_t t = 0; t < nTokens; ++t) {
    float *row = rows + positions[t] * rowFloats;
    memcpy(row, k + t * kWidth, kWidth * 4);
    memcpy(row + kWidth, v + t * vWidth, vWidth * 4);
  }
  AttentionTask task = {q,      positions, cache,    nTokens,   nHeads,
                        nKVHeads, headDim, valueDim, rowFloats, scale, out};
  ingot_rt_parallel(ctx, runAttentionTask, &task);
}

void ingot_op_mla_core(IngotContext *ctx, const float *qNopeAbs,
                       const float *q, const float *latent,
                       const float *ropeKey, const int32_t *positions,
                       int64_t nTokens, uint8_t *cache, int64_t nHeads,
                       int64_t nopeDim, int64_t kvLoraRank, int64_t ropeDim,
                       float scale, float *ctxOut) {
  const int64_t rowFloats = kvLoraRank + ropeDim;
  float *rows = (float *)cache;
  for (int64_t t = 0; t < nTokens; ++t) {
    float *row = rows + positions[t] * rowFloats;
    memcpy(row, latent + t * kvLoraRank, kvLoraRank * 4);
    memcpy(row + kvLoraRank, ropeKey + t * ropeDim, ropeDim * 4);
  }
  MLATask task = {qNopeAbs, q,          positions, cache,   nTokens, nHeads,
                  nopeDim,  kvLoraRank, ropeDim,   scale,   ctxOut};
  ingot_rt_parallel(ctx, runMLATask, &task);
}

void ingot_op_slice(const float *x, int64_t rows, int64_t inWidth,
                    int64_t offset, int64_t width, float *out) {
  for (int64_t r = 0; r < rows; ++r)
    memcpy(out + r * width, x + r * inWidth + offset, width * 4);
}

void ingot_op_silu(const float *x, int64_t n, float *out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = x[i] / (1.0f + expf(-x[i]));
}

void ingot_op_gelu(const float *x, int64_t n, float *out) {
  const float c = 0.79788456080286535587989211986876f;
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    out[i] = 0.5f * v * (1.0f + tanhf(c * v * (1.0f + 0.044715f * v * v)));
  }
}

void ingot_op_swiglu(const float *gate, const float *up, int64_t n,
                     float *out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void ingot_op_add(const float *a, const float *b, int64_t n, float *out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = a[i] + b[i];
}

void ingot_op_moe_route(const float *logits, int64_t nTokens,
                        int64_t nExperts, int64_t used, int32_t sigmoid,
                        const float *selectionBias, int64_t nGroups,
                        int64_t groupsUsed, int32_t normalize, float scale,
                        int32_t *ids, float *weights) {
  float probs[kMaxExperts], selection[kMaxExperts];
  for (int64_t t = 0; t < nTokens; ++t) {
    const float *l = logits + t * nExperts;
    if (sigmoid) {
      for (int64_t e = 0; e < nExperts; ++e)
        probs[e] = 1.0f / (1.0f + expf(-l[e]));
    } else {
      float m = -INFINITY;
      for (int64_t e = 0; e < nExperts; ++e)
        m = fmaxf(m, l[e]);
      double sum = 0.0;
      for (int64_t e = 0; e < nExperts; ++e) {
        probs[e] = expf(l[e] - m);
        sum += probs[e];
      }
      float inv = (float)(1.0 / sum);
      for (int64_t e = 0; e < nExperts; ++e)
        probs[e] *= inv;
    }
    for (int64_t e = 0; e < nExperts; ++e)
      selection[e] = probs[e] + (selectionBias ? selectionBias[e] : 0.0f);
    if (nGroups > 1) {
      const int64_t per = nExperts / nGroups;
      float groupScores[kMaxExperts];
      for (int64_t g = 0; g < nGroups; ++g) {
        int32_t best[2];
        topK(selection + g * per, per, 2, best);
        groupScores[g] = selection[g * per + best[0]] + selection[g * per + best[1]];
      }
      int32_t keep[kMaxExperts];
      topK(groupScores, nGroups, groupsUsed, keep);
      bool kept[kMaxExperts] = {};
      for (int64_t i = 0; i < groupsUsed; ++i)
        kept[keep[i]] = true;
      for (int64_t e = 0; e < nExperts; ++e)
        if (!kept[e / per])
          selection[e] = -INFINITY;
    }
    int32_t *tid = ids + t * used;
    float *tw = weights + t * used;
    topK(selection, nExperts, used, tid);
    double sum = 0.0;
    for (int64_t i = 0; i < used; ++i) {
      tw[i] = probs[tid[i]];
      sum += tw[i];
    }
    if (normalize) {
      float denom = fmaxf((float)sum, 6.103515625e-5f);
      for (int64_t i = 0; i < used; ++i)
        tw[i] /= denom;
    }
    if (scale != 0.0f && scale != 1.0f)
      for (int64_t i = 0; i < used; ++i)
        tw[i] *= scale;
  }
}

void ingot_op_moe_experts(IngotContext *ctx, IngotExpertKernel gateUpKernel,
                          IngotExpertKernel downKernel, const void *gate,
                          const void *up, const void *down,
                          int64_t gateUpStride, int64_t downStride,
                          int32_t gateUpType, int32_t downType, int64_t dim,
                          int64_t ffn, int64_t granuleGateUp,
                          int64_t granuleDown, const float *x, int64_t nTokens,
                          const int32_t *ids, const float *weights,
                          int64_t used, float *out, uint8_t *scratch) {
  float *g = (float *)scratch;
  float *u = g + used * ffn;
  float *d = u + used * ffn;
  uint8_t *actX = (uint8_t *)(d + used * dim);
  uint8_t *actH = actX + ingot_op_activation_bytes(gateUpType, dim);
  const int64_t hBytes = ingot_op_activation_bytes(downType, ffn);
  for (int64_t t = 0; t < nTokens; ++t) {
    const int32_t *tid = ids + t * used;
    ingot_op_prepare_activations(gateUpType, x + t * dim, 1, dim, dim, actX);
    ExpertTask gateTask = {gateUpKernel, gate, gateUpStride, tid, used,
                           actX,         0,    g,            ffn, granuleGateUp};
    ingot_rt_parallel(ctx, runExpertTask, &gateTask);
    ExpertTask upTask = gateTask;
    upTask.stack = up;
    upTask.y = u;
    ingot_rt_parallel(ctx, runExpertTask, &upTask);
    ingot_op_swiglu(g, u, used * ffn, g);
    ingot_op_prepare_activations(downType, g, used, ffn, ffn, actH);
    ExpertTask downTask = {downKernel, down, downStride, tid, used,
                           actH,       hBytes, d,        dim, granuleDown};
    ingot_rt_parallel(ctx, runExpertTask, &downTask);
    float *o = out + t * dim;
    const float *w = weights + t * used;
    for (int64_t i = 0; i < dim; ++i)
      o[i] = d[i] * w[0];
    for (int64_t j = 1; j < used; ++j)
      for (int64_t i = 0; i < dim; ++i)
        o[i] += d[j * dim + i] * w[j];
  }
}

void ingot_op_per_head_matmul(IngotContext *ctx, IngotExpertKernel kernel,
                              const void *stack, int64_t stride, int32_t wtype,
                              int64_t heads, int64_t rows, int64_t cols,
                              int64_t granule, const float *x,
                              int64_t xStride, int64_t nTokens,
                              int64_t xTokenStride, float *out,
                              int64_t outTokenStride, int64_t outHeadStride,
                              uint8_t *scratch) {
  int32_t headIds[kMaxExperts];
  for (int64_t h = 0; h < heads; ++h)
    headIds[h] = (int32_t)h;
  const int64_t actBytes = ingot_op_activation_bytes(wtype, cols);
  float *y = (float *)scratch;
  uint8_t *act = (uint8_t *)(y + heads * rows);
  for (int64_t t = 0; t < nTokens; ++t) {
    ingot_op_prepare_activations(wtype, x + t * xTokenStride, heads, cols,
                                 xStride, act);
    ExpertTask task = {kernel, stack, stride, headIds, heads,
                       act,    actBytes, y,   rows,    granule};
    ingot_rt_parallel(ctx, runExpertTask, &task);
    for (int64_t h = 0; h < heads; ++h)
      memcpy(out + t * outTokenStride + h * outHeadStride, y + h * rows,
             rows * 4);
  }
}

} // extern "C"
