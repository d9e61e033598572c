//===- SymbolMerge.h - The merge loop of SentencePiece and BPE ---*- C++
//-*-===//
//
// Internal to runtime/tokenizer. Both SentencePiece's bigram merging and
// byte-level BPE start from one symbol per UTF-8 character and repeatedly
// merge the best adjacent pair (by score or by merge rank) until none is
// left; they differ only in how a pair is ranked and what is emitted.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_TOKENIZER_SYMBOLMERGE_H
#define INGOT_RUNTIME_TOKENIZER_SYMBOLMERGE_H

#include "runtime/tokenizer/Unicode.h"

#include <algorithm>
#include <string_view>
#include <vector>

namespace ingot::tokenizer {

/// A byte range of the text, linked to its neighbours; a symbol merged
/// into its left neighbour has length 0.
struct Symbol {
  int prev, next;
  size_t begin, length;
};

/// One symbol per UTF-8 character of `text` (a truncated sequence at the
/// end is one symbol).
inline std::vector<Symbol> splitCharacters(std::string_view text) {
  std::vector<Symbol> symbols;
  for (size_t offset = 0; offset < text.size();) {
    size_t len = std::min(
        unicode::sequenceLength(static_cast<unsigned char>(text[offset])),
        text.size() - offset);
    int index = static_cast<int>(symbols.size());
    symbols.push_back(
        {index - 1, offset + len == text.size() ? -1 : index + 1, offset, len});
    offset += len;
  }
  return symbols;
}

/// Merges adjacent pairs best first. `queue` is a priority queue of
/// candidates with `left` and `right` symbol indices; `consider(l, r)`
/// pushes the pair (l, r) when it may merge (either index may be -1);
/// `stale(c)` is true for a candidate one of whose sides changed since it
/// was pushed.
template <class Queue, class Consider, class IsStale>
void mergeSymbols(std::vector<Symbol> &symbols, Queue &queue, Consider consider,
                  IsStale stale) {
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i)
    consider(i - 1, i);
  while (!queue.empty()) {
    auto c = queue.top();
    queue.pop();
    Symbol &left = symbols[c.left];
    Symbol &right = symbols[c.right];
    if (left.length == 0 || right.length == 0 || stale(c))
      continue;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0)
      symbols[right.next].prev = c.left;
    consider(left.prev, c.left);
    consider(c.left, left.next);
  }
}

} // namespace ingot::tokenizer

#endif // INGOT_RUNTIME_TOKENIZER_SYMBOLMERGE_H
