//===- GGUFWriter.cpp - GGUF v3 writer ------------------------------------===//
#include "compiler/gguf/GGUFWriter.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/ToolOutputFile.h"

#include <cstring>

using namespace llvm;

namespace ingot::gguf {

namespace {

void appendUInt(std::string &out, uint64_t v, unsigned size) {
  for (unsigned b = 0; b < size; ++b)
    out.push_back(static_cast<char>((v >> (8 * b)) & 0xFF));
}

void appendString(std::string &out, StringRef s) {
  appendUInt(out, s.size(), 8);
  out.append(s.data(), s.size());
}

template <typename T> uint64_t bitsOf(T v) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}

/// Encodes the payload (without the leading value type) of a value.
void encodeValue(std::string &out, const Value &value) {
  switch (value.getType()) {
  case ValueType::String:
    appendString(out, *value.getString());
    return;
  case ValueType::Array: {
    appendUInt(out, static_cast<uint32_t>(value.getElementType()), 4);
    appendUInt(out, value.size(), 8);
    if (value.getElementType() == ValueType::String) {
      for (StringRef s : value.strings())
        appendString(out, s);
    } else if (value.getElementType() == ValueType::Array) {
      for (const Value &v : value.arrays())
        encodeValue(out, v);
    } else {
      ArrayRef<uint8_t> raw = value.rawElements();
      out.append(reinterpret_cast<const char *>(raw.data()), raw.size());
    }
    return;
  }
  default: {
    // Scalars: the bit pattern, little-endian, in the type's size.
    Value v = value;
    uint64_t bits = 0;
    if (auto u = v.getUnsigned(); u && !v.isFloat())
      bits = *u;
    else if (auto s = v.getSigned())
      bits = static_cast<uint64_t>(*s);
    else if (v.getType() == ValueType::Float32)
      bits = bitsOf(static_cast<float>(*v.getDouble()));
    else if (v.getType() == ValueType::Float64)
      bits = bitsOf(*v.getDouble());
    appendUInt(out, bits, scalarSize(v.getType()));
    return;
  }
  }
}

} // namespace

void GGUFWriter::setRaw(StringRef key, ValueType type, std::string payload) {
  std::string encoded;
  appendUInt(encoded, static_cast<uint32_t>(type), 4);
  encoded += payload;
  for (auto &kv : kvs)
    if (kv.first == key) {
      kv.second = std::move(encoded);
      return;
    }
  kvs.emplace_back(key.str(), std::move(encoded));
}

#define INGOT_SCALAR_SETTER(NAME, CTYPE, VTYPE)                                \
  void GGUFWriter::NAME(StringRef key, CTYPE v) {                              \
    std::string p;                                                             \
    appendUInt(p, bitsOf(v), sizeof(CTYPE));                                   \
    setRaw(key, ValueType::VTYPE, std::move(p));                               \
  }
INGOT_SCALAR_SETTER(setUInt8, uint8_t, UInt8)
INGOT_SCALAR_SETTER(setInt8, int8_t, Int8)
INGOT_SCALAR_SETTER(setUInt16, uint16_t, UInt16)
INGOT_SCALAR_SETTER(setInt16, int16_t, Int16)
INGOT_SCALAR_SETTER(setUInt32, uint32_t, UInt32)
INGOT_SCALAR_SETTER(setInt32, int32_t, Int32)
INGOT_SCALAR_SETTER(setUInt64, uint64_t, UInt64)
INGOT_SCALAR_SETTER(setInt64, int64_t, Int64)
INGOT_SCALAR_SETTER(setFloat32, float, Float32)
INGOT_SCALAR_SETTER(setFloat64, double, Float64)
#undef INGOT_SCALAR_SETTER

void GGUFWriter::setBool(StringRef key, bool v) {
  setRaw(key, ValueType::Bool, std::string(1, v ? 1 : 0));
}

void GGUFWriter::setString(StringRef key, StringRef v) {
  std::string p;
  appendString(p, v);
  setRaw(key, ValueType::String, std::move(p));
}

