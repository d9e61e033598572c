//===- GGMLTypesTest.cpp - block sizes and dequantization -----------------===//
//
// Each expected value is computed by hand from the block layouts in ggml's
// ggml-common.h, not by running the code under test. Also checks that the
// dialect's ODS enum spells every type of the table, and only those.
//
//===----------------------------------------------------------------------===//
#include "compiler/ggml/GGMLTypes.h"
#include "compiler/dialect/IngotDialect.h"

#include "gtest/gtest.h"

#include <cctype>
#include <string>

#include <cmath>
#include <cstring>
#include <vector>

using namespace ingot::ggml;

namespace {

void putHalf(std::vector<uint8_t> &block, size_t at, uint16_t bits) {
  block[at] = bits & 0xFF;
  block[at + 1] = bits >> 8;
}

std::vector<float> dequant(Type type, const std::vector<uint8_t> &block,
                           int64_t n) {
  std::vector<float> out(n);
  dequantizeRow(type, block.data(), out.data(), n);
  return out;
}

TEST(GGMLTypes, BlockGeometry) {
  struct Expect {
    Type type;
    uint32_t elements, bytes;
  } expected[] = {
      {Type::F32, 1, 4},      {Type::F16, 1, 2},      {Type::BF16, 1, 2},
      {Type::Q4_0, 32, 18},   {Type::Q4_1, 32, 20},   {Type::Q5_0, 32, 22},
      {Type::Q5_1, 32, 24},   {Type::Q8_0, 32, 34},   {Type::Q2_K, 256, 84},
      {Type::Q3_K, 256, 110}, {Type::Q4_K, 256, 144}, {Type::Q5_K, 256, 176},
      {Type::Q6_K, 256, 210}, {Type::Q8_K, 256, 292},
  };
  for (const Expect &e : expected) {
    const TypeInfo &info = getTypeInfo(e.type);
    EXPECT_EQ(info.blockElements, e.elements) << info.name;
    EXPECT_EQ(info.blockBytes, e.bytes) << info.name;
  }
  EXPECT_EQ(lookupType(4), nullptr); // Q4_2 was removed from ggml
  EXPECT_EQ(lookupType(1000), nullptr);
  EXPECT_EQ(*rowBytes(Type::Q8_0, 4096), 4096u / 32 * 34);
  EXPECT_FALSE(rowBytes(Type::Q8_0, 33).has_value());
  EXPECT_FALSE(rowBytes(Type::F32, UINT64_MAX / 2).has_value());
  EXPECT_EQ(parseTypeName("q8_0"), Type::Q8_0);
  EXPECT_FALSE(parseTypeName("Q9_0").has_value());
}

TEST(GGMLTypes, HalfAndBf16) {
  EXPECT_EQ(halfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(halfToFloat(0xC000), -2.0f);
  EXPECT_EQ(halfToFloat(0x7BFF), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14));
  EXPECT_TRUE(std::isinf(halfToFloat(0x7C00)));
  EXPECT_TRUE(std::isnan(halfToFloat(0x7E00)));
  EXPECT_EQ(floatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(floatToHalf(1e6f), 0x7C00);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001);
  // 1 + 2^-11 lies halfway between two halves: ties go to even (1.0).
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  // Every half round-trips.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF))
      continue; // NaNs
    ASSERT_EQ(floatToHalf(halfToFloat(h)), h) << h;
  }
  EXPECT_EQ(bf16ToFloat(0x3FC0), 1.5f);
  EXPECT_EQ(floatToBf16(1.5f), 0x3FC0);
}

TEST(GGMLTypes, DequantizeF16AndBF16) {
  std::vector<uint8_t> bytes(4);
  putHalf(bytes, 0, 0x3C00);
  putHalf(bytes, 2, 0xC000);
  auto f16 = dequant(Type::F16, bytes, 2);
  EXPECT_EQ(f16[0], 1.0f);
  EXPECT_EQ(f16[1], -2.0f);
  putHalf(bytes, 0, 0x3FC0);
  putHalf(bytes, 2, 0xC080);
  auto bf16 = dequant(Type::BF16, bytes, 2);
  EXPECT_EQ(bf16[0], 1.5f);
  EXPECT_EQ(bf16[1], -4.0f);
}

