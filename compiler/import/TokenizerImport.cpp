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

std::optional<int64_t> getId(const GGUFFile &file, StringRef key) {
  if (auto v = file.getUnsigned(key))
    return static_cast<int64_t>(*v);
  return std::nullopt;
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

Error checkTokenizerMetadata(const GGUFFile &file) {
  auto fail = [&](const Twine &what) {
    return createStringError(inconvertibleErrorCode(), "%s: %s",
                             file.getPath().str().c_str(),
                             what.str().c_str());
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
        return fail(Twine(key) + " has " + Twine(v->size()) +
                    " entries for " + Twine(count) + " tokens");
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
  return Error::success();
}

/// The runtime tokenizer description of a GGUF file's `tokenizer.*` keys.
Expected<TokenizerData> readTokenizerData(const GGUFFile &file) {
  if (Error e = checkTokenizerMetadata(file))
    return std::move(e);
  TokenizerData d;
  auto model = file.getString("tokenizer.ggml.model");
  if (!model)
    return createStringError("'%s' has no tokenizer (tokenizer.ggml.model is missing)",
                             file.getPath().str().c_str());
  d.model = model->str();
  if (auto pre = file.getString("tokenizer.ggml.pre"))
    d.pre = pre->str();
  if (auto name = file.getString("general.name"))
    d.modelName = name->str();

  const Value *tokens = file.lookup("tokenizer.ggml.tokens");
  if (!tokens || tokens->getType() != ValueType::Array ||
      tokens->getElementType() != ValueType::String)
    return createStringError("tokenizer.ggml.tokens is missing or not a string array");
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
    if (types->getType() != ValueType::Array || types->getElementType() != ValueType::Int32)
      return createStringError("tokenizer.ggml.token_type is not an i32 array");
    d.tokenTypes = scalarArray<int32_t>(*types);
  }
  if (const Value *merges = file.lookup("tokenizer.ggml.merges")) {
    if (merges->getType() != ValueType::Array || merges->getElementType() != ValueType::String)
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
