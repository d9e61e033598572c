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
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos;
       pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out += to;
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

bool isAnyOf(const std::string &s,
             std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// Token texts llama.cpp treats as end-of-turn / fill-in-the-middle markers
// (made CONTROL even when the file says otherwise) and as end of generation.
const std::initializer_list<std::string_view> kControlLooking = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<\xEF\xBD\x9C"
    "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
    "<end_of_utterance>",
    "<|eom_id|>",
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<\xEF\xBD\x9C"
    "fim\xE2\x96\x81"
    "begin\xEF\xBD\x9C>",
    "<PRE>",
    "\xE2\x96\x81<PRE>",
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<\xEF\xBD\x9C"
    "fim\xE2\x96\x81hole\xEF\xBD\x9C>",
    "<SUF>",
    "\xE2\x96\x81<SUF>",
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<\xEF\xBD\x9C"
    "fim\xE2\x96\x81"
    "end\xEF\xBD\x9C>",
    "<MID>",
    "\xE2\x96\x81<MID>",
    "<|fim_pad|>",
    "<fim-pad>",
    "<fim_pad>",
    "<PAD>",
    "[PAD]",
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
    "<|file_sep|>"};
const std::initializer_list<std::string_view> kEndOfGeneration = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<\xEF\xBD\x9C"
    "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"};

struct Fragment {
  int32_t token; // -1: raw text [offset, offset + length)
  size_t offset, length;
};

} // namespace

