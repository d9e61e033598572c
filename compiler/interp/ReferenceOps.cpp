//===- ReferenceOps.cpp - Reference numerics of the model-level ops -------===//
//
// See ReferenceOps.h for the conventions. The math follows ggml's CPU
// backend (ggml-cpu ops.cpp, quants.c) and llama.cpp's graph builders; the
// code is written from those descriptions, not copied.
//
//===----------------------------------------------------------------------===//
#include "compiler/interp/ReferenceOps.h"

#include "compiler/gguf/GGUFFile.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

using namespace ingot;
using namespace ingot::interp;
using ggml::Type;

//===----------------------------------------------------------------------===//
// WeightView
//===----------------------------------------------------------------------===//

llvm::Expected<WeightView>
WeightView::fromTensor(const gguf::GGUFFile &file,
                       const gguf::TensorInfo &tensor) {
  WeightView view;
  view.type = tensor.type;
  view.shape.assign(tensor.shape.begin(), tensor.shape.end());
  view.data = file.tensorData(tensor);
  if (!ggml::rowBytes(view.type, view.rowLength()))
    return llvm::createStringError(llvm::formatv(
        "tensor '{0}': a row of {1} values is not a whole "
        "number of {2} blocks",
        tensor.name, view.rowLength(), ggml::typeName(view.type)));
  return view;
}

int64_t WeightView::totalRows() const {
  int64_t rows = 1;
  for (size_t i = 1; i < shape.size(); ++i)
    rows *= int64_t(shape[i]);
  return rows;
}

int64_t WeightView::matrixCount() const {
  int64_t count = 1;
  for (size_t i = 2; i < shape.size(); ++i)
    count *= int64_t(shape[i]);
  return count;
}

uint64_t WeightView::rowBytes() const {
  std::optional<uint64_t> bytes = ggml::rowBytes(type, rowLength());
  assert(bytes && "rows are whole blocks (fromTensor checks)");
  return *bytes;
}

const uint8_t *WeightView::rowData(int64_t row) const {
  assert(row >= 0 && row < totalRows() && "row out of range");
  return data.data() + uint64_t(row) * rowBytes();
}

WeightView WeightView::matrix(int64_t index) const {
  assert(index >= 0 && index < matrixCount() && "matrix out of range");
  WeightView view;
  view.type = type;
  view.shape.push_back(shape[0]);
  view.shape.push_back(matrixRows());
  uint64_t bytes = rowBytes() * uint64_t(matrixRows());
  view.data = data.slice(uint64_t(index) * bytes, bytes);
  return view;
}

void WeightView::readRow(int64_t row, float *out) const {
  ggml::dequantizeRow(type, rowData(row), out, rowLength());
}

//===----------------------------------------------------------------------===//
// Activation rounding
//===----------------------------------------------------------------------===//

void interp::roundToF16(const float *x, int64_t n, float *out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = ggml::halfToFloat(ggml::floatToHalf(x[i]));
}

void interp::roundToBF16(const float *x, int64_t n, float *out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = ggml::bf16ToFloat(ggml::floatToBf16(x[i]));
}

//===----------------------------------------------------------------------===//
// Dot products per weight type
//===----------------------------------------------------------------------===//

namespace {
uint16_t load16(const uint8_t *p) { return uint16_t(p[0] | (p[1] << 8)); }
} // namespace

// ggml's F32 arithmetic (x86 AVX-512 build): compiler/ggml/GGMLArithmetic.h.
using ggml::kLanes;
using ggml::reduceLanes;
using ggml::useSgemmF32;

namespace {

/// ggml_vec_silu_f32 / ggml_vec_swiglu_f32 over one row: blocks of 16 use
/// ggml_v_expf, the tail uses expf.
float siluAt(const float *x, int64_t i, int64_t n) {
  const float v = x[i];
  const bool vectorised = i < (n & ~int64_t(kLanes - 1));
  const float e = vectorised ? ggml::vExpf(-v) : std::exp(-v);
  return v / (1.0f + e);
}

float dotF32(const float *w, const float *x, int64_t n) {
  return ggml::vecDotF32(w, x, n);
}

float dotF16(const uint8_t *row, const float *xRounded, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i)
    sum += double(ggml::halfToFloat(load16(row + 2 * i)) * xRounded[i]);
  return float(sum);
}

