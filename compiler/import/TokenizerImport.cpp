//===- TokenizerImport.cpp - GGUF tokenizer keys -> TokenizerData ---------===//
//
// Builds the runtime tokenizer's data from a GGUF file's tokenizer.* keys;
// `ingot tokenize` uses it directly and `ingot compile` embeds its
// serialized form in every emitted binary, so both share one tokenizer.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/TokenizerImport.h"

#include "compiler/gguf/GGUFFile.h"

#include "llvm/ADT/StringExtras.h"

using namespace llvm;
using namespace ingot::gguf;
using ingot::tokenizer::TokenizerData;

namespace {

/// llama.cpp writes "no such token" as its LLAMA_TOKEN_NULL, -1, which
/// lands in the file as u32 0xFFFFFFFF (stories260K and every llama.cpp
/// conversion has such separator and padding ids).
bool isNoToken(const Value &v) {
  return v.getSigned() == -1 || v.getUnsigned() == UINT32_MAX;
}

std::optional<int64_t> getId(const GGUFFile &file, StringRef key) {
  return ingot::specialTokenId(file, key);
}

int8_t getFlag(const GGUFFile &file, StringRef key) {
  if (auto b = file.getBool(key))
    return *b ? 1 : 0;
  return -1;
}

template <typename T> std::vector<T> scalarArray(const Value &v) {
  std::vector<T> out(v.size());
  ArrayRef<uint8_t> raw = v.rawElements();
  // memcpy must not get the null data() of an empty vector, even for 0 bytes.
  if (!out.empty() && raw.size() >= out.size() * sizeof(T))
    std::memcpy(out.data(), raw.data(), out.size() * sizeof(T));
  return out;
}

} // namespace

