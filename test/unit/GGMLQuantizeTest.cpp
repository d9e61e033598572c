//===- GGMLQuantizeTest.cpp - the quantizers against llama-quantize -------===//
//
// llama-quantize (build 10470, no importance matrix) made the fixtures
// models/quants/synth-llama.TYPE.gguf from models/synth-llama.F32.gguf.
// Quantizing each F32 source tensor to the type the fixture stores it as
// must give the fixture's bytes exactly. Also checks, on hand-made values,
// that every quantized block decodes close to its source.
//
//===----------------------------------------------------------------------===//
#include "compiler/ggml/GGMLQuantize.h"
#include "compiler/gguf/GGUFFile.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace ingot;
using namespace ingot::ggml;

namespace {

std::string quantsDir() {
  return std::string(INGOT_SHARED_DIR) + "/models/quants";
}

std::unique_ptr<gguf::GGUFFile> openOrSkip(const std::string &path) {
  auto file = gguf::GGUFFile::open(path);
  if (!file) {
    llvm::consumeError(file.takeError());
    return nullptr;
  }
  return std::move(*file);
}

/// Quantizes every tensor of the F32 source that `fixture` stores in a
/// quantized type to that type; expects the fixture's bytes, tensor by
/// tensor, and that some tensor of `expectedType` was compared.
void expectBitExact(const std::string &fixture, Type expectedType) {
  auto source = openOrSkip(std::string(INGOT_SHARED_DIR) +
                           "/models/synth-llama.F32.gguf");
  auto quantized = openOrSkip(quantsDir() + "/" + fixture);
  if (!source || !quantized)
    GTEST_SKIP() << "shared models not present";
  int compared = 0, ofExpectedType = 0;
  for (const gguf::TensorInfo &info : quantized->tensors()) {
    if (info.type == Type::F32)
      continue;
    const gguf::TensorInfo *from = source->findTensor(info.name);
    ASSERT_NE(from, nullptr) << info.name;
    ASSERT_EQ(from->type, Type::F32) << info.name;
    ASSERT_TRUE(canQuantize(info.type))
        << info.name << " " << typeName(info.type);
    llvm::ArrayRef<uint8_t> raw = source->tensorData(*from);
    std::vector<float> values(from->elements);
    std::memcpy(values.data(), raw.data(), raw.size());
    std::vector<uint8_t> bytes(info.bytes);
    ASSERT_TRUE(
        quantizeValues(info.type, values.data(), bytes.data(), from->elements));
    llvm::ArrayRef<uint8_t> expected = quantized->tensorData(info);
    ASSERT_EQ(expected.size(), bytes.size()) << info.name;
    const uint32_t blockBytes = getTypeInfo(info.type).blockBytes;
    int64_t differingBlocks = 0, firstDiffering = -1;
    for (uint64_t b = 0; b < bytes.size() / blockBytes; ++b)
      if (std::memcmp(bytes.data() + b * blockBytes,
                      expected.data() + b * blockBytes, blockBytes)) {
        ++differingBlocks;
        if (firstDiffering < 0)
          firstDiffering = b;
      }
    EXPECT_EQ(differingBlocks, 0)
        << info.name << " as " << typeName(info.type) << ": " << differingBlocks
        << " of " << bytes.size() / blockBytes
        << " blocks differ, the first at block " << firstDiffering;
    ++compared;
    ofExpectedType += info.type == expectedType;
  }
  EXPECT_GT(compared, 0);
  EXPECT_GT(ofExpectedType, 0) << "no " << typeName(expectedType) << " tensor";
}

TEST(GGMLQuantize, Q4_1MatchesLlamaQuantize) {
  expectBitExact("synth-llama.Q4_1.gguf", Type::Q4_1);
}
TEST(GGMLQuantize, Q5_0MatchesLlamaQuantize) {
  expectBitExact("synth-llama.Q5_0.gguf", Type::Q5_0);
}
TEST(GGMLQuantize, Q5_1MatchesLlamaQuantize) {
  expectBitExact("synth-llama.Q5_1.gguf", Type::Q5_1);
}
TEST(GGMLQuantize, Q4_KMatchesLlamaQuantize) {
  expectBitExact("synth-llama.Q4_K_M.gguf", Type::Q4_K);
}
TEST(GGMLQuantize, Q5_KMatchesLlamaQuantize) {
  expectBitExact("synth-llama.Q5_K_M.gguf", Type::Q5_K);
}
TEST(GGMLQuantize, Q6_KMatchesLlamaQuantize) {
  expectBitExact("synth-llama.Q6_K.gguf", Type::Q6_K);
}

/// Every quantized block decodes to within its format's step of the source.
TEST(GGMLQuantize, RoundTripIsCloseAndRefusesPartialBlocks) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(512);
  for (float &v : values)
    v = normal(rng);
  values[3] = 0.0f;
  std::fill(values.begin() + 256, values.begin() + 288, 0.0f); // zero group
  struct Expect {
    Type type;
    double maxError; // relative to max |value| = amax
  } cases[] = {{Type::Q4_0, 1.0 / 8},   {Type::Q4_1, 1.0 / 15},
               {Type::Q5_0, 1.0 / 16},  {Type::Q5_1, 1.0 / 31},
               {Type::Q8_0, 1.0 / 127}, {Type::Q4_K, 2.0 / 15},
               {Type::Q5_K, 2.0 / 31},  {Type::Q6_K, 1.0 / 32},
               {Type::F16, 1e-3},       {Type::BF16, 1e-2}};
  float amax = 0;
  for (float v : values)
    amax = std::max(amax, std::fabs(v));
  for (const Expect &e : cases) {
    std::vector<uint8_t> bytes(*rowBytes(e.type, values.size()));
    ASSERT_TRUE(
        quantizeValues(e.type, values.data(), bytes.data(), values.size()))
        << typeName(e.type);
    std::vector<float> decoded(values.size());
    dequantizeRow(e.type, bytes.data(), decoded.data(), values.size());
    double worst = 0;
    for (size_t i = 0; i < values.size(); ++i)
      worst = std::max(worst, std::fabs(double(decoded[i]) - values[i]));
    EXPECT_LE(worst, e.maxError * amax) << typeName(e.type);
    for (int i = 256; i < 288; ++i)
      EXPECT_EQ(decoded[i], 0.0f) << typeName(e.type) << " zero group";
  }
  std::vector<uint8_t> bytes(1024);
  EXPECT_FALSE(quantizeValues(Type::Q4_K, values.data(), bytes.data(), 255));
  EXPECT_FALSE(quantizeValues(Type::Q2_K, values.data(), bytes.data(), 256));
}

} // namespace
