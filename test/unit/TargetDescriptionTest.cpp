//===- TargetDescriptionTest.cpp - target YAML, checks, derived values ----===//
//
// Parses a small valid description, mutates it one field at a time and
// checks each validation message with its line:column; round trip through
// the writer; derived thread counts and theoretical bandwidth by hand.
//
//===----------------------------------------------------------------------===//
#include "compiler/target/TargetDescription.h"

#include "gtest/gtest.h"

#include <string>

using namespace ingot::target;

namespace {

// Two sockets of 4 cores, two L3 groups per socket.
const char *const kValid = R"(name: test-box
isa: x86_64
cpu: znver4
features: [avx, avx2, fma, f16c, avx512f, avx512bw, avx512_vnni]
sockets: 2
cores_per_socket: 4
threads_per_core: 2
caches:
  l1d_kib: 32
  l2_kib: 1024
  l3:
    - size_mib: 32
      cores: [0, 1]
    - size_mib: 32
      cores: [2, 3]
    - size_mib: 32
      cores: [4, 5]
    - size_mib: 32
      cores: [6, 7]
numa:
  - id: 0
    cores: [0, 1, 2, 3]
    memory_gib: 64
  - id: 1
    cores: [4, 5, 6, 7]
    memory_gib: 64
memory:
  channels: 12
  type: DDR5
  mts: 4800
  capacity_gib: 128
)";

llvm::Expected<TargetDescription> parse(const std::string &text) {
  return parseTargetDescription(llvm::MemoryBufferRef(text, "t.yaml"));
}

/// The error message for text (which must fail to parse).
std::string errorOf(const std::string &text) {
  auto result = parse(text);
  if (result)
    return "<no error>";
  return llvm::toString(result.takeError());
}

std::string replaced(std::string text, const std::string &from,
                     const std::string &to) {
  size_t pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos)
    text.replace(pos, from.size(), to);
  return text;
}

TEST(TargetDescription, ParsesValid) {
  auto t = parse(kValid);
  ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
  EXPECT_EQ(t->name, "test-box");
  EXPECT_EQ(t->physicalCores(), 8u);
  EXPECT_EQ(t->hardwareThreads(), 16u);
  EXPECT_EQ(t->caches.l3.size(), 4u);
  EXPECT_EQ(t->numa[1].cores[0].id, 4u);
  EXPECT_EQ(t->memory.dimmsPerChannel, 1u);
  EXPECT_EQ(t->memory.source, "spec");
  EXPECT_TRUE(t->hasFeature("avx512_vnni"));
  EXPECT_FALSE(t->hasFeature("amx_int8"));
}

TEST(TargetDescription, LlvmFeatures) {
  auto t = parse(kValid);
  ASSERT_TRUE(bool(t));
  std::vector<std::string> expected = {
      "+avx", "+avx2", "+fma", "+f16c", "+avx512f", "+avx512bw", "+avx512vnni"};
  EXPECT_EQ(t->llvmFeatureList(), expected);
  EXPECT_STREQ(lookupFeature("amx_int8")->llvmFeature, "+amx-int8");
  EXPECT_EQ(lookupFeature("avx513"), nullptr);
}

TEST(TargetDescription, Bandwidth) {
  auto t = parse(kValid);
  ASSERT_TRUE(bool(t));
  // 2 sockets * 12 channels * 4800 MT/s * 8 bytes = 921.6 GB/s.
  EXPECT_DOUBLE_EQ(t->theoreticalBandwidthGBps(), 921.6);
  t->sockets = 1;
  t->memory.channels = 2;
  t->memory.mts = 3200;
  EXPECT_DOUBLE_EQ(t->theoreticalBandwidthGBps(), 51.2);
}

TEST(TargetDescription, DerivedThreads) {
  auto t = parse(kValid);
  ASSERT_TRUE(bool(t));
  // One socket: all physical cores for decode, all hardware threads for
  // prefill.
  EXPECT_EQ(t->decodeThreads(), 4u);
  EXPECT_EQ(t->prefillThreads(), 8u);
  // A measured curve that saturates at 2 threads lowers decode.
  t->memory.measured = {{1, 50, {}}, {2, 96, {}}, {3, 99, {}}, {4, 100, {}}};
  EXPECT_EQ(t->decodeThreads(), 2u);
  // Given values win.
  t->threads.decode = 3;
  t->threads.prefill = 16;
  EXPECT_EQ(t->decodeThreads(), 3u);
  EXPECT_EQ(t->prefillThreads(), 16u);
}