float dotBF16(const uint8_t *row, const float *xRounded, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i)
    sum += double(ggml::bf16ToFloat(load16(row + 2 * i)) * xRounded[i]);
  return float(sum);
}

/// The activation row prepared for one weight type, reused over all rows of
/// the weight.
class PreparedActivations {
public:
  /// `sgemm`: llama.cpp would run this F32 product through llamafile's
  /// tinyBLAS (see useSgemmF32) rather than ggml_vec_dot_f32.
  PreparedActivations(Type type, const float *x, int64_t n, bool sgemm = false)
      : type(type), x(x), n(n), sgemm(sgemm) {
    assert(canMultiply(type) && "no dot product for this weight type");
    switch (type) {
    case Type::F16:
      rounded.resize(n);
      roundToF16(x, n, rounded.data());
      break;
    case Type::BF16:
      rounded.resize(n);
      roundToBF16(x, n, rounded.data());
      break;
    case Type::F32:
      break;
    default:
      quantized.emplace(*vecDotType(type), x, n);
      break;
    }
  }

  /// `kernel`: which of ggml's kernels sums the product (see ggmlKernel).
  float dot(const WeightView &w, int64_t row,
            DotKernel kernel = DotKernel::VecDot) {
    const uint8_t *data = w.rowData(row);
    switch (type) {
    case Type::F16:
      return dotF16(data, rounded.data(), n);
    case Type::BF16:
      return dotBF16(data, rounded.data(), n);
    case Type::F32:
      return sgemm ? ggml::sgemmDotF32(reinterpret_cast<const float *>(data), x,
                                       n)
                   : dotF32(reinterpret_cast<const float *>(data), x, n);
    default:
      return quantizedDot(type, data, *quantized, n, kernel);
    }
  }

private:
  Type type;
  const float *x;
  int64_t n;
  bool sgemm;
  std::vector<float> rounded;
  std::optional<QuantizedActivations> quantized;
};

} // namespace

bool interp::canMultiply(Type type) { return vecDotType(type).has_value(); }

