//===- Sampler.cpp - Token sampling
//----------------------------------------===//
#include "Sampler.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>

namespace ingot::rt {

//===-- Logit checks ------------------------------------------------------===//

int64_t firstNonFinite(const float *row, int64_t n) {
  // NaN and the infinities are the floats whose exponent bits are all
  // ones. The integer test has no early exit, so the loop vectorizes; the
  // index is searched for only when something was found.
  constexpr uint32_t kExponent = 0x7f800000u;
  uint32_t any = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, row + i, sizeof(bits));
    any |= uint32_t((bits & kExponent) == kExponent);
  }
  if (!any)
    return -1;
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(row[i]))
      return i;
  return -1;
}

//===-- Rng ---------------------------------------------------------------===//

void Rng::reseed(uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t &w : s) {
    // splitmix64
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    w = z ^ (z >> 31);
  }
}

static inline uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

uint64_t Rng::next() {
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

//===-- Sampler -----------------------------------------------------------===//

namespace {
// Descending logit, ties by ascending id: a total order, so results do not
// depend on the sort algorithm.
inline bool before(const Candidate &a, const Candidate &b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}
} // namespace

namespace {
/// A zeroed array of n elements, or null when it cannot be had; never
/// throws (the runtime has no exceptions, so operator new's failure would
/// abort the process).
template <class T> std::unique_ptr<T[]> zeroedArray(int64_t n) {
  if (n < 0 || uint64_t(n) > SIZE_MAX / sizeof(T))
    return nullptr;
  return std::unique_ptr<T[]>(new (std::nothrow) T[size_t(n)]());
}
} // namespace

bool Sampler::init(int64_t vocabSize, int64_t contextLength,
                   const SamplerParams &params, std::string &error) {
  par = params;
  vocab = 0;
  n = ringSize = ringHead = ringFill = 0;
  if (vocabSize < 1 || vocabSize > INT32_MAX || contextLength < 0) {
    error = "sampler: invalid vocabulary size " + std::to_string(vocabSize) +
            " or context length " + std::to_string(contextLength);
    return false;
  }
  // More tokens than the context never enter the window, so a longer
  // window (or -1) is the whole context.
  int64_t window = par.repeatLastN < 0 || par.repeatLastN > contextLength
                       ? contextLength
                       : par.repeatLastN;
  cand = zeroedArray<Candidate>(vocabSize);
  counts = zeroedArray<int32_t>(vocabSize);
  ring = window > 0 ? zeroedArray<int32_t>(window) : nullptr;
  if (!cand || !counts || (window > 0 && !ring)) {
    error = "sampler: cannot allocate buffers for " +
            std::to_string(vocabSize) + " tokens and a penalty window of " +
            std::to_string(window);
    return false;
  }
  vocab = vocabSize;
  ringSize = size_t(window);
  rng.reseed(par.seed);
  return true;
}

void Sampler::resetHistory() {
  for (size_t i = 0; i < ringFill; ++i)
    counts[size_t(ring[(ringHead + ringSize - 1 - i) % ringSize])] = 0;
  ringHead = ringFill = 0;
}

void Sampler::accept(int32_t id) {
  if (ringSize == 0 || id < 0 || id >= vocab)
    return;
  if (ringFill == ringSize)
    --counts[size_t(ring[ringHead])]; // the oldest token leaves the window
  else
    ++ringFill;
  ring[ringHead] = id;
  ++counts[size_t(id)];
  ringHead = (ringHead + 1) % ringSize;
}

void Sampler::loadLogits(const float *logits) {
  // A NaN logit has no probability: as -inf it keeps the order total (the
  // sorts need that) and the softmax finite.
  const float noMass = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < vocab; ++i)
    cand[size_t(i)] =
        Candidate{int32_t(i), std::isnan(logits[i]) ? noMass : logits[i], 0.0f};
  n = size_t(vocab);
  sorted = false;
}

void Sampler::applyPenalties() {
  if (ringFill == 0 ||
      (par.repeatPenalty == 1.0f && par.frequencyPenalty == 0.0f &&
       par.presencePenalty == 0.0f))
    return;
  // Only tokens in the window carry a count; visit them through the ring
  // (a token seen several times is penalised once: its count is cleared
  // after the first visit and restored afterwards).
  for (size_t i = 0; i < ringFill; ++i) {
    int32_t id = ring[(ringHead + ringSize - 1 - i) % ringSize];
    int32_t c = counts[size_t(id)];
    if (c <= 0)
      continue;
    Candidate *e = nullptr;
    if (!sorted && n == size_t(vocab))
      e = &cand[size_t(id)];
    else
      for (size_t j = 0; j < n && !e; ++j)
        if (cand[j].id == id)
          e = &cand[j];
    if (e) {
      if (e->logit <= 0)
        e->logit *= par.repeatPenalty;
      else
        e->logit /= par.repeatPenalty;
      e->logit -= float(c) * par.frequencyPenalty + par.presencePenalty;
    }
    counts[size_t(id)] = -c; // mark as done
  }
  for (size_t i = 0; i < ringFill; ++i) {
    int32_t id = ring[(ringHead + ringSize - 1 - i) % ringSize];
    if (counts[size_t(id)] < 0)
      counts[size_t(id)] = -counts[size_t(id)];
  }
  sorted = false;
}

void Sampler::sortDescending(size_t atLeast) {
  if (sorted)
    return;
  if (atLeast >= n) {
    std::sort(cand.get(), cand.get() + n, before);
    sorted = true;
  } else {
    std::partial_sort(cand.get(), cand.get() + atLeast, cand.get() + n, before);
  }
}

void Sampler::applyTopK(int32_t k) {
  if (k <= 0 || size_t(k) >= n)
    return;
  std::partial_sort(cand.get(), cand.get() + k, cand.get() + n, before);
  n = size_t(k);
  sorted = true;
}

