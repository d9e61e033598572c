//===- MoERouteTest.cpp - The op library's routing against the reference --===//
//
// ingot_op_moe_route (router product and expert choice in one call) must
// choose the experts the reference interpreter chooses, in its order, with
// bit-identical weights: over random scores drawn from a few values (many
// ties, which go to the lower expert index), over groups whose experts all
// score the same, with and without groups, bias, normalisation and scale,
// one token and batches routed in parallel. The router is the identity in
// the op library's packed F32 layout, so that the logits are the test's
// scores exactly; the product itself is tested with the matmuls.
//
//===----------------------------------------------------------------------===//

#include "compiler/interp/ReferenceOps.h"
#include "runtime/core/ThreadPool.h"
#include "targets/oplib/OpLib.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace ingot;
using namespace ingot::interp;

namespace {

constexpr int32_t kF32 = 0; // ggml type id of F32
constexpr int64_t kGranule = 16;

/// The nExperts x nExperts identity in the packed F32 layout (groups of
/// kGranule rows; per column k, the group's kGranule values).
std::vector<float> packedIdentity(int64_t n) {
  std::vector<float> packed(size_t(n * n), 0.0f);
  for (int64_t r = 0; r < n; ++r) {
    int64_t group = r / kGranule, lane = r % kGranule;
    packed[size_t(group * n * kGranule + r * kGranule + lane)] = 1.0f;
  }
  return packed;
}

struct RouteCase {
  int64_t experts, used, groups, groupsUsed;
  GatingFunc gating;
  bool bias, normalize;
  float scale;