float interp::dotRow(const WeightView &w, int64_t row, const float *x) {
  PreparedActivations prepared(w.type, x, w.rowLength());
  return prepared.dot(w, row, ggmlKernel(w.type, w.matrixRows(), 0, 1));
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

llvm::Error interp::embedding(const WeightView &table, int64_t token,
                              float *out) {
  if (token < 0 || token >= table.totalRows())
    return llvm::createStringError(
        llvm::formatv("token id {0} is outside the vocabulary of {1}", token,
                      table.totalRows()));
  table.readRow(token, out);
  return llvm::Error::success();
}

void interp::rmsNorm(const float *x, const float *weight, float eps, int64_t n,
                     int64_t rows, float *out) {
  for (int64_t r = 0; r < rows; ++r, x += n, out += n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i)
      sum += double(x[i] * x[i]);
    const float mean = float(sum / double(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (int64_t i = 0; i < n; ++i) {
      float v = x[i] * scale;
      out[i] = weight ? v * weight[i] : v;
    }
  }
}

void interp::matmul(const WeightView &w, const float *x, int64_t nTokens,
                    float *y, const float *bias) {
  const int64_t in = w.rowLength();
  const int64_t outFeatures = w.matrixRows();
  assert(w.matrixCount() == 1 && "matmul takes a 2-D weight");
  const bool sgemm = useSgemmF32(outFeatures, nTokens, in);
  for (int64_t t = 0; t < nTokens; ++t) {
    PreparedActivations prepared(w.type, x + t * in, in, sgemm);
    const DotKernel kernel = ggmlKernel(w.type, outFeatures, t, nTokens);
    float *yt = y + t * outFeatures;
    for (int64_t o = 0; o < outFeatures; ++o) {
      float v = prepared.dot(w, o, kernel);
      yt[o] = bias ? v + bias[o] : v;
    }
  }
}

void interp::ropeYarnCorrDims(int64_t nDims, int64_t nCtxOrig, float freqBase,
                              float betaFast, float betaSlow, float dims[2]) {
  // The dimension at which a rotation completes `nRot` turns over the
  // original context: nDims * ln(nCtxOrig / (nRot * 2 pi)) / (2 ln base).
  auto corrDim = [&](float nRot) {
    return float(nDims) *
           std::log(float(nCtxOrig) / (nRot * 2.0f * 3.14159265358979323846f)) /
           (2.0f * std::log(freqBase));
  };
  float start = std::floor(corrDim(betaFast));
  float end = std::ceil(corrDim(betaSlow));
  dims[0] = std::max(0.0f, start);
  dims[1] = std::min(float(nDims - 1), end);
}

void interp::rope(float *x, int64_t nHeads, int64_t headStride, int64_t pos,
                  const RopeParams &p) {
  const int64_t nDims = p.nDims;
  assert(nDims % 2 == 0 && nDims <= headStride && "bad rope dims");
  const float thetaScale = std::pow(p.freqBase, -2.0f / float(nDims));
  float corr[2] = {0.0f, 0.0f};
  if (p.extFactor != 0.0f)
    ropeYarnCorrDims(nDims, p.nCtxOrig, p.freqBase, p.betaFast, p.betaSlow,
                     corr);

  // cos/sin per dimension pair, as ggml's rope cache (theta multiplied up
  // step by step in float).
  llvm::SmallVector<float, 128> cosv(nDims / 2), sinv(nDims / 2);
  float thetaBase = float(pos);
  for (int64_t i0 = 0; i0 < nDims; i0 += 2) {
    // Per-pair frequency factors divide the angle (ggml_rope_cache_init).
    float thetaExtrap =
        p.freqFactors ? thetaBase / p.freqFactors[i0 / 2] : thetaBase;
    float thetaInterp = p.freqScale * thetaExtrap;
    float theta = thetaInterp;
    float mscale = p.attnFactor;
    if (p.extFactor != 0.0f) {
      float y = (float(i0 / 2) - corr[0]) / std::max(0.001f, corr[1] - corr[0]);
      float ramp = 1.0f - std::min(1.0f, std::max(0.0f, y));
      float mix = ramp * p.extFactor;
      theta = thetaInterp * (1.0f - mix) + thetaExtrap * mix;
      mscale *= 1.0f + 0.1f * std::log(1.0f / p.freqScale);
    }
    cosv[i0 / 2] = std::cos(theta) * mscale;
    sinv[i0 / 2] = std::sin(theta) * mscale;
    thetaBase *= thetaScale;
  }

  for (int64_t h = 0; h < nHeads; ++h) {
    float *v = x + h * headStride;
    for (int64_t i = 0; i < nDims / 2; ++i) {
      int64_t a, b;
      if (p.mode == RopeMode::Normal) {
        a = 2 * i;
        b = 2 * i + 1;
      } else {
        a = i;
        b = i + nDims / 2;
      }
      float x0 = v[a], x1 = v[b];
      v[a] = x0 * cosv[i] - x1 * sinv[i];
      v[b] = x0 * sinv[i] + x1 * cosv[i];
    }
  }
}

bool KVCacheLayer::canStoreKeys(Type keyType, int64_t kDim) {
  switch (keyType) {
  case Type::F32:
  case Type::F16:
    return true;
  case Type::Q8_0:
    return kDim % 32 == 0;
  default:
    return false;
  }
}

KVCacheLayer::KVCacheLayer(int64_t capacity, int64_t kHeads, int64_t kDim,
                           int64_t vWidth, Type keyType)
    : capacity(capacity), kHeads(kHeads), kDim(kDim), vWidth(vWidth),
      keyType(keyType) {
  assert(canStoreKeys(keyType, kDim) && "keys not storable in the type");
  keyHeadBytes = int64_t(*ggml::rowBytes(keyType, uint64_t(kDim)));
  keyRowBytes = kHeads * keyHeadBytes;
  k.assign(size_t(capacity * keyRowBytes), 0);
  v.assign(size_t(capacity * vWidth), 0.0f);
}

llvm::Error KVCacheLayer::store(int64_t pos, const float *key,
                                const float *value) {
  if (pos < 0 || pos >= capacity)
    return llvm::createStringError(llvm::formatv(
        "position {0} is outside the context of {1} tokens", pos, capacity));
  for (int64_t h = 0; h < kHeads; ++h) {
    const float *x = key + h * kDim;
    uint8_t *out = k.data() + pos * keyRowBytes + h * keyHeadBytes;
    switch (keyType) {
    case Type::F16:
      for (int64_t i = 0; i < kDim; ++i) {
        uint16_t half = ggml::floatToHalf(x[i]);
        out[2 * i] = uint8_t(half);
        out[2 * i + 1] = uint8_t(half >> 8);
      }
      break;
    case Type::Q8_0: {
      // ggml's set_rows converts with quantize_row_q8_0, the same x86
      // rounding as the activations of a Q8_0 product.
      std::vector<Q8Block> blocks(size_t(kDim / 32));
      quantizeActivationsQ8_0(x, kDim, blocks.data());
      for (size_t b = 0; b < blocks.size(); ++b, out += 34) {
        uint16_t half = ggml::floatToHalf(blocks[b].d);
        out[0] = uint8_t(half);
        out[1] = uint8_t(half >> 8);
        std::memcpy(out + 2, blocks[b].q, 32);
      }
      break;
    }
    default:
      std::memcpy(out, x, sizeof(float) * kDim);
      break;
    }
  }
  if (vWidth > 0 && value)
    std::memcpy(v.data() + pos * vWidth, value, sizeof(float) * vWidth);
  return llvm::Error::success();
}

void KVCacheLayer::readKey(int64_t pos, int64_t head, int64_t n,
                           float *out) const {
  const uint8_t *data = keyData(pos, head);
  switch (keyType) {
  case Type::F16:
    for (int64_t i = 0; i < n; ++i)
      out[i] = ggml::halfToFloat(load16(data + 2 * i));
    break;
  case Type::Q8_0:
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t *block = data + (i / 32) * 34;
      out[i] =
          ggml::halfToFloat(load16(block)) * float(int8_t(block[2 + i % 32]));
    }
    break;
  default:
    std::memcpy(out, data, sizeof(float) * n);
    break;
  }
}

namespace {

/// ggml_compute_forward_soft_max_f32 on one row of `n` values that ggml sees
/// as a row of `width` >= n cells (the others masked to -inf, so exp 0):
/// x * scale, max, exp in blocks of 16 with ggml_v_expf (each block's sum
/// reduced over the lanes, the block sums added in double), expf for the
/// tail, then multiplied by (float)(1 / sum).
void softmaxRow(float *x, int64_t n, int64_t width, float scale) {
  float maxv = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    x[i] *= scale;
    maxv = std::max(maxv, x[i]);
  }
  double sum = 0.0;
  const int64_t vecEnd = width & ~int64_t(kLanes - 1);
  for (int64_t c = 0; c < vecEnd && c < n; c += kLanes) {
    float lanes[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      const int64_t i = c + l;
      lanes[l] = i < n ? ggml::vExpf(x[i] - maxv) : 0.0f;
      if (i < n)
        x[i] = lanes[l];
    }
    sum += double(reduceLanes(lanes));
  }
  for (int64_t i = vecEnd; i < n; ++i) {
    const float e = std::exp(x[i] - maxv);
    x[i] = e;
    sum += double(e);
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i)
    x[i] *= inv;
}

/// llama.cpp pads the number of KV cells an attention step sees to a
/// multiple of 256 (llama_kv_cache::get_n_kv); the padding is masked.
int64_t paddedKV(int64_t nKV) { return (nKV + 255) / 256 * 256; }

/// A query head as the reference multiplies it with the cache's keys (K x Q
/// with K of the key type): the query rounded to K's vec_dot_type (F16, or
/// Q8_0 blocks) and summed as the weight products of that type are.
class KeyScorer {
public:
  KeyScorer(const KVCacheLayer &cache, const float *q, int64_t n)
      : cache(cache), q(q), n(n) {
    if (cache.getKeyType() == Type::F16) {
      rounded.resize(size_t(n));
      roundToF16(q, n, rounded.data());
    } else if (cache.getKeyType() != Type::F32) {
      quantized.emplace(*vecDotType(cache.getKeyType()), q, n);
    }
  }
  float score(int64_t pos, int64_t head) const {
    const uint8_t *key = cache.keyData(pos, head);
    switch (cache.getKeyType()) {
    case Type::F32:
      return dotF32(reinterpret_cast<const float *>(key), q, n);
    case Type::F16:
      return dotF16(key, rounded.data(), n);
    default:
      return quantizedDot(cache.getKeyType(), key, *quantized, n);
    }
  }

private:
  const KVCacheLayer &cache;
  const float *q;
  int64_t n;
  std::vector<float> rounded;
  std::optional<QuantizedActivations> quantized;
};

/// out[d] = sum_j p[j] * value(j)[d] for d < dim, summed as ggml's
/// mul_mat(v, kq) does over a KV row of `width` cells (a multiple of 64;
/// the cells past nKV have p = 0 and add nothing): tinyBLAS's 16 lanes when
/// the batch has several tokens, ggml_vec_dot_f32's 4 x 16 otherwise.
template <typename ValueFn>
void weightedSum(const float *p, int64_t nKV, bool sgemm, ValueFn value,
                 int64_t dim, float *out) {
  for (int64_t d = 0; d < dim; ++d) {
    float acc[4][kLanes] = {};
    for (int64_t j = 0; j < nKV; ++j) {
      float &a = acc[sgemm ? 0 : (j / kLanes) % 4][j % kLanes];
      a = std::fma(p[j], value(j)[d], a);
    }
    out[d] = sgemm ? reduceLanes(acc[0]) : ggml::reduceVecDotAccumulators(acc);
  }
}

} // namespace