void Sampler::softmax() {
  const float inf = std::numeric_limits<float>::infinity();
  float maxLogit = -inf;
  for (size_t i = 0; i < n; ++i)
    maxLogit = std::max(maxLogit, cand[i].logit);
  if (maxLogit == inf) {
    // exp(inf - inf) is NaN: the +inf logits share all the mass.
    size_t top = 0;
    for (size_t i = 0; i < n; ++i)
      top += cand[i].logit == inf;
    for (size_t i = 0; i < n; ++i)
      cand[i].p = cand[i].logit == inf ? 1.0f / float(top) : 0.0f;
    return;
  }
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    float e = cand[i].logit == -std::numeric_limits<float>::infinity()
                  ? 0.0f
                  : std::exp(cand[i].logit - maxLogit);
    cand[i].p = e;
    sum += e;
  }
  for (size_t i = 0; i < n; ++i)
    cand[i].p = sum > 0 ? float(cand[i].p / sum) : 1.0f / float(n);
}

void Sampler::applyTopP(float p) {
  if (p >= 1.0f || n <= 1)
    return;
  softmax();
  // Sort only as far as needed: most of the mass is in the first few.
  size_t k = std::min(n, size_t(128));
  for (;;) {
    if (!sorted)
      sortDescending(k);
    double cum = 0;
    for (size_t i = 0; i < k; ++i) {
      cum += cand[i].p;
      if (cum >= p) {
        n = i + 1;
        sorted = true;
        return;
      }
    }
    if (k == n)
      return; // rounding: the whole set is kept
    k = std::min(n, k * 4);
    if (k == n)
      sortDescending(n);
  }
}

void Sampler::applyMinP(float p) {
  if (p <= 0.0f || n <= 1)
    return;
  float maxLogit = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i)
    maxLogit = std::max(maxLogit, cand[i].logit);
  float threshold = maxLogit + std::log(p);
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i)
    if (cand[i].logit >= threshold)
      cand[kept++] = cand[i]; // order preserved
  n = kept ? kept : 1;
}

void Sampler::applyTemperature(float t) {
  if (t <= 0.0f) {
    // Only the most likely token survives.
    size_t best = 0;
    for (size_t i = 1; i < n; ++i)
      if (before(cand[i], cand[best]))
        best = i;
    cand[0] = cand[best];
    n = 1;
    sorted = true;
    return;
  }
  if (t == 1.0f)
    return;
  // A tiny temperature can push the largest logit to +inf (and the others
  // with it, losing their order): then shift by the largest first, which
  // leaves the distribution unchanged and the largest at 0.
  float maxLogit = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i)
    maxLogit = std::max(maxLogit, cand[i].logit);
  const float shift =
      std::isfinite(maxLogit) && !std::isfinite(maxLogit / t) ? maxLogit : 0.0f;
  for (size_t i = 0; i < n; ++i)
    cand[i].logit = (cand[i].logit - shift) / t;
}

int32_t Sampler::draw() {
  if (n == 1)
    return cand[0].id;
  softmax();
  double r = rng.uniform(), cum = 0;
  for (size_t i = 0; i < n; ++i) {
    cum += cand[i].p;
    if (r < cum)
      return cand[i].id;
  }
  // Rounding left r above the total: the last token with mass.
  for (size_t i = n; i-- > 0;)
    if (cand[i].p > 0)
      return cand[i].id;
  return cand[n - 1].id;
}

int64_t argmax(const float *row, int64_t n) {
  int64_t best = 0;
  float bestValue = row[0];
  for (int64_t i = 1; i < n; ++i)
    if (row[i] > bestValue || (std::isnan(bestValue) && !std::isnan(row[i]))) {
      bestValue = row[i];
      best = i;
    }
  return best;
}

void Sampler::suppressEndOfGeneration() {
  if (!suppressing())
    return;
  // Candidates are in id order until a stage sorts them.
  assert(!sorted && n == size_t(vocab));
  for (int32_t id : eog)
    if (id >= 0 && id < vocab)
      cand[size_t(id)].logit = -std::numeric_limits<float>::infinity();
}

int32_t Sampler::greedy(const float *logits) const {
  if (!suppressing())
    return int32_t(argmax(logits, vocab));
  // argmax's order (first largest, a NaN loses) over the tokens that are
  // not end-of-generation; eog is short, so a lookup per candidate of the
  // best so far is cheaper than a mask over the vocabulary.
  auto banned = [&](int64_t id) {
    return std::find(eog.begin(), eog.end(), int32_t(id)) != eog.end();
  };
  int64_t best = -1;
  float bestValue = 0.0f;
  for (int64_t i = 0; i < vocab; ++i) {
    const float v = logits[i];
    const bool better =
        v > bestValue || (std::isnan(bestValue) && !std::isnan(v));
    if (best >= 0 && !better)
      continue;
    if (banned(i))
      continue;
    best = i;
    bestValue = v;
  }
  return int32_t(best < 0 ? 0 : best);
}

int32_t Sampler::sample(const float *logits) {
  bool penalties = ringFill > 0 &&
                   (par.repeatPenalty != 1.0f || par.frequencyPenalty != 0.0f ||
                    par.presencePenalty != 0.0f);
  if (par.temp <= 0.0f && !penalties)
    return greedy(logits);
  loadLogits(logits);
  suppressEndOfGeneration();
  applyPenalties();
  if (par.temp <= 0.0f) {
    applyTemperature(0.0f);
    return cand[0].id;
  }
  applyTopK(par.topK);
  applyTopP(par.topP);
  applyMinP(par.minP);
  applyTemperature(par.temp);
  return draw();
}

} // namespace ingot::rt