  std::string name() const {
    return std::to_string(experts) + " experts, " + std::to_string(used) +
           " used, groups " + std::to_string(groups) + "/" +
           std::to_string(groupsUsed) +
           (gating == GatingFunc::Sigmoid ? ", sigmoid" : ", softmax") +
           (bias ? ", bias" : "") + (normalize ? ", normalized" : "") +
           ", scale " + std::to_string(scale);
  }
};

/// Routes `scores` (nTokens x experts) with the op library and checks each
/// token against routeExperts, and the accounting against the distinct
/// experts chosen.
void checkRouting(const RouteCase &c, const std::vector<float> &scores,
                  const std::vector<float> &bias, rt::ThreadPool *pool,
                  int threads, const std::string &what) {
  const int64_t nTokens = int64_t(scores.size()) / c.experts;
  std::vector<float> router = packedIdentity(c.experts);
  std::vector<float> logits(scores.size());
  std::vector<uint8_t> scratch(scores.size() * 4);
  std::vector<int32_t> ids(size_t(nTokens * c.used), -1);
  std::vector<float> weights(size_t(nTokens * c.used));
  IngotContext ctx{};
  ctx.pool = pool;
  ctx.n_threads = threads;
  ctx.routed_expert_bytes = 5; // accumulates
  const int64_t expertBytes = 1000;
  ingot_op_moe_route(&ctx, nullptr, router.data(), kF32, kGranule,
                     scores.data(), nTokens, c.experts, c.experts, c.used,
                     c.gating == GatingFunc::Sigmoid,
                     c.bias ? bias.data() : nullptr, c.groups, c.groupsUsed,
                     c.normalize, c.scale, expertBytes, logits.data(),
                     scratch.data(), ids.data(), weights.data());

  MoEParams p;
  p.nExperts = c.experts;
  p.nExpertsUsed = c.used;
  p.gating = c.gating;
  p.normalizeWeights = c.normalize;
  p.weightsScale = c.scale;
  p.nGroups = c.groups;
  p.nGroupsUsed = c.groupsUsed;
  std::set<int32_t> distinct;
  for (int64_t t = 0; t < nTokens; ++t) {
    ExpertRoute want = routeExperts(scores.data() + t * c.experts,
                                    c.bias ? bias.data() : nullptr, p);
    ASSERT_EQ(int64_t(want.experts.size()), c.used);
    for (int64_t i = 0; i < c.used; ++i) {
      const size_t at = size_t(t * c.used + i);
      ASSERT_EQ(ids[at], want.experts[size_t(i)])
          << c.name() << ", " << what << ": token " << t << ", choice " << i;
      // Bit for bit: the same arithmetic in the same order.
      ASSERT_EQ(weights[at], want.weights[size_t(i)])
          << c.name() << ", " << what << ": token " << t << ", choice " << i;
      distinct.insert(ids[at]);
    }
  }
  EXPECT_EQ(ctx.routed_expert_bytes, 5 + int64_t(distinct.size()) * expertBytes)
      << c.name() << ", " << what;
}

const RouteCase kCases[] = {
    {64, 6, 1, 1, GatingFunc::Softmax, false, false, 1.0f},
    {64, 6, 1, 1, GatingFunc::Softmax, false, true, 1.0f},
    {64, 6, 1, 1, GatingFunc::Sigmoid, true, true, 2.5f},
    {64, 8, 8, 3, GatingFunc::Sigmoid, true, true, 2.5f},
    {64, 6, 8, 3, GatingFunc::Softmax, false, false, 16.0f},
    {32, 4, 4, 4, GatingFunc::Sigmoid, false, true, 1.0f},
    {256, 8, 8, 4, GatingFunc::Sigmoid, true, true, 2.5f},
    {128, 8, 1, 1, GatingFunc::Softmax, false, true, 1.0f},
    {16, 16, 4, 4, GatingFunc::Softmax, false, false, 1.0f},
};

TEST(MoERoute, MatchesReferenceWithTies) {
  rt::ThreadPool pool;
  std::string error;
  ASSERT_TRUE(pool.start(3, /*cpus=*/{}, error)) << error;
  std::mt19937 rng(11);
  for (const RouteCase &c : kCases) {
    // Scores from a few values: most tokens have ties among their best.
    std::uniform_int_distribution<int> level(-4, 4);
    std::vector<float> bias(size_t(c.experts));
    for (float &b : bias)
      b = 0.125f * float(level(rng));
    for (int64_t nTokens : {1, 3, 37}) {
      std::vector<float> scores(size_t(nTokens * c.experts));
      for (float &s : scores)
        s = 0.25f * float(level(rng));
      for (int threads : {1, 3})
        checkRouting(c, scores, bias, &pool, threads,
                     std::to_string(nTokens) + " tokens, " +
                         std::to_string(threads) + " threads");
    }
  }
}

TEST(MoERoute, MatchesReferenceOnAllEqualGroups) {
  rt::ThreadPool pool;
  std::string error;
  ASSERT_TRUE(pool.start(2, /*cpus=*/{}, error)) << error;
  std::mt19937 rng(5);
  for (const RouteCase &c : kCases) {
    const int64_t per = c.experts / c.groups, nTokens = 12;
    std::vector<float> scores(size_t(nTokens * c.experts));
    std::uniform_int_distribution<int> level(-2, 2);
    for (int64_t t = 0; t < nTokens; ++t)
      for (int64_t g = 0; g < c.groups; ++g) {
        // Token 0: every expert equal; then each group one value, the
        // groups' values drawn from few levels (ties between groups too).
        float v = t == 0 ? 0.5f : 0.5f * float(level(rng));
        for (int64_t e = g * per; e < (g + 1) * per; ++e)
          scores[size_t(t * c.experts + e)] = v;
      }
    std::vector<float> noBias(size_t(c.experts), 0.0f);
    checkRouting(c, scores, noBias, &pool, 2, "all-equal groups");
  }
}

TEST(MoERoute, RandomScoresMatchReference) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (const RouteCase &c : kCases) {
    std::vector<float> scores(size_t(20 * c.experts)), bias(size_t(c.experts));
    for (float &s : scores)
      s = normal(rng);
    for (float &b : bias)
      b = 0.1f * normal(rng);
    checkRouting(c, scores, bias, nullptr, 1, "continuous scores");
  }
}

} // namespace