void interp::softmax(float *x, int64_t n, float scale) {
  softmaxRow(x, n, n, scale);
}

void interp::attention(const float *q, int64_t nTokens,
                       const int64_t *positions, const KVCacheLayer &cache,
                       const AttentionParams &p, float *out) {
  assert(p.nKVHeads > 0 && p.nHeads % p.nKVHeads == 0 && "bad GQA ratio");
  assert(cache.getKHeads() == p.nKVHeads && cache.getKDim() == p.headDimK &&
         cache.getVWidth() == p.nKVHeads * p.headDimV && "cache mismatch");
  const int64_t group = p.nHeads / p.nKVHeads;
  std::vector<float> scores;
  for (int64_t t = 0; t < nTokens; ++t) {
    const int64_t nKV = positions[t] + 1;
    const int64_t width = paddedKV(nKV);
    const bool sgemm = useSgemmF32(p.headDimV, nTokens, width);
    scores.resize(nKV);
    for (int64_t h = 0; h < p.nHeads; ++h) {
      const int64_t kvh = h / group;
      const KeyScorer scorer(cache, q + (t * p.nHeads + h) * p.headDimK,
                             p.headDimK);
      for (int64_t j = 0; j < nKV; ++j)
        scores[j] = scorer.score(j, kvh);
      softmaxRow(scores.data(), nKV, width, p.scale);
      weightedSum(
          scores.data(), nKV, sgemm,
          [&](int64_t j) { return cache.value(j) + kvh * p.headDimV; },
          p.headDimV, out + (t * p.nHeads + h) * p.headDimV);
    }
  }
}

