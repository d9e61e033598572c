//===- GGMLQuantMixTest.cpp - llama-quantize's type mixes -----------------===//
//
// For each llama-quantize fixture of models/quants, the mix of its name
// applied to its F32 source names exactly the type the fixture stores each
// tensor as. Also: the requantized model (GGUFRequantize) of the synth-llama
// source is the fixture, tensor for tensor, byte for byte.
//
//===----------------------------------------------------------------------===//
#include "compiler/ggml/GGMLQuantMix.h"
#include "compiler/gguf/GGUFRequantize.h"

#include "llvm/Support/Error.h"

#include "gtest/gtest.h"

#include <cstring>
#include <string>

using namespace ingot;
using namespace ingot::ggml;

namespace {

std::string modelsDir() { return std::string(INGOT_SHARED_DIR) + "/models"; }

std::unique_ptr<gguf::GGUFFile> openOrNull(const std::string &path) {
  auto file = gguf::GGUFFile::open(path);
  if (!file) {
    llvm::consumeError(file.takeError());
    return nullptr;
  }
  return std::move(*file);
}

struct Fixture {
  const char *source, *quantized, *mix;
};

class MixOfFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(MixOfFixture, NamesTheFixturesTypes) {
  const Fixture &f = GetParam();
  auto source = openOrNull(modelsDir() + "/" + f.source);
  auto quantized = openOrNull(modelsDir() + "/quants/" + f.quantized);
  if (!source || !quantized)
    GTEST_SKIP() << "shared models not present";
  std::optional<QuantMix> mix = parseQuantMix(f.mix);
  ASSERT_TRUE(mix);
  std::vector<Type> chosen = chooseMixTypes(*mix, gguf::mixModelOf(*source),
                                            gguf::mixTensorsOf(*source));
  ASSERT_EQ(chosen.size(), source->tensors().size());
  for (size_t i = 0; i < chosen.size(); ++i) {
    const gguf::TensorInfo &t = source->tensors()[i];
    const gguf::TensorInfo *expected = quantized->findTensor(t.name);
    ASSERT_NE(expected, nullptr) << t.name;
    EXPECT_EQ(typeName(chosen[i]), std::string(typeName(expected->type)))
        << t.name << " in " << f.quantized;
  }
}

INSTANTIATE_TEST_SUITE_P(
    LlamaQuantizeFixtures, MixOfFixture,
    ::testing::Values(
        Fixture{"synth-llama.F32.gguf", "synth-llama.Q4_1.gguf", "Q4_1"},
        Fixture{"synth-llama.F32.gguf", "synth-llama.Q5_0.gguf", "q5_0"},
        Fixture{"synth-llama.F32.gguf", "synth-llama.Q5_1.gguf", "Q5_1"},
        Fixture{"synth-llama.F32.gguf", "synth-llama.Q4_K_M.gguf", "Q4_K_M"},
        Fixture{"synth-llama.F32.gguf", "synth-llama.Q5_K_M.gguf", "Q5_K_M"},
        Fixture{"synth-llama.F32.gguf", "synth-llama.Q6_K.gguf", "Q6_K"},
        Fixture{"synth-qwen2.F32.gguf", "synth-qwen2.Q4_K_M.gguf", "Q4_K_M"},
        Fixture{"synth-qwen2.F32.gguf", "synth-qwen2.Q6_K.gguf", "Q6_K"},
        Fixture{"stories260K.gguf", "stories260K.Q4_K_M.gguf", "Q4_K_M"},
        Fixture{"synth-deepseek2.F32.gguf", "synth-deepseek2.Q4_K_M.gguf",
                "Q4_K_M"},
        Fixture{"synth-deepseek2.F32.gguf", "synth-deepseek2.Q5_K_M.gguf",
                "Q5_K_M"}),
    [](const ::testing::TestParamInfo<Fixture> &info) {
      std::string name = std::string(info.param.quantized);
      for (char &c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)))
          c = '_';
      return name;
    });

TEST(QuantMix, NamesAreParsedAndListed) {
  EXPECT_EQ(parseQuantMix("q4_k_m"), QuantMix::Q4_K_M);
  EXPECT_FALSE(parseQuantMix("Q4_K").has_value());
  EXPECT_FALSE(parseQuantMix("IQ2_XXS").has_value());
  EXPECT_EQ(quantMixNames(), "Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K_S, Q4_K_M, "
                             "Q5_K_S, Q5_K_M, Q6_K");
}

/// Requantizing synth-llama.F32 into Q4_K_M gives llama-quantize's file:
/// the same tensors, types and bytes, and general.file_type 15.
TEST(QuantMix, RequantizedModelIsLlamaQuantizesFile) {
  auto source = openOrNull(modelsDir() + "/synth-llama.F32.gguf");
  auto fixture = openOrNull(modelsDir() + "/quants/synth-llama.Q4_K_M.gguf");
  if (!source || !fixture)
    GTEST_SKIP() << "shared models not present";
  auto model = gguf::requantizeModel(*source, QuantMix::Q4_K_M);
  ASSERT_TRUE(static_cast<bool>(model)) << llvm::toString(model.takeError());
  const gguf::GGUFFile &file = *model->file;
  ASSERT_EQ(file.tensors().size(), fixture->tensors().size());
  for (const gguf::TensorInfo &t : file.tensors()) {
    const gguf::TensorInfo *expected = fixture->findTensor(t.name);
    ASSERT_NE(expected, nullptr) << t.name;
    EXPECT_EQ(t.type, expected->type) << t.name;
    llvm::ArrayRef<uint8_t> a = file.tensorData(t),
                            b = fixture->tensorData(*expected);
    EXPECT_TRUE(a.size() == b.size() &&
                std::memcmp(a.data(), b.data(), a.size()) == 0)
        << t.name;
  }
  EXPECT_EQ(file.getUnsigned("general.file_type"), 15u);
  EXPECT_EQ(model->summary.sourceBytes, source->getTensorDataBytes());
  EXPECT_EQ(model->summary.bytes, fixture->getTensorDataBytes());
  EXPECT_TRUE(model->summary.fromQuantized.empty());
  EXPECT_GT(model->summary.requantized, 0);
}

} // namespace
