//===- Sampler.cpp - Token sampling ----------------------------------------===//
#include "Sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ingot::rt {

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

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

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

void Sampler::init(int64_t vocabSize, int64_t contextLength, const SamplerParams &params) {
  par = params;
  vocab = vocabSize;
  cand.assign(size_t(vocab), Candidate{0, 0.0f, 0.0f});
  counts.assign(size_t(vocab), 0);
  int64_t window = par.repeatLastN < 0 ? contextLength : par.repeatLastN;
  ring.assign(size_t(window > 0 ? window : 0), 0);
  ringHead = ringFill = 0;
  n = 0;
  rng.reseed(par.seed);
}

void Sampler::resetHistory() {
  for (size_t i = 0; i < ringFill; ++i)
    counts[size_t(ring[(ringHead + ring.size() - 1 - i) % ring.size()])] = 0;
  ringHead = ringFill = 0;
}

void Sampler::accept(int32_t id) {
  if (ring.empty() || id < 0 || id >= vocab)
    return;
  if (ringFill == ring.size())
    --counts[size_t(ring[ringHead])]; // the oldest token leaves the window
  else
    ++ringFill;
  ring[ringHead] = id;
  ++counts[size_t(id)];
  ringHead = (ringHead + 1) % ring.size();
}

void Sampler::loadLogits(const float *logits) {
  for (int64_t i = 0; i < vocab; ++i)
    cand[size_t(i)] = Candidate{int32_t(i), logits[i], 0.0f};
  n = size_t(vocab);
  sorted = false;
}

void Sampler::applyPenalties() {
  if (ringFill == 0 || (par.repeatPenalty == 1.0f && par.frequencyPenalty == 0.0f &&
                        par.presencePenalty == 0.0f))
    return;
  // Only tokens in the window carry a count; visit them through the ring
  // (a token seen several times is penalised once: its count is cleared
  // after the first visit and restored afterwards).
  for (size_t i = 0; i < ringFill; ++i) {
    int32_t id = ring[(ringHead + ring.size() - 1 - i) % ring.size()];
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
    int32_t id = ring[(ringHead + ring.size() - 1 - i) % ring.size()];
    if (counts[size_t(id)] < 0)
      counts[size_t(id)] = -counts[size_t(id)];
  }
  sorted = false;
}

void Sampler::sortDescending(size_t atLeast) {
  if (sorted)
    return;
  if (atLeast >= n) {
    std::sort(cand.begin(), cand.begin() + long(n), before);
    sorted = true;
  } else {
    std::partial_sort(cand.begin(), cand.begin() + long(atLeast), cand.begin() + long(n), before);
  }
}

void Sampler::applyTopK(int32_t k) {
  if (k <= 0 || size_t(k) >= n)
    return;
  std::partial_sort(cand.begin(), cand.begin() + k, cand.begin() + long(n), before);
  n = size_t(k);
  sorted = true;
}

void Sampler::softmax() {
  float maxLogit = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i)
    maxLogit = std::max(maxLogit, cand[i].logit);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    float e = cand[i].logit == -std::numeric_limits<float>::infinity() ? 0.0f
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
  for (size_t i = 0; i < n; ++i)
    cand[i].logit /= t;
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

int32_t Sampler::greedy(const float *logits) const {
  int64_t best = 0;
  float bestValue = logits[0];
  for (int64_t i = 1; i < vocab; ++i)
    if (logits[i] > bestValue || (std::isnan(bestValue) && !std::isnan(logits[i]))) {
      bestValue = logits[i];
      best = i;
    }
  return int32_t(best);
}

int32_t Sampler::sample(const float *logits) {
  bool penalties = ringFill > 0 && (par.repeatPenalty != 1.0f || par.frequencyPenalty != 0.0f ||
                                    par.presencePenalty != 0.0f);
  if (par.temp <= 0.0f && !penalties)
    return greedy(logits);
  loadLogits(logits);
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