void interp::mlaAttention(const float *q, int64_t nTokens,
                          const int64_t *positions, const KVCacheLayer &cache,
                          const WeightView &kB, const WeightView &vB,
                          const MLAParams &p, float *out) {
  const int64_t qHead = p.qkNopeDim + p.qkRopeDim;
  const int64_t kWidth = p.kvLoraRank + p.qkRopeDim;
  assert(cache.getKHeads() == 1 && cache.getKDim() == kWidth &&
         "MLA cache width mismatch");
  assert(kB.rowLength() == p.qkNopeDim && kB.matrixRows() == p.kvLoraRank &&
         kB.matrixCount() == p.nHeads && "attn_k_b shape mismatch");
  assert(vB.rowLength() == p.kvLoraRank && vB.matrixRows() == p.vHeadDim &&
         vB.matrixCount() == p.nHeads && "attn_v_b shape mismatch");
  std::vector<float> qFull(kWidth), scores, ctx(p.kvLoraRank);
  // The values are the latent part of the keys, as floats.
  std::vector<float> latents;
  for (int64_t t = 0; t < nTokens; ++t) {
    const int64_t nKV = positions[t] + 1;
    const int64_t width = paddedKV(nKV);
    const bool sgemm = useSgemmF32(p.kvLoraRank, nTokens, width);
    scores.resize(nKV);
    latents.resize(size_t(nKV * p.kvLoraRank));
    for (int64_t j = 0; j < nKV; ++j)
      cache.readKey(j, 0, p.kvLoraRank, latents.data() + j * p.kvLoraRank);
    for (int64_t h = 0; h < p.nHeads; ++h) {
      const float *qh = q + (t * p.nHeads + h) * qHead;
      // Absorb attn_k_b into the query: q_abs = k_b[h] . q_nope.
      matmul(kB.matrix(h), qh, 1, qFull.data());
      std::copy(qh + p.qkNopeDim, qh + qHead, qFull.begin() + p.kvLoraRank);
      const KeyScorer scorer(cache, qFull.data(), kWidth);
      for (int64_t j = 0; j < nKV; ++j)
        scores[j] = scorer.score(j, 0);
      softmaxRow(scores.data(), nKV, width, p.scale);
      if (cache.getKeyType() == Type::F16) {
        // F16 values (the latent part of F16 keys): the reference's
        // mul_mat(v, kq) rounds the probabilities to F16 and sums the
        // products as its F16 products (dotF16).
        roundToF16(scores.data(), nKV, scores.data());
        for (int64_t d = 0; d < p.kvLoraRank; ++d) {
          double sum = 0.0;
          for (int64_t j = 0; j < nKV; ++j)
            sum += double(latents[size_t(j * p.kvLoraRank + d)] * scores[j]);
          ctx[size_t(d)] = float(sum);
        }
      } else {
        weightedSum(
            scores.data(), nKV, sgemm,
            [&](int64_t j) { return latents.data() + j * p.kvLoraRank; },
            p.kvLoraRank, ctx.data());
      }
      // Decompress the values: out[h] = v_b[h] . ctx.
      matmul(vB.matrix(h), ctx.data(), 1,
             out + (t * p.nHeads + h) * p.vHeadDim);
    }
  }
}