TEST(GGMLTypes, DequantizeQ8_0) {
  // {f16 d; i8 qs[32]}: x = d * q.
  std::vector<uint8_t> block(34, 0);
  putHalf(block, 0, 0x3800); // 0.5
  block[2] = static_cast<uint8_t>(-128);
  block[3] = 127;
  block[33] = 3;
  auto y = dequant(Type::Q8_0, block, 32);
  EXPECT_EQ(y[0], -64.0f);
  EXPECT_EQ(y[1], 63.5f);
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_EQ(y[31], 1.5f);
}

TEST(GGMLTypes, DequantizeQ4_0AndQ4_1) {
  // Q4_0 {f16 d; u8 qs[16]}: low nibbles are x[0..15], high x[16..31],
  // each (q - 8) * d.
  std::vector<uint8_t> q40(18, 0x88);
  putHalf(q40, 0, 0x4000); // 2.0
  q40[2] = 0x1F;
  auto y = dequant(Type::Q4_0, q40, 32);
  EXPECT_EQ(y[0], 14.0f);
  EXPECT_EQ(y[16], -14.0f);
  EXPECT_EQ(y[1], 0.0f);
  // Q4_1 {f16 d; f16 m; u8 qs[16]}: q * d + m.
  std::vector<uint8_t> q41(20, 0);
  putHalf(q41, 0, 0x3800); // d = 0.5
  putHalf(q41, 2, 0xBC00); // m = -1
  q41[4] = 0xA3;
  auto z = dequant(Type::Q4_1, q41, 32);
  EXPECT_EQ(z[0], 0.5f);  // 3 * 0.5 - 1
  EXPECT_EQ(z[16], 4.0f); // 10 * 0.5 - 1
  EXPECT_EQ(z[1], -1.0f);
}

TEST(GGMLTypes, DequantizeQ5) {
  // Q5_0 {f16 d; u32 qh; u8 qs[16]}: bit j of qh is the fifth bit of x[j].
  std::vector<uint8_t> q50(22, 0);
  putHalf(q50, 0, 0x3C00);
  q50[2] = 0x01; // x[0] gets +16
  q50[4] = 0x01; // bit 16: x[16] gets +16
  q50[6] = 0x2F; // x[0] low 15, x[16] low 2
  auto y = dequant(Type::Q5_0, q50, 32);
  EXPECT_EQ(y[0], 15.0f);  // (15 + 16) - 16
  EXPECT_EQ(y[16], 2.0f);  // (2 + 16) - 16
  EXPECT_EQ(y[1], -16.0f); // 0 - 16
  std::vector<uint8_t> q51(24, 0);
  putHalf(q51, 0, 0x3C00);
  putHalf(q51, 2, 0x4000); // m = 2
  q51[4] = 0x02;           // x[1] gets +16
  q51[9] = 0x05;           // x[1] low 5
  auto z = dequant(Type::Q5_1, q51, 32);
  EXPECT_EQ(z[1], 23.0f); // 21 + 2
  EXPECT_EQ(z[0], 2.0f);
}

// Super-block scales used by the Q4_K and Q5_K tests: sub-block 0 has
// scale 3 / min 2, sub-block 1 scale 5 / min 4, sub-block 4 scale 17 / min 2
// (its high bits come from bytes 0 and 4, as get_scale_min_k4 packs them).
void putKScales(std::vector<uint8_t> &block) {
  uint8_t *scales = block.data() + 4;
  scales[0] = 3 | (1 << 6);
  scales[4] = 2;
  scales[1] = 5;
  scales[5] = 4;
  scales[8] = 0x21;
}

TEST(GGMLTypes, DequantizeQ4_K) {
  std::vector<uint8_t> block(144, 0);
  putHalf(block, 0, 0x3C00); // d = 1
  putHalf(block, 2, 0x3800); // dmin = 0.5
  putKScales(block);
  uint8_t *qs = block.data() + 16;
  qs[0] = 0x7A;
  qs[64] = 0x03;
  auto y = dequant(Type::Q4_K, block, 256);
  EXPECT_EQ(y[0], 29.0f);   // 3 * 10 - 0.5 * 2
  EXPECT_EQ(y[32], 33.0f);  // 5 * 7 - 0.5 * 4
  EXPECT_EQ(y[1], -1.0f);   // 3 * 0 - 1
  EXPECT_EQ(y[128], 50.0f); // 17 * 3 - 0.5 * 2
}

