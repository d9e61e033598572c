//===- SentencePiece.cpp - llama.cpp's SPM bigram merging -----------------===//
//
// The text (spaces already escaped to U+2581) starts as one symbol per UTF-8
// character. The adjacent pair whose concatenation is the vocabulary token
// with the highest score is merged first (ties: leftmost), until no pair
// forms a token. Symbols that are not tokens are re-split along the merges
// that built them, down to single characters, whose bytes fall back to
// <0xXX> tokens.
//
//===----------------------------------------------------------------------===//
#include "runtime/tokenizer/SymbolMerge.h"
#include "runtime/tokenizer/TokenizerImpl.h"

#include <map>
#include <queue>

namespace ingot::tokenizer {
namespace {

struct Candidate {
  int left, right;
  float score;
  size_t length;
};

struct LowerPriority {
  bool operator()(const Candidate &a, const Candidate &b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

class Session {
public:
  Session(const TokenizerImpl &vocab, const std::string &text)
      : vocab(vocab), text(text) {}

  void run(std::vector<int32_t> &out) {
    symbols = splitCharacters(text);
    mergeSymbols(
        symbols, queue, [&](int left, int right) { consider(left, right); },
        [&](const Candidate &c) {
          return symbols[c.left].length + symbols[c.right].length != c.length;
        });
    if (symbols.empty())
      return;
    for (int i = 0; i != -1; i = symbols[i].next)
      emit(symbols[i].begin, symbols[i].length, out);
  }

private:
  void consider(int left, int right) {
    if (left < 0 || right < 0)
      return;
    std::string s = text.substr(symbols[left].begin,
                                symbols[left].length + symbols[right].length);
    int32_t id = vocab.find(s);
    if (id < 0)
      return;
    queue.push({left, right, vocab.score[id], s.size()});
    built[s] = {left, right};
  }

  void emit(size_t begin, size_t length, std::vector<int32_t> &out) {
    std::string s = text.substr(begin, length);
    int32_t id = vocab.find(s);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
    auto it = built.find(s);
    if (it == built.end()) {
      for (unsigned char b : s)
        out.push_back(vocab.byteToken(b));
      return;
    }
    const Symbol &l = symbols[it->second.first];
    const Symbol &r = symbols[it->second.second];
    // The parts' original extents: the left part ends where the right begins.
    emit(l.begin, r.begin - l.begin, out);
    emit(r.begin, begin + length - r.begin, out);
  }

  const TokenizerImpl &vocab;
  const std::string &text;
  std::vector<Symbol> symbols;
  std::priority_queue<Candidate, std::vector<Candidate>, LowerPriority> queue;
  std::map<std::string, std::pair<int, int>> built;
};

} // namespace

void encodeSentencePiece(const TokenizerImpl &vocab, const std::string &text,
                         std::vector<int32_t> &out) {
  Session(vocab, text).run(out);
}

} // namespace ingot::tokenizer