void interp::silu(const float *x, int64_t n, float *out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = siluAt(x, i, n);
}

void interp::gelu(const float *x, int64_t n, float *out) {
  const float sqrt2OverPi = 0.79788456080286535587989211986876f;
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    out[i] = 0.5f * v *
             (1.0f + std::tanh(sqrt2OverPi * v * (1.0f + 0.044715f * v * v)));
  }
}

void interp::swiglu(const float *gate, const float *up, int64_t n, float *out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = siluAt(gate, i, n) * up[i];
}

void interp::add(const float *a, const float *b, int64_t n, float *out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = a[i] + b[i];
}

void interp::ffnSwiGLU(const WeightView &gate, const WeightView &up,
                       const WeightView &down, const float *x, int64_t nTokens,
                       float *out) {
  const int64_t nFF = gate.matrixRows();
  assert(up.matrixRows() == nFF && down.rowLength() == nFF &&
         "FFN shapes disagree");
  std::vector<float> g(nTokens * nFF), u(nTokens * nFF);
  matmul(gate, x, nTokens, g.data());
  matmul(up, x, nTokens, u.data());
  for (int64_t t = 0; t < nTokens; ++t)
    swiglu(g.data() + t * nFF, u.data() + t * nFF, nFF, g.data() + t * nFF);
  matmul(down, g.data(), nTokens, out);
}

namespace {
/// Indices of the k largest values, best first (ties: lower index first).
llvm::SmallVector<int32_t, 16> topK(llvm::ArrayRef<float> values, int64_t k) {
  llvm::SmallVector<int32_t, 16> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return values[a] > values[b] || (values[a] == values[b] && a < b);
  });
  order.resize(std::min<size_t>(order.size(), size_t(k)));
  return order;
}
} // namespace

