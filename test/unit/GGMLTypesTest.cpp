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
      {Type::F32, 1, 4},        {Type::F16, 1, 2},      {Type::BF16, 1, 2},
      {Type::Q4_0, 32, 18},     {Type::Q4_1, 32, 20},   {Type::Q5_0, 32, 22},
      {Type::Q5_1, 32, 24},     {Type::Q8_0, 32, 34},   {Type::Q2_K, 256, 84},
      {Type::Q3_K, 256, 110},   {Type::Q4_K, 256, 144}, {Type::Q5_K, 256, 176},
      {Type::Q6_K, 256, 210},   {Type::Q8_K, 256, 292}, {Type::IQ4_NL, 32, 18},
      {Type::IQ4_XS, 256, 136},
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

// Whole blocks built from the format definitions (ggml-common.h's block
// structs and dequantize_row_* in ggml-quants.c): each test chooses the
// logical contents of a block (scales, mins, quants, high bits), packs them
// into bytes by the definition and compares every decoded value with the
// definition's formula. Scales are powers of two times small integers, so
// every expected value is exact in float whatever the order of operations.

/// Values 0..range-1 that differ between neighbouring positions (7 is
/// coprime with every range used), so a value read from the wrong place
/// shows.
int pattern(int i, int range, int salt = 0) {
  return (i * 7 + salt * 13 + 3) % range;
}

void expectDecodes(Type type, const std::vector<uint8_t> &bytes,
                   const std::vector<double> &expected) {
  auto got = dequant(type, bytes, static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i)
    ASSERT_EQ(got[i], static_cast<float>(expected[i]))
        << typeName(type) << " value " << i;
}

TEST(GGMLTypes, Q4_0BlocksFromDefinition) {
  // {f16 d; u8 qs[16]}: value j < 16 is the low nibble of qs[j], value
  // j + 16 the high nibble; x = d * (q - 8). Two blocks, scales of both
  // signs.
  const uint16_t dBits[2] = {0x3800, 0xB400}; // 0.5, -0.25
  const double dValue[2] = {0.5, -0.25};
  std::vector<uint8_t> bytes(2 * 18);
  std::vector<double> expected(64);
  for (int b = 0; b < 2; ++b) {
    putHalf(bytes, 18 * b, dBits[b]);
    for (int j = 0; j < 32; ++j) {
      int q = pattern(32 * b + j, 16);
      bytes[18 * b + 2 + j % 16] |= uint8_t(q << (j < 16 ? 0 : 4));
      expected[32 * b + j] = dValue[b] * (q - 8);
    }
  }
  expectDecodes(Type::Q4_0, bytes, expected);
}

TEST(GGMLTypes, Q4_1BlockFromDefinition) {
  // {f16 d; f16 m; u8 qs[16]}: x = d * q + m.
  std::vector<uint8_t> bytes(20);
  putHalf(bytes, 0, 0x3400); // d = 0.25
  putHalf(bytes, 2, 0xBE00); // m = -1.5
  std::vector<double> expected(32);
  for (int j = 0; j < 32; ++j) {
    int q = pattern(j, 16);
    bytes[4 + j % 16] |= uint8_t(q << (j < 16 ? 0 : 4));
    expected[j] = 0.25 * q - 1.5;
  }
  expectDecodes(Type::Q4_1, bytes, expected);
}

/// Q5_0 / Q5_1: {f16 d; (f16 m;) u8 qh[4]; u8 qs[16]}; the 5-bit quant of
/// value j has its low 4 bits packed as in Q4_0 and its fifth bit at bit j
/// of the little-endian 32-bit qh.
void packQ5(std::vector<uint8_t> &bytes, size_t qhAt, int j, int q) {
  bytes[qhAt + 4 + j % 16] |= uint8_t((q & 0xF) << (j < 16 ? 0 : 4));
  if (q & 16)
    bytes[qhAt + j / 8] |= uint8_t(1 << (j % 8));
}

TEST(GGMLTypes, Q5_0BlockFromDefinition) {
  // x = d * (q - 16).
  std::vector<uint8_t> bytes(22);
  putHalf(bytes, 0, 0xBA00); // d = -0.75
  std::vector<double> expected(32);
  for (int j = 0; j < 32; ++j) {
    int q = pattern(j, 32);
    packQ5(bytes, 2, j, q);
    expected[j] = -0.75 * (q - 16);
  }
  expectDecodes(Type::Q5_0, bytes, expected);
}

TEST(GGMLTypes, Q5_1BlockFromDefinition) {
  // x = d * q + m.
  std::vector<uint8_t> bytes(24);
  putHalf(bytes, 0, 0x3800); // d = 0.5
  putHalf(bytes, 2, 0xC000); // m = -2
  std::vector<double> expected(32);
  for (int j = 0; j < 32; ++j) {
    int q = pattern(j, 32, 1);
    packQ5(bytes, 4, j, q);
    expected[j] = 0.5 * q - 2.0;
  }
  expectDecodes(Type::Q5_1, bytes, expected);
}

