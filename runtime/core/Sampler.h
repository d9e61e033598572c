//===- Sampler.h - Token sampling for the emitted binaries -------*- C++
//-*-===//
//
// llama.cpp's default sampler chain, in its order: penalties (repeat,
// frequency, presence over the last `repeatLastN` accepted tokens), top-k,
// top-p, min-p, temperature, then a draw from the remaining distribution
// with the sampler's own PRNG (xoshiro256**, seeded through splitmix64, so
// the same seed gives the same tokens). Temperature <= 0 is greedy.
//
// init() allocates everything (candidate arrays sized to the vocabulary,
// the penalty window and counts) without throwing: a size that cannot be
// allocated is an error it reports; sample() and accept() allocate nothing.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_SAMPLER_H
#define INGOT_RUNTIME_CORE_SAMPLER_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ingot::rt {

struct SamplerParams {
  float temp = 0.8f;
  int32_t topK = 40;          ///< <= 0 or >= the vocabulary: off
  float topP = 0.95f;         ///< >= 1: off
  float minP = 0.05f;         ///< <= 0: off
  float repeatPenalty = 1.0f; ///< 1: off
  /// Window of the penalties; 0: off, -1 or more than the context: the
  /// whole context.
  int32_t repeatLastN = 64;
  float frequencyPenalty = 0.0f;
  float presencePenalty = 0.0f;
  uint64_t seed = 0;
  /// The end-of-generation tokens are never picked (their logits count as
  /// -inf), as llama.cpp's --ignore-eos; the sampler learns them from
  /// setEndOfGeneration.
  bool ignoreEos = false;
};

/// The index of the first NaN or infinite value of `row[0..n)`, or -1 when
/// all are finite. One pass and no allocation: cheap enough to run on every
/// row of logits that is sampled (a model with corrupt or overflowing
/// weights gives such rows, and neither argmax nor the sampler can pick a
/// meaningful token from them).
int64_t firstNonFinite(const float *row, int64_t n);

/// The index of the largest value of `row[0..n)` (the first on ties; a NaN
/// loses to any number): greedy decoding.
int64_t argmax(const float *row, int64_t n);

/// xoshiro256** with a splitmix64 seeding: small, fast, reproducible.
class Rng {
public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed);
  uint64_t next();
  /// Uniform in [0, 1), 53 random bits.
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }

private:
  uint64_t s[4];
};

struct Candidate {
  int32_t id;
  float logit;
  float p;
};

class Sampler {
public:
  /// Sizes every buffer for `vocab` tokens; `contextLength` bounds the
  /// penalty window (no more tokens than that are ever accepted between
  /// resetHistory() calls). False and `error` when the sizes are invalid or
  /// the memory is not available.
  bool init(int64_t vocab, int64_t contextLength, const SamplerParams &params,
            std::string &error);
  const SamplerParams &params() const { return par; }
  /// The vocabulary's end-of-generation tokens, which params().ignoreEos
  /// keeps from being picked; kept across init() calls.
  void setEndOfGeneration(std::vector<int32_t> ids) { eog = std::move(ids); }

  /// Records a token (prompt or generated) for the penalties.
  void accept(int32_t id);
  /// Forgets the accepted tokens (penalty window), keeps the PRNG state.
  void resetHistory();

  /// Picks the next token from one row of logits.
  int32_t sample(const float *logits);

  // The chain's stages on the current candidate set, exposed for tests.
  void loadLogits(const float *logits);
  /// With params().ignoreEos: the end-of-generation candidates get -inf.
  void suppressEndOfGeneration();
  void applyPenalties();
  void applyTopK(int32_t k);
  void applyTopP(float p);
  void applyMinP(float p);
  void applyTemperature(float t);
  int32_t draw();
  /// The first largest logit (a NaN loses), an end-of-generation token
  /// never with params().ignoreEos.
  int32_t greedy(const float *logits) const;
  /// The current candidates (after the stages applied so far).
  const Candidate *candidates() const { return cand.get(); }
  /// Tokens the penalties look back over.
  size_t window() const { return ringSize; }
  size_t size() const { return n; }

private:
  void sortDescending(size_t atLeast);
  void softmax();

  SamplerParams par;
  int64_t vocab = 0;
  std::unique_ptr<Candidate[]> cand;
  size_t n = 0;
  bool sorted = false; ///< cand[0..n) is in descending logit order
  // Penalty window: a ring of the last `window` accepted tokens and the
  // count of each token in it.
  std::unique_ptr<int32_t[]> ring;
  size_t ringSize = 0, ringHead = 0, ringFill = 0;
  std::unique_ptr<int32_t[]> counts;
  Rng rng;
  std::vector<int32_t> eog;
  /// Whether sample() must keep the end-of-generation tokens out.
  bool suppressing() const { return par.ignoreEos && !eog.empty(); }
};

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_SAMPLER_H