ExpertRoute interp::routeExperts(const float *routerLogits,
                                 const float *selectionBias,
                                 const MoEParams &p) {
  const int64_t nExp = p.nExperts;
  std::vector<float> probs(routerLogits, routerLogits + nExp);
  switch (p.gating) {
  case GatingFunc::Softmax:
    softmax(probs.data(), nExp);
    break;
  case GatingFunc::Sigmoid:
    for (float &v : probs)
      v = 1.0f / (1.0f + std::exp(-v));
    break;
  }

  std::vector<float> selection = probs;
  float groupMargin = std::numeric_limits<float>::infinity();
  if (selectionBias)
    for (int64_t e = 0; e < nExp; ++e)
      selection[e] += selectionBias[e];

  if (p.nGroups > 1) {
    assert(nExp % p.nGroups == 0 && "experts must split evenly into groups");
    const int64_t perGroup = nExp / p.nGroups;
    std::vector<float> groupScores(p.nGroups);
    for (int64_t g = 0; g < p.nGroups; ++g) {
      llvm::ArrayRef<float> members(selection.data() + g * perGroup,
                                    size_t(perGroup));
      float score = 0.0f;
      for (int32_t i : topK(members, 2))
        score += members[i];
      groupScores[g] = score;
    }
    llvm::SmallVector<int32_t, 16> keep = topK(groupScores, p.nGroupsUsed);
    // How close the group decision was: last kept minus best dropped group.
    if (p.nGroupsUsed < p.nGroups) {
      llvm::SmallVector<int32_t, 16> all = topK(groupScores, p.nGroups);
      groupMargin =
          groupScores[all[p.nGroupsUsed - 1]] - groupScores[all[p.nGroupsUsed]];
    }
    std::vector<bool> kept(p.nGroups, false);
    for (int32_t g : keep)
      kept[g] = true;
    for (int64_t e = 0; e < nExp; ++e)
      if (!kept[e / perGroup])
        selection[e] = -std::numeric_limits<float>::infinity();
  }

  ExpertRoute route;
  route.margin = groupMargin;
  llvm::SmallVector<int32_t, 16> ranked = topK(selection, nExp);
  if (p.nExpertsUsed < nExp && std::isfinite(selection[ranked[p.nExpertsUsed]]))
    route.margin =
        std::min(route.margin, selection[ranked[p.nExpertsUsed - 1]] -
                                   selection[ranked[p.nExpertsUsed]]);
  for (int32_t e : llvm::ArrayRef<int32_t>(ranked).take_front(p.nExpertsUsed)) {
    route.experts.push_back(e);
    route.weights.push_back(probs[e]);
  }
  if (p.normalizeWeights) {
    double sum = 0.0;
    for (float w : route.weights)
      sum += double(w);
    // As llama.cpp: clamp the sum to the smallest normal F16.
    float denom = std::max(float(sum), 6.103515625e-5f);
    for (float &w : route.weights)
      w /= denom;
  }
  if (p.weightsScale != 0.0f && p.weightsScale != 1.0f)
    for (float &w : route.weights)
      w *= p.weightsScale;
  return route;
}

void interp::moe(const MoEWeights &w, const MoEParams &p, const float *x,
                 int64_t nTokens, float *out,
                 std::vector<ExpertRoute> *routes) {
  const int64_t nEmbd = w.downExps.matrixRows();
  assert((w.routerLogits || w.router.matrixRows() == p.nExperts) &&
         "router shape mismatch");
  std::vector<float> logits(nTokens * p.nExperts), expertOut(nEmbd);
  if (routes)
    routes->clear();
  // The router runs over the whole batch (its F32 summation order depends on
  // the batch size, as in llama.cpp).
  if (w.routerLogits)
    std::copy(w.routerLogits, w.routerLogits + nTokens * p.nExperts,
              logits.begin());
  else
    matmul(w.router, x, nTokens, logits.data());
  for (int64_t t = 0; t < nTokens; ++t) {
    const float *xt = x + t * nEmbd;
    float *ot = out + t * nEmbd;
    ExpertRoute route =
        routeExperts(logits.data() + t * p.nExperts, w.selectionBias, p);
    for (size_t i = 0; i < route.experts.size(); ++i) {
      int32_t e = route.experts[i];
      ffnSwiGLU(w.gateExps.matrix(e), w.upExps.matrix(e), w.downExps.matrix(e),
                xt, 1, expertOut.data());
      for (int64_t d = 0; d < nEmbd; ++d) {
        float v = expertOut[d] * route.weights[i];
        ot[d] = i == 0 ? v : ot[d] + v;
      }
    }
    if (routes)
      routes->push_back(std::move(route));
  }
}
