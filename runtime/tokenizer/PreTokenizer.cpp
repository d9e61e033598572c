//===- PreTokenizer.cpp - Regex word splitting of byte-level BPE ----------===//
#include "runtime/tokenizer/PreTokenizer.h"
#include "runtime/tokenizer/Unicode.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdint>

namespace ingot::tokenizer {
namespace {

// The pre-tokenizer regexes of the Hugging Face tokenizer.json files, in the
// form llama.cpp runs them (case-insensitive contractions spelled out).
const char *const kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
const char *const kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char *const kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char *const kQwen35 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char *const kDeepseekLlmLetters =
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-"
    "\u01bf\u01c4-\u0293\u0295-\u02af"
    "\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-"
    "\u038a\u038c\u038e-\u03a1\u03a3-\u03f5"
    "\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-"
    "\u13fd\u1c90-\u1cba"
    "\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-"
    "\u1f1d\u1f20-\u1f45"
    "\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-"
    "\u1fb4\u1fb6-\u1fbc\u1fbe"
    "\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-"
    "\u1ff4\u1ff6-\u1ffc"
    "\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-"
    "\u212d\u212f-\u2134\u2139"
    "\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-"
    "\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3"
    "\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-"
    "\uabbf\ufb00-\ufb06"
    "\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-"
    "\U000104d3"
    "\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-"
    "\U000118df"
    "\U0001e900-\U0001e943]+";
const char *const kDeepseekLlmPunct =
    "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+";
const char *const kCjkHangul = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";
const char *const kDeepseekV3Cjk = "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+";
const char *const kDeepseekV3 =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char *const kGpt4o =
    R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char *const kTekken =
    R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char *const kBloom =
    " ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+";

struct Family {
  std::vector<std::string_view> names;
  std::vector<std::string> regexes;
  bool ignoreMerges = false;
  bool addBos = false;
  bool noBos = false;
};

const std::vector<Family> &families() {
  static const std::vector<Family> table = {
      {{"", "default"},
       {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}},
      {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
        "midm-2.0", "lfm2"},
       {kLlama3},
       /*ignoreMerges=*/true,
       /*addBos=*/true},
      {{"dbrx", "smaug-bpe"}, {kLlama3}},
      {{"glm4", "chatglm-bpe"}, {kLlama3}, false, false, /*noBos=*/true},
      {{"deepseek-llm"},
       {"[\r\n]", kDeepseekLlmLetters, kDeepseekLlmPunct, "\\s+$", kCjkHangul,
        R"(\p{N}+)"}},
      {{"deepseek-coder"},
       {"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjkHangul, R"(\p{N})"}},
      {{"deepseek-v3", "hunyuan-dense", "joyai-llm"},
       {R"(\p{N}{1,3})", kDeepseekV3Cjk, kDeepseekV3}},
      {{"falcon"}, {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"}},
      {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone",
        "minerva-7b"},
       {R"(\p{N})", kGpt2}},
      {{"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
        "jina-v2-de", "a.x-4.0", "mellum", "modern-bert", "jina-v1-en",
        "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "trillion",
        "granite-docling", "exaone4"},
       {kGpt2}},
      {{"qwen2", "deepseek-r1-qwen", "kormo", "stablelm2", "hunyuan", "megrez",
        "solar-open"},
       {kQwen2}},
      {{"qwen35"}, {kQwen35}},
      {{"poro-chat", "bloom", "gpt3-finnish"}, {kBloom}},
      {{"gpt-4o", "llama4", "minimax-m2"}, {kGpt4o}},
      {{"tekken"}, {kTekken}, /*ignoreMerges=*/true, /*addBos=*/true},
  };
  return table;
}

// llama.cpp's "collapsed" representation: one byte per code point.
constexpr char kCollapsedOther = '\xD0';
char collapsedByte(uint32_t cp) {
  if (cp < 128)
    return static_cast<char>(cp);
  uint8_t f = unicode::flags(cp);
  if (f & unicode::Whitespace)
    return '\x0B';
  switch (f & unicode::kCategoryMask) {
  case unicode::Number:
    return '\xD1';
  case unicode::Letter:
    return '\xD2';
  case unicode::Punctuation:
    return '\xD3';
  case unicode::Mark:
    return '\xD4';
  case unicode::Symbol:
    return '\xD5';
  default:
    return kCollapsedOther;
  }
}

// The collapsed class body of a Unicode property: its byte plus the ASCII
// members llama.cpp assigns to it (note: `~` is not a symbol there).
bool propertyClass(std::string_view name, std::string &body) {
  if (name == "N")
    body = "\xD1"
           "0-9";
  else if (name == "L" || name == "Lu" || name == "Ll" || name == "Lt" ||
           name == "Lm" || name == "Lo")
    body = "\xD2"
           "A-Za-z";
  else if (name == "P")
    body = "\xD3"
           R"(!-#%-*,-/:-;?-@\[-\]_\{\})";
  else if (name == "M")
    body = "\xD4";
  else if (name == "S")
    body = "\xD5"
           R"(\$\+<->^`\|)";
  else
    return false;
  return true;
}

bool usesProperties(std::string_view regex) {
  for (const char *p : {"\\p{N}", "\\p{L}", "\\p{P}", "\\p{M}", "\\p{S}"})
    if (regex.find(p) != std::string_view::npos)
      return true;
  return false;
}

// Rewrites \p{X} into the collapsed classes; the regex must be ASCII.
bool collapseRegex(std::string_view regex, std::string &out,
                   std::string &error) {
  for (char c : regex)
    if (static_cast<unsigned char>(c) >= 0x80) {
      error = "regex mixes Unicode classes and non-ASCII text";
      return false;
    }
  bool inside = false;
  for (size_t i = 0; i < regex.size(); ++i) {
    char c = regex[i];
    bool escaped = i > 0 && regex[i - 1] == '\\';
    if (c == '[' && !escaped) {
      inside = true;
      out += c;
      continue;
    }
    if (c == ']' && inside && !escaped) {
      inside = false;
      out += c;
      continue;
    }
    if (c == '\\' && i + 3 < regex.size() && regex[i + 1] == 'p' &&
        regex[i + 2] == '{') {
      size_t close = regex.find('}', i + 3);
      std::string body;
      if (close != std::string_view::npos &&
          propertyClass(regex.substr(i + 3, close - i - 3), body)) {
        out += inside ? body : "[" + body + "]";
        i = close;
        continue;
      }
    }
    out += c;
  }
  return true;
}

} // namespace

bool lookupPreTokenizer(std::string_view name, PreTokenizerConfig &config) {
  for (const Family &f : families())
    for (std::string_view n : f.names)
      if (n == name) {
        config.regexes = f.regexes;
        config.ignoreMerges = f.ignoreMerges;
        config.addBos = f.addBos;
        config.noBos = f.noBos;
        return true;
      }
  return false;
}

namespace {

/// The text as the regexes see it, each form built on first use: one byte
/// per code point for the collapsed regexes, UTF-8 (non-ASCII whitespace
/// as \v) with the maps between code point and byte offsets for the others.
class MatchSubject {
public:
  explicit MatchSubject(const std::vector<uint32_t> &cps) : cps(cps) {}

  const std::string &collapsed() {
    if (collapsed_.empty() && !cps.empty()) {
      collapsed_.resize(cps.size());
      for (size_t i = 0; i < cps.size(); ++i)
        collapsed_[i] = collapsedByte(cps[i]);
    }
    return collapsed_;
  }
  const std::string &utf8() {
    if (!cpByteOffset.empty())
      return utf8_;
    for (uint32_t cp : cps) {
      cpByteOffset.push_back(utf8_.size());
      if (cp >= 0x80 && (unicode::flags(cp) & unicode::Whitespace))
        cp = 0x0B;
      unicode::append(utf8_, cp);
    }
    cpByteOffset.push_back(utf8_.size());
    byteToCp.assign(utf8_.size() + 1, 0);
    for (size_t i = 0; i <= cps.size(); ++i)
      byteToCp[cpByteOffset[i]] = i;
    return utf8_;
  }
  /// Only after utf8().
  size_t byteOffset(size_t codePoint) const { return cpByteOffset[codePoint]; }
  size_t codePointAt(size_t byte) const { return byteToCp[byte]; }

private:
  const std::vector<uint32_t> &cps;
  std::string collapsed_, utf8_;
  std::vector<size_t> cpByteOffset; // code point index -> byte offset in utf8
  std::vector<size_t> byteToCp;     // byte offset -> code point index
};

} // namespace

struct PreTokenizer::Regex {
  pcre2_code *code = nullptr;
  bool collapsed = false;
  ~Regex() { pcre2_code_free(code); }

  /// Splits every piece (code point lengths, in order) at this regex's
  /// matches: each match and each run between matches becomes a piece.
  void split(MatchSubject &subject, pcre2_match_data *match,
             std::vector<size_t> &lengths) const {
    const std::string &text = collapsed ? subject.collapsed() : subject.utf8();
    std::vector<size_t> next;
    size_t start = 0; // code point index of the current piece
    for (size_t length : lengths) {
      splitPiece(subject, text, start, length, match, next);
      start += length;
    }
    lengths = std::move(next);
  }

  void splitPiece(const MatchSubject &subject, const std::string &text,
                  size_t start, size_t length, pcre2_match_data *match,
                  std::vector<size_t> &next) const {
    // The piece as byte range of the subject.
    size_t begin = collapsed ? start : subject.byteOffset(start);
    size_t end =
        collapsed ? start + length : subject.byteOffset(start + length);
    auto toCp = [&](size_t byteInPiece) {
      size_t b = begin + byteInPiece;
      return collapsed ? b : subject.codePointAt(b);
    };
    const auto *piece = reinterpret_cast<PCRE2_SPTR>(text.data() + begin);
    size_t pieceBytes = end - begin;
    size_t last = start; // code point index after the previous match
    size_t offset = 0;
    while (offset <= pieceBytes) {
      int rc = pcre2_match(code, piece, pieceBytes, offset, PCRE2_NO_UTF_CHECK,
                           match, nullptr);
      if (rc < 0)
        break;
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(match);
      size_t mBegin = toCp(ov[0]), mEnd = toCp(ov[1]);
      if (mEnd == mBegin) { // empty match: move on by one code point
        offset = ov[1] + 1;
        while (!collapsed && offset < pieceBytes &&
               (static_cast<unsigned char>(piece[offset]) & 0xC0) == 0x80)
          ++offset;
        continue;
      }
      if (mBegin > last)
        next.push_back(mBegin - last);
      next.push_back(mEnd - mBegin);
      last = mEnd;
      offset = ov[1];
    }
    if (start + length > last)
      next.push_back(start + length - last);
  }
};

PreTokenizer::~PreTokenizer() = default;

std::unique_ptr<PreTokenizer>
PreTokenizer::create(const std::vector<std::string> &sources,
                     std::string &error) {
  std::unique_ptr<PreTokenizer> result(new PreTokenizer());
  for (const std::string &source : sources) {
    auto regex = std::make_unique<Regex>();
    regex->collapsed = usesProperties(source);
    std::string pattern;
    uint32_t options = PCRE2_DOLLAR_ENDONLY;
    if (regex->collapsed) {
      if (!collapseRegex(source, pattern, error))
        return nullptr;
    } else {
      pattern = source;
      options |= PCRE2_UTF;
    }
    int code = 0;
    PCRE2_SIZE offset = 0;
    regex->code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()),
                      pattern.size(), options, &code, &offset, nullptr);
    if (!regex->code) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(code, message, sizeof(message));
      error = "cannot compile pre-tokenizer regex at offset " +
              std::to_string(offset) + ": " +
              reinterpret_cast<const char *>(message);
      return nullptr;
    }
    result->regexes.push_back(std::move(regex));
  }
  return result;
}

