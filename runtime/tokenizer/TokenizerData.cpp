//===- TokenizerData.cpp - Binary form of the tokenizer description -------===//
//
// Layout (little-endian): magic "INGTOK01", then the fields of TokenizerData
// in declaration order. Strings are u32 length + bytes, arrays u32 count +
// elements, ids i64, tri-state flags i8. Everything is bounds-checked on
// reading.
//
//===----------------------------------------------------------------------===//
#include "runtime/tokenizer/Tokenizer.h"

#include <cstring>

namespace ingot::tokenizer {
namespace {

constexpr char kMagic[8] = {'I', 'N', 'G', 'T', 'O', 'K', '0', '1'};

class Writer {
public:
  std::string out;
  template <typename T> void pod(T v) {
    char buf[sizeof(T)];
    std::memcpy(buf, &v, sizeof(T));
    out.append(buf, sizeof(T));
  }
  void str(const std::string &s) {
    pod<uint32_t>(static_cast<uint32_t>(s.size()));
    out += s;
  }
  void strings(const std::vector<std::string> &v) {
    pod<uint32_t>(static_cast<uint32_t>(v.size()));
    for (const std::string &s : v)
      str(s);
  }
  template <typename T> void array(const std::vector<T> &v) {
    pod<uint32_t>(static_cast<uint32_t>(v.size()));
    // An empty vector's data() may be null, which append must not get.
    if (!v.empty())
      out.append(reinterpret_cast<const char *>(v.data()),
                 v.size() * sizeof(T));
  }
};

class Reader {
public:
  Reader(const char *p, size_t n) : p(p), n(n) {}
  bool ok = true;
  template <typename T> T pod() {
    T v{};
    if (!need(sizeof(T)))
      return v;
    std::memcpy(&v, p + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string str() {
    uint32_t len = pod<uint32_t>();
    if (!need(len))
      return {};
    std::string s(p + pos, len);
    pos += len;
    return s;
  }
  std::vector<std::string> strings() {
    uint32_t count = pod<uint32_t>();
    std::vector<std::string> v;
    // Each string needs at least its 4-byte length: reject absurd counts.
    if (!ok || count > (n - pos) / 4) {
      ok = false;
      return v;
    }
    v.reserve(count);
    for (uint32_t i = 0; i < count && ok; ++i)
      v.push_back(str());
    return v;
  }
  template <typename T> std::vector<T> array() {
    uint32_t count = pod<uint32_t>();
    std::vector<T> v;
    if (!ok || count > (n - pos) / sizeof(T)) {
      ok = false;
      return v;
    }
    // memcpy's pointers must not be null even for 0 bytes, and an empty
    // vector's data() is (gpt2 vocabularies have no scores).
    if (count == 0)
      return v;
    v.resize(count);
    std::memcpy(v.data(), p + pos, count * sizeof(T));
    pos += count * sizeof(T);
    return v;
  }
  bool atEnd() const { return pos == n; }

private:
  bool need(size_t k) {
    if (!ok || k > n - pos)
      ok = false;
    return ok;
  }
  const char *p;
  size_t n;
  size_t pos = 0;
};

} // namespace

std::string TokenizerData::serialize() const {
  Writer w;
  w.out.append(kMagic, sizeof(kMagic));
  w.str(model);
  w.str(pre);
  w.str(modelName);
  w.strings(tokens);
  w.array(scores);
  w.array(tokenTypes);
  w.strings(merges);
  for (int64_t id : {bosId, eosId, unkId, sepId, padId, maskId, eotId, eomId})
    w.pod<int64_t>(id);
  for (int8_t f :
       {addBos, addEos, addSep, addSpacePrefix, lowercase, stripAccents})
    w.pod<int8_t>(f);
  return std::move(w.out);
}

bool TokenizerData::deserialize(const void *data, size_t size,
                                TokenizerData &out, std::string &error) {
  const char *p = static_cast<const char *>(data);
  if (size < sizeof(kMagic) || std::memcmp(p, kMagic, sizeof(kMagic)) != 0) {
    error = "tokenizer blob: bad magic (not an INGTOK01 blob)";
    return false;
  }
  Reader r(p + sizeof(kMagic), size - sizeof(kMagic));
  TokenizerData d;
  d.model = r.str();
  d.pre = r.str();
  d.modelName = r.str();
  d.tokens = r.strings();
  d.scores = r.array<float>();
  d.tokenTypes = r.array<int32_t>();
  d.merges = r.strings();
  for (int64_t *id : {&d.bosId, &d.eosId, &d.unkId, &d.sepId, &d.padId,
                      &d.maskId, &d.eotId, &d.eomId})
    *id = r.pod<int64_t>();
  for (int8_t *f : {&d.addBos, &d.addEos, &d.addSep, &d.addSpacePrefix,
                    &d.lowercase, &d.stripAccents})
    *f = r.pod<int8_t>();
  if (!r.ok) {
    error = "tokenizer blob: truncated";
    return false;
  }
  if (!r.atEnd()) {
    error = "tokenizer blob: trailing bytes";
    return false;
  }
  out = std::move(d);
  return true;
}

} // namespace ingot::tokenizer
