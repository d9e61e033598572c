//===- FuzzVocabularies.cpp - Shared vocabularies for the tokenizer fuzzers
//===//
#include "test/fuzz/FuzzVocabularies.h"

#include "compiler/gguf/GGUFFile.h"
#include "compiler/import/TokenizerImport.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

using namespace ingot;
using namespace ingot::tokenizer;

namespace ingot::fuzz {

void require(bool ok, const char *what) {
  if (ok)
    return;
  std::fprintf(stderr, "tokenizer fuzzer: %s\n", what);
  std::abort();
}

std::vector<NamedVocabulary> loadFuzzVocabularies() {
  const char *dir = std::getenv("INGOT_FUZZ_VOCAB_DIR");
  if (!dir)
    dir = INGOT_FUZZ_VOCAB_DIR;
  std::vector<std::string> paths;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    if (llvm::sys::path::extension(it->path()) == ".gguf")
      paths.push_back(it->path());
  std::sort(paths.begin(), paths.end());
  std::vector<NamedVocabulary> result;
  for (const std::string &path : paths) {
    auto file = gguf::GGUFFile::open(path);
    if (!file) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(),
                   llvm::toString(file.takeError()).c_str());
      std::exit(2);
    }
    auto data = readTokenizerData(**file);
    if (!data) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(),
                   llvm::toString(data.takeError()).c_str());
      std::exit(2);
    }
    result.push_back({llvm::sys::path::filename(path).str(), std::move(*data)});
  }
  if (result.empty()) {
    std::fprintf(stderr,
                 "no vocabulary (*.gguf) in '%s' (set INGOT_FUZZ_VOCAB_DIR)\n",
                 dir);
    std::exit(2);
  }
  return result;
}

TokenizerData cutVocabulary(const TokenizerData &full, size_t keep,
                            size_t maxMerges) {
  const size_t n = full.tokens.size();
  std::set<size_t> kept;
  for (size_t i = 0; i < std::min(keep, n); ++i)
    kept.insert(i);
  for (size_t i = 0; i < full.tokenTypes.size() && i < n; ++i) {
    auto type = static_cast<TokenType>(full.tokenTypes[i]);
    if (type == TokenType::Control || type == TokenType::UserDefined ||
        type == TokenType::Unknown)
      kept.insert(i);
  }
  for (int64_t id : {full.bosId, full.eosId, full.unkId, full.sepId, full.padId,
                     full.maskId, full.eotId, full.eomId})
    if (id >= 0 && static_cast<size_t>(id) < n)
      kept.insert(static_cast<size_t>(id));

  TokenizerData cut = full;
  cut.tokens.clear();
  cut.scores.clear();
  cut.tokenTypes.clear();
  cut.merges.clear();
  std::map<size_t, int64_t> renumbered;
  std::set<std::string> texts;
  for (size_t i : kept) {
    renumbered[i] = static_cast<int64_t>(cut.tokens.size());
    cut.tokens.push_back(full.tokens[i]);
    texts.insert(full.tokens[i]);
    if (i < full.scores.size())
      cut.scores.push_back(full.scores[i]);
    if (i < full.tokenTypes.size())
      cut.tokenTypes.push_back(full.tokenTypes[i]);
  }
  for (int64_t *id : {&cut.bosId, &cut.eosId, &cut.unkId, &cut.sepId,
                      &cut.padId, &cut.maskId, &cut.eotId, &cut.eomId})
    if (*id >= 0)
      *id = renumbered.count(static_cast<size_t>(*id))
                ? renumbered[static_cast<size_t>(*id)]
                : kNoToken;
  for (const std::string &m : full.merges) {
    if (cut.merges.size() >= maxMerges)
      break;
    size_t space = m.find(' ', 1);
    if (space != std::string::npos && texts.count(m.substr(0, space)) &&
        texts.count(m.substr(space + 1)))
      cut.merges.push_back(m);
  }
  // Byte-level BPE needs merges to be accepted at all.
  if (cut.merges.empty() && !full.merges.empty())
    cut.merges.push_back(full.merges.front());
  return cut;
}

void checkIds(const Tokenizer &t, const std::vector<int32_t> &ids) {
  for (int32_t id : ids)
    require(id >= 0 && static_cast<size_t>(id) < t.vocabSize(),
            "tokenize produced a token id outside the vocabulary");
}

void checkDecode(const Tokenizer &t, const std::vector<int32_t> &ids) {
  volatile size_t sink = 0;
  for (bool special : {false, true}) {
    sink = sink + t.detokenize(ids, special).size();
    StreamingDetokenizer stream(t, special);
    std::string streamed, pieces;
    for (int32_t id : ids) {
      streamed += stream.push(id);
      pieces += t.tokenToPiece(id, special);
      sink = sink + t.tokenText(id).size() + t.isControl(id) +
             t.isEndOfGeneration(id);
    }
    streamed += stream.finish();
    require(streamed == pieces,
            "streamed text differs from the concatenated pieces");
  }
}

} // namespace ingot::fuzz
