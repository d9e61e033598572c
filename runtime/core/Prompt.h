//===- Prompt.h - The tokenizer and the prompt's tokens ----------*- C++
//-*-===//
//
// The tokenizer the binary carries, the prompt text turned into token ids,
// and the bound on how much text is read at all: no more bytes than the
// context could hold as tokens (so -f /dev/zero or an endless chat line is
// an error once that many bytes are read).
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_PROMPT_H
#define INGOT_RUNTIME_CORE_PROMPT_H

#include "runtime/tokenizer/Tokenizer.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ingot::rt {

using ingot::tokenizer::Tokenizer;

/// The tokenizer embedded in the binary; an error when there is none or it
/// does not fit the model.
std::unique_ptr<Tokenizer> loadTokenizer(std::string &error);

/// `text` as token ids. A chat template that writes the BOS itself
/// (`fromTemplate`) gets no second one.
std::vector<int32_t> tokenizePrompt(const Tokenizer &tok,
                                    const std::string &text, bool fromTemplate);

/// --verbose-prompt: the ids on stderr.
void printPromptIds(const std::vector<int32_t> &ids);

/// The most input bytes one token can stand for: its text (special token
/// text included; SentencePiece's "\u2581" and byte-level BPE's code points
/// are never shorter than the bytes they encode).
uint64_t longestTokenBytes(const Tokenizer &tok);

/// Text longer than this cannot fit `context` positions: it would need more
/// tokens than there are positions.
uint64_t textByteLimit(int64_t context, uint64_t tokenBytes);
/// Where textByteLimit's bound comes from, for the messages.
std::string textLimitReason(int64_t context, uint64_t tokenBytes);

/// A seed from /dev/urandom (or the clock), within int64.
uint64_t randomSeed();

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_PROMPT_H
