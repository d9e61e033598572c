//===- TokenizerImport.h - GGUF tokenizer keys -> TokenizerData -*- C++ -*-===//
#ifndef INGOT_IMPORT_TOKENIZERIMPORT_H
#define INGOT_IMPORT_TOKENIZERIMPORT_H

#include "runtime/tokenizer/Tokenizer.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>

namespace ingot::gguf {
class GGUFFile;
}

namespace ingot {

/// Checks the tokenizer.* arrays against each other (one score and one
/// token type in range per token); an error naming the key.
llvm::Error checkTokenizerMetadata(const gguf::GGUFFile &file);

/// The id in special-token key `key` (tokenizer.ggml.bos_token_id ...) of a
/// file checkTokenizerMetadata accepted; none when the key is missing or
/// holds llama.cpp's "no token" (-1 / 0xFFFFFFFF).
std::optional<int64_t> specialTokenId(const gguf::GGUFFile &file,
                                      llvm::StringRef key);

/// The tokenizer described by `file`'s tokenizer.* keys; an error naming
/// the key when one is missing or malformed.
llvm::Expected<tokenizer::TokenizerData>
readTokenizerData(const gguf::GGUFFile &file);

} // namespace ingot

#endif // INGOT_IMPORT_TOKENIZERIMPORT_H
