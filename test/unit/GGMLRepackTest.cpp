//===- GGMLRepackTest.cpp - the read-as column and the conversion ---------===//
//
// Blocks are built by hand from ggml-common.h's layouts; the expected Q8_0
// blocks follow from the format definitions (an exact block keeps the
// source's f16 scale) or from ggml's quantize_row_q8_0 rounding.
//
//===----------------------------------------------------------------------===//
#include "compiler/ggml/GGMLRepack.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <vector>

using namespace ingot::ggml;

namespace {

void putHalf(uint8_t *at, uint16_t bits) {
  at[0] = bits & 0xFF;
  at[1] = bits >> 8;
}

TEST(GGMLRepack, ReadAsColumn) {
  // The kernels' own types read as themselves, the other decodable types
  // as a type the kernels read; nothing for the rest.
  for (Type t : {Type::F32, Type::F16, Type::BF16, Type::Q8_0, Type::Q4_0,
                 Type::Q4_K, Type::Q6_K}) {
    EXPECT_EQ(kernelReadType(t), t) << typeName(t);
    EXPECT_FALSE(isRepackedType(t)) << typeName(t);
  }
  EXPECT_EQ(kernelReadType(Type::Q5_0), Type::Q8_0);
  EXPECT_EQ(kernelReadType(Type::Q4_1), Type::Q8_0);
  for (const TypeInfo &info : kTypeTable) {
    std::optional<Type> readAs = kernelReadType(info.type);
    EXPECT_EQ(readAs.has_value(), info.canDequantize) << info.name;
    if (readAs) {
      EXPECT_TRUE(isKernelWeightType(*readAs)) << info.name;
      if (*readAs != info.type)
        EXPECT_TRUE(canRepack(info.type, *readAs)) << info.name;
    }
  }
  EXPECT_FALSE(kernelReadType(Type::IQ2_XS).has_value());
  EXPECT_FALSE(isKernelWeightType(Type::IQ2_XS));
}

TEST(GGMLRepack, Q5_0KeepsItsScaleExactly) {
  // {f16 d = 0.5; u32 qh; u8 qs[16]}: value j = (q_j - 16) * d with the
  // 5-bit q_j = j (all 32 levels), so Q8_0 holds {d, j - 16} exactly.
  uint8_t block[22] = {};
  putHalf(block, 0x3800);
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    int lo = j, hi = j + 16;
    block[6 + j] = uint8_t((lo & 0xF) | ((hi & 0xF) << 4));
    qh |= uint32_t(lo >> 4) << j;
    qh |= uint32_t(hi >> 4) << (j + 16);
  }
  std::memcpy(block + 2, &qh, 4);
  uint8_t out[34];
  RepackError error;
  ASSERT_TRUE(repackValues(Type::Q5_0, Type::Q8_0, block, out, 32, error));
  EXPECT_EQ(out[0], 0x00);
  EXPECT_EQ(out[1], 0x38);
  for (int j = 0; j < 32; ++j)
    EXPECT_EQ(int8_t(out[2 + j]), j - 16) << j;
  EXPECT_TRUE(error.isExact());
  EXPECT_EQ(error.exactBlocks, 1);
  EXPECT_EQ(error.blocks, 1);
  EXPECT_EQ(error.values, 32);
}

TEST(GGMLRepack, IQ4_NLKeepsItsScaleExactly) {
  // {f16 d = 0.25; u8 qs[16]}: value j = d * kvalues_iq4nl[index_j], the
  // codebook's int8 levels, so Q8_0 holds {d, level} exactly.
  uint8_t block[18] = {};
  putHalf(block, 0x3400);
  for (int j = 0; j < 16; ++j)
    block[2 + j] = uint8_t(j | ((15 - j) << 4));
  uint8_t out[34];
  RepackError error;
  ASSERT_TRUE(repackValues(Type::IQ4_NL, Type::Q8_0, block, out, 32, error));
  EXPECT_EQ(out[0], 0x00);
  EXPECT_EQ(out[1], 0x34);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(int8_t(out[2 + j]), kIQ4NLValues[j]) << j;
    EXPECT_EQ(int8_t(out[18 + j]), kIQ4NLValues[15 - j]) << j;
  }
  EXPECT_TRUE(error.isExact());
}

TEST(GGMLRepack, Q4_1RoundsAsQuantizeRowQ8_0AndMeasures) {
  // {f16 d = 0.1; f16 m = 0.3; u8 qs[16]}: value j = q_j * d + m is no
  // int8 multiple of d, so the block is rounded as ggml rounds Q8_0.
  uint8_t block[20] = {};
  putHalf(block, floatToHalf(0.1f));
  putHalf(block + 2, floatToHalf(0.3f));
  for (int j = 0; j < 16; ++j)
    block[4 + j] = uint8_t(j | ((15 - j) << 4));
  float values[32];
  dequantizeRow(Type::Q4_1, block, values, 32);
  uint8_t want[34], out[34];
  quantizeRowQ8_0(values, want, 32);
  RepackError error;
  ASSERT_TRUE(repackValues(Type::Q4_1, Type::Q8_0, block, out, 32, error));
  EXPECT_EQ(0, std::memcmp(want, out, 34));
  float back[32];
  dequantizeRow(Type::Q8_0, out, back, 32);
  double maxAbs = 0, amax = 0;
  for (int j = 0; j < 32; ++j) {
    maxAbs = std::max(maxAbs, std::fabs(double(back[j]) - values[j]));
    amax = std::max(amax, std::fabs(double(values[j])));
  }
  EXPECT_GT(maxAbs, 0.0);
  EXPECT_DOUBLE_EQ(error.maxAbs, maxAbs);
  EXPECT_DOUBLE_EQ(error.maxRelativeToBlockAmax, maxAbs / amax);
  // Half a step of amax / 127, plus the step's f16 rounding (2^-11 of it)
  // times at most 127 steps.
  EXPECT_LE(error.maxRelativeToBlockAmax, 0.5 / 127 + 1.0 / 2048);
  EXPECT_EQ(error.exactBlocks, 0);
}

TEST(GGMLRepack, BF16ToF32IsExact) {
  const uint16_t bits[4] = {0x3F80, 0xC040, 0x0001, 0x7F7F};
  uint8_t in[8], out[16];
  std::memcpy(in, bits, 8);
  RepackError error;
  ASSERT_TRUE(repackValues(Type::BF16, Type::F32, in, out, 4, error));
  for (int i = 0; i < 4; ++i) {
    uint32_t word;
    std::memcpy(&word, out + 4 * i, 4);
    EXPECT_EQ(word, uint32_t(bits[i]) << 16) << i;
  }
  EXPECT_TRUE(error.isExact());
}

TEST(GGMLRepack, RefusesWhatItCannotConvert) {
  std::vector<uint8_t> in(1024), out(1024);
  RepackError error;
  // No decoder, no kernel type as target, not whole blocks of both types.
  EXPECT_FALSE(repackValues(Type::IQ2_XS, Type::Q8_0, in.data(), out.data(),
                            256, error));
  EXPECT_FALSE(
      repackValues(Type::Q5_0, Type::Q4_K, in.data(), out.data(), 256, error));
  EXPECT_FALSE(
      repackValues(Type::BF16, Type::Q8_0, in.data(), out.data(), 16, error));
  EXPECT_EQ(error.values, 0);
}

} // namespace