TEST(TargetDescription, RoundTrip) {
  std::string text =
      std::string(kValid) +
      "  dimms_per_channel: 2\n"
      "  source: estimated\n"
      "  measured_read_gbps: 123.4\n"
      "  measured:\n"
      "    - threads: 1\n      read_gbps: 40.5\n"
      "    - threads: 2\n      read_gbps: 75.25\n"
      "hugepages:\n  available_1g: 4\n  available_2m: 1024\n"
      "threads:\n  decode: 6\n  prefill: 12\n"
      "probe:\n  int8_peak_gops: 1234.5\n  int8_kernel: avx512_vnni\n"
      "  int8_threads: 8\n";
  auto first = parse(text);
  ASSERT_TRUE(bool(first)) << llvm::toString(first.takeError());
  std::string written = writeTargetDescription(*first);
  auto second = parse(written);
  ASSERT_TRUE(bool(second)) << llvm::toString(second.takeError()) << "\n"
                            << written;
  EXPECT_TRUE(*first == *second) << written;
  EXPECT_EQ(writeTargetDescription(*second), written);
  EXPECT_EQ(second->memory.measured.size(), 2u);
  EXPECT_EQ(*second->threads.decode, 6u);
  EXPECT_EQ(*second->probe->int8Kernel, "avx512_vnni");
  EXPECT_EQ(second->hugepages.available2M, 1024u);
}

TEST(TargetDescription, RoundTripMinimal) {
  auto first = parse(kValid);
  ASSERT_TRUE(bool(first));
  std::string written = writeTargetDescription(*first);
  EXPECT_EQ(written.find("threads:\n"), std::string::npos) << written;
  auto second = parse(written);
  ASSERT_TRUE(bool(second)) << llvm::toString(second.takeError());
  EXPECT_TRUE(*first == *second);
}

TEST(TargetDescription, CoreList) {
  std::vector<CoreId> cores = {{3, {}}, {0, {}},  {1, {}}, {2, {}},
                               {8, {}}, {10, {}}, {11, {}}};
  EXPECT_EQ(formatCoreList(cores), "0-3,8,10-11");
}

// Each validation path, with its location.
TEST(TargetValidation, YamlSyntax) {
  EXPECT_EQ(errorOf(replaced(kValid, "sockets: 2", "sockets: [2")).substr(0, 7),
            "t.yaml:");
}

TEST(TargetValidation, UnknownKey) {
  EXPECT_EQ(
      errorOf(replaced(kValid, "sockets: 2\n", "sockets: 2\nsocketz: 3\n")),
      "t.yaml:6:1: unknown key 'socketz'");
}

TEST(TargetValidation, MissingKey) {
  EXPECT_EQ(errorOf(replaced(kValid, "cpu: znver4\n", "")),
            "t.yaml:1:1: missing required key 'cpu'");
}

TEST(TargetValidation, UnknownFeature) {
  EXPECT_EQ(errorOf(replaced(kValid, "avx512_vnni]", "avx513]")),
            "t.yaml:4:53: unknown feature 'avx513'");
}

TEST(TargetValidation, DuplicateFeature) {
  EXPECT_EQ(errorOf(replaced(kValid, "[avx, avx2", "[avx, avx, avx2")),
            "t.yaml:4:17: feature 'avx' is listed twice");
}

TEST(TargetValidation, FeatureRequires) {
  EXPECT_EQ(errorOf(replaced(kValid, "avx512f, avx512bw, ", "")),
            "t.yaml:4:34: feature 'avx512_vnni' requires feature 'avx512f'");
  EXPECT_EQ(errorOf(replaced(kValid, "avx512_vnni]", "avx512_vnni, amx_int8]")),
            "t.yaml:4:66: feature 'amx_int8' requires feature 'amx_tile'");
}

TEST(TargetValidation, Isa) {
  EXPECT_EQ(errorOf(replaced(kValid, "isa: x86_64", "isa: aarch64")),
            "t.yaml:2:6: unsupported isa 'aarch64' (only x86_64)");
}

TEST(TargetValidation, EmptyCpu) {
  EXPECT_EQ(errorOf(replaced(kValid, "cpu: znver4", "cpu: ''")),
            "t.yaml:3:6: cpu name is empty (an LLVM cpu name such as znver4)");
}

