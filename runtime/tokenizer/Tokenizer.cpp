//===- Tokenizer.cpp - Vocabulary setup, special tokens, (de)tokenizing ---===//
//
// Mirrors llama.cpp's llama_vocab: per-model defaults for the special ids
// and BOS/EOS flags (overridden by the metadata), the special-token
// partition of the input (longest token text first; CONTROL tokens only when
// parsing special text, USER_DEFINED ones always), and token -> piece.
//
//===----------------------------------------------------------------------===//
#include "runtime/tokenizer/Tokenizer.h"
#include "runtime/tokenizer/TokenizerImpl.h"
#include "runtime/tokenizer/Unicode.h"

#include <algorithm>
#include <cctype>

namespace ingot::tokenizer {
namespace {

int hexDigit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// "<0xAB>" -> 0xAB, or -1.
int parseByteToken(const std::string &t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>')
    return -1;
  int hi = hexDigit(t[3]), lo = hexDigit(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

void replaceAll(std::string &s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out += to;
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

bool isAnyOf(const std::string &s, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// Token texts llama.cpp treats as end-of-turn / fill-in-the-middle markers
// (made CONTROL even when the file says otherwise) and as end of generation.
const std::initializer_list<std::string_view> kControlLooking = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "[EOT]", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
    "<end_of_utterance>", "<|eom_id|>", "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
    "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>", "<PRE>", "\xE2\x96\x81<PRE>",
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
    "<\xEF\xBD\x9C" "fim\xE2\x96\x81hole\xEF\xBD\x9C>", "<SUF>", "\xE2\x96\x81<SUF>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>",
    "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>", "<MID>", "\xE2\x96\x81<MID>",
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", "<|fim_repo|>", "<|repo_name|>",
    "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>"};
const std::initializer_list<std::string_view> kEndOfGeneration = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
    "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"};

struct Fragment {
  int32_t token; // -1: raw text [offset, offset + length)
  size_t offset, length;
};

} // namespace

int32_t TokenizerImpl::mergeRankOf(const std::string &left, const std::string &right) const {
  std::string key;
  key.reserve(left.size() + right.size() + 1);
  key += left;
  key += '\0';
  key += right;
  auto it = mergeRank.find(key);
  return it == mergeRank.end() ? -1 : it->second;
}

int32_t TokenizerImpl::byteToken(uint8_t byte) const {
  static const char hex[] = "0123456789ABCDEF";
  const char name[7] = {'<', '0', 'x', hex[byte >> 4], hex[byte & 15], '>', 0};
  int32_t id = find(name);
  if (id < 0)
    id = find(std::string(1, static_cast<char>(byte)));
  return id >= 0 ? id : unk;
}

std::string TokenizerImpl::computePiece(int32_t id) const {
  const std::string &t = text[id];
  uint32_t a = attr[id];
  if (a & (AttrUnknown | AttrControl | AttrUserDefined))
    return t;
  if (a & AttrByte) {
    int b = parseByteToken(t);
    return b < 0 ? t : std::string(1, static_cast<char>(b));
  }
  if (!(a & AttrNormal))
    return {};
  if (kind != ModelKind::BytePairEncoding) {
    std::string s = t;
    replaceAll(s, "\xE2\x96\x81", " ");
    return s;
  }
  std::string s;
  for (uint32_t cp : unicode::decode(t)) {
    int b = unicode::codePointToByte(cp);
    if (b >= 0)
      s.push_back(static_cast<char>(b));
    else
      unicode::append(s, cp);
  }
  return s;
}

Tokenizer::Tokenizer(std::unique_ptr<TokenizerImpl> impl) : impl(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::create(const TokenizerData &data, std::string &error) {
  auto v = std::make_unique<TokenizerImpl>();
  const size_t n = data.tokens.size();
  if (n == 0) {
    error = "tokenizer has no tokens";
    return nullptr;
  }
  if (n > 0x7FFFFFFF) {
    error = "tokenizer has too many tokens";
    return nullptr;
  }
  if (!data.scores.empty() && data.scores.size() < n) {
    error = "tokenizer has fewer scores than tokens";
    return nullptr;
  }
  if (!data.tokenTypes.empty() && data.tokenTypes.size() < n) {
    error = "tokenizer has fewer token types than tokens";
    return nullptr;
  }

  int64_t bos, eos, unk, sep = -1, pad = -1;
  if (data.model == "llama") {
    v->kind = ModelKind::SentencePiece;
    bos = 1, eos = 2, unk = 0;
    v->addSpacePrefix = true;
    v->addBos = true;
  } else if (data.model == "gpt2") {
    v->kind = ModelKind::BytePairEncoding;
    PreTokenizerConfig config;
    if (!lookupPreTokenizer(data.pre, config)) {
      error = "unsupported pre-tokenizer '" + data.pre + "'";
      return nullptr;
    }
    v->pre = PreTokenizer::create(config.regexes, error);
    if (!v->pre) {
      error = "pre-tokenizer '" + data.pre + "': " + error;
      return nullptr;
    }
    bos = config.noBos ? -1 : 11, eos = 11, unk = -1;
    v->ignoreMerges = config.ignoreMerges;
    v->addBos = config.addBos;
    if (data.merges.empty()) {
      error = "byte-level BPE tokenizer without merges";
      return nullptr;
    }
  } else if (data.model == "bert") {
    v->kind = ModelKind::WordPiece;
    bos = 101, eos = -1, unk = 100, sep = 102, pad = 0;
    v->addBos = true;
    v->addSep = true;
  } else {
    error = "unsupported tokenizer model '" + data.model + "'";
    return nullptr;
  }

  // Vocabulary.
  v->text.resize(n);
  v->score.assign(n, 0.0f);
  v->attr.assign(n, AttrNormal);
  v->toId.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string t = data.tokens[i];
    if (t.empty())
      t = "[EMPTY_" + std::to_string(i) + "]";
    if (!v->toId.emplace(t, static_cast<int32_t>(i)).second) {
      error = "duplicate token in vocabulary: '" + t + "'";
      return nullptr;
    }
    v->maxTokenBytes = std::max(v->maxTokenBytes, t.size());
    v->text[i] = std::move(t);
    if (!data.scores.empty())
      v->score[i] = data.scores[i];
    if (!data.tokenTypes.empty()) {
      switch (static_cast<TokenType>(data.tokenTypes[i])) {
      case TokenType::Normal: v->attr[i] = AttrNormal; break;
      case TokenType::Unknown: v->attr[i] = AttrUnknown; break;
      case TokenType::Control: v->attr[i] = AttrControl; break;
      case TokenType::UserDefined: v->attr[i] = AttrUserDefined; break;
      case TokenType::Unused: v->attr[i] = AttrUnused; break;
      case TokenType::Byte: v->attr[i] = AttrByte; break;
      default: v->attr[i] = 0; break;
      }
    }
  }
  if (v->kind == ModelKind::BytePairEncoding) {
    v->mergeRank.reserve(data.merges.size());
    for (size_t i = 0; i < data.merges.size(); ++i) {
      const std::string &m = data.merges[i];
      size_t space = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
      std::string key;
      if (space != std::string::npos)
        key = m.substr(0, space) + '\0' + m.substr(space + 1);
      else
        key = std::string(1, '\0');
      v->mergeRank.emplace(std::move(key), static_cast<int32_t>(i));
    }
  }

  // Special ids: the kind's defaults (dropped when out of range), then the
  // metadata's (ignored when out of range).
  auto resolve = [&](int64_t fallback, int64_t given) -> int32_t {
    if (given >= 0 && static_cast<size_t>(given) < n)
      return static_cast<int32_t>(given);
    return fallback >= 0 && static_cast<size_t>(fallback) < n ? static_cast<int32_t>(fallback) : -1;
  };
  v->bos = resolve(bos, data.bosId);
  v->eos = resolve(eos, data.eosId);
  v->unk = resolve(unk, data.unkId);
  v->sep = resolve(sep, data.sepId);
  v->pad = resolve(pad, data.padId);
  if (data.addBos >= 0)
    v->addBos = data.addBos;
  if (data.addEos >= 0)
    v->addEos = data.addEos;
  if (data.addSep >= 0)
    v->addSep = data.addSep;
  if (data.addSpacePrefix >= 0)
    v->addSpacePrefix = data.addSpacePrefix;
  if (data.lowercase >= 0)
    v->lowercase = data.lowercase;
  v->stripAccents = data.stripAccents >= 0 ? data.stripAccents != 0 : v->lowercase;
  // A WordPiece word no token covers becomes UNK: without one, encoding
  // would emit id -1.
  if (v->kind == ModelKind::WordPiece && v->unk < 0) {
    error = "WordPiece tokenizer without an UNK token (neither unknown_token_id nor id 100)";
    return nullptr;
  }
  if (v->addBos && v->bos < 0 && v->kind != ModelKind::BytePairEncoding) {
    error = "add_bos_token is true, but the model has no BOS token";
    return nullptr;
  }

  // Control-looking tokens become CONTROL; end-of-generation set.
  for (size_t i = 0; i < n; ++i) {
    const std::string &t = v->text[i];
    if (isAnyOf(t, kControlLooking))
      v->attr[i] |= AttrControl;
    if (isAnyOf(t, kEndOfGeneration)) {
      v->endOfGeneration.insert(static_cast<int32_t>(i));
      v->attr[i] |= AttrControl;
    }
    if ((v->attr[i] & AttrControl) && t.find("unused") != std::string::npos)
      v->attr[i] |= AttrUnused;
    if (isAnyOf(t, {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}))
      v->attr[i] = AttrUserDefined;
  }
  for (int64_t id : {static_cast<int64_t>(v->eos), data.eotId, data.eomId})
    if (id >= 0 && static_cast<size_t>(id) < n)
      v->endOfGeneration.insert(static_cast<int32_t>(id));

  for (size_t i = 0; i < n; ++i)
    if (v->attr[i] & (AttrControl | AttrUserDefined | AttrUnknown))
      v->specialTokens.push_back(static_cast<int32_t>(i));
  std::sort(v->specialTokens.begin(), v->specialTokens.end(), [&](int32_t a, int32_t b) {
    size_t la = v->text[a].size(), lb = v->text[b].size();
    return la > lb || (la == lb && a < b);
  });

  // Phi-3 strips the whitespace right of its special tokens.
  std::string name = data.modelName;
  for (char &c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (int32_t id : v->specialTokens)
      v->attr[id] |= AttrRStrip;
    for (const char *t : {"</s>"})
      if (int32_t id = v->find(t); id >= 0)
        v->attr[id] |= AttrRStrip;
    for (const char *t : {"<unk>", "<s>", "<|endoftext|>"})
      if (int32_t id = v->find(t); id >= 0)
        v->attr[id] &= ~AttrRStrip;
  }

  v->pieces.resize(n);
  for (size_t i = 0; i < n; ++i)
    v->pieces[i] = v->computePiece(static_cast<int32_t>(i));
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(v)));
}

std::vector<int32_t> Tokenizer::tokenize(std::string_view text, bool addSpecial,
                                         bool parseSpecial) const {
  const TokenizerImpl &v = *impl;
  std::vector<Fragment> fragments;
  if (!text.empty())
    fragments.push_back({-1, 0, text.size()});

  for (int32_t id : v.specialTokens) {
    uint32_t a = v.attr[id];
    if (!parseSpecial && (a & (AttrControl | AttrUnknown)))
      continue;
    const std::string &needle = v.text[id];
    std::vector<Fragment> next;
    next.reserve(fragments.size());
    for (const Fragment &f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      size_t begin = f.offset, end = f.offset + f.length;
      while (begin < end) {
        size_t hit = text.substr(0, end).find(needle, begin);
        if (hit == std::string_view::npos) {
          next.push_back({-1, begin, end - begin});
          break;
        }
        size_t leftEnd = hit;
        if (a & AttrLStrip)
          while (leftEnd > begin && std::isspace(static_cast<unsigned char>(text[leftEnd - 1])))
            --leftEnd;
        if (leftEnd > begin)
          next.push_back({-1, begin, leftEnd - begin});
        next.push_back({id, 0, 0});
        begin = hit + needle.size();
        if (a & AttrRStrip)
          while (begin < end && std::isspace(static_cast<unsigned char>(text[begin])))
            ++begin;
      }
    }
    fragments = std::move(next);
  }

  std::vector<int32_t> out;
  switch (v.kind) {
  case ModelKind::SentencePiece: {
    if (addSpecial && v.addBos && v.bos >= 0)
      out.push_back(v.bos);
    bool previousSpecial = true;
    for (const Fragment &f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
        previousSpecial = true;
        continue;
      }
      std::string piece;
      if (v.addSpacePrefix && previousSpecial)
        piece = " ";
      piece.append(text.substr(f.offset, f.length));
      replaceAll(piece, " ", "\xE2\x96\x81");
      encodeSentencePiece(v, piece, out);
      previousSpecial = false;
    }
    if (addSpecial && v.addEos && v.eos >= 0)
      out.push_back(v.eos);
    break;
  }
  case ModelKind::BytePairEncoding:
  case ModelKind::WordPiece: {
    // Both encode each plain fragment on its own; WordPiece ends with SEP
    // where BPE ends with EOS.
    bool wordPiece = v.kind == ModelKind::WordPiece;
    if (addSpecial && v.addBos && v.bos >= 0)
      out.push_back(v.bos);
    for (const Fragment &f : fragments) {
      if (f.token >= 0)
        out.push_back(f.token);
      else if (wordPiece)
        encodeWordPiece(v, text.substr(f.offset, f.length), out);
      else
        encodeBytePairs(v, text.substr(f.offset, f.length), out);
    }
    bool addEnd = wordPiece ? v.addSep : v.addEos;
    int32_t end = wordPiece ? v.sep : v.eos;
    if (addSpecial && addEnd && end >= 0)
      out.push_back(end);
    break;
  }
  }
  return out;
}