void GGUFWriter::setStringArray(StringRef key, ArrayRef<StringRef> v) {
  std::string p;
  appendUInt(p, static_cast<uint32_t>(ValueType::String), 4);
  appendUInt(p, v.size(), 8);
  for (StringRef s : v)
    appendString(p, s);
  setRaw(key, ValueType::Array, std::move(p));
}

void GGUFWriter::setStringArray(StringRef key, ArrayRef<std::string> v) {
  std::vector<StringRef> refs(v.begin(), v.end());
  setStringArray(key, ArrayRef<StringRef>(refs));
}

template <typename T>
static std::string encodeScalarArray(ValueType elemType, ArrayRef<T> v) {
  std::string p;
  appendUInt(p, static_cast<uint32_t>(elemType), 4);
  appendUInt(p, v.size(), 8);
  for (T x : v)
    appendUInt(p, bitsOf(x), sizeof(T));
  return p;
}

void GGUFWriter::setFloat32Array(StringRef key, ArrayRef<float> v) {
  setRaw(key, ValueType::Array, encodeScalarArray(ValueType::Float32, v));
}
void GGUFWriter::setInt32Array(StringRef key, ArrayRef<int32_t> v) {
  setRaw(key, ValueType::Array, encodeScalarArray(ValueType::Int32, v));
}
void GGUFWriter::setUInt32Array(StringRef key, ArrayRef<uint32_t> v) {
  setRaw(key, ValueType::Array, encodeScalarArray(ValueType::UInt32, v));
}

void GGUFWriter::setValue(StringRef key, const Value &value) {
  if (key == "general.alignment")
    if (auto a = value.getUnsigned())
      alignment = static_cast<uint32_t>(*a);
  std::string p;
  encodeValue(p, value);
  setRaw(key, value.getType(), std::move(p));
}

void GGUFWriter::setAlignment(uint32_t a) {
  alignment = a;
  setUInt32("general.alignment", a);
}

Error GGUFWriter::checkNewTensor(StringRef name, ggml::Type type,
                                 ArrayRef<uint64_t> shape,
                                 uint64_t &bytes) const {
  for (const PendingTensor &t : tensors)
    if (t.name == name)
      return createStringError(inconvertibleErrorCode(),
                               "duplicate tensor name '%s'",
                               name.str().c_str());
  uint64_t elements = 1;
  for (uint64_t d : shape)
    if (__builtin_mul_overflow(elements, d, &elements))
      return createStringError(inconvertibleErrorCode(),
                               "tensor '%s': too many elements",
                               name.str().c_str());
  auto rowBytes = ggml::rowBytes(type, elements);
  if (shape.empty() || shape[0] % ggml::getTypeInfo(type).blockElements ||
      !rowBytes)
    return createStringError(inconvertibleErrorCode(),
                             "tensor '%s': shape does not fit type %s",
                             name.str().c_str(), ggml::typeName(type));
  bytes = *rowBytes;
  return Error::success();
}

Error GGUFWriter::addTensor(StringRef name, ggml::Type type,
                            ArrayRef<uint64_t> shape, ArrayRef<uint8_t> data) {
  uint64_t bytes = 0;
  if (Error e = checkNewTensor(name, type, shape, bytes))
    return e;
  if (bytes != data.size())
    return createStringError(
        inconvertibleErrorCode(),
        "tensor '%s': %zu bytes of data do not fit type %s and its shape",
        name.str().c_str(), data.size(), ggml::typeName(type));
  tensors.push_back({name.str(), type,
                     std::vector<uint64_t>(shape.begin(), shape.end()), bytes,
                     std::vector<uint8_t>(data.begin(), data.end())});
  return Error::success();
}

