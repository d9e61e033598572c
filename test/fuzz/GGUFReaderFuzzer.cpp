//===- GGUFReaderFuzzer.cpp - libFuzzer entry for the GGUF reader ---------===//
//
// Parses arbitrary bytes as GGUF and, when they parse, touches everything the
// reader hands out (every metadata value, every array element, every tensor's
// bytes, dequantization of small tensors), so that a bounds check the parser
// forgot shows up as an AddressSanitizer report.
//
//===----------------------------------------------------------------------===//
#include "compiler/gguf/GGUFFile.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cstddef>
#include <cstdint>

using namespace ingot::gguf;

static uint64_t touch(const Value &v) {
  uint64_t h = static_cast<uint64_t>(v.getType());
  if (auto s = v.getString())
    for (char c : *s)
      h = h * 31 + static_cast<unsigned char>(c);
  if (auto u = v.getUnsigned())
    h ^= *u;
  if (auto d = v.getDouble())
    h ^= static_cast<uint64_t>(*d != 0);
  if (v.getType() == ValueType::Array)
    for (uint64_t i = 0; i < v.size(); ++i)
      h ^= touch(v.element(i));
  return h;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz");
  auto file = GGUFFile::parse(std::move(buffer), "fuzz.gguf");
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  volatile uint64_t sink = 0;
  for (const MetadataEntry &e : (*file)->metadata())
    sink = sink + touch(e.value) + e.key.size();
  for (const TensorInfo &t : (*file)->tensors()) {
    llvm::ArrayRef<uint8_t> bytes = (*file)->tensorData(t);
    if (!bytes.empty())
      sink = sink + bytes.front() + bytes.back();
    if (t.elements <= (1u << 16) && getTypeInfo(t.type).canDequantize) {
      auto values = (*file)->readTensorF32(t);
      if (values && !values->empty())
        sink = sink + static_cast<uint64_t>(values->back() != 0);
      else if (!values)
        llvm::consumeError(values.takeError());
    }
  }
  return 0;
}