TEST(GGMLTypes, Q8_0BlockFromDefinition) {
  // {f16 d; i8 qs[32]}: x = d * q, q over the whole int8 range.
  std::vector<uint8_t> bytes(34);
  putHalf(bytes, 0, 0x3400); // d = 0.25
  std::vector<double> expected(32);
  for (int j = 0; j < 32; ++j) {
    int q = pattern(j, 256) - 128;
    bytes[2 + j] = uint8_t(int8_t(q));
    expected[j] = 0.25 * q;
  }
  expectDecodes(Type::Q8_0, bytes, expected);
}

TEST(GGMLTypes, Q2_KBlockFromDefinition) {
  // {u8 scales[16]; u8 qs[64]; f16 d; f16 dmin}: sub-block i (values
  // 16i..16i+15) has scales[i] = scale | min << 4; value 128h + 32j + l
  // (l < 32) is 2 bits at bit 2j of qs[32h + l]; x = d * scale * q -
  // dmin * min.
  std::vector<uint8_t> bytes(84);
  putHalf(bytes, 80, 0x3800); // d = 0.5
  putHalf(bytes, 82, 0x3400); // dmin = 0.25
  int scale[16], min[16];
  for (int i = 0; i < 16; ++i) {
    scale[i] = pattern(i, 16, 1);
    min[i] = pattern(i, 16, 2);
    bytes[i] = uint8_t(scale[i] | (min[i] << 4));
  }
  std::vector<double> expected(256);
  for (int v = 0; v < 256; ++v) {
    int h = v / 128, j = v % 128 / 32, l = v % 32;
    int q = pattern(v, 4);
    bytes[16 + 32 * h + l] |= uint8_t(q << (2 * j));
    expected[v] = 0.5 * scale[v / 16] * q - 0.25 * min[v / 16];
  }
  expectDecodes(Type::Q2_K, bytes, expected);
}

TEST(GGMLTypes, Q3_KBlockFromDefinition) {
  // {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}: sub-block i (16
  // values) has a 6-bit scale s_i, used as s_i - 32: its low 4 bits are the
  // low nibble of scales[i] (i < 8) or the high nibble of scales[i - 8],
  // its high 2 bits sit at bit 2 * (i / 4) of scales[8 + i % 4]. Value
  // 128h + 32j + l has the low 2 bits of q + 4 at bit 2j of qs[32h + l] and
  // its third bit at bit 4h + j of hmask[l]; x = d * (s - 32) * q, q in
  // -4..3.
  std::vector<uint8_t> bytes(110);
  putHalf(bytes, 108, 0x3400); // d = 0.25
  uint8_t *scales = bytes.data() + 96;
  int scale[16];
  for (int i = 0; i < 16; ++i) {
    scale[i] = pattern(i, 64, 1);
    scales[i % 8] |= uint8_t((scale[i] & 0xF) << (i < 8 ? 0 : 4));
    scales[8 + i % 4] |= uint8_t((scale[i] >> 4) << (2 * (i / 4)));
  }
  std::vector<double> expected(256);
  for (int v = 0; v < 256; ++v) {
    int h = v / 128, j = v % 128 / 32, l = v % 32;
    int q = pattern(v, 8) - 4;
    int biased = q + 4;
    bytes[32 + 32 * h + l] |= uint8_t((biased & 3) << (2 * j));
    if (biased & 4)
      bytes[l] |= uint8_t(1 << (4 * h + j));
    expected[v] = 0.25 * (scale[v / 16] - 32) * q;
  }
  expectDecodes(Type::Q3_K, bytes, expected);
}

/// Packs the 6-bit scales and mins of the 8 sub-blocks of a Q4_K / Q5_K
/// super-block into its 12 scale bytes (at `at`): for i < 4, the low 6 bits
/// of bytes i and i + 4; for i >= 4, the nibbles of byte i + 4 (scale low,
/// min high) and the top 2 bits of bytes i - 4 (scale) and i (min).
void packKScales(std::vector<uint8_t> &bytes, size_t at, const int *scale,
                 const int *min) {
  uint8_t *q = bytes.data() + at;
  for (int i = 0; i < 8; ++i) {
    if (i < 4) {
      q[i] |= uint8_t(scale[i]);
      q[i + 4] |= uint8_t(min[i]);
    } else {
      q[i + 4] |= uint8_t((scale[i] & 0xF) | ((min[i] & 0xF) << 4));
      q[i - 4] |= uint8_t((scale[i] >> 4) << 6);
      q[i] |= uint8_t((min[i] >> 4) << 6);
    }
  }
}