Error GGUFWriter::addTensorInfo(StringRef name, ggml::Type type,
                                ArrayRef<uint64_t> shape) {
  uint64_t bytes = 0;
  if (Error e = checkNewTensor(name, type, shape, bytes))
    return e;
  tensors.push_back({name.str(),
                     type,
                     std::vector<uint64_t>(shape.begin(), shape.end()),
                     bytes,
                     {}});
  headerOnly = true;
  return Error::success();
}

Error GGUFWriter::addTensorFromF32(StringRef name, ggml::Type type,
                                   ArrayRef<uint64_t> shape,
                                   ArrayRef<float> values) {
  if (shape.empty())
    return createStringError(inconvertibleErrorCode(),
                             "tensor '%s' has no dimensions",
                             name.str().c_str());
  uint64_t rowLength = shape[0];
  if (rowLength % ggml::getTypeInfo(type).blockElements)
    return createStringError(inconvertibleErrorCode(),
                             "tensor '%s': row length %llu is not a multiple "
                             "of the %s block",
                             name.str().c_str(),
                             static_cast<unsigned long long>(rowLength),
                             ggml::typeName(type));
  auto bytes = ggml::rowBytes(type, values.size());
  if (!bytes)
    return createStringError(inconvertibleErrorCode(), "tensor '%s': bad size",
                             name.str().c_str());
  std::vector<uint8_t> data(*bytes);
  switch (type) {
  case ggml::Type::F32:
    std::memcpy(data.data(), values.data(), data.size());
    break;
  case ggml::Type::F16:
  case ggml::Type::BF16:
    for (size_t i = 0; i < values.size(); ++i) {
      uint16_t h = type == ggml::Type::F16 ? ggml::floatToHalf(values[i])
                                           : ggml::floatToBf16(values[i]);
      data[2 * i] = h & 0xFF;
      data[2 * i + 1] = h >> 8;
    }
    break;
  case ggml::Type::Q8_0:
    ggml::quantizeRowQ8_0(values.data(), data.data(), values.size());
    break;
  case ggml::Type::Q4_0:
    ggml::quantizeRowQ4_0(values.data(), data.data(), values.size());
    break;
  default:
    return createStringError(inconvertibleErrorCode(),
                             "tensor '%s': cannot quantize to %s",
                             name.str().c_str(), ggml::typeName(type));
  }
  return addTensor(name, type, shape, data);
}

void GGUFWriter::write(raw_ostream &os) const {
  std::string header = "GGUF";
  appendUInt(header, 3, 4);
  appendUInt(header, tensors.size(), 8);
  appendUInt(header, kvs.size(), 8);
  for (const auto &kv : kvs) {
    appendString(header, kv.first);
    header += kv.second;
  }
  uint64_t offset = 0;
  for (const PendingTensor &t : tensors) {
    appendString(header, t.name);
    appendUInt(header, t.shape.size(), 4);
    for (uint64_t d : t.shape)
      appendUInt(header, d, 8);
    appendUInt(header, static_cast<uint32_t>(t.type), 4);
    appendUInt(header, offset, 8);
    offset = alignTo(offset + t.bytes, alignment);
  }
  header.resize(alignTo(header.size(), alignment), '\0');
  os << header;
  if (headerOnly)
    return;
  uint64_t written = 0;
  for (const PendingTensor &t : tensors) {
    os.write(reinterpret_cast<const char *>(t.data.data()), t.data.size());
    written += t.data.size();
    uint64_t padded = alignTo(written, alignment);
    os.write_zeros(padded - written);
    written = padded;
  }
}

Error GGUFWriter::write(StringRef path) const {
  std::error_code ec;
  ToolOutputFile out(path, ec, sys::fs::OF_None);
  if (ec)
    return createStringError(ec, "%s: cannot write: %s", path.str().c_str(),
                             ec.message().c_str());
  write(out.os());
  out.os().flush();
  if (out.os().has_error())
    return createStringError(out.os().error(), "%s: write failed: %s",
                             path.str().c_str(),
                             out.os().error().message().c_str());
  out.keep();
  return Error::success();
}

} // namespace ingot::gguf
