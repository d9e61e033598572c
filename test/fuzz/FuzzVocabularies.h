//===- FuzzVocabularies.h - Shared vocabularies for the tokenizer fuzzers -===//
//
// The tokenizer fuzzers start from the real vocabularies of the shared
// fixtures: every *.gguf in $INGOT_FUZZ_VOCAB_DIR, else in the vocabulary
// directory the build was configured with (INGOT_FUZZ_VOCAB_DIR).
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_TEST_FUZZ_FUZZVOCABULARIES_H
#define INGOT_TEST_FUZZ_FUZZVOCABULARIES_H

#include "runtime/tokenizer/Tokenizer.h"

#include <cstddef>
#include <string>
#include <vector>

namespace ingot::fuzz {

struct NamedVocabulary {
  std::string name; // file name, e.g. ggml-vocab-gpt-2.gguf
  tokenizer::TokenizerData data;
};

/// Every vocabulary of the directory, sorted by file name (the order the
/// seed scripts number them in). Exits with a message when one does not
/// load or none is found: a fuzzer without its vocabularies tests nothing.
std::vector<NamedVocabulary> loadFuzzVocabularies();

/// A small vocabulary cut from `full`: its first `keep` tokens, every
/// special (CONTROL, USER_DEFINED, UNKNOWN) token and every token a special
/// id names, renumbered in order, with the merges whose parts survive (at
/// most `maxMerges`). Small blobs keep the blob fuzzer fast.
tokenizer::TokenizerData cutVocabulary(const tokenizer::TokenizerData &full,
                                       size_t keep, size_t maxMerges);

/// Aborts with the message when `ok` is false: a finding for libFuzzer.
void require(bool ok, const char *what);

/// Every id in range, the streaming detokenizer's output equal to the
/// concatenated pieces, and tokenToPiece / tokenText / isControl of each
/// id and of the ids just outside the vocabulary answering without error.
void checkIds(const tokenizer::Tokenizer &t, const std::vector<int32_t> &ids);
void checkDecode(const tokenizer::Tokenizer &t,
                 const std::vector<int32_t> &ids);

} // namespace ingot::fuzz

#endif // INGOT_TEST_FUZZ_FUZZVOCABULARIES_H
