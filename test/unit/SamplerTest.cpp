//===- SamplerTest.cpp - Samplers and streaming text filters
//---------------===//
#include "runtime/core/Sampler.h"
#include "runtime/core/TextStream.h"

#include <climits>
#include <cmath>
#include <gtest/gtest.h>
#include <limits>
#include <set>
#include <string>
#include <vector>

using namespace ingot::rt;

namespace {

std::set<int32_t> ids(const Sampler &s) {
  std::set<int32_t> out;
  for (size_t i = 0; i < s.size(); ++i)
    out.insert(s.candidates()[i].id);
  return out;
}

float logitOf(const Sampler &s, int32_t id) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s.candidates()[i].id == id)
      return s.candidates()[i].logit;
  return NAN;
}

// Probabilities 0.4, 0.3, 0.15, 0.1, 0.05 (as logits: their logs), shuffled.
const std::vector<int32_t> kOrder = {3, 0, 4, 1, 2};
std::vector<float> fiveLogits() {
  const float p[5] = {0.3f, 0.1f, 0.05f, 0.4f, 0.15f}; // by id
  std::vector<float> l(5);
  for (int i = 0; i < 5; ++i)
    l[size_t(i)] = std::log(p[i]);
  return l;
}

Sampler make(SamplerParams p = {}, int64_t vocab = 5) {
  Sampler s;
  std::string error;
  EXPECT_TRUE(s.init(vocab, 128, p, error)) << error;
  return s;
}

} // namespace

TEST(Sampler, FirstNonFinite) {
  std::vector<float> row(1000, 0.5f);
  row[3] = -1e30f;
  row[4] = std::numeric_limits<float>::max();
  row[5] = std::numeric_limits<float>::denorm_min();
  EXPECT_EQ(firstNonFinite(row.data(), int64_t(row.size())), -1);
  EXPECT_EQ(firstNonFinite(row.data(), 0), -1);
  row[997] = std::nanf("");
  EXPECT_EQ(firstNonFinite(row.data(), int64_t(row.size())), 997);
  EXPECT_EQ(firstNonFinite(row.data(), 997), -1);
  row[12] = -INFINITY;
  EXPECT_EQ(firstNonFinite(row.data(), int64_t(row.size())), 12);
  row[0] = INFINITY;
  EXPECT_EQ(firstNonFinite(row.data(), int64_t(row.size())), 0);
}

TEST(Sampler, TopK) {
  std::vector<float> l = fiveLogits();
  Sampler s = make();
  s.loadLogits(l.data());
  s.applyTopK(2);
  EXPECT_EQ(ids(s), (std::set<int32_t>{3, 0}));
  s.loadLogits(l.data());
  s.applyTopK(0); // off
  EXPECT_EQ(s.size(), 5u);
  s.applyTopK(7); // more than there are: off
  EXPECT_EQ(s.size(), 5u);
}

TEST(Sampler, TopP) {
  std::vector<float> l = fiveLogits();
  Sampler s = make();
  // 0.4 + 0.3 = 0.7 >= 0.7 - smallest prefix reaching p.
  s.loadLogits(l.data());
  s.applyTopP(0.69f);
  EXPECT_EQ(ids(s), (std::set<int32_t>{3, 0}));
  s.loadLogits(l.data());
  s.applyTopP(0.8f); // 0.4 + 0.3 + 0.15 = 0.85
  EXPECT_EQ(ids(s), (std::set<int32_t>{3, 0, 4}));
  s.loadLogits(l.data());
  s.applyTopP(0.1f); // at least one token
  EXPECT_EQ(ids(s), (std::set<int32_t>{3}));
  s.loadLogits(l.data());
  s.applyTopP(1.0f);
  EXPECT_EQ(s.size(), 5u);
}

