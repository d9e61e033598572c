//===- GGUFWriter.h - GGUF v3 writer ----------------------------*- C++ -*-===//
//
// Builds a GGUF v3 file: metadata in insertion order, tensors in insertion
// order, data aligned to `general.alignment` (32 unless set). What it writes
// reads back identically through GGUFFile and loads in llama.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_GGUF_GGUFWRITER_H
#define INGOT_GGUF_GGUFWRITER_H

#include "compiler/gguf/GGUFFile.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ingot::gguf {

class GGUFWriter {
public:
  GGUFWriter() = default;

  void setUInt8(llvm::StringRef key, uint8_t v);
  void setInt8(llvm::StringRef key, int8_t v);
  void setUInt16(llvm::StringRef key, uint16_t v);
  void setInt16(llvm::StringRef key, int16_t v);
  void setUInt32(llvm::StringRef key, uint32_t v);
  void setInt32(llvm::StringRef key, int32_t v);
  void setUInt64(llvm::StringRef key, uint64_t v);
  void setInt64(llvm::StringRef key, int64_t v);
  void setFloat32(llvm::StringRef key, float v);
  void setFloat64(llvm::StringRef key, double v);
  void setBool(llvm::StringRef key, bool v);
  void setString(llvm::StringRef key, llvm::StringRef v);
  void setStringArray(llvm::StringRef key, llvm::ArrayRef<std::string> v);
  void setStringArray(llvm::StringRef key, llvm::ArrayRef<llvm::StringRef> v);
  void setFloat32Array(llvm::StringRef key, llvm::ArrayRef<float> v);
  void setInt32Array(llvm::StringRef key, llvm::ArrayRef<int32_t> v);
  void setUInt32Array(llvm::StringRef key, llvm::ArrayRef<uint32_t> v);
  /// Copies a value read from another file (any type, nested arrays too).
  void setValue(llvm::StringRef key, const Value &value);
  /// Sets `general.alignment` and uses it for the data section.
  void setAlignment(uint32_t alignment);

  /// Adds a tensor; `data` must hold exactly the bytes its type and shape
  /// need. Shape is in ggml order (shape[0] = row length).
  llvm::Error addTensor(llvm::StringRef name, ggml::Type type,
                        llvm::ArrayRef<uint64_t> shape,
                        llvm::ArrayRef<uint8_t> data);
  /// Adds an f32 tensor, converting to `type` (F32, F16, BF16, Q8_0, Q4_0).
  llvm::Error addTensorFromF32(llvm::StringRef name, ggml::Type type,
                               llvm::ArrayRef<uint64_t> shape,
                               llvm::ArrayRef<float> values);

  /// Adds a tensor's info without its data: a file with such a tensor is
  /// header-only (write() stops after the tensor infos; GGUFFile reads it
  /// with DataCheck::HeaderOnly), its offsets laid out as if the data
  /// followed. Any type, shape[0] a whole number of its blocks.
  llvm::Error addTensorInfo(llvm::StringRef name, ggml::Type type,
                            llvm::ArrayRef<uint64_t> shape);

  /// Writes the whole file.
  llvm::Error write(llvm::StringRef path) const;
  void write(llvm::raw_ostream &os) const;

private:
  void setRaw(llvm::StringRef key, ValueType type, std::string payload);

  llvm::Error checkNewTensor(llvm::StringRef name, ggml::Type type,
                             llvm::ArrayRef<uint64_t> shape,
                             uint64_t &bytes) const;

  struct PendingTensor {
    std::string name;
    ggml::Type type;
    std::vector<uint64_t> shape;
    uint64_t bytes;
    /// Empty for a tensor added by addTensorInfo.
    std::vector<uint8_t> data;
  };
  // Each key with its encoded type + value bytes, in insertion order.
  std::vector<std::pair<std::string, std::string>> kvs;
  std::vector<PendingTensor> tensors;
  uint32_t alignment = 32;
  bool headerOnly = false;
};

} // namespace ingot::gguf

#endif // INGOT_GGUF_GGUFWRITER_H
