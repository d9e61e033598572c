//===- Tokenizer.h - Text <-> token ids for the emitted binaries -*- C++
//-*-===//
//
// The tokenizers of llama.cpp's GGUF vocabularies, re-implemented in plain
// C++20 (plus PCRE2, interpreter only, for the pre-tokenizer regexes):
//   - SentencePiece ("llama"): bigram merging by score, byte fallback;
//   - byte-level BPE ("gpt2"): per-`tokenizer.ggml.pre` regex splitting,
//     merge ranks, GPT-2 byte <-> code point mapping;
//   - WordPiece ("bert"): BERT normalisation, greedy longest match.
// Special (CONTROL / USER_DEFINED) token text is split out before
// tokenizing, longest first, as llama.cpp does.
//
// TokenizerData is what the compiler extracts from a GGUF file's
// `tokenizer.*` keys; it serialises to a compact blob that the compiler
// embeds into the executable. Errors are reported through return values.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_TOKENIZER_TOKENIZER_H
#define INGOT_RUNTIME_TOKENIZER_TOKENIZER_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ingot::tokenizer {

/// GGUF `tokenizer.ggml.token_type` values.
enum class TokenType : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

constexpr int64_t kNoToken = -1;

/// Tokenizer description, as read from the GGUF metadata. Optional values
/// use -1 for "key absent" so the model kind's defaults apply.
struct TokenizerData {
  std::string model;     ///< tokenizer.ggml.model: "llama", "gpt2", "bert"
  std::string pre;       ///< tokenizer.ggml.pre ("" when absent)
  std::string modelName; ///< general.name (selects per-model token quirks)
  std::vector<std::string> tokens;
  std::vector<float> scores;       ///< empty, or one per token
  std::vector<int32_t> tokenTypes; ///< empty, or one per token (TokenType)
  std::vector<std::string> merges; ///< "left right", rank = index

  int64_t bosId = kNoToken, eosId = kNoToken, unkId = kNoToken,
          sepId = kNoToken, padId = kNoToken, maskId = kNoToken,
          eotId = kNoToken, eomId = kNoToken;
  /// Tri-state flags: -1 absent, 0 false, 1 true.
  int8_t addBos = -1, addEos = -1, addSep = -1, addSpacePrefix = -1;
  int8_t lowercase = -1, stripAccents = -1;

  /// The compact binary form embedded into executables.
  std::string serialize() const;
  /// Parses serialize()'s output; returns false and sets `error` if the blob
  /// is truncated or malformed.
  static bool deserialize(const void *data, size_t size, TokenizerData &out,
                          std::string &error);
};

struct TokenizerImpl;

class Tokenizer {
public:
  /// Validates `data` and builds the lookup tables. Returns null and sets
  /// `error` (one line, names the offending model or pre-tokenizer) when the
  /// tokenizer kind or pre-tokenizer is unsupported or the data inconsistent.
  static std::unique_ptr<Tokenizer> create(const TokenizerData &data,
                                           std::string &error);
  ~Tokenizer();

  /// Token ids for `text`. `addSpecial` adds the BOS/EOS/SEP tokens the model
  /// asks for; `parseSpecial` turns CONTROL token text (e.g. `<|im_start|>`)
  /// into those tokens (USER_DEFINED tokens are always split out).
  std::vector<int32_t> tokenize(std::string_view text, bool addSpecial,
                                bool parseSpecial) const;

  /// The bytes a token stands for. CONTROL/UNKNOWN tokens render as their
  /// text when `special`, else as nothing. May be a partial UTF-8 sequence.
  std::string tokenToPiece(int32_t id, bool special = true) const;
  /// Concatenated pieces; drops the space prefix a SentencePiece model adds
  /// to the first token. Without `special`, a leading BOS is dropped too.
  std::string detokenize(const std::vector<int32_t> &ids,
                         bool special = true) const;

  size_t vocabSize() const;
  int32_t bos() const; ///< -1 when the model has none
  int32_t eos() const;
  bool addsBos() const;
  bool addsEos() const;
  bool isEndOfGeneration(int32_t id) const;
  /// Every end-of-generation token, in id order.
  std::vector<int32_t> endOfGenerationIds() const;
  bool isControl(int32_t id) const;
  /// The id of a token's exact text, or -1.
  int32_t lookup(std::string_view text) const;
  const std::string &tokenText(int32_t id) const;

private:
  explicit Tokenizer(std::unique_ptr<TokenizerImpl> impl);
  std::unique_ptr<TokenizerImpl> impl;
};

/// Turns a stream of token ids into text that never ends inside a UTF-8
/// sequence: bytes of an incomplete code point are held back until the
/// tokens completing it arrive (or finish() flushes them).
class StreamingDetokenizer {
public:
  explicit StreamingDetokenizer(const Tokenizer &tokenizer,
                                bool special = false);
  /// The newly complete text after appending token `id`.
  std::string push(int32_t id);
  /// Whatever is still held back (an incomplete sequence), then resets.
  std::string finish();

private:
  const Tokenizer &tokenizer;
  bool special;
  std::string pending;
};

} // namespace ingot::tokenizer

#endif // INGOT_RUNTIME_TOKENIZER_TOKENIZER_H