int32_t TokenizerImpl::mergeRankOf(const std::string &left,
                                   const std::string &right) const {
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

Tokenizer::Tokenizer(std::unique_ptr<TokenizerImpl> impl)
    : impl(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

namespace {

/// The special ids a tokenizer model assumes when the metadata gives none.
struct DefaultIds {
  int64_t bos = -1, eos = -1, unk = -1, sep = -1, pad = -1;
};

bool checkTableSizes(const TokenizerData &data, std::string &error) {
  const size_t n = data.tokens.size();
  if (n == 0)
    error = "tokenizer has no tokens";
  else if (n > 0x7FFFFFFF)
    error = "tokenizer has too many tokens";
  else if (!data.scores.empty() && data.scores.size() < n)
    error = "tokenizer has fewer scores than tokens";
  else if (!data.tokenTypes.empty() && data.tokenTypes.size() < n)
    error = "tokenizer has fewer token types than tokens";
  else
    return true;
  return false;
}

/// gpt2: byte-level BPE with the pre-tokenizer `data.pre` names.
bool configureBytePairEncoding(const TokenizerData &data, TokenizerImpl &v,
                               DefaultIds &ids, std::string &error) {
  v.kind = ModelKind::BytePairEncoding;
  PreTokenizerConfig config;
  if (!lookupPreTokenizer(data.pre, config)) {
    error = "unsupported pre-tokenizer '" + data.pre + "'";
    return false;
  }
  v.pre = PreTokenizer::create(config.regexes, error);
  if (!v.pre) {
    error = "pre-tokenizer '" + data.pre + "': " + error;
    return false;
  }
  ids.bos = config.noBos ? -1 : 11, ids.eos = 11;
  v.ignoreMerges = config.ignoreMerges;
  v.addBos = config.addBos;
  if (data.merges.empty()) {
    error = "byte-level BPE tokenizer without merges";
    return false;
  }
  return true;
}

/// The model kind and its defaults (llama.cpp's per-model settings).
bool configureKind(const TokenizerData &data, TokenizerImpl &v, DefaultIds &ids,
                   std::string &error) {
  if (data.model == "llama") {
    v.kind = ModelKind::SentencePiece;
    ids.bos = 1, ids.eos = 2, ids.unk = 0;
    v.addSpacePrefix = true;
    v.addBos = true;
    return true;
  }
  if (data.model == "gpt2")
    return configureBytePairEncoding(data, v, ids, error);
  if (data.model == "bert") {
    v.kind = ModelKind::WordPiece;
    ids.bos = 101, ids.unk = 100, ids.sep = 102, ids.pad = 0;
    v.addBos = true;
    v.addSep = true;
    return true;
  }
  error = "unsupported tokenizer model '" + data.model + "'";
  return false;
}

uint32_t attrOfType(int32_t type) {
  switch (static_cast<TokenType>(type)) {
  case TokenType::Normal:
    return AttrNormal;
  case TokenType::Unknown:
    return AttrUnknown;
  case TokenType::Control:
    return AttrControl;
  case TokenType::UserDefined:
    return AttrUserDefined;
  case TokenType::Unused:
    return AttrUnused;
  case TokenType::Byte:
    return AttrByte;
  default:
    return 0;
  }
}

/// Token texts (an empty one gets a placeholder name), scores and
/// attributes; a text given twice is an error.
bool loadVocabulary(const TokenizerData &data, TokenizerImpl &v,
                    std::string &error) {
  const size_t n = data.tokens.size();
  v.text.resize(n);
  v.score.assign(n, 0.0f);
  v.attr.assign(n, AttrNormal);
  v.toId.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string t = data.tokens[i];
    if (t.empty())
      t = "[EMPTY_" + std::to_string(i) + "]";
    if (!v.toId.emplace(t, static_cast<int32_t>(i)).second) {
      error = "duplicate token in vocabulary: '" + t + "'";
      return false;
    }
    v.maxTokenBytes = std::max(v.maxTokenBytes, t.size());
    v.text[i] = std::move(t);
    if (!data.scores.empty())
      v.score[i] = data.scores[i];
    if (!data.tokenTypes.empty())
      v.attr[i] = attrOfType(data.tokenTypes[i]);
  }
  return true;
}

/// BPE merge ranks, keyed as TokenizerImpl::mergeRankOf looks them up.
void loadMerges(const TokenizerData &data, TokenizerImpl &v) {
  v.mergeRank.reserve(data.merges.size());
  for (size_t i = 0; i < data.merges.size(); ++i) {
    const std::string &m = data.merges[i];
    size_t space = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
    std::string key;
    if (space != std::string::npos)
      key = m.substr(0, space) + '\0' + m.substr(space + 1);
    else
      key = std::string(1, '\0');
    v.mergeRank.emplace(std::move(key), static_cast<int32_t>(i));
  }
}

/// Special ids: the kind's defaults (dropped when out of range), then the
/// metadata's (ignored when out of range); then the metadata's flags.
void resolveSpecialIds(const TokenizerData &data, const DefaultIds &ids,
                       TokenizerImpl &v) {
  const size_t n = v.text.size();
  auto resolve = [&](int64_t fallback, int64_t given) -> int32_t {
    if (given >= 0 && static_cast<size_t>(given) < n)
      return static_cast<int32_t>(given);
    return fallback >= 0 && static_cast<size_t>(fallback) < n
               ? static_cast<int32_t>(fallback)
               : -1;
  };
  v.bos = resolve(ids.bos, data.bosId);
  v.eos = resolve(ids.eos, data.eosId);
  v.unk = resolve(ids.unk, data.unkId);
  v.sep = resolve(ids.sep, data.sepId);
  v.pad = resolve(ids.pad, data.padId);
  if (data.addBos >= 0)
    v.addBos = data.addBos;
  if (data.addEos >= 0)
    v.addEos = data.addEos;
  if (data.addSep >= 0)
    v.addSep = data.addSep;
  if (data.addSpacePrefix >= 0)
    v.addSpacePrefix = data.addSpacePrefix;
  if (data.lowercase >= 0)
    v.lowercase = data.lowercase;
  v.stripAccents =
      data.stripAccents >= 0 ? data.stripAccents != 0 : v.lowercase;
}

/// The special ids the kind needs to encode at all.
bool checkSpecialIds(const TokenizerImpl &v, std::string &error) {
  // A WordPiece word no token covers becomes UNK: without one, encoding
  // would emit id -1.
  if (v.kind == ModelKind::WordPiece && v.unk < 0) {
    error = "WordPiece tokenizer without an UNK token (neither "
            "unknown_token_id nor id 100)";
    return false;
  }
  if (v.addBos && v.bos < 0 && v.kind != ModelKind::BytePairEncoding) {
    error = "add_bos_token is true, but the model has no BOS token";
    return false;
  }
  return true;
}

/// Control-looking tokens become CONTROL; the end-of-generation set.
void markControlTokens(const TokenizerData &data, TokenizerImpl &v) {
  const size_t n = v.text.size();
  for (size_t i = 0; i < n; ++i) {
    const std::string &t = v.text[i];
    if (isAnyOf(t, kControlLooking))
      v.attr[i] |= AttrControl;
    if (isAnyOf(t, kEndOfGeneration)) {
      v.endOfGeneration.insert(static_cast<int32_t>(i));
      v.attr[i] |= AttrControl;
    }
    if ((v.attr[i] & AttrControl) && t.find("unused") != std::string::npos)
      v.attr[i] |= AttrUnused;
    if (isAnyOf(t,
                {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}))
      v.attr[i] = AttrUserDefined;
  }
  for (int64_t id : {static_cast<int64_t>(v.eos), data.eotId, data.eomId})
    if (id >= 0 && static_cast<size_t>(id) < n)
      v.endOfGeneration.insert(static_cast<int32_t>(id));
}

/// The tokens the input is partitioned by, longest text first.
void collectSpecialTokens(TokenizerImpl &v) {
  for (size_t i = 0; i < v.text.size(); ++i)
    if (v.attr[i] & (AttrControl | AttrUserDefined | AttrUnknown))
      v.specialTokens.push_back(static_cast<int32_t>(i));
  std::sort(v.specialTokens.begin(), v.specialTokens.end(),
            [&](int32_t a, int32_t b) {
              size_t la = v.text[a].size(), lb = v.text[b].size();
              return la > lb || (la == lb && a < b);
            });
}

/// Phi-3 strips the whitespace right of its special tokens.
void applyModelQuirks(const TokenizerData &data, TokenizerImpl &v) {
  std::string name = data.modelName;
  for (char &c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.find("phi-3") == std::string::npos &&
      name.find("phi3") == std::string::npos)
    return;
  for (int32_t id : v.specialTokens)
    v.attr[id] |= AttrRStrip;
  for (const char *t : {"</s>"})
    if (int32_t id = v.find(t); id >= 0)
      v.attr[id] |= AttrRStrip;
  for (const char *t : {"<unk>", "<s>", "<|endoftext|>"})
    if (int32_t id = v.find(t); id >= 0)
      v.attr[id] &= ~AttrRStrip;
}

} // namespace

std::unique_ptr<Tokenizer> Tokenizer::create(const TokenizerData &data,
                                             std::string &error) {
  auto v = std::make_unique<TokenizerImpl>();
  DefaultIds ids;
  if (!checkTableSizes(data, error) || !configureKind(data, *v, ids, error) ||
      !loadVocabulary(data, *v, error))
    return nullptr;
  if (v->kind == ModelKind::BytePairEncoding)
    loadMerges(data, *v);
  resolveSpecialIds(data, ids, *v);
  if (!checkSpecialIds(*v, error))
    return nullptr;
  markControlTokens(data, *v);
  collectSpecialTokens(*v);
  applyModelQuirks(data, *v);
  v->pieces.resize(v->text.size());
  for (size_t i = 0; i < v->text.size(); ++i)
    v->pieces[i] = v->computePiece(static_cast<int32_t>(i));
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(v)));
}

