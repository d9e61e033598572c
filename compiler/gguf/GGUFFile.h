//===- GGUFFile.h - Memory-mapped GGUF reader -------------------*- C++ -*-===//
//
// Reads a GGUF v2/v3 file: metadata key/values (every value type, nested
// arrays), tensor infos and the data section. The file is memory-mapped;
// strings and array payloads point into the mapping, so opening a 400 GB
// model costs only its metadata. Every count, length and offset is checked
// against the file size before it is used: malformed input gives an error
// naming the file and byte offset, never a crash or an unbounded allocation.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_GGUF_GGUFFILE_H
#define INGOT_GGUF_GGUFFILE_H

#include "compiler/ggml/GGMLTypes.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ingot::gguf {

enum class ValueType : uint32_t {
  UInt8 = 0,
  Int8 = 1,
  UInt16 = 2,
  Int16 = 3,
  UInt32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  UInt64 = 10,
  Int64 = 11,
  Float64 = 12,
};

const char *valueTypeName(ValueType type);
/// Size in bytes of a fixed-size scalar type; 0 for String and Array.
unsigned scalarSize(ValueType type);

/// One metadata value. Scalars are held by value; strings and the elements of
/// scalar arrays point into the mapped file.
class Value {
public:
  ValueType getType() const { return type; }
  bool isInteger() const;
  bool isFloat() const {
    return type == ValueType::Float32 || type == ValueType::Float64;
  }

  /// Integer, bool and float scalars, widened.
  std::optional<uint64_t> getUnsigned() const;
  std::optional<int64_t> getSigned() const;
  std::optional<double> getDouble() const;
  std::optional<bool> getBool() const;
  std::optional<llvm::StringRef> getString() const;

  // Arrays.
  ValueType getElementType() const { return elementType; }
  uint64_t size() const { return count; }
  /// Raw little-endian bytes of a scalar array.
  llvm::ArrayRef<uint8_t> rawElements() const { return raw; }
  /// Elements of a string array.
  llvm::ArrayRef<llvm::StringRef> strings() const { return stringElems; }
  /// Elements of an array of arrays.
  llvm::ArrayRef<Value> arrays() const { return nested; }
  /// Element i of a scalar array as a scalar Value.
  Value scalarElement(uint64_t i) const;
  /// Element i of any array (scalar, string or nested) as a Value.
  Value element(uint64_t i) const;

  static Value makeScalar(ValueType type, uint64_t bits);
  static Value makeString(llvm::StringRef s);

private:
  friend class GGUFFile;
  friend class ValueBuilder;
  ValueType type = ValueType::UInt8;
  uint64_t bits = 0; // scalar payload, little-endian bit pattern
  llvm::StringRef str;
  ValueType elementType = ValueType::UInt8;
  uint64_t count = 0;
  llvm::ArrayRef<uint8_t> raw;
  std::vector<llvm::StringRef> stringElems;
  std::vector<Value> nested;
};

struct MetadataEntry {
  std::string key;
  Value value;
  uint64_t fileOffset; // where the key/value pair starts
};

struct TensorInfo {
  std::string name;
  ggml::Type type;
  /// Dimensions in ggml order: shape[0] is the fastest-varying (row length).
  llvm::SmallVector<uint64_t, 4> shape;
  /// Offset relative to the start of the data section, as stored.
  uint64_t relativeOffset;
  /// Absolute offset of the first byte in the file.
  uint64_t fileOffset;
  uint64_t bytes;
  uint64_t elements;

  uint64_t rows() const { return shape.empty() ? 1 : elements / shape[0]; }
};

class GGUFFile {
public:
  /// What open() and parse() check of the data section.
  enum class DataCheck {
    /// Every tensor's bytes lie inside the buffer.
    Full,
    /// The buffer may end after the tensor infos (a header-only GGUF as
    /// `ingot synth --header-only` writes, a header cut from a model for
    /// fuzzing, or a model read by what needs only metadata and tensor
    /// infos, such as `ingot plan`): tensor data ranges are checked for
    /// overflow only, and tensorData() is empty for a tensor whose bytes
    /// are not in the buffer.
    HeaderOnly,
  };
  /// Opens and validates `path`. The error message is one line:
  /// "FILE: byte N: what is wrong".
  static llvm::Expected<std::unique_ptr<GGUFFile>>
  open(llvm::StringRef path, DataCheck check = DataCheck::Full);
  /// Parses a file already in memory (tests, fuzzing). `name` is used in
  /// error messages.
  static llvm::Expected<std::unique_ptr<GGUFFile>>
  parse(std::unique_ptr<llvm::MemoryBuffer> buffer, llvm::StringRef name,
        DataCheck check = DataCheck::Full);

  llvm::StringRef getPath() const { return path; }
  uint32_t getVersion() const { return version; }
  uint64_t getFileSize() const { return buffer->getBufferSize(); }
  /// The whole file as read (the mapping every other accessor points into).
  llvm::ArrayRef<uint8_t> getBytes() const {
    return {reinterpret_cast<const uint8_t *>(buffer->getBufferStart()),
            buffer->getBufferSize()};
  }
  uint32_t getAlignment() const { return alignment; }
  uint64_t getDataOffset() const { return dataOffset; }
  /// Sum of tensor sizes, alignment padding excluded.
  uint64_t getTensorDataBytes() const;
  /// Whether every tensor's bytes are in the file (false for a header-only
  /// GGUF, or a model cut short, opened with DataCheck::HeaderOnly).
  bool hasTensorData() const;

  llvm::ArrayRef<MetadataEntry> metadata() const { return entries; }
  const Value *lookup(llvm::StringRef key) const;
  std::optional<llvm::StringRef> getString(llvm::StringRef key) const;
  std::optional<uint64_t> getUnsigned(llvm::StringRef key) const;
  std::optional<double> getDouble(llvm::StringRef key) const;
  std::optional<bool> getBool(llvm::StringRef key) const;
  /// `general.architecture`, or an empty string.
  llvm::StringRef getArchitecture() const;
  /// `<architecture>.<suffix>`, e.g. getArchUnsigned("block_count").
  std::optional<uint64_t> getArchUnsigned(llvm::StringRef suffix) const;
  std::optional<double> getArchDouble(llvm::StringRef suffix) const;

  llvm::ArrayRef<TensorInfo> tensors() const { return tensorInfos; }
  const TensorInfo *findTensor(llvm::StringRef name) const;
  /// Bytes of a tensor's data inside the mapping.
  llvm::ArrayRef<uint8_t> tensorData(const TensorInfo &tensor) const;
  /// The tensor dequantized to f32 (the type must support it).
  llvm::Expected<std::vector<float>> readTensorF32(const TensorInfo &) const;

private:
  GGUFFile() = default;
  llvm::Error parseAll(DataCheck check);

  std::string path;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  uint32_t version = 0;
  uint32_t alignment = 32;
  uint64_t dataOffset = 0;
  std::vector<MetadataEntry> entries;
  llvm::StringMap<size_t> entryIndex;
  std::vector<TensorInfo> tensorInfos;
  llvm::StringMap<size_t> tensorIndex;
};

} // namespace ingot::gguf

#endif // INGOT_GGUF_GGUFFILE_H
