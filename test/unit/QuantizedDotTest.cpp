//===- QuantizedDotTest.cpp - ggml's quantized dot products ---------------===//
//
// The interpreter's quantized dot products (compiler/interp/QuantizedDot.h)
// re-read every block layout to sum integers; the decoders
// (GGMLTypesTest.cpp checks them against the format definitions) give the
// same values as floats. For every weight type with a vec_dot_type, random
// valid weight rows times rounded activations must equal the double
// precision sum of decoded weight times decoded activation, up to float
// rounding; a quant, scale or min read from the wrong place would be off by
// far more. Also checks the activation rounding itself against ggml's
// definitions of Q8_0, Q8_1 and Q8_K.
//
//===----------------------------------------------------------------------===//
#include "compiler/interp/QuantizedDot.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>
#include <vector>

using namespace ingot;
using namespace ingot::interp;
using ggml::Type;

namespace {

/// Offsets of the F16 scale (and min) fields of one block, which random
/// bytes must not turn into infinities or NaNs.
std::vector<int> halfFields(Type type) {
  switch (type) {
  case Type::Q4_1:
  case Type::Q5_1:
  case Type::Q4_K:
  case Type::Q5_K:
    return {0, 2};
  case Type::Q2_K:
    return {80, 82};
  case Type::Q3_K:
    return {108};
  case Type::Q6_K:
    return {208};
  default: // Q4_0, Q5_0, Q8_0, IQ4_NL, IQ4_XS: d first
    return {0};
  }
}

std::vector<uint8_t> randomRow(Type type, int64_t n, std::mt19937 &rng) {
  const ggml::TypeInfo &info = ggml::getTypeInfo(type);
  std::vector<uint8_t> row(n / info.blockElements * info.blockBytes);
  for (uint8_t &byte : row)
    byte = uint8_t(rng());
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (size_t block = 0; block < row.size(); block += info.blockBytes)
    for (int at : halfFields(type)) {
      uint16_t h = ggml::floatToHalf(scale(rng));
      row[block + at] = uint8_t(h & 0xFF);
      row[block + at + 1] = uint8_t(h >> 8);
    }
  return row;
}

/// The activations as the rounded blocks hold them, in double.
std::vector<double> decodedActivations(const QuantizedActivations &x,
                                       int64_t n) {
  std::vector<double> out(n);
  for (int64_t i = 0; i < n; ++i) {
    switch (x.type) {
    case Type::Q8_0:
      out[i] = double(x.q8_0[i / 32].d) * x.q8_0[i / 32].q[i % 32];
      break;
    case Type::Q8_1:
      out[i] = double(x.q8_1[i / 32].d) * x.q8_1[i / 32].q[i % 32];
      break;
    default:
      out[i] = double(x.q8_K[i / 256].d) * x.q8_K[i / 256].q[i % 256];
      break;
    }
  }
  return out;
}

TEST(QuantizedDot, EqualsDecodedProduct) {
  const Type types[] = {Type::Q4_0, Type::Q4_1, Type::Q5_0,   Type::Q5_1,
                        Type::Q8_0, Type::Q2_K, Type::Q3_K,   Type::Q4_K,
                        Type::Q5_K, Type::Q6_K, Type::IQ4_NL, Type::IQ4_XS};
  std::mt19937 rng(12);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n = 1024;
  for (Type type : types) {
    for (int trial = 0; trial < 8; ++trial) {
      std::vector<uint8_t> row = randomRow(type, n, rng);
      std::vector<float> x(n);
      for (float &v : x)
        v = normal(rng);
      const QuantizedActivations rounded(*vecDotType(type), x.data(), n);
      std::vector<float> w(n);
      ggml::dequantizeRow(type, row.data(), w.data(), n);
      std::vector<double> xd = decodedActivations(rounded, n);
      double want = 0.0, magnitude = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        want += double(w[i]) * xd[i];
        magnitude += std::fabs(double(w[i]) * xd[i]);
      }
      // ggml's Q4_1 / Q5_1 products take a block's activation sum from the
      // F16 s = d * sum(q) (unrounded d): the min's term differs from the
      // decoded product by m * (s - d16 * sum(q)).
      if (rounded.type == Type::Q8_1)
        for (int64_t b = 0; b < n / 32; ++b) {
          const uint8_t *block =
              row.data() + b * ggml::getTypeInfo(type).blockBytes;
          const double m = ggml::loadHalf(block + 2);
          double sum = 0.0;
          for (int j = 0; j < 32; ++j)
            sum += rounded.q8_1[b].q[j];
          want +=
              m * (double(rounded.q8_1[b].s) - double(rounded.q8_1[b].d) * sum);
          magnitude += std::fabs(m * rounded.q8_1[b].s);
        }
      const float got = quantizedDot(type, row.data(), rounded, n);
      EXPECT_NEAR(got, want, 1e-5 * magnitude)
          << ggml::typeName(type) << " trial " << trial;
      if (type != Type::Q4_K && type != Type::Q2_K && type != Type::IQ4_NL)
        continue;
      // The repacked kernels read the same quants, only summed in another
      // order.
      for (DotKernel kernel :
           {DotKernel::RepackedGemv, DotKernel::RepackedGemm})
        EXPECT_NEAR(quantizedDot(type, row.data(), rounded, n, kernel), want,
                    1e-5 * magnitude)
            << "repacked " << ggml::typeName(type) << " trial " << trial;
    }
  }
}

