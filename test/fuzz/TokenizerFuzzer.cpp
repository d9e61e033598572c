//===- TokenizerFuzzer.cpp - libFuzzer entry for the tokenizers -----------===//
//
// Input: byte 0 picks one of the shared vocabularies (loaded once), byte 1
// the mode (bit 0: add BOS/EOS, bit 1: parse special-token text), the rest
// is text. The text is encoded (every id must be in the vocabulary) and the
// ids decoded again; then the same bytes read as little-endian int32 ids,
// together with the ids at and just past the vocabulary's edges, are
// decoded (out-of-range ids must decode to nothing, never read outside a
// table), and the decoded text of in-range ids is encoded once more.
//
//===----------------------------------------------------------------------===//
#include "test/fuzz/FuzzVocabularies.h"

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

using namespace ingot::tokenizer;
using namespace ingot::fuzz;

static std::vector<std::unique_ptr<Tokenizer>> *tokenizers;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  tokenizers = new std::vector<std::unique_ptr<Tokenizer>>;
  for (NamedVocabulary &v : loadFuzzVocabularies()) {
    std::string error;
    auto t = Tokenizer::create(v.data, error);
    if (!t) {
      std::fprintf(stderr, "%s: %s\n", v.name.c_str(), error.c_str());
      std::exit(2);
    }
    tokenizers->push_back(std::move(t));
  }
  std::fprintf(stderr, "tokenizer-fuzzer: %zu vocabularies\n", tokenizers->size());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  const Tokenizer &t = *(*tokenizers)[data[0] % tokenizers->size()];
  const uint8_t mode = data[1];
  std::string_view text(reinterpret_cast<const char *>(data + 2), size - 2);

  std::vector<int32_t> ids = t.tokenize(text, mode & 1, mode & 2);
  checkIds(t, ids);
  checkDecode(t, ids);

  const int32_t n = static_cast<int32_t>(t.vocabSize());
  std::vector<int32_t> raw = {0, n - 1, n, n + 1, -1, INT32_MAX, INT32_MIN, t.bos(), t.eos()};
  std::vector<int32_t> inRange;
  for (size_t i = 0; i + 4 <= text.size(); i += 4) {
    int32_t id;
    std::memcpy(&id, text.data() + i, 4);
    raw.push_back(id);
    inRange.push_back(static_cast<int32_t>(static_cast<uint32_t>(id) % static_cast<uint32_t>(n)));
  }
  checkDecode(t, raw);
  checkDecode(t, inRange);
  for (bool special : {false, true}) {
    std::string decoded = t.detokenize(inRange, special);
    checkIds(t, t.tokenize(decoded, special, special));
  }
  return 0;
}
