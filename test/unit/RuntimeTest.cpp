//===- RuntimeTest.cpp - IngotRuntime pieces without a model --------------===//
//
// The payload checksum (against values from test/tools/append_payload.py,
// which re-implements it) and the CPU feature check (the thread pool has
// ThreadPoolTest.cpp). Only IngotRuntime's model-independent objects are
// linked here (main() and the command objects, which need a model, are not
// pulled in).
//
//===----------------------------------------------------------------------===//

#include "ingot/PayloadFormat.h"
#include "runtime/core/Arena.h"
#include "runtime/core/CpuFeatures.h"

#include <cstdlib>
#include <gtest/gtest.h>
#include <vector>

using namespace ingot;

TEST(RuntimeChecksum, MatchesThePythonImplementation) {
  EXPECT_EQ(payload::checksum64("", 0), 0xdfc3fe20a452cb74ull);
  std::vector<uint8_t> a(100), b(4099);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = uint8_t(i);
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = uint8_t(i * 7 % 256);
  EXPECT_EQ(payload::checksum64(a.data(), a.size()), 0x92599df5c33c1ea1ull);
  EXPECT_EQ(payload::checksum64(b.data(), b.size(), 12345),
            0x1d7c0a3683264cfull);
  // One flipped bit anywhere changes it.
  for (size_t i : {0u, 15u, 16u, 99u}) {
    a[i] ^= 4;
    EXPECT_NE(payload::checksum64(a.data(), a.size()), 0x92599df5c33c1ea1ull)
        << i;
    a[i] ^= 4;
  }
}

TEST(RuntimeCpuFeatures, ChecksAndMasks) {
  bool known = false;
  EXPECT_TRUE(rt::cpuHasFeature("sse2", known));
  EXPECT_TRUE(known);
  EXPECT_FALSE(rt::cpuHasFeature("warp-drive", known));
  EXPECT_FALSE(known);
  std::string error;
  EXPECT_TRUE(rt::checkCpuFeatures("+sse2, sse2,-avx512f", "t", error))
      << error;
  EXPECT_FALSE(rt::checkCpuFeatures("sse2,warp-drive", "t", error));
  EXPECT_EQ(error, "this binary was compiled for t and needs CPU feature "
                   "'warp-drive', which this runtime "
                   "cannot check");
  setenv("INGOT_CPU_FEATURES_MASK", "avx512vnni,SSE2", 1);
  EXPECT_FALSE(rt::checkCpuFeatures("sse2", "epyc", error));
  EXPECT_EQ(error, "this binary was compiled for epyc and needs CPU feature "
                   "'sse2', which this CPU lacks");
  EXPECT_FALSE(rt::cpuHasFeature("avx512-vnni", known));
  EXPECT_TRUE(known);
  unsetenv("INGOT_CPU_FEATURES_MASK");
}

TEST(RuntimeArena, RefusesSizesThatOverflow) {
  // A KV cache of 2^62 positions x 16 bytes wraps to 0 in 64 bits: the
  // arena must refuse it rather than map a small block the model then
  // writes past.
  rt::Arena a;
  rt::ArenaPlan plan;
  plan.arenaBytes = 4096;
  plan.kvBytes = UINT64_MAX - 100; // page alignment alone overflows
  std::string error;
  EXPECT_FALSE(a.allocate(plan, error));
  EXPECT_NE(error.find("more than 2^64 bytes"), std::string::npos) << error;

  rt::Arena b;
  plan.kvBytes = 0;
  plan.maxBatch = uint64_t(1) << 40;
  plan.vocabSize = uint64_t(1) << 30; // rows x vocabulary x 4 overflows
  error.clear();
  EXPECT_FALSE(b.allocate(plan, error));
  EXPECT_NE(error.find("more than 2^64 bytes"), std::string::npos) << error;

  rt::Arena c;
  plan.maxBatch = 2;
  plan.vocabSize = 16;
  plan.historyTokens = 64;
  ASSERT_TRUE(c.allocate(plan, error)) << error;
  c.history()[63] = 7; // the history is part of the one mapping
  EXPECT_EQ(c.history()[63], 7);
}