namespace ingot {

std::optional<int64_t> specialTokenId(const GGUFFile &file, StringRef key) {
  const Value *v = file.lookup(key);
  if (!v || isNoToken(*v))
    return std::nullopt;
  // checkTokenizerMetadata has rejected every other non-id.
  if (auto id = v->getUnsigned(); id && *id <= INT32_MAX)
    return static_cast<int64_t>(*id);
  return std::nullopt;
}

Error checkTokenizerMetadata(const GGUFFile &file) {
  auto fail = [&](const Twine &what) {
    return createStringError(inconvertibleErrorCode(), "%s: %s",
                             file.getPath().str().c_str(), what.str().c_str());
  };
  const Value *tokens = file.lookup("tokenizer.ggml.tokens");
  if (!tokens)
    return Error::success();
  if (tokens->getType() != ValueType::Array ||
      tokens->getElementType() != ValueType::String)
    return fail("tokenizer.ggml.tokens is not a string array");
  const uint64_t count = tokens->size();
  if (const Value *scores = file.lookup("tokenizer.ggml.scores"))
    if (scores->getType() != ValueType::Array ||
        (scores->getElementType() != ValueType::Float32 &&
         scores->getElementType() != ValueType::Int32))
      return fail("tokenizer.ggml.scores is not an f32 or i32 array");
  // The per-token arrays are indexed by token id: one entry per token.
  for (const char *key : {"tokenizer.ggml.scores", "tokenizer.ggml.token_type"})
    if (const Value *v = file.lookup(key))
      if (v->getType() == ValueType::Array && v->size() != count)
        return fail(Twine(key) + " has " + Twine(v->size()) + " entries for " +
                    Twine(count) + " tokens");
  if (const Value *types = file.lookup("tokenizer.ggml.token_type")) {
    if (types->getType() != ValueType::Array ||
        types->getElementType() != ValueType::Int32)
      return fail("tokenizer.ggml.token_type is not an i32 array");
    for (uint64_t i = 0; i < types->size(); ++i) {
      int64_t type = *types->scalarElement(i).getSigned();
      if (type < static_cast<int64_t>(tokenizer::TokenType::Undefined) ||
          type > static_cast<int64_t>(tokenizer::TokenType::Byte))
        return fail("tokenizer.ggml.token_type[" + Twine(i) + "] is " +
                    Twine(type) + " (token types are 0 to 6)");
    }
  }
  // A special token id outside the vocabulary makes the binary print or
  // stop on a token that does not exist. Only llama.cpp's "none" (-1, or
  // 0xFFFFFFFF as u32) is allowed; gguf-py's converter skips every other
  // negative or out-of-range id, so such an id is a broken file.
  auto checkId = [&](const Twine &key, const Value &v) -> Error {
    if (!v.isInteger())
      return fail(key + " must be an integer (it is " +
                  valueTypeName(v.getType()) + ")");
    if (isNoToken(v))
      return Error::success();
    std::optional<uint64_t> id = v.getUnsigned();
    if (!id || *id >= count) {
      std::string shown =
          id ? std::to_string(*id) : std::to_string(*v.getSigned());
      return fail(key + ": " + shown + " is not a token id (vocabulary has " +
                  Twine(count) + " tokens)");
    }
    return Error::success();
  };
  for (const char *key :
       {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.seperator_token_id",
        "tokenizer.ggml.padding_token_id", "tokenizer.ggml.mask_token_id",
        "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"})
    if (const Value *v = file.lookup(key))
      if (Error e = checkId(key, *v))
        return e;
  if (const Value *eog = file.lookup("tokenizer.ggml.eog_token_ids")) {
    if (eog->getType() != ValueType::Array)
      return fail("tokenizer.ggml.eog_token_ids must be an integer array");
    for (uint64_t i = 0; i < eog->size(); ++i)
      if (Error e = checkId("tokenizer.ggml.eog_token_ids[" + Twine(i) + "]",
                            eog->element(i)))
        return e;
  }
  return Error::success();
}

/// The runtime tokenizer description of a GGUF file's `tokenizer.*` keys.
Expected<TokenizerData> readTokenizerData(const GGUFFile &file) {
  if (Error e = checkTokenizerMetadata(file))
    return std::move(e);
  TokenizerData d;
  auto model = file.getString("tokenizer.ggml.model");
  if (!model)
    return createStringError(
        "'%s' has no tokenizer (tokenizer.ggml.model is missing)",
        file.getPath().str().c_str());
  d.model = model->str();
  if (auto pre = file.getString("tokenizer.ggml.pre"))
    d.pre = pre->str();
  if (auto name = file.getString("general.name"))
    d.modelName = name->str();

  const Value *tokens = file.lookup("tokenizer.ggml.tokens");
  if (!tokens || tokens->getType() != ValueType::Array ||
      tokens->getElementType() != ValueType::String)
    return createStringError(
        "tokenizer.ggml.tokens is missing or not a string array");
  for (StringRef t : tokens->strings())
    d.tokens.push_back(t.str());

  if (const Value *scores = file.lookup("tokenizer.ggml.scores")) {
    if (scores->getType() != ValueType::Array)
      return createStringError("tokenizer.ggml.scores is not an array");
    if (scores->getElementType() == ValueType::Float32) {
      d.scores = scalarArray<float>(*scores);
    } else if (scores->getElementType() == ValueType::Int32) {
      for (int32_t s : scalarArray<int32_t>(*scores))
        d.scores.push_back(static_cast<float>(s));
    } else {
      return createStringError("tokenizer.ggml.scores has element type %s",
                               valueTypeName(scores->getElementType()));
    }
  }
  if (const Value *types = file.lookup("tokenizer.ggml.token_type")) {
    if (types->getType() != ValueType::Array ||
        types->getElementType() != ValueType::Int32)
      return createStringError("tokenizer.ggml.token_type is not an i32 array");
    d.tokenTypes = scalarArray<int32_t>(*types);
  }
  if (const Value *merges = file.lookup("tokenizer.ggml.merges")) {
    if (merges->getType() != ValueType::Array ||
        merges->getElementType() != ValueType::String)
      return createStringError("tokenizer.ggml.merges is not a string array");
    for (StringRef m : merges->strings())
      d.merges.push_back(m.str());
  }

  struct IdKey {
    const char *key;
    int64_t *field;
  };
  for (IdKey k : {IdKey{"tokenizer.ggml.bos_token_id", &d.bosId},
                  IdKey{"tokenizer.ggml.eos_token_id", &d.eosId},
                  IdKey{"tokenizer.ggml.unknown_token_id", &d.unkId},
                  IdKey{"tokenizer.ggml.seperator_token_id", &d.sepId},
                  IdKey{"tokenizer.ggml.padding_token_id", &d.padId},
                  IdKey{"tokenizer.ggml.mask_token_id", &d.maskId},
                  IdKey{"tokenizer.ggml.eot_token_id", &d.eotId},
                  IdKey{"tokenizer.ggml.eom_token_id", &d.eomId}})
    if (auto id = getId(file, k.key))
      *k.field = *id;
  d.addBos = getFlag(file, "tokenizer.ggml.add_bos_token");
  d.addEos = getFlag(file, "tokenizer.ggml.add_eos_token");
  d.addSep = getFlag(file, "tokenizer.ggml.add_sep_token");
  d.addSpacePrefix = getFlag(file, "tokenizer.ggml.add_space_prefix");
  return d;
}

} // namespace ingot