namespace {

/// The words the code point lengths cut `cps` into, GPT-2 byte encoded
/// when asked.
std::vector<std::string> toWords(const std::vector<uint32_t> &cps,
                                 const std::vector<size_t> &lengths,
                                 bool byteEncode) {
  std::vector<std::string> words;
  words.reserve(lengths.size());
  size_t start = 0;
  for (size_t length : lengths) {
    std::string word = unicode::encode(cps, start, start + length);
    start += length;
    if (byteEncode) {
      std::string encoded;
      for (unsigned char b : word)
        unicode::append(encoded, unicode::byteToCodePoint(b));
      word = std::move(encoded);
    }
    words.push_back(std::move(word));
  }
  return words;
}

} // namespace

std::vector<std::string> PreTokenizer::split(std::string_view text,
                                             bool byteEncode) const {
  const std::vector<uint32_t> cps = unicode::decode(text);
  std::vector<size_t> lengths;
  if (!cps.empty())
    lengths.push_back(cps.size());
  MatchSubject subject(cps);
  pcre2_match_data *match =
      regexes.empty() ? nullptr : pcre2_match_data_create(4, nullptr);
  for (const auto &regex : regexes)
    regex->split(subject, match, lengths);
  if (match)
    pcre2_match_data_free(match);
  return toWords(cps, lengths, byteEncode);
}

} // namespace ingot::tokenizer
