//===- GGUFFile.cpp - Memory-mapped GGUF reader ---------------------------===//
//
// Layout (little-endian): magic "GGUF", u32 version, u64 tensor count,
// u64 metadata count, the key/value pairs, the tensor infos, padding to
// `general.alignment`, then the data section. Every read goes through
// Cursor, which refuses to step past the end of the file.
//
//===----------------------------------------------------------------------===//
#include "compiler/gguf/GGUFFile.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <cerrno>
#include <cstring>
#include <iterator>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace llvm;

namespace ingot::gguf {

namespace {

/// What this reader needs to know of each GGUF value type.
struct ValueTypeInfo {
  const char *name;
  /// Bytes of one scalar; 0 for String and Array.
  unsigned size;
  bool isInteger;
  bool isSigned;
};

/// Indexed by the type id the file stores: ValueType's values, in order.
constexpr ValueTypeInfo kValueTypes[] = {
    {"u8", 1, true, false},      // UInt8
    {"i8", 1, true, true},       // Int8
    {"u16", 2, true, false},     // UInt16
    {"i16", 2, true, true},      // Int16
    {"u32", 4, true, false},     // UInt32
    {"i32", 4, true, true},      // Int32
    {"f32", 4, false, false},    // Float32
    {"bool", 1, false, false},   // Bool
    {"string", 0, false, false}, // String
    {"array", 0, false, false},  // Array
    {"u64", 8, true, false},     // UInt64
    {"i64", 8, true, true},      // Int64
    {"f64", 8, false, false},    // Float64
};
static_assert(std::size(kValueTypes) ==
              static_cast<size_t>(ValueType::Float64) + 1);

/// The facts of `type`, or null for an id outside the table.
const ValueTypeInfo *lookup(ValueType type) {
  auto id = static_cast<size_t>(type);
  return id < std::size(kValueTypes) ? &kValueTypes[id] : nullptr;
}

} // namespace

const char *valueTypeName(ValueType type) {
  const ValueTypeInfo *info = lookup(type);
  return info ? info->name : "?";
}

unsigned scalarSize(ValueType type) {
  const ValueTypeInfo *info = lookup(type);
  return info ? info->size : 0;
}

//===----------------------------------------------------------------------===//
// Value
//===----------------------------------------------------------------------===//

bool Value::isInteger() const {
  const ValueTypeInfo *info = lookup(type);
  return info && info->isInteger;
}

static int64_t signExtend(ValueType type, uint64_t bits) {
  switch (type) {
  case ValueType::Int8:
    return static_cast<int8_t>(bits);
  case ValueType::Int16:
    return static_cast<int16_t>(bits);
  case ValueType::Int32:
    return static_cast<int32_t>(bits);
  default:
    return static_cast<int64_t>(bits);
  }
}

static bool isSignedType(ValueType type) {
  const ValueTypeInfo *info = lookup(type);
  return info && info->isSigned;
}

std::optional<uint64_t> Value::getUnsigned() const {
  if (type == ValueType::Bool)
    return bits != 0;
  if (!isInteger())
    return std::nullopt;
  if (isSignedType(type)) {
    int64_t v = signExtend(type, bits);
    if (v < 0)
      return std::nullopt;
    return static_cast<uint64_t>(v);
  }
  return bits;
}

std::optional<int64_t> Value::getSigned() const {
  if (!isInteger())
    return std::nullopt;
  if (isSignedType(type))
    return signExtend(type, bits);
  if (bits > static_cast<uint64_t>(INT64_MAX))
    return std::nullopt;
  return static_cast<int64_t>(bits);
}

std::optional<double> Value::getDouble() const {
  if (type == ValueType::Float32) {
    float f;
    uint32_t b = static_cast<uint32_t>(bits);
    std::memcpy(&f, &b, sizeof(f));
    return f;
  }
  if (type == ValueType::Float64) {
    double d;
    std::memcpy(&d, &bits, sizeof(d));
    return d;
  }
  if (isSignedType(type))
    return static_cast<double>(signExtend(type, bits));
  if (isInteger())
    return static_cast<double>(bits);
  return std::nullopt;
}

std::optional<bool> Value::getBool() const {
  if (type != ValueType::Bool)
    return std::nullopt;
  return bits != 0;
}

std::optional<StringRef> Value::getString() const {
  if (type != ValueType::String)
    return std::nullopt;
  return str;
}

Value Value::makeScalar(ValueType type, uint64_t bits) {
  Value v;
  v.type = type;
  v.bits = bits;
  return v;
}

Value Value::makeString(StringRef s) {
  Value v;
  v.type = ValueType::String;
  v.str = s;
  return v;
}

Value Value::scalarElement(uint64_t i) const {
  unsigned size = scalarSize(elementType);
  uint64_t bits = 0;
  for (unsigned b = 0; b < size; ++b)
    bits |= static_cast<uint64_t>(raw[i * size + b]) << (8 * b);
  return makeScalar(elementType, bits);
}

Value Value::element(uint64_t i) const {
  if (elementType == ValueType::String)
    return makeString(stringElems[i]);
  if (elementType == ValueType::Array)
    return nested[i];
  return scalarElement(i);
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

namespace {

/// A bounds-checked little-endian reader over the mapped file. Errors name
/// the file and the byte offset where the bad field starts.
class Cursor {
public:
  Cursor(StringRef fileName, ArrayRef<uint8_t> data)
      : fileName(fileName), data(data) {}

  uint64_t offset() const { return pos; }
  uint64_t remaining() const { return data.size() - pos; }

  Error fail(uint64_t at, const Twine &what) const {
    return createStringError(
        inconvertibleErrorCode(), "%s: byte %llu: %s", fileName.str().c_str(),
        static_cast<unsigned long long>(at), what.str().c_str());
  }

  Error need(uint64_t bytes, const Twine &what) const {
    if (bytes > remaining())
      return fail(pos, "truncated file: " + what + " needs " + Twine(bytes) +
                           " bytes, " + Twine(remaining()) + " left");
    return Error::success();
  }

  Expected<uint64_t> readUInt(unsigned size, const Twine &what) {
    if (Error e = need(size, what))
      return std::move(e);
    uint64_t v = 0;
    for (unsigned b = 0; b < size; ++b)
      v |= static_cast<uint64_t>(data[pos + b]) << (8 * b);
    pos += size;
    return v;
  }

  Expected<StringRef> readString(const Twine &what) {
    uint64_t start = pos;
    auto length = readUInt(8, what + " length");
    if (!length)
      return length.takeError();
    if (*length > remaining()) {
      pos = start;
      return fail(start, what + " length " + Twine(*length) +
                             " runs past the end of the file (" +
                             Twine(remaining() - 8) + " bytes left)");
    }
    StringRef s(reinterpret_cast<const char *>(data.data() + pos), *length);
    pos += *length;
    return s;
  }

  ArrayRef<uint8_t> take(uint64_t bytes) {
    ArrayRef<uint8_t> r = data.slice(pos, bytes);
    pos += bytes;
    return r;
  }

private:
  StringRef fileName;
  ArrayRef<uint8_t> data;
  uint64_t pos = 0;
};

/// Arrays nest at most this deep; real files use one level.
constexpr unsigned maxArrayDepth = 8;
constexpr unsigned maxDims = 4; // GGML_MAX_DIMS

Error readValue(Cursor &cur, ValueType type, Value &out, unsigned depth,
                const Twine &what);

Expected<ValueType> readValueType(Cursor &cur, const Twine &what) {
  uint64_t at = cur.offset();
  auto raw = cur.readUInt(4, what + " type");
  if (!raw)
    return raw.takeError();
  if (*raw > static_cast<uint64_t>(ValueType::Float64))
    return cur.fail(at, "unknown metadata value type " + Twine(*raw) + " for " +
                            what);
  return static_cast<ValueType>(*raw);
}

} // namespace

// Friend access to Value's fields goes through this helper.
class ValueBuilder {
public:
  static Error readArray(Cursor &cur, Value &out, unsigned depth,
                         const Twine &what) {
    uint64_t at = cur.offset();
    if (depth >= maxArrayDepth)
      return cur.fail(at, what + ": arrays nested deeper than " +
                              Twine(maxArrayDepth));
    auto elemType = readValueType(cur, what + " element");
    if (!elemType)
      return elemType.takeError();
    uint64_t countAt = cur.offset();
    auto count = cur.readUInt(8, what + " element count");
    if (!count)
      return count.takeError();
    out.type = ValueType::Array;
    out.elementType = *elemType;
    out.count = *count;
    // Every element takes at least one byte (strings 8, arrays 12): a count
    // beyond that is rejected before anything is allocated for it.
    unsigned minSize = scalarSize(*elemType);
    if (*elemType == ValueType::String)
      minSize = 8;
    else if (*elemType == ValueType::Array)
      minSize = 12;
    if (*count > cur.remaining() / minSize)
      return cur.fail(countAt, what + ": array of " + Twine(*count) + " " +
                                   valueTypeName(*elemType) +
                                   " elements runs past the end of the file");
    if (*elemType == ValueType::String) {
      out.stringElems.reserve(*count);
      for (uint64_t i = 0; i < *count; ++i) {
        auto s = cur.readString(what + "[" + Twine(i) + "]");
        if (!s)
          return s.takeError();
        out.stringElems.push_back(*s);
      }
      return Error::success();
    }
    if (*elemType == ValueType::Array) {
      out.nested.resize(*count);
      for (uint64_t i = 0; i < *count; ++i)
        if (Error e = readValue(cur, ValueType::Array, out.nested[i], depth + 1,
                                what + "[" + Twine(i) + "]"))
          return e;
      return Error::success();
    }
    if (*elemType == ValueType::Bool) {
      ArrayRef<uint8_t> bytes = cur.take(*count);
      for (uint64_t i = 0; i < *count; ++i)
        if (bytes[i] > 1)
          return cur.fail(countAt + 8 + i,
                          what + "[" + Twine(i) + "]: bool value " +
                              Twine(bytes[i]) + " is neither 0 nor 1");
      out.raw = bytes;
      return Error::success();
    }
    out.raw = cur.take(*count * minSize);
    return Error::success();
  }
};

namespace {

Error readValue(Cursor &cur, ValueType type, Value &out, unsigned depth,
                const Twine &what) {
  if (type == ValueType::Array)
    return ValueBuilder::readArray(cur, out, depth, what);
  if (type == ValueType::String) {
    auto s = cur.readString(what);
    if (!s)
      return s.takeError();
    out = Value::makeString(*s);
    return Error::success();
  }
  uint64_t at = cur.offset();
  auto bits = cur.readUInt(scalarSize(type), what);
  if (!bits)
    return bits.takeError();
  if (type == ValueType::Bool && *bits > 1)
    return cur.fail(at, what + ": bool value " + Twine(*bits) +
                            " is neither 0 nor 1");
  out = Value::makeScalar(type, *bits);
  return Error::success();
}

} // namespace

Expected<std::unique_ptr<GGUFFile>> GGUFFile::open(StringRef path,
                                                   DataCheck check) {
  auto fail = [&](const Twine &what) {
    return createStringError(inconvertibleErrorCode(), "%s: %s",
                             path.str().c_str(), what.str().c_str());
  };
  // Only a regular file has a size to check counts against and can be
  // mapped: a character device such as /dev/zero would be read until memory
  // runs out, and opening a FIFO would wait for a writer. O_NONBLOCK keeps
  // the open itself from blocking; fstat then decides.
  int fd = ::open(path.str().c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return fail("cannot open: " + Twine(std::strerror(errno)));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return fail("cannot open: " + Twine(std::strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    const char *kind = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    return fail(Twine("not a GGUF model file: ") + kind);
  }
  auto buffer = MemoryBuffer::getOpenFile(
      sys::fs::convertFDToNativeFile(fd), path,
      static_cast<uint64_t>(st.st_size), /*RequiresNullTerminator=*/false);
  ::close(fd);
  if (!buffer)
    return fail("cannot read: " + buffer.getError().message());
  return parse(std::move(*buffer), path, check);
}

Expected<std::unique_ptr<GGUFFile>>
GGUFFile::parse(std::unique_ptr<MemoryBuffer> buffer, StringRef name,
                DataCheck check) {
  std::unique_ptr<GGUFFile> file(new GGUFFile());
  file->path = name.str();
  file->buffer = std::move(buffer);
  if (Error e = file->parseAll(check))
    return std::move(e);
  return std::move(file);
}

namespace {

struct HeaderCounts {
  uint64_t tensors = 0, metadata = 0;
};

/// The magic, the version (into `version`) and the two counts, which must
/// fit in the rest of the file.
Expected<HeaderCounts> readHeader(Cursor &cur, ArrayRef<uint8_t> bytes,
                                  uint32_t &version) {
  if (bytes.size() < 4)
    return cur.fail(0, "truncated file: " + Twine(bytes.size()) +
                           " bytes is too short for a GGUF header");
  if (std::memcmp(bytes.data(), "GGUF", 4) != 0)
    return cur.fail(
        0,
        "bad magic: expected 'GGUF', found 0x" +
            toHex(StringRef(reinterpret_cast<const char *>(bytes.data()), 4)));
  (void)cur.take(4); // the magic, checked above
  auto ver = cur.readUInt(4, "version");
  if (!ver)
    return ver.takeError();
  version = static_cast<uint32_t>(*ver);
  if (version != 2 && version != 3)
    return cur.fail(4, "unsupported GGUF version " + Twine(version) +
                           " (supported: 2, 3)");
  auto tensorCount = cur.readUInt(8, "tensor count");
  if (!tensorCount)
    return tensorCount.takeError();
  auto kvCount = cur.readUInt(8, "metadata count");
  if (!kvCount)
    return kvCount.takeError();
  // A key/value pair takes at least 8 + 4 + 1 bytes, a tensor info at least
  // 8 + 4 + 8 + 4 + 8: refuse counts the file cannot hold before reserving.
  if (*kvCount > cur.remaining() / 13)
    return cur.fail(16, "metadata count " + Twine(*kvCount) +
                            " exceeds what the file can hold");
  if (*tensorCount > cur.remaining() / 32)
    return cur.fail(8, "tensor count " + Twine(*tensorCount) +
                           " exceeds what the file can hold");
  return HeaderCounts{*tensorCount, *kvCount};
}

/// A metadata key or tensor name (`what`) that `seen` does not hold yet;
/// `at` receives where it starts. `kind` names it in the duplicate error.
Expected<StringRef> readNewName(Cursor &cur, const Twine &what,
                                const StringMap<size_t> &seen, const char *kind,
                                uint64_t &at) {
  at = cur.offset();
  auto name = cur.readString(what);
  if (!name)
    return name.takeError();
  if (seen.count(*name))
    return cur.fail(at, Twine("duplicate ") + kind + " '" + *name + "'");
  return name;
}

/// `count` key/value pairs into `entries`, indexed by key in `index`.
Error readMetadata(Cursor &cur, uint64_t count,
                   std::vector<MetadataEntry> &entries,
                   StringMap<size_t> &index) {
  entries.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t at;
    auto key = readNewName(cur, "metadata key #" + Twine(i), index,
                           "metadata key", at);
    if (!key)
      return key.takeError();
    auto type = readValueType(cur, "'" + *key + "'");
    if (!type)
      return type.takeError();
    MetadataEntry entry{key->str(), Value(), at};
    if (Error e = readValue(cur, *type, entry.value, 0, "'" + *key + "'"))
      return e;
    index[*key] = entries.size();
    entries.push_back(std::move(entry));
  }
  return Error::success();
}

/// general.alignment, or `fallback` when the file does not set it.
Expected<uint32_t> readAlignment(const Cursor &cur,
                                 ArrayRef<MetadataEntry> entries,
                                 const StringMap<size_t> &index,
                                 uint32_t fallback) {
  auto it = index.find("general.alignment");
  if (it == index.end())
    return fallback;
  const MetadataEntry &e = entries[it->second];
  auto a = e.value.getUnsigned();
  if (e.value.getType() != ValueType::UInt32 || !a || *a == 0 ||
      !isPowerOf2_64(*a))
    return cur.fail(e.fileOffset,
                    "general.alignment must be a u32 power of two");
  return static_cast<uint32_t>(*a);
}

/// The dimensions of tensor `name` into `info` (shape and element count).
Error readDims(Cursor &cur, StringRef name, TensorInfo &info) {
  uint64_t dimsAt = cur.offset();
  auto nDims = cur.readUInt(4, "tensor '" + name + "' dimension count");
  if (!nDims)
    return nDims.takeError();
  if (*nDims > maxDims)
    return cur.fail(dimsAt, "tensor '" + name + "' has " + Twine(*nDims) +
                                " dimensions (at most " + Twine(maxDims) + ")");
  info.elements = 1;
  for (uint64_t d = 0; d < *nDims; ++d) {
    uint64_t dimAt = cur.offset();
    auto dim = cur.readUInt(8, "tensor '" + name + "' dimension");
    if (!dim)
      return dim.takeError();
    if (static_cast<int64_t>(*dim) < 0)
      return cur.fail(dimAt, "tensor '" + name + "' dimension " + Twine(d) +
                                 " is negative");
    if (__builtin_mul_overflow(info.elements, *dim, &info.elements) ||
        info.elements > static_cast<uint64_t>(INT64_MAX))
      return cur.fail(dimAt,
                      "tensor '" + name + "': element count overflows 64 bits");
    info.shape.push_back(*dim);
  }
  return Error::success();
}

/// The ggml type of tensor `name` into `info`, with its byte size: rows
/// must be whole blocks.
Error readType(Cursor &cur, StringRef name, TensorInfo &info) {
  uint64_t typeAt = cur.offset();
  auto rawType = cur.readUInt(4, "tensor '" + name + "' type");
  if (!rawType)
    return rawType.takeError();
  const ggml::TypeInfo *typeInfo =
      ggml::lookupType(static_cast<uint32_t>(*rawType));
  if (!typeInfo || *rawType > UINT32_MAX)
    return cur.fail(typeAt, "tensor '" + name + "' has unknown ggml type " +
                                Twine(*rawType));
  info.type = typeInfo->type;
  uint64_t rowLength = info.shape.empty() ? 1 : info.shape[0];
  if (rowLength % typeInfo->blockElements)
    return cur.fail(typeAt,
                    "tensor '" + name + "': row length " + Twine(rowLength) +
                        " is not a multiple of the " + typeInfo->name +
                        " block size " + Twine(typeInfo->blockElements));
  auto bytes = ggml::rowBytes(info.type, info.elements);
  if (!bytes)
    return cur.fail(typeAt,
                    "tensor '" + name + "': byte size overflows 64 bits");
  info.bytes = *bytes;
  return Error::success();
}

/// Tensor info #`i`; `offsetAt` receives where its offset field is, for
/// errors about its data range.
Expected<TensorInfo> readTensorInfo(Cursor &cur, uint64_t i,
                                    const StringMap<size_t> &seen,
                                    uint32_t alignment, uint64_t &offsetAt) {
  uint64_t at;
  auto name =
      readNewName(cur, "tensor name #" + Twine(i), seen, "tensor name", at);
  if (!name)
    return name.takeError();
  TensorInfo info;
  info.name = name->str();
  if (Error e = readDims(cur, *name, info))
    return std::move(e);
  if (Error e = readType(cur, *name, info))
    return std::move(e);
  offsetAt = cur.offset();
  auto rel = cur.readUInt(8, "tensor '" + *name + "' offset");
  if (!rel)
    return rel.takeError();
  if (*rel % alignment)
    return cur.fail(offsetAt, "tensor '" + *name + "': data offset " +
                                  Twine(*rel) + " is not a multiple of " +
                                  "the alignment " + Twine(alignment));
  info.relativeOffset = *rel;
  return info;
}

/// Places every tensor after the data section's start and checks that its
/// bytes lie inside `fileSize`.
Error placeTensorData(const Cursor &cur, std::vector<TensorInfo> &tensors,
                      ArrayRef<uint64_t> offsetFieldAt, uint64_t dataOffset,
                      uint64_t fileSize) {
  if (!tensors.empty() && dataOffset > fileSize)
    return cur.fail(cur.offset(), "truncated file: the data section would "
                                  "start at byte " +
                                      Twine(dataOffset) + " of " +
                                      Twine(fileSize));
  for (size_t i = 0; i < tensors.size(); ++i) {
    TensorInfo &t = tensors[i];
    uint64_t end;
    if (__builtin_add_overflow(dataOffset, t.relativeOffset, &t.fileOffset) ||
        __builtin_add_overflow(t.fileOffset, t.bytes, &end) || end > fileSize)
      return cur.fail(
          offsetFieldAt[i],
          "tensor '" + t.name + "' data [" + Twine(t.relativeOffset) + ", +" +
              Twine(t.bytes) +
              ") lies outside the file (data section "
              "holds " +
              Twine(fileSize > dataOffset ? fileSize - dataOffset : 0) +
              " bytes)");
  }
  return Error::success();
}

} // namespace

Error GGUFFile::parseAll(DataCheck check) {
  ArrayRef<uint8_t> bytes(
      reinterpret_cast<const uint8_t *>(buffer->getBufferStart()),
      buffer->getBufferSize());
  Cursor cur(path, bytes);
  auto counts = readHeader(cur, bytes, version);
  if (!counts)
    return counts.takeError();
  if (Error e = readMetadata(cur, counts->metadata, entries, entryIndex))
    return e;
  auto align = readAlignment(cur, entries, entryIndex, alignment);
  if (!align)
    return align.takeError();
  alignment = *align;

  tensorInfos.reserve(counts->tensors);
  // Where each tensor's offset field is, for errors about its data range.
  std::vector<uint64_t> offsetFieldAt;
  offsetFieldAt.reserve(counts->tensors);
  for (uint64_t i = 0; i < counts->tensors; ++i) {
    uint64_t offsetAt;
    auto info = readTensorInfo(cur, i, tensorIndex, alignment, offsetAt);
    if (!info)
      return info.takeError();
    offsetFieldAt.push_back(offsetAt);
    tensorIndex[info->name] = tensorInfos.size();
    tensorInfos.push_back(std::move(*info));
  }

  dataOffset = alignTo(cur.offset(), alignment);
  // A header-only parse checks the data ranges against the largest file
  // offset instead of the buffer's end.
  uint64_t fileSize = check == DataCheck::Full
                          ? bytes.size()
                          : static_cast<uint64_t>(INT64_MAX);
  return placeTensorData(cur, tensorInfos, offsetFieldAt, dataOffset, fileSize);
}

uint64_t GGUFFile::getTensorDataBytes() const {
  uint64_t total = 0;
  for (const TensorInfo &t : tensorInfos)
    total += t.bytes;
  return total;
}

bool GGUFFile::hasTensorData() const {
  for (const TensorInfo &t : tensorInfos)
    if (t.bytes && t.fileOffset + t.bytes > getFileSize())
      return false;
  return true;
}

const Value *GGUFFile::lookup(StringRef key) const {
  auto it = entryIndex.find(key);
  return it == entryIndex.end() ? nullptr : &entries[it->second].value;
}

/// `read` applied to `v`, or nothing when there is no value.
template <typename T>
static std::optional<T> readIfPresent(const Value *v,
                                      std::optional<T> (Value::*read)() const) {
  return v ? (v->*read)() : std::nullopt;
}

std::optional<StringRef> GGUFFile::getString(StringRef key) const {
  return readIfPresent(lookup(key), &Value::getString);
}

std::optional<uint64_t> GGUFFile::getUnsigned(StringRef key) const {
  return readIfPresent(lookup(key), &Value::getUnsigned);
}

std::optional<double> GGUFFile::getDouble(StringRef key) const {
  return readIfPresent(lookup(key), &Value::getDouble);
}

std::optional<bool> GGUFFile::getBool(StringRef key) const {
  return readIfPresent(lookup(key), &Value::getBool);
}

StringRef GGUFFile::getArchitecture() const {
  return getString("general.architecture").value_or("");
}

std::optional<uint64_t> GGUFFile::getArchUnsigned(StringRef suffix) const {
  return getUnsigned((getArchitecture() + "." + suffix).str());
}

std::optional<double> GGUFFile::getArchDouble(StringRef suffix) const {
  return getDouble((getArchitecture() + "." + suffix).str());
}

const TensorInfo *GGUFFile::findTensor(StringRef name) const {
  auto it = tensorIndex.find(name);
  return it == tensorIndex.end() ? nullptr : &tensorInfos[it->second];
}

ArrayRef<uint8_t> GGUFFile::tensorData(const TensorInfo &tensor) const {
  // Only a header-only parse leaves tensors outside the buffer.
  if (tensor.fileOffset > buffer->getBufferSize() ||
      tensor.bytes > buffer->getBufferSize() - tensor.fileOffset)
    return {};
  return ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(buffer->getBufferStart()) +
          tensor.fileOffset,
      tensor.bytes);
}

Expected<std::vector<float>>
GGUFFile::readTensorF32(const TensorInfo &tensor) const {
  if (!ggml::getTypeInfo(tensor.type).canDequantize)
    return createStringError(
        inconvertibleErrorCode(), "%s: tensor '%s': cannot dequantize type %s",
        path.c_str(), tensor.name.c_str(), ggml::typeName(tensor.type));
  if (tensorData(tensor).size() != tensor.bytes)
    return createStringError(inconvertibleErrorCode(),
                             "%s: tensor '%s': data is not in the buffer",
                             path.c_str(), tensor.name.c_str());
  std::vector<float> out(tensor.elements);
  ggml::dequantizeRow(tensor.type, tensorData(tensor).data(), out.data(),
                      static_cast<int64_t>(tensor.elements));
  return out;
}

} // namespace ingot::gguf
