//===- TokenizerBlobFuzzer.cpp - libFuzzer entry for the tokenizer blob ---===//
//
// An emitted binary reads its tokenizer from the blob the compiler embedded
// (TokenizerData::deserialize, then Tokenizer::create). Arbitrary bytes must
// be refused with an error message, or load into a tokenizer that encodes
// and decodes a few strings with every id in range; a blob that loads must
// serialize back to the same bytes.
//
// Seed mode: with INGOT_FUZZ_WRITE_SEEDS=DIR the fuzzer writes blobs cut
// from every shared vocabulary (see FuzzVocabularies.h) into DIR, prints
// "seeds: N" and exits.
//
//===----------------------------------------------------------------------===//
#include "test/fuzz/FuzzVocabularies.h"

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace ingot::tokenizer;
using namespace ingot::fuzz;

static void writeSeeds(const char *dir) {
  size_t count = 0;
  for (const NamedVocabulary &v : loadFuzzVocabularies()) {
    // Cut small and larger, so that both fast mutation and realistic sizes
    // are covered.
    for (size_t keep : {300, 2000}) {
      std::string blob = cutVocabulary(v.data, keep, keep * 2).serialize();
      std::string path = std::string(dir) + "/" + v.name + "." +
                         std::to_string(keep) + ".blob";
      FILE *f = std::fopen(path.c_str(), "wb");
      if (!f || std::fwrite(blob.data(), 1, blob.size(), f) != blob.size() ||
          std::fclose(f)) {
        std::fprintf(stderr, "cannot write '%s'\n", path.c_str());
        std::exit(2);
      }
      ++count;
    }
  }
  std::printf("seeds: %zu\n", count);
  std::exit(0);
}

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  if (const char *dir = std::getenv("INGOT_FUZZ_WRITE_SEEDS"))
    writeSeeds(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  TokenizerData d;
  std::string error;
  if (!TokenizerData::deserialize(data, size, d, error)) {
    require(!error.empty(), "blob refused without a message");
    return 0;
  }
  std::string again = d.serialize();
  require(again.size() == size &&
              again.compare(0, size, reinterpret_cast<const char *>(data),
                            size) == 0,
          "a loaded blob does not serialize back to the same bytes");
  auto t = Tokenizer::create(d, error);
  if (!t) {
    require(!error.empty(), "tokenizer refused without a message");
    return 0;
  }
  const int32_t n = static_cast<int32_t>(t->vocabSize());
  std::vector<std::string> texts = {
      "",
      "Hello world",
      "  two  spaces\tand\nlines ",
      "<s> </s> <|im_start|>user\n",
      "\xC3\xBC\xE2\x96\x81\xF0\x9F\x98\x80 \xE4\xB8\xAD\xE6\x96\x87 12345",
      "\xFF\xC3 \x80",
      t->tokenText(0),
      t->tokenText(n - 1),
      t->tokenText(n / 2)};
  for (const std::string &text : texts)
    for (int mode = 0; mode < 4; ++mode) {
      std::vector<int32_t> ids = t->tokenize(text, mode & 1, mode & 2);
      checkIds(*t, ids);
      checkDecode(*t, ids);
    }
  checkDecode(*t, {0, n - 1, n, -1, INT32_MAX, INT32_MIN, t->bos(), t->eos()});
  return 0;
}
