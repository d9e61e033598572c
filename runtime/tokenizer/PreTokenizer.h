//===- PreTokenizer.h - Regex word splitting of byte-level BPE --*- C++ -*-===//
//
// Splits text into words with the sequence of regexes of a
// `tokenizer.ggml.pre` family, as llama.cpp does: each regex splits every
// piece the previous one produced into its matches and the text between
// them. Regexes that use Unicode classes (\p{L}, ...) run, like llama.cpp's,
// on a "collapsed" copy of the text in which each non-ASCII code point is one
// byte standing for its general category; the others run on the UTF-8 text
// with non-ASCII whitespace replaced by U+000B. Matching uses PCRE2's
// interpreter (never its JIT).
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_TOKENIZER_PRETOKENIZER_H
#define INGOT_RUNTIME_TOKENIZER_PRETOKENIZER_H

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ingot::tokenizer {

/// What a pre-tokenizer family changes besides its regexes.
struct PreTokenizerConfig {
  std::vector<std::string> regexes;
  bool ignoreMerges = false; ///< a word that is a whole token skips merging
  bool addBos = false;       ///< the family's BOS default (metadata wins)
  bool noBos = false;        ///< the family has no BOS token
};

/// Looks up a `tokenizer.ggml.pre` name ("" means "default"); false if the
/// family is not supported.
bool lookupPreTokenizer(std::string_view name, PreTokenizerConfig &config);

class PreTokenizer {
public:
  static std::unique_ptr<PreTokenizer>
  create(const std::vector<std::string> &regexes, std::string &error);
  ~PreTokenizer();
  /// The words of `text`, each re-encoded with GPT-2's byte -> code point map
  /// when `byteEncode`. Invalid UTF-8 bytes become U+FFFD.
  std::vector<std::string> split(std::string_view text, bool byteEncode) const;

private:
  struct Regex;
  PreTokenizer() = default;
  std::vector<std::unique_ptr<Regex>> regexes;
};

} // namespace ingot::tokenizer

#endif // INGOT_RUNTIME_TOKENIZER_PRETOKENIZER_H
