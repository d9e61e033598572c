//===- TokenizerFuzzer.cpp - libFuzzer entry for the tokenizers -----------===//
//
// Input: byte 0 picks one of the shared vocabularies (loaded once), byte 1
// the mode (bit 0: add BOS/EOS, bit 1: parse special-token text), the rest
// is text. The text is encoded (every id must be in the vocabulary) and the
// ids decoded again; then the same bytes read as little-endian int32 ids,
// together with the ids at and just past the vocabulary's edges, are
// decoded (out-of-range ids must decode to nothing, never read outside a
// table), and the decoded text of in-range ids is encoded once more.
// Byte-level BPE loses nothing: valid UTF-8 without special-token parsing
// whose every byte has its token must decode back to the same text (a byte
// without a token is dropped, as llama.cpp does; falcon lacks some control
// characters).
//
//===----------------------------------------------------------------------===//
#include "test/fuzz/FuzzVocabularies.h"

#include "runtime/tokenizer/Unicode.h"

#include "llvm/Support/ConvertUTF.h"

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

using namespace ingot::tokenizer;
using namespace ingot::fuzz;

static std::vector<std::unique_ptr<Tokenizer>> *tokenizers;
static std::vector<bool> *byteLevel; // per tokenizer: model "gpt2"

static bool everyByteHasToken(const Tokenizer &t, std::string_view text) {
  for (unsigned char byte : text) {
    std::string encoded;
    ingot::tokenizer::unicode::append(
        encoded, ingot::tokenizer::unicode::byteToCodePoint(byte));
    if (t.lookup(encoded) < 0)
      return false;
  }
  return true;
}

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  tokenizers = new std::vector<std::unique_ptr<Tokenizer>>;
  byteLevel = new std::vector<bool>;
  for (NamedVocabulary &v : loadFuzzVocabularies()) {
    std::string error;
    auto t = Tokenizer::create(v.data, error);
    if (!t) {
      std::fprintf(stderr, "%s: %s\n", v.name.c_str(), error.c_str());
      std::exit(2);
    }
    tokenizers->push_back(std::move(t));
    byteLevel->push_back(v.data.model == "gpt2");
  }
  std::fprintf(stderr, "tokenizer-fuzzer: %zu vocabularies\n",
               tokenizers->size());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  const size_t which = data[0] % tokenizers->size();
  const Tokenizer &t = *(*tokenizers)[which];
  const uint8_t mode = data[1];
  std::string_view text(reinterpret_cast<const char *>(data + 2), size - 2);

  std::vector<int32_t> ids = t.tokenize(text, mode & 1, mode & 2);
  checkIds(t, ids);
  checkDecode(t, ids);
  const auto *utf8 = reinterpret_cast<const llvm::UTF8 *>(text.data());
  if ((*byteLevel)[which] && !(mode & 1) && !(mode & 2) &&
      llvm::isLegalUTF8String(&utf8, utf8 + text.size()) &&
      everyByteHasToken(t, text))
    require(t.detokenize(ids, /*special=*/true) == text,
            "byte-level BPE did not decode back to the text it encoded");

  const int32_t n = static_cast<int32_t>(t.vocabSize());
  std::vector<int32_t> raw = {0,         n - 1,     n,       n + 1,  -1,
                              INT32_MAX, INT32_MIN, t.bos(), t.eos()};
  std::vector<int32_t> inRange;
  for (size_t i = 0; i + 4 <= text.size(); i += 4) {
    int32_t id;
    std::memcpy(&id, text.data() + i, 4);
    raw.push_back(id);
    inRange.push_back(static_cast<int32_t>(static_cast<uint32_t>(id) %
                                           static_cast<uint32_t>(n)));
  }
  checkDecode(t, raw);
  checkDecode(t, inRange);
  for (bool special : {false, true}) {
    std::string decoded = t.detokenize(inRange, special);
    checkIds(t, t.tokenize(decoded, special, special));
  }
  return 0;
}
