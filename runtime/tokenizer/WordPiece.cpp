//===- WordPiece.cpp - BERT WordPiece (llama.cpp's WPM) -------------------===//
//
// BERT normalisation (lowercase and accent stripping by default; control
// characters dropped), split at whitespace, and punctuation, ASCII symbols
// and CJK ideographs as one-character words. Each word, prefixed with U+2581
// (the converted vocabulary marks word starts so), is covered greedily by
// the longest tokens; a word that cannot be covered becomes UNK.
//
//===----------------------------------------------------------------------===//
#include "runtime/tokenizer/TokenizerImpl.h"
#include "runtime/tokenizer/Unicode.h"

#include <algorithm>

namespace ingot::tokenizer {
namespace {

bool isCjkIdeograph(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::vector<std::string> splitWords(const TokenizerImpl &vocab,
                                    std::string_view text) {
  std::vector<std::string> words(1);
  for (uint32_t cp : unicode::decode(text)) {
    if (vocab.stripAccents)
      cp = unicode::nfdFirst(cp);
    uint8_t f = unicode::flags(cp);
    if (f & unicode::Whitespace) {
      if (!words.back().empty())
        words.emplace_back();
      continue;
    }
    if (cp == 0 || cp == 0xFFFD || (f & unicode::Control))
      continue;
    if (vocab.stripAccents && (f & unicode::Mark))
      continue;
    std::string s;
    unicode::append(s, vocab.lowercase ? unicode::toLower(cp) : cp);
    if ((f & unicode::Punctuation) || (cp < 0x7F && (f & unicode::Symbol)) ||
        isCjkIdeograph(cp)) {
      if (!words.back().empty())
        words.emplace_back();
      words.back() = std::move(s);
      words.emplace_back();
    } else {
      words.back() += s;
    }
  }
  if (words.back().empty())
    words.pop_back();
  return words;
}

} // namespace

void encodeWordPiece(const TokenizerImpl &vocab, std::string_view text,
                     std::vector<int32_t> &out) {
  for (const std::string &word : splitWords(vocab, text)) {
    if (word.empty())
      continue;
    const std::string marked = "\xE2\x96\x81" + word;
    const size_t n = marked.size();
    const size_t before = out.size();
    for (size_t i = 0; i < n; ++i) {
      bool matched = false;
      for (size_t j = std::min(n, i + vocab.maxTokenBytes + 1); j > i; --j) {
        int32_t id = vocab.find(marked.substr(i, j - i));
        if (id >= 0) {
          out.push_back(id);
          matched = true;
          i = j - 1;
          break;
        }
      }
      if (!matched) {
        out.resize(before);
        break;
      }
    }
    if (out.size() == before)
      out.push_back(vocab.unk);
  }
}

} // namespace ingot::tokenizer