TEST(Sampler, TopPLargeVocabulary) {
  // More candidates than the first partial sort covers: flat distribution.
  const int64_t n = 1000;
  std::vector<float> l(size_t(n), 0.0f);
  l[7] = 1.0f;
  Sampler s = make({}, n);
  s.loadLogits(l.data());
  s.applyTopP(0.5f);
  // p(7) = e / (e + 999); the rest 1 / (e + 999) each.
  double e = std::exp(1.0), z = e + 999;
  size_t expect = 1 + size_t(std::ceil((0.5 - e / z) * z - 1e-9));
  EXPECT_EQ(s.size(), expect);
  EXPECT_EQ(s.candidates()[0].id, 7);
  for (size_t i = 1; i < s.size(); ++i)
    EXPECT_LT(s.candidates()[i - 1].id == 7 ? -1 : s.candidates()[i - 1].id,
              s.candidates()[i].id);
}

TEST(Sampler, MinP) {
  std::vector<float> l = fiveLogits();
  Sampler s = make();
  s.loadLogits(l.data());
  s.applyMinP(0.3f); // keep p >= 0.12
  EXPECT_EQ(ids(s), (std::set<int32_t>{3, 0, 4}));
  s.loadLogits(l.data());
  s.applyMinP(0.5f); // keep p >= 0.2
  EXPECT_EQ(ids(s), (std::set<int32_t>{3, 0}));
  s.loadLogits(l.data());
  s.applyMinP(0.0f);
  EXPECT_EQ(s.size(), 5u);
}

TEST(Sampler, Temperature) {
  std::vector<float> l = {1.0f, -2.0f, 4.0f};
  Sampler s = make({}, 3);
  s.loadLogits(l.data());
  s.applyTemperature(2.0f);
  EXPECT_FLOAT_EQ(logitOf(s, 0), 0.5f);
  EXPECT_FLOAT_EQ(logitOf(s, 1), -1.0f);
  EXPECT_FLOAT_EQ(logitOf(s, 2), 2.0f);
  s.loadLogits(l.data());
  s.applyTemperature(0.0f); // greedy
  EXPECT_EQ(ids(s), (std::set<int32_t>{2}));
}

TEST(Sampler, PenaltyWindowIsBoundedByTheContext) {
  // The window is never sized from the flag beyond the context: no more
  // tokens than the context holds are accepted between resets.
  for (int32_t lastN : {-1, 128, 129, 2000000000, INT32_MAX}) {
    SamplerParams p;
    p.repeatLastN = lastN;
    Sampler s;
    std::string error;
    ASSERT_TRUE(s.init(5, 128, p, error)) << error;
    EXPECT_EQ(s.window(), 128u) << lastN;
  }
  SamplerParams p;
  p.repeatLastN = 3;
  EXPECT_EQ(make(p).window(), 3u);
  p.repeatLastN = 0;
  EXPECT_EQ(make(p).window(), 0u);
}