TEST(GGMLTypes, DequantizeQ5_K) {
  std::vector<uint8_t> block(176, 0);
  putHalf(block, 0, 0x3C00);
  putHalf(block, 2, 0x3800);
  putKScales(block);
  uint8_t *qh = block.data() + 16;
  uint8_t *ql = block.data() + 48;
  qh[0] = 0x01 | 0x10; // x[0] (+16) and x[128] (+16, group 2 low bit)
  ql[0] = 0x3A;
  ql[64] = 0x01;
  auto y = dequant(Type::Q5_K, block, 256);
  EXPECT_EQ(y[0], 77.0f);    // 3 * (10 + 16) - 1
  EXPECT_EQ(y[32], 13.0f);   // 5 * 3 - 2
  EXPECT_EQ(y[128], 288.0f); // 17 * (1 + 16) - 1
}

TEST(GGMLTypes, DequantizeQ6_K) {
  // {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}.
  std::vector<uint8_t> block(210, 0);
  block[0] = 0x21;
  block[32] = 0x43;
  block[128] = 0xE4;
  block[192 + 0] = 2;
  block[192 + 2] = static_cast<uint8_t>(-3);
  block[192 + 4] = 4;
  block[192 + 6] = 1;
  putHalf(block, 208, 0x3800);
  auto y = dequant(Type::Q6_K, block, 256);
  EXPECT_EQ(y[0], -31.0f); // 0.5 * 2 * ((1 | 0 << 4) - 32)
  EXPECT_EQ(y[32], 19.5f); // 0.5 * -3 * ((3 | 1 << 4) - 32)
  EXPECT_EQ(y[64], 4.0f);  // 0.5 * 4 * ((2 | 2 << 4) - 32)
  EXPECT_EQ(y[96], 10.0f); // 0.5 * 1 * ((4 | 3 << 4) - 32)
}

TEST(GGMLTypes, QuantizeRoundTrip) {
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i)
    x[i] = std::sin(i * 0.37f) * (i + 1);
  std::vector<uint8_t> q8(2 * 34), q4(2 * 18);
  quantizeRowQ8_0(x.data(), q8.data(), 64);
  quantizeRowQ4_0(x.data(), q4.data(), 64);
  auto y8 = dequant(Type::Q8_0, q8, 64);
  auto y4 = dequant(Type::Q4_0, q4, 64);
  for (int b = 0; b < 2; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(x[b * 32 + j]));
    for (int j = 0; j < 32; ++j) {
      EXPECT_NEAR(y8[b * 32 + j], x[b * 32 + j], amax / 127 * 0.51f);
      EXPECT_NEAR(y4[b * 32 + j], x[b * 32 + j], amax / 8 * 0.51f + 1e-5f);
    }
  }
}

/// The dialect's Ingot_GGMLType (IngotBase.td) has one case per table entry,
/// with the same id (also static_asserted in compiler/dialect) and the
/// table's name in lower case. The integer types are the exception ODS
/// forces: i8..i64 are MLIR type tokens, so the dialect spells them int8..
TEST(GGMLTypes, DialectEnumMatchesTable) {
  for (uint32_t id = 0; id <= 64; ++id) {
    const TypeInfo *info = lookupType(id);
    std::optional<ingot::GGMLType> odsCase = ingot::symbolizeGGMLType(id);
    ASSERT_EQ(info != nullptr, odsCase.has_value()) << "id " << id;
    if (!info)
      continue;
    std::string expected;
    for (const char *c = info->name; *c; ++c)
      expected += char(std::tolower(static_cast<unsigned char>(*c)));
    if (expected[0] == 'i' &&
        std::isdigit(static_cast<unsigned char>(expected[1])))
      expected = "int" + expected.substr(1);
    EXPECT_EQ(ingot::stringifyGGMLType(*odsCase).str(), expected)
        << "id " << id;
  }
}

} // namespace