namespace {

/// Splits the raw fragment [begin, end) of `text` at every occurrence of
/// special token `id`, stripping the whitespace its LSTRIP / RSTRIP
/// attributes ask for.
void splitAtToken(std::string_view text, size_t begin, size_t end, int32_t id,
                  const std::string &needle, uint32_t attr,
                  std::vector<Fragment> &out) {
  while (begin < end) {
    size_t hit = text.substr(0, end).find(needle, begin);
    if (hit == std::string_view::npos) {
      out.push_back({-1, begin, end - begin});
      return;
    }
    size_t leftEnd = hit;
    if (attr & AttrLStrip)
      while (leftEnd > begin &&
             std::isspace(static_cast<unsigned char>(text[leftEnd - 1])))
        --leftEnd;
    if (leftEnd > begin)
      out.push_back({-1, begin, leftEnd - begin});
    out.push_back({id, 0, 0});
    begin = hit + needle.size();
    if (attr & AttrRStrip)
      while (begin < end &&
             std::isspace(static_cast<unsigned char>(text[begin])))
        ++begin;
  }
}

/// The input partitioned into special tokens and raw text, longest token
/// text first (CONTROL and UNKNOWN tokens only when parsing special text).
std::vector<Fragment> partitionSpecial(const TokenizerImpl &v,
                                       std::string_view text,
                                       bool parseSpecial) {
  std::vector<Fragment> fragments;
  if (!text.empty())
    fragments.push_back({-1, 0, text.size()});
  for (int32_t id : v.specialTokens) {
    uint32_t a = v.attr[id];
    if (!parseSpecial && (a & (AttrControl | AttrUnknown)))
      continue;
    std::vector<Fragment> next;
    next.reserve(fragments.size());
    for (const Fragment &f : fragments) {
      if (f.token >= 0)
        next.push_back(f);
      else
        splitAtToken(text, f.offset, f.offset + f.length, id, v.text[id], a,
                     next);
    }
    fragments = std::move(next);
  }
  return fragments;
}

/// SentencePiece: spaces become U+2581, and a raw fragment after a special
/// token (or at the start) gets the space prefix.
void encodeSentencePieceFragments(const TokenizerImpl &v, std::string_view text,
                                  const std::vector<Fragment> &fragments,
                                  bool addSpecial, std::vector<int32_t> &out) {
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
}

/// BPE and WordPiece encode each raw fragment on its own; WordPiece ends
/// with SEP where BPE ends with EOS.
void encodeWordFragments(const TokenizerImpl &v, std::string_view text,
                         const std::vector<Fragment> &fragments,
                         bool addSpecial, std::vector<int32_t> &out) {
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
}

} // namespace