TEST(QuantizedDot, KernelChoice) {
  // Q4_K of a multiple of 8 rows is repacked: gemm over whole groups of four
  // of a batch of more than three rows, gemv for the rest.
  EXPECT_EQ(ggmlKernel(Type::Q4_K, 96, 0, 1), DotKernel::RepackedGemv);
  EXPECT_EQ(ggmlKernel(Type::Q4_K, 96, 2, 3), DotKernel::RepackedGemv);
  EXPECT_EQ(ggmlKernel(Type::Q4_K, 96, 0, 4), DotKernel::RepackedGemm);
  EXPECT_EQ(ggmlKernel(Type::Q4_K, 96, 7, 11), DotKernel::RepackedGemm);
  EXPECT_EQ(ggmlKernel(Type::Q4_K, 96, 8, 11), DotKernel::RepackedGemv);
  EXPECT_EQ(ggmlKernel(Type::Q4_K, 100, 0, 8), DotKernel::VecDot);
  EXPECT_EQ(ggmlKernel(Type::Q5_K, 96, 0, 8), DotKernel::VecDot);
  // Q2_K (on AVX-512) and IQ4_NL are repacked too.
  EXPECT_EQ(ggmlKernel(Type::Q2_K, 96, 0, 8), DotKernel::RepackedGemm);
  EXPECT_EQ(ggmlKernel(Type::IQ4_NL, 96, 0, 1), DotKernel::RepackedGemv);
  EXPECT_EQ(ggmlKernel(Type::IQ4_NL, 100, 0, 1), DotKernel::VecDot);
}

TEST(QuantizedDot, ActivationRounding) {
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i)
    x[i] = std::sin(0.3f * i) * (1.0f + i % 7);
  x[100] = -7.5f; // the largest magnitude, negative
  // Q8_0 / Q8_1: per block of 32, d = max|x| / 127 (F16), q = nearest of
  // x * 127 / max|x|; Q8_1 also s = F16(d * sum(q)).
  QuantizedActivations q8_0(Type::Q8_0, x.data(), 256);
  QuantizedActivations q8_1(Type::Q8_1, x.data(), 256);
  for (int b = 0; b < 8; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(x[32 * b + j]));
    const float d = amax / 127.0f;
    EXPECT_EQ(q8_0.q8_0[b].d, ggml::halfToFloat(ggml::floatToHalf(d)));
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      const int q = int(std::nearbyintf(x[32 * b + j] * (127.0f / amax)));
      EXPECT_EQ(q8_0.q8_0[b].q[j], q);
      EXPECT_EQ(q8_1.q8_1[b].q[j], q);
      sum += q;
    }
    EXPECT_EQ(q8_1.q8_1[b].s,
              ggml::halfToFloat(ggml::floatToHalf(d * float(sum))));
  }
  // Q8_K: the value of largest magnitude becomes -127 (its sign flips the
  // scale), d = 1 / (-127 / max) in F32, bsums the sums of 16.
  QuantizedActivations q8_K(Type::Q8_K, x.data(), 256);
  const float iscale = -127.0f / -7.5f;
  EXPECT_EQ(q8_K.q8_K[0].d, 1.0f / iscale);
  EXPECT_EQ(q8_K.q8_K[0].q[100], -127);
  for (int g = 0; g < 16; ++g) {
    int sum = 0;
    for (int j = 16 * g; j < 16 * g + 16; ++j) {
      const int q = std::min(127, int(std::nearbyintf(iscale * x[j])));
      EXPECT_EQ(q8_K.q8_K[0].q[j], q);
      sum += q;
    }
    EXPECT_EQ(q8_K.q8_K[0].bsums[g], sum);
  }
}

} // namespace