TEST(Sampler, InitRefusesImpossibleSizes) {
  Sampler s;
  std::string error;
  EXPECT_FALSE(s.init(0, 128, {}, error));
  EXPECT_NE(error.find("vocabulary size 0"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(s.init(int64_t(1) << 40, 128, {}, error));
  EXPECT_FALSE(error.empty());
}

TEST(Sampler, TinyTemperatureKeepsTheMostLikely) {
  // logit / 1e-40 overflows to +-inf; the largest logit must still win
  // (dividing blindly made every positive logit +inf and the probabilities
  // NaN).
  std::vector<float> l = {3.0f, 2.0f, 1.0f, -1.0f};
  Sampler s = make({}, 4);
  for (int i = 0; i < 20; ++i) {
    s.loadLogits(l.data());
    s.applyTemperature(1e-40f);
    EXPECT_EQ(s.draw(), 0);
  }
  // All negative: the largest is -inf after the division alone.
  std::vector<float> neg = {-3.0f, -1.0f, -2.0f, -4.0f};
  s.loadLogits(neg.data());
  s.applyTemperature(1e-40f);
  EXPECT_EQ(s.draw(), 1);
}

TEST(Sampler, InfiniteLogitsShareTheMass) {
  // exp(inf - inf) is NaN: the +inf logits share the mass, the rest get none.
  const float inf = INFINITY;
  std::vector<float> l = {inf, 0.0f, inf, -inf};
  SamplerParams p;
  p.temp = 1.0f;
  p.topK = 0;
  p.topP = 1.0f;
  p.minP = 0.0f;
  std::set<int32_t> seen;
  for (uint64_t seed = 1; seed <= 64; ++seed) {
    p.seed = seed;
    Sampler s = make(p, 4);
    seen.insert(s.sample(l.data()));
  }
  EXPECT_EQ(seen, (std::set<int32_t>{0, 2}));
}

TEST(Sampler, NaNLogitsAreNeverSampled) {
  // A NaN logit (broken model output) has no probability; it must neither
  // be drawn nor poison the others' (NaN mass made every draw fall through
  // to the last candidate).
  std::vector<float> l(40, NAN);
  l[3] = 1.0f;
  l[17] = 1.0f;
  SamplerParams p;
  p.temp = 1.0f;
  p.topK = 0;
  p.topP = 1.0f;
  p.minP = 0.0f;
  std::set<int32_t> seen;
  for (uint64_t seed = 1; seed <= 64; ++seed) {
    p.seed = seed;
    Sampler s = make(p, 40);
    seen.insert(s.sample(l.data()));
  }
  EXPECT_EQ(seen, (std::set<int32_t>{3, 17}));
  // With top-k and top-p the same.
  p.topK = 10;
  p.topP = 0.9f;
  seen.clear();
  for (uint64_t seed = 1; seed <= 64; ++seed) {
    p.seed = seed;
    Sampler s = make(p, 40);
    seen.insert(s.sample(l.data()));
  }
  EXPECT_EQ(seen, (std::set<int32_t>{3, 17}));
}

TEST(Sampler, RepeatPenalty) {
  SamplerParams p;
  p.repeatPenalty = 2.0f;
  p.repeatLastN = 3;
  std::vector<float> l = {4.0f, -4.0f, 1.0f, 3.0f};
  Sampler s = make(p, 4);
  for (int32_t id : {3, 0, 1, 1}) // 3 has left the 3-token window
    s.accept(id);
  s.loadLogits(l.data());
  s.applyPenalties();
  EXPECT_FLOAT_EQ(logitOf(s, 0), 2.0f);  // positive: divided
  EXPECT_FLOAT_EQ(logitOf(s, 1), -8.0f); // negative: multiplied, once
  EXPECT_FLOAT_EQ(logitOf(s, 2), 1.0f);
  EXPECT_FLOAT_EQ(logitOf(s, 3), 3.0f);
  // Greedy with the penalty: 3 wins now.
  EXPECT_EQ(s.sample(l.data()), 3);
  s.resetHistory();
  s.loadLogits(l.data());
  s.applyPenalties();
  EXPECT_FLOAT_EQ(logitOf(s, 0), 4.0f);
}

TEST(Sampler, FrequencyAndPresencePenalties) {
  SamplerParams p;
  p.frequencyPenalty = 0.5f;
  p.presencePenalty = 0.25f;
  std::vector<float> l = {1.0f, 1.0f, 1.0f};
  Sampler s = make(p, 3);
  for (int32_t id : {0, 0, 0, 2})
    s.accept(id);
  s.loadLogits(l.data());
  s.applyPenalties();
  EXPECT_FLOAT_EQ(logitOf(s, 0), 1.0f - 1.5f - 0.25f);
  EXPECT_FLOAT_EQ(logitOf(s, 1), 1.0f);
  EXPECT_FLOAT_EQ(logitOf(s, 2), 1.0f - 0.5f - 0.25f);
}

TEST(Sampler, GreedyIgnoresSeed) {
  SamplerParams p;
  p.temp = 0.0f;
  std::vector<float> l = fiveLogits();
  for (uint64_t seed : {1u, 2u, 3u}) {
    p.seed = seed;
    Sampler s = make(p);
    EXPECT_EQ(s.sample(l.data()), 3);
  }
}

// --ignore-eos: the end-of-generation tokens are never picked, greedily
// (the next largest, first on ties), with penalties, or by a draw; without
// the flag they are picked as before.
TEST(Sampler, IgnoreEosNeverPicksEndOfGeneration) {
  std::vector<float> l = fiveLogits(); // token 3 is the largest
  SamplerParams p;
  p.temp = 0.0f;
  p.ignoreEos = true;
  Sampler greedy = make(p);
  EXPECT_EQ(greedy.sample(l.data()), 3); // no end-of-generation tokens known
  greedy.setEndOfGeneration({3});
  const int32_t second = greedy.sample(l.data());
  EXPECT_NE(second, 3);
  std::vector<float> without3 = l;
  without3[3] = -std::numeric_limits<float>::infinity();
  EXPECT_EQ(second, int32_t(argmax(without3.data(), 5)));
  p.ignoreEos = false;
  Sampler off = make(p);
  off.setEndOfGeneration({3});
  EXPECT_EQ(off.sample(l.data()), 3);

  // Ties among the rest go to the lower id, as argmax.
  std::vector<float> tied = {0.5f, 2.0f, 2.0f, 9.0f, 2.0f};
  greedy.setEndOfGeneration({3, 1});
  EXPECT_EQ(greedy.sample(tied.data()), 2);

  p.ignoreEos = true;
  p.repeatPenalty = 1.5f; // the candidate chain, greedy at its end
  Sampler penalised = make(p);
  penalised.setEndOfGeneration({3});
  penalised.accept(0);
  EXPECT_NE(penalised.sample(l.data()), 3);

  p.repeatPenalty = 1.0f;
  p.temp = 1.0f;
  p.topK = 0;
  p.topP = 1.0f;
  p.minP = 0.0f;
  Sampler drawn = make(p);
  drawn.setEndOfGeneration({3, 4});
  for (int i = 0; i < 500; ++i) {
    const int32_t id = drawn.sample(l.data());
    EXPECT_TRUE(id != 3 && id != 4) << "draw " << i << " picked " << id;
  }
}

TEST(Sampler, SeedDeterminism) {
  SamplerParams p;
  p.temp = 1.0f;
  p.topK = 0;
  p.topP = 1.0f;
  p.minP = 0.0f;
  std::vector<float> l = fiveLogits();
  auto run = [&](uint64_t seed) {
    p.seed = seed;
    Sampler s = make(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 200; ++i)
      out.push_back(s.sample(l.data()));
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
  // The empirical distribution follows the probabilities.
  p.seed = 7;
  Sampler s = make(p);
  std::vector<int> hist(5, 0);
  const int n = 20000;
  for (int i = 0; i < n; ++i)
    ++hist[size_t(s.sample(l.data()))];
  const double want[5] = {0.3, 0.1, 0.05, 0.4, 0.15};
  for (int i = 0; i < 5; ++i)
    EXPECT_NEAR(double(hist[size_t(i)]) / n, want[i], 0.015) << "token " << i;
}

TEST(Sampler, ChainRestrictsToSurvivors) {
  // top-k 2 then sampling: only the two best tokens ever come out.
  SamplerParams p;
  p.temp = 1.5f;
  p.topK = 2;
  p.topP = 1.0f;
  p.minP = 0.0f;
  p.seed = 123;
  std::vector<float> l = fiveLogits();
  Sampler s = make(p);
  std::set<int32_t> seen;
  for (int i = 0; i < 500; ++i)
    seen.insert(s.sample(l.data()));
  EXPECT_EQ(seen, (std::set<int32_t>{3, 0}));
}

TEST(Rng, Reproducible) {
  Rng a(5), b(5), c(6);
  bool differs = false;
  for (int i = 0; i < 16; ++i) {
    uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
  }
  EXPECT_TRUE(differs);
  for (int i = 0; i < 1000; ++i) {
    double u = a.uniform();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
}

//===-- Text filters
//-------------------------------------------------------===//

TEST(TextStream, Utf8Holdback) {
  Utf8Holdback h;
  std::string out;
  h.push("a\xC3", out);
  EXPECT_EQ(out, "a");
  h.push("\xA9", out);
  EXPECT_EQ(out, "a\xC3\xA9");
  h.push("\xF0\x9F", out);
  h.push("\x98", out);
  EXPECT_EQ(out, "a\xC3\xA9");
  h.push("\x80!", out);
  EXPECT_EQ(out, "a\xC3\xA9\xF0\x9F\x98\x80!");
  h.push("\xE2\x82", out);
  h.finish(out); // flushed as is
  EXPECT_EQ(out, "a\xC3\xA9\xF0\x9F\x98\x80!\xE2\x82");
}

TEST(TextStream, StopStringSplitAcrossPushes) {
  StopFilter f({"User:", "###"});
  std::string out;
  for (const char *piece : {"Hello", " Us", "ually", " U", "se", "r", ": more"})
    f.push(piece, out);
  EXPECT_TRUE(f.stopped());
  EXPECT_EQ(out, "Hello Usually ");
  EXPECT_EQ(f.text(), "Hello Usually ");
  f.push("ignored", out);
  EXPECT_EQ(out, "Hello Usually ");
}

TEST(TextStream, StopFilterHoldsOnlyPossiblePrefixes) {
  StopFilter f({"</s>"});
  std::string out;
  f.push("a <", out);
  EXPECT_EQ(out, "a ");
  f.push("b", out);
  EXPECT_EQ(out, "a <b");
  f.push("</", out);
  EXPECT_EQ(out, "a <b");
  f.finish(out); // no stop: the held tail is text
  EXPECT_EQ(out, "a <b</");
  EXPECT_FALSE(f.stopped());
}

TEST(TextStream, ReasoningSplitPiecewise) {
  // "<think>abc</think>answer" fed in every split.
  const std::string text = "<think>abc</think>answer";
  for (size_t cut1 = 0; cut1 <= text.size(); ++cut1)
    for (size_t cut2 = cut1; cut2 <= text.size(); ++cut2) {
      ReasoningParser p;
      p.reset(false);
      std::string r, c;
      p.push(text.substr(0, cut1), r, c);
      p.push(text.substr(cut1, cut2 - cut1), r, c);
      p.push(text.substr(cut2), r, c);
      p.finish(r, c);
      EXPECT_EQ(r, "abc") << cut1 << "," << cut2;
      EXPECT_EQ(c, "answer") << cut1 << "," << cut2;
    }
}

TEST(TextStream, ReasoningTokenByToken) {
  ReasoningParser p;
  p.reset(false);
  std::string r, c;
  for (const char *t :
       {"<", "th", "ink", ">\n", "Let", " me", " think", ".</", "thi", "nk",
        ">\n\n", "The", " answer", " is <b>4</b>."})
    p.push(t, r, c);
  p.finish(r, c);
  EXPECT_EQ(r, "Let me think.");
  EXPECT_EQ(c, "The answer is <b>4</b>.");
  EXPECT_TRUE(p.sawReasoning());
}

TEST(TextStream, ReasoningStartsInsideAfterR1Prompt) {
  // R1 generation prompts end in "<think>\n": the output starts inside.
  ReasoningParser p;
  p.reset(true);
  std::string r, c;
  p.push("hmm", r, c);
  EXPECT_EQ(r, "hmm");
  p.push("</think>ok", r, c);
  p.finish(r, c);
  EXPECT_EQ(r, "hmm");
  EXPECT_EQ(c, "ok");
  // Never closed: everything is reasoning.
  p.reset(true);
  r.clear();
  c.clear();
  p.push("still thinking </thi", r, c);
  p.finish(r, c);
  EXPECT_EQ(r, "still thinking </thi");
  EXPECT_EQ(c, "");
  // No tags at all: all answer.
  p.reset(false);
  r.clear();
  p.push("plain text", r, c);
  p.finish(r, c);
  EXPECT_EQ(r, "");
  EXPECT_EQ(c, "plain text");
  EXPECT_FALSE(p.sawReasoning());
}
