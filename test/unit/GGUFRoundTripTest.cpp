//===- GGUFRoundTripTest.cpp - writer output reads back identically -------===//
#include "compiler/gguf/GGUFFile.h"
#include "compiler/gguf/GGUFWriter.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace ingot;
using namespace ingot::gguf;
using namespace llvm;

namespace {

std::unique_ptr<GGUFFile> parseString(const std::string &bytes) {
  auto file = GGUFFile::parse(MemoryBuffer::getMemBufferCopy(bytes), "mem");
  if (!file) {
    ADD_FAILURE() << toString(file.takeError());
    return nullptr;
  }
  return std::move(*file);
}

std::string render(const GGUFWriter &w) {
  std::string out;
  raw_string_ostream os(out);
  w.write(os);
  return out;
}

TEST(GGUFRoundTrip, EveryValueType) {
  GGUFWriter w;
  w.setString("general.architecture", "llama");
  w.setUInt8("t.u8", 200);
  w.setInt8("t.i8", -5);
  w.setUInt16("t.u16", 65000);
  w.setInt16("t.i16", -30000);
  w.setUInt32("t.u32", 4000000000u);
  w.setInt32("t.i32", -2000000000);
  w.setUInt64("t.u64", 1ull << 60);
  w.setInt64("t.i64", -(1ll << 60));
  w.setFloat32("t.f32", 0.15625f);
  w.setFloat64("t.f64", -1e300);
  w.setBool("t.bool", true);
  w.setString("t.str", "h\xC3\xA9llo\n");
  w.setStringArray("t.strs", ArrayRef<StringRef>{"a", "", "ccc"});
  w.setFloat32Array("t.f32s", ArrayRef<float>{1.5f, -2.0f});
  w.setInt32Array("t.i32s", ArrayRef<int32_t>{-1, 7});
  std::vector<float> weights(64 * 2);
  for (size_t i = 0; i < weights.size(); ++i)
    weights[i] = std::cos(0.1f * i);
  ASSERT_FALSE(errorToBool(
      w.addTensorFromF32("w.f32", ggml::Type::F32, {64, 2}, weights)));
  ASSERT_FALSE(errorToBool(
      w.addTensorFromF32("w.q8", ggml::Type::Q8_0, {64, 2}, weights)));
  ASSERT_FALSE(errorToBool(
      w.addTensorFromF32("w.q4", ggml::Type::Q4_0, {64, 2}, weights)));
  ASSERT_FALSE(errorToBool(
      w.addTensorFromF32("w.f16", ggml::Type::F16, {3}, {1.0f, 2.0f, 3.0f})));
  // Wrong byte counts and duplicate names are refused.
  EXPECT_TRUE(errorToBool(w.addTensor("bad", ggml::Type::F32, {4}, {})));
  EXPECT_TRUE(
      errorToBool(w.addTensorFromF32("w.f32", ggml::Type::F32, {1}, {0.0f})));
  EXPECT_TRUE(errorToBool(
      w.addTensorFromF32("ragged", ggml::Type::Q8_0, {33}, weights)));

  std::string bytes = render(w);
  auto file = parseString(bytes);
  ASSERT_TRUE(file);
  EXPECT_EQ(file->getVersion(), 3u);
  EXPECT_EQ(file->getArchitecture(), "llama");
  EXPECT_EQ(*file->getUnsigned("t.u8"), 200u);
  EXPECT_EQ(*file->lookup("t.i8")->getSigned(), -5);
  EXPECT_EQ(*file->getUnsigned("t.u16"), 65000u);
  EXPECT_EQ(*file->lookup("t.i16")->getSigned(), -30000);
  EXPECT_EQ(*file->getUnsigned("t.u32"), 4000000000u);
  EXPECT_EQ(*file->lookup("t.i32")->getSigned(), -2000000000);
  EXPECT_EQ(*file->getUnsigned("t.u64"), 1ull << 60);
  EXPECT_EQ(*file->lookup("t.i64")->getSigned(), -(1ll << 60));
  EXPECT_EQ(*file->getDouble("t.f32"), 0.15625);
  EXPECT_EQ(*file->getDouble("t.f64"), -1e300);
  EXPECT_EQ(*file->getBool("t.bool"), true);
  EXPECT_EQ(*file->getString("t.str"), "h\xC3\xA9llo\n");
  const Value *strs = file->lookup("t.strs");
  ASSERT_TRUE(strs);
  ASSERT_EQ(strs->size(), 3u);
  EXPECT_EQ(strs->strings()[2], "ccc");
  EXPECT_EQ(*file->lookup("t.f32s")->element(1).getDouble(), -2.0);
  EXPECT_EQ(*file->lookup("t.i32s")->element(0).getSigned(), -1);

  ASSERT_EQ(file->tensors().size(), 4u);
  for (const TensorInfo &t : file->tensors())
    EXPECT_EQ(t.fileOffset % 32, 0u) << t.name;
  auto f32 = file->readTensorF32(*file->findTensor("w.f32"));
  ASSERT_TRUE(bool(f32));
  EXPECT_EQ(*f32, weights);
  auto q8 = file->readTensorF32(*file->findTensor("w.q8"));
  ASSERT_TRUE(bool(q8));
  for (size_t i = 0; i < weights.size(); ++i)
    EXPECT_NEAR((*q8)[i], weights[i], 1.0f / 127);

  // Copying every key and tensor into a new writer reproduces the bytes.
  GGUFWriter copy;
  for (const MetadataEntry &e : file->metadata())
    copy.setValue(e.key, e.value);
  for (const TensorInfo &t : file->tensors())
    ASSERT_FALSE(errorToBool(
        copy.addTensor(t.name, t.type, t.shape, file->tensorData(t))));
  EXPECT_EQ(render(copy), bytes);
}

TEST(GGUFRoundTrip, NestedArrays) {
  // Build an array of arrays by hand: [[1, 2], [3]] of u32.
  std::string bytes = "GGUF";
  auto u32 = [&](uint32_t v) { bytes.append(reinterpret_cast<char *>(&v), 4); };
  auto u64 = [&](uint64_t v) { bytes.append(reinterpret_cast<char *>(&v), 8); };
  u32(3);
  u64(0);
  u64(1);
  u64(6);
  bytes += "nested";
  u32(9); // array
  u32(9); // of arrays
  u64(2);
  u32(4);
  u64(2);
  u32(1);
  u32(2);
  u32(4);
  u64(1);
  u32(3);
  auto file = parseString(bytes);
  ASSERT_TRUE(file);
  const Value *v = file->lookup("nested");
  ASSERT_TRUE(v);
  ASSERT_EQ(v->arrays().size(), 2u);
  EXPECT_EQ(*v->arrays()[0].element(1).getUnsigned(), 2u);
  EXPECT_EQ(*v->arrays()[1].element(0).getUnsigned(), 3u);
  GGUFWriter w;
  w.setValue("nested", *v);
  std::string again = render(w);
  // Our writer pads the header to the alignment; the content is the same.
  auto reread = parseString(again);
  ASSERT_TRUE(reread);
  EXPECT_EQ(*reread->lookup("nested")->arrays()[0].element(0).getUnsigned(),
            1u);
}

// Every shared model file, rewritten key by key and tensor by tensor, comes
// out byte for byte the same: our layout is llama.cpp's.
TEST(GGUFRoundTrip, SharedModelsRewriteIdentically) {
  std::string dir = std::string(INGOT_SHARED_DIR) + "/models";
  if (!sys::fs::is_directory(dir))
    GTEST_SKIP() << "no shared models at " << dir;
  std::error_code ec;
  int checked = 0;
  for (sys::fs::recursive_directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    if (!StringRef(it->path()).ends_with(".gguf"))
      continue;
    auto file = GGUFFile::open(it->path());
    ASSERT_TRUE(bool(file)) << toString(file.takeError());
    GGUFWriter w;
    for (const MetadataEntry &e : (*file)->metadata())
      w.setValue(e.key, e.value);
    for (const TensorInfo &t : (*file)->tensors())
      ASSERT_FALSE(errorToBool(
          w.addTensor(t.name, t.type, t.shape, (*file)->tensorData(t))));
    auto original = MemoryBuffer::getFile(it->path());
    ASSERT_TRUE(bool(original));
    std::string expected = (*original)->getBuffer().str();
    // Older gguf-py left a tensor-less (vocab-only) file unpadded; ours
    // always pads the header to the alignment, as current writers do.
    if ((*file)->tensors().empty())
      expected.resize(alignTo(expected.size(), (*file)->getAlignment()), '\0');
    EXPECT_TRUE(render(w) == expected) << it->path();
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

} // namespace

// A header-only file (GGUFWriter::addTensorInfo) ends after the tensor
// infos; it reads back with DataCheck::HeaderOnly, offsets laid out as if
// the data followed, and is refused by a full read.
TEST(GGUFRoundTrip, HeaderOnly) {
  GGUFWriter w;
  w.setString("general.architecture", "llama");
  ASSERT_FALSE(errorToBool(w.addTensorInfo("a", ggml::Type::Q8_0, {64, 3})));
  ASSERT_FALSE(
      errorToBool(w.addTensorInfo("b", ggml::Type::Q4_K, {256, 2, 4})));
  ASSERT_FALSE(errorToBool(w.addTensorInfo("c", ggml::Type::F32, {5})));
  // Rows must be whole blocks of the type; names unique.
  EXPECT_TRUE(errorToBool(w.addTensorInfo("d", ggml::Type::Q8_0, {48})));
  EXPECT_TRUE(errorToBool(w.addTensorInfo("a", ggml::Type::F32, {4})));
  std::string bytes = render(w);
  EXPECT_EQ(bytes.size() % 32, 0u);
  auto full = GGUFFile::parse(MemoryBuffer::getMemBufferCopy(bytes), "mem");
  EXPECT_FALSE(bool(full));
  if (!full)
    consumeError(full.takeError());
  auto file = GGUFFile::parse(MemoryBuffer::getMemBufferCopy(bytes), "mem",
                              GGUFFile::DataCheck::HeaderOnly);
  ASSERT_TRUE(bool(file)) << toString(file.takeError());
  EXPECT_FALSE((*file)->hasTensorData());
  EXPECT_EQ((*file)->getDataOffset(), bytes.size());
  auto tensors = (*file)->tensors();
  ASSERT_EQ(tensors.size(), 3u);
  EXPECT_EQ(tensors[0].bytes, 3u * 2 * 34);
  EXPECT_EQ(tensors[1].relativeOffset, alignTo(3 * 2 * 34, 32));
  EXPECT_EQ(tensors[1].bytes, 8u * 144);
  EXPECT_EQ(tensors[2].relativeOffset,
            alignTo(tensors[1].relativeOffset + 8 * 144, 32));
  EXPECT_EQ((*file)->getTensorDataBytes(), 3u * 2 * 34 + 8 * 144 + 5 * 4);
  EXPECT_TRUE((*file)->tensorData(tensors[0]).empty());
}
