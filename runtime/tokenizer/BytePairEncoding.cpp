//===- BytePairEncoding.cpp - Byte-level BPE with merge ranks -------------===//
//
// The pre-tokenizer splits the text into byte-encoded words; each word starts
// as one symbol per code point and the adjacent pair with the lowest merge
// rank is merged first (ties: leftmost) until no ranked pair is left. A
// final symbol that is not a token falls back to the tokens of its single
// bytes, where they exist (llama.cpp's behaviour).
//
//===----------------------------------------------------------------------===//
#include "runtime/tokenizer/SymbolMerge.h"
#include "runtime/tokenizer/TokenizerImpl.h"

#include <queue>

namespace ingot::tokenizer {
namespace {

struct Candidate {
  int left, right;
  int32_t rank;
  std::string text;
};

struct LaterFirst {
  bool operator()(const Candidate &a, const Candidate &b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

void encodeWord(const TokenizerImpl &vocab, const std::string &word,
                std::vector<int32_t> &out) {
  std::vector<Symbol> symbols;
  if (vocab.ignoreMerges && vocab.find(word) >= 0)
    symbols.push_back({-1, -1, 0, word.size()});
  else
    symbols = splitCharacters(word);
  std::priority_queue<Candidate, std::vector<Candidate>, LaterFirst> queue;
  auto consider = [&](int left, int right) {
    if (left < 0 || right < 0)
      return;
    std::string l = word.substr(symbols[left].begin, symbols[left].length);
    std::string r = word.substr(symbols[right].begin, symbols[right].length);
    int32_t rank = vocab.mergeRankOf(l, r);
    if (rank < 0)
      return;
    queue.push({left, right, rank, l + r});
  };
  auto stale = [&](const Candidate &c) {
    const Symbol &left = symbols[c.left], &right = symbols[c.right];
    return word.compare(left.begin, left.length + right.length, c.text) != 0 ||
           left.length + right.length != c.text.size();
  };
  mergeSymbols(symbols, queue, consider, stale);
  for (const Symbol &s : symbols) {
    if (s.length == 0)
      continue;
    std::string piece = word.substr(s.begin, s.length);
    int32_t id = vocab.find(piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    for (char byte : piece) {
      int32_t b = vocab.find(std::string(1, byte));
      if (b >= 0)
        out.push_back(b);
    }
  }
}

} // namespace

void encodeBytePairs(const TokenizerImpl &vocab, std::string_view text,
                     std::vector<int32_t> &out) {
  for (const std::string &word : vocab.pre->split(text, /*byteEncode=*/true))
    encodeWord(vocab, word, out);
}

} // namespace ingot::tokenizer
