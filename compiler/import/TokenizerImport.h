//===- TokenizerImport.h - GGUF tokenizer keys -> TokenizerData -*- C++ -*-===//
#ifndef INGOT_IMPORT_TOKENIZERIMPORT_H
#define INGOT_IMPORT_TOKENIZERIMPORT_H

#include "runtime/tokenizer/Tokenizer.h"

#include "llvm/Support/Error.h"

namespace ingot::gguf {
class GGUFFile;
}

namespace ingot {

/// Checks the tokenizer.* arrays against each other (one score and one
/// token type in range per token); an error naming the key.
llvm::Error checkTokenizerMetadata(const gguf::GGUFFile &file);

/// The tokenizer described by `file`'s tokenizer.* keys; an error naming
/// the key when one is missing or malformed.
llvm::Expected<tokenizer::TokenizerData>
readTokenizerData(const gguf::GGUFFile &file);

} // namespace ingot

#endif // INGOT_IMPORT_TOKENIZERIMPORT_H