/// Q4_K / Q5_K: {f16 d; f16 dmin; u8 scales[12]; (Q5_K: u8 qh[32];) u8
/// qs[128]}: value 64c + 32p + l (l < 32) has its low 4 bits in nibble p of
/// qs[32c + l] and (Q5_K) its fifth bit at bit 2c + p of qh[l]; sub-block
/// (value / 32) i gives x = d * scale_i * q - dmin * min_i.
void checkQ45_K(bool five) {
  std::vector<uint8_t> bytes(five ? 176 : 144);
  putHalf(bytes, 0, 0x3800); // d = 0.5
  putHalf(bytes, 2, 0x3400); // dmin = 0.25
  int scale[8], min[8];
  for (int i = 0; i < 8; ++i) {
    scale[i] = pattern(i, 64, 3);
    min[i] = pattern(i, 64, 4);
  }
  packKScales(bytes, 4, scale, min);
  const size_t qsAt = five ? 48 : 16;
  std::vector<double> expected(256);
  for (int v = 0; v < 256; ++v) {
    int c = v / 64, p = v % 64 / 32, l = v % 32;
    int q = pattern(v, five ? 32 : 16);
    bytes[qsAt + 32 * c + l] |= uint8_t((q & 0xF) << (4 * p));
    if (q & 16)
      bytes[16 + l] |= uint8_t(1 << (2 * c + p));
    expected[v] = 0.5 * scale[v / 32] * q - 0.25 * min[v / 32];
  }
  expectDecodes(five ? Type::Q5_K : Type::Q4_K, bytes, expected);
}

TEST(GGMLTypes, Q4_KBlockFromDefinition) { checkQ45_K(/*five=*/false); }
TEST(GGMLTypes, Q5_KBlockFromDefinition) { checkQ45_K(/*five=*/true); }

TEST(GGMLTypes, Q6_KBlockFromDefinition) {
  // {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: value 128h + 32k + l
  // (l < 32) has its low 4 bits in the low (k < 2) or high (k >= 2) nibble
  // of ql[64h + 32 * (k % 2) + l] and its high 2 bits at bit 2k of
  // qh[32h + l]; sub-block (value / 16) i gives x = d * scales[i] * (q -
  // 32), the scales signed.
  std::vector<uint8_t> bytes(210);
  putHalf(bytes, 208, 0xB400); // d = -0.25
  int scale[16];
  for (int i = 0; i < 16; ++i) {
    scale[i] = pattern(i, 256, 5) - 128;
    bytes[192 + i] = uint8_t(int8_t(scale[i]));
  }
  std::vector<double> expected(256);
  for (int v = 0; v < 256; ++v) {
    int h = v / 128, k = v % 128 / 32, l = v % 32;
    int q = pattern(v, 64);
    bytes[64 * h + 32 * (k % 2) + l] |= uint8_t((q & 0xF) << (k < 2 ? 0 : 4));
    bytes[128 + 32 * h + l] |= uint8_t((q >> 4) << (2 * k));
    expected[v] = -0.25 * scale[v / 16] * (q - 32);
  }
  expectDecodes(Type::Q6_K, bytes, expected);
}

/// The non-linear levels of IQ4_NL / IQ4_XS (ggml-common.h kvalues_iq4nl).
constexpr int kIQ4Levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                1,    13,   25,  38,  53,  69,  89,  113};

TEST(GGMLTypes, IQ4_NLBlockFromDefinition) {
  // {f16 d; u8 qs[16]}: nibbles packed as Q4_0; x = d * level[nibble].
  std::vector<uint8_t> bytes(18);
  putHalf(bytes, 0, 0xB800); // d = -0.5
  std::vector<double> expected(32);
  for (int j = 0; j < 32; ++j) {
    int index = pattern(j, 16, 2);
    bytes[2 + j % 16] |= uint8_t(index << (j < 16 ? 0 : 4));
    expected[j] = -0.5 * kIQ4Levels[index];
  }
  expectDecodes(Type::IQ4_NL, bytes, expected);
}

TEST(GGMLTypes, IQ4_XSBlockFromDefinition) {
  // {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]}: sub-block ib of 32
  // values has a 6-bit scale s (used as s - 32): low 4 bits in nibble
  // ib % 2 of scales_l[ib / 2], high 2 bits at bit 2 * ib of scales_h; its
  // 16 qs bytes are packed as an IQ4_NL block; x = d * (s - 32) *
  // level[nibble].
  std::vector<uint8_t> bytes(136);
  putHalf(bytes, 0, 0x3400); // d = 0.25
  int scale[8];
  uint16_t scalesHigh = 0;
  for (int ib = 0; ib < 8; ++ib) {
    scale[ib] = pattern(ib, 64, 6);
    bytes[4 + ib / 2] |= uint8_t((scale[ib] & 0xF) << (4 * (ib % 2)));
    scalesHigh |= uint16_t((scale[ib] >> 4) << (2 * ib));
  }
  putHalf(bytes, 2, scalesHigh);
  std::vector<double> expected(256);
  for (int v = 0; v < 256; ++v) {
    int ib = v / 32, j = v % 32;
    int index = pattern(v, 16, 7);
    bytes[8 + 16 * ib + j % 16] |= uint8_t(index << (j < 16 ? 0 : 4));
    expected[v] = 0.25 * (scale[ib] - 32) * kIQ4Levels[index];
  }
  expectDecodes(Type::IQ4_XS, bytes, expected);
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