std::string Tokenizer::tokenToPiece(int32_t id, bool special) const {
  if (id < 0 || static_cast<size_t>(id) >= impl->pieces.size())
    return {};
  if (!special && (impl->attr[id] & (AttrUnknown | AttrControl)))
    return {};
  return impl->pieces[id];
}

std::string Tokenizer::detokenize(const std::vector<int32_t> &ids, bool special) const {
  std::string out;
  bool stripSpace = impl->kind == ModelKind::SentencePiece && impl->addSpacePrefix;
  size_t first = 0;
  // Without special tokens, the BOS the model adds is dropped first (so the
  // space prefix of the next token is what gets stripped).
  if (!special && !ids.empty() && impl->addBos && ids[0] == impl->bos)
    first = 1;
  for (size_t i = first; i < ids.size(); ++i) {
    int32_t id = ids[i];
    std::string piece = tokenToPiece(id, special);
    if (stripSpace && !piece.empty() && piece[0] == ' ')
      piece.erase(0, 1);
    stripSpace = false;
    out += piece;
  }
  return out;
}

size_t Tokenizer::vocabSize() const { return impl->text.size(); }
int32_t Tokenizer::bos() const { return impl->bos; }
int32_t Tokenizer::eos() const { return impl->eos; }
bool Tokenizer::addsBos() const { return impl->addBos && impl->bos >= 0; }
bool Tokenizer::addsEos() const { return impl->addEos && impl->eos >= 0; }
bool Tokenizer::isEndOfGeneration(int32_t id) const { return impl->endOfGeneration.count(id) != 0; }
bool Tokenizer::isControl(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl->attr.size() && (impl->attr[id] & AttrControl);
}
int32_t Tokenizer::lookup(std::string_view text) const { return impl->find(std::string(text)); }
const std::string &Tokenizer::tokenText(int32_t id) const {
  static const std::string empty;
  return id >= 0 && static_cast<size_t>(id) < impl->text.size() ? impl->text[id] : empty;
}

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer &tokenizer, bool special)
    : tokenizer(tokenizer), special(special) {}

std::string StreamingDetokenizer::push(int32_t id) {
  pending += tokenizer.tokenToPiece(id, special);
  size_t hold = unicode::incompleteSuffix(pending);
  std::string ready = pending.substr(0, pending.size() - hold);
  pending.erase(0, pending.size() - hold);
  return ready;
}

std::string StreamingDetokenizer::finish() {
  std::string rest = std::move(pending);
  pending.clear();
  return rest;
}

} // namespace ingot::tokenizer
