//===- TokenizerImpl.h - Vocabulary shared by the tokenizer models -*- C++
//-*-===//
//
// Internal to runtime/tokenizer: the vocabulary tables built from
// TokenizerData and the three segmentation algorithms.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_TOKENIZER_TOKENIZERIMPL_H
#define INGOT_RUNTIME_TOKENIZER_TOKENIZERIMPL_H

#include "runtime/tokenizer/PreTokenizer.h"

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ingot::tokenizer {

enum class ModelKind { SentencePiece, BytePairEncoding, WordPiece };

/// Token attribute bits (llama.cpp's llama_token_attr).
enum TokenAttr : uint32_t {
  AttrUnknown = 1u << 0,
  AttrUnused = 1u << 1,
  AttrNormal = 1u << 2,
  AttrControl = 1u << 3,
  AttrUserDefined = 1u << 4,
  AttrByte = 1u << 5,
  AttrLStrip = 1u << 7,
  AttrRStrip = 1u << 8,
};

struct TokenizerImpl {
  ModelKind kind = ModelKind::SentencePiece;
  std::vector<std::string> text;
  std::vector<float> score;
  std::vector<uint32_t> attr;
  std::unordered_map<std::string, int32_t> toId;
  /// BPE merge ranks keyed by left + '\0' + right.
  std::unordered_map<std::string, int32_t> mergeRank;
  size_t maxTokenBytes = 0;

  int32_t bos = -1, eos = -1, unk = -1, sep = -1, pad = -1;
  bool addBos = false, addEos = false, addSep = false, addSpacePrefix = false;
  bool ignoreMerges = false, lowercase = true, stripAccents = true;

  std::unique_ptr<PreTokenizer> pre;
  /// CONTROL / USER_DEFINED / UNKNOWN tokens, longest text first.
  std::vector<int32_t> specialTokens;
  std::set<int32_t> endOfGeneration;
  /// tokenToPiece(id, special = true) of every token.
  std::vector<std::string> pieces;

  int32_t find(const std::string &s) const {
    auto it = toId.find(s);
    return it == toId.end() ? -1 : it->second;
  }
  int32_t mergeRankOf(const std::string &left, const std::string &right) const;
  /// SentencePiece byte-fallback token of `byte` (<0xXX>, else the
  /// one-character token, else UNK).
  int32_t byteToken(uint8_t byte) const;
  std::string computePiece(int32_t id) const;
};

/// The segmentation algorithms; each appends the ids of one raw text
/// fragment (already free of special-token text) to `out`.
void encodeSentencePiece(const TokenizerImpl &vocab, const std::string &text,
                         std::vector<int32_t> &out);
void encodeBytePairs(const TokenizerImpl &vocab, std::string_view text,
                     std::vector<int32_t> &out);
void encodeWordPiece(const TokenizerImpl &vocab, std::string_view text,
                     std::vector<int32_t> &out);

} // namespace ingot::tokenizer

#endif // INGOT_RUNTIME_TOKENIZER_TOKENIZERIMPL_H