TEST(TargetValidation, ZeroCounts) {
  EXPECT_EQ(errorOf(replaced(kValid, "sockets: 2", "sockets: 0")),
            "t.yaml:5:10: sockets must be at least 1");
  EXPECT_EQ(
      errorOf(replaced(kValid, "cores_per_socket: 4", "cores_per_socket: 0")),
      "t.yaml:6:19: cores_per_socket must be at least 1");
  EXPECT_EQ(
      errorOf(replaced(kValid, "threads_per_core: 2", "threads_per_core: 0")),
      "t.yaml:7:19: threads_per_core must be between 1 and 8, not 0");
}

TEST(TargetValidation, CacheSizes) {
  EXPECT_EQ(errorOf(replaced(kValid, "l1d_kib: 32", "l1d_kib: 0")),
            "t.yaml:9:12: l1d_kib must be positive");
  EXPECT_EQ(errorOf(replaced(kValid, "l2_kib: 1024", "l2_kib: 0")),
            "t.yaml:10:11: l2_kib must be positive");
  EXPECT_EQ(errorOf(replaced(kValid, "- size_mib: 32\n      cores: [2, 3]",
                             "- size_mib: 0\n      cores: [2, 3]")),
            "t.yaml:14:7: L3 group 1 has no size (size_mib must be positive)");
}

TEST(TargetValidation, L3Coverage) {
  EXPECT_EQ(errorOf(replaced(kValid, "cores: [2, 3]", "cores: [2, 9]")),
            "t.yaml:15:18: core 9 in L3 group 1 is out of range (the target "
            "has cores 0-7)");
  EXPECT_EQ(errorOf(replaced(kValid, "cores: [2, 3]", "cores: [2, 1]")),
            "t.yaml:15:18: core 1 is in both L3 group 0 and L3 group 1");
  EXPECT_EQ(errorOf(replaced(kValid, "cores: [2, 3]", "cores: [2, 2]")),
            "t.yaml:15:18: core 2 is listed twice in L3 group 1");
  EXPECT_EQ(errorOf(replaced(kValid, "cores: [2, 3]", "cores: [2]")),
            "t.yaml:12:7: L3 groups do not cover core 3 (every core 0-7 must "
            "be in exactly one)");
  EXPECT_EQ(errorOf(replaced(kValid, "cores: [2, 3]", "cores: []")),
            "t.yaml:14:7: L3 group 1 has no cores");
}

TEST(TargetValidation, NumaCoverage) {
  EXPECT_EQ(errorOf(replaced(kValid, "cores: [4, 5, 6, 7]", "cores: [4, 5]")),
            "t.yaml:21:5: NUMA nodes do not cover cores 6-7 (every core 0-7 "
            "must be in exactly one)");
  EXPECT_EQ(errorOf(replaced(kValid, "- id: 1", "- id: 0")),
            "t.yaml:24:5: NUMA node id 0 is used twice");
}

TEST(TargetValidation, Memory) {
  EXPECT_EQ(errorOf(replaced(kValid, "channels: 12", "channels: 0")),
            "t.yaml:28:13: memory channels must be at least 1");
  EXPECT_EQ(errorOf(replaced(kValid, "type: DDR5", "type: DDR9")),
            "t.yaml:29:9: unknown memory type 'DDR9' (DDR4, DDR5, LPDDR5, "
            "LPDDR5X or MRDIMM)");
  EXPECT_EQ(errorOf(replaced(kValid, "mts: 4800", "mts: 0")),
            "t.yaml:30:8: memory mts must be positive");
  EXPECT_EQ(errorOf(std::string(kValid) + "  source: guessed\n"),
            "t.yaml:28:3: memory source must be 'spec' or 'estimated', not "
            "'guessed'");
  EXPECT_EQ(errorOf(std::string(kValid) +
                    "  measured:\n    - threads: 17\n      read_gbps: 1\n"),
            "t.yaml:33:7: measured bandwidth for 17 threads: the target has 16 "
            "hardware threads");
}

TEST(TargetValidation, Threads) {
  EXPECT_EQ(errorOf(std::string(kValid) + "threads:\n  decode: 17\n"),
            "t.yaml:33:3: decode threads (17) exceed the 16 hardware threads "
            "of the target");
  EXPECT_EQ(errorOf(std::string(kValid) + "threads:\n  prefill: 0\n"),
            "t.yaml:33:3: prefill threads must be at least 1");
}

TEST(TargetValidation, InMemory) {
  auto t = parse(kValid);
  ASSERT_TRUE(bool(t));
  t->sourceFile.clear();
  t->memory.channels = 0;
  llvm::Error err = validateTargetDescription(*t);
  ASSERT_TRUE(bool(err));
  EXPECT_EQ(llvm::toString(std::move(err)),
            "memory channels must be at least 1");
}

} // namespace