std::vector<int32_t> Tokenizer::tokenize(std::string_view text, bool addSpecial,
                                         bool parseSpecial) const {
  const TokenizerImpl &v = *impl;
  std::vector<Fragment> fragments = partitionSpecial(v, text, parseSpecial);
  std::vector<int32_t> out;
  if (v.kind == ModelKind::SentencePiece)
    encodeSentencePieceFragments(v, text, fragments, addSpecial, out);
  else
    encodeWordFragments(v, text, fragments, addSpecial, out);
  return out;
}

std::string Tokenizer::tokenToPiece(int32_t id, bool special) const {
  if (id < 0 || static_cast<size_t>(id) >= impl->pieces.size())
    return {};
  if (!special && (impl->attr[id] & (AttrUnknown | AttrControl)))
    return {};
  return impl->pieces[id];
}

std::string Tokenizer::detokenize(const std::vector<int32_t> &ids,
                                  bool special) const {
  std::string out;
  bool stripSpace =
      impl->kind == ModelKind::SentencePiece && impl->addSpacePrefix;
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
bool Tokenizer::isEndOfGeneration(int32_t id) const {
  return impl->endOfGeneration.count(id) != 0;
}
std::vector<int32_t> Tokenizer::endOfGenerationIds() const {
  std::vector<int32_t> ids(impl->endOfGeneration.begin(),
                           impl->endOfGeneration.end());
  std::sort(ids.begin(), ids.end());
  return ids;
}
bool Tokenizer::isControl(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl->attr.size() &&
         (impl->attr[id] & AttrControl);
}
int32_t Tokenizer::lookup(std::string_view text) const {
  return impl->find(std::string(text));
}
const std::string &Tokenizer::tokenText(int32_t id) const {
  static const std::string empty;
  return id >= 0 && static_cast<size_t>(id) < impl->text.size() ? impl->text[id]
                                                                : empty;
}

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer &tokenizer,
                                           bool special)
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
