//===- Prompt.cpp - The tokenizer and the prompt's tokens -----------------===//
#include "Prompt.h"
#include "CommandLine.h"
#include "Console.h"
#include "Error.h"
#include "ingot/ModelABI.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

namespace ingot::rt {

using ingot::tokenizer::TokenizerData;

std::unique_ptr<Tokenizer> loadTokenizer(std::string &error) {
  if (ingot_tokenizer_data_size == 0) {
    fail(error, "this binary carries no tokenizer; use run --tokens IDS");
    return nullptr;
  }
  TokenizerData data;
  if (!TokenizerData::deserialize(
          ingot_tokenizer_data, size_t(ingot_tokenizer_data_size), data, error))
    return nullptr;
  std::unique_ptr<Tokenizer> tok = Tokenizer::create(data, error);
  if (!tok) {
    error = "tokenizer: " + error;
    return nullptr;
  }
  if (int64_t(tok->vocabSize()) > ingot_model_info.vocab_size) {
    fail(error, "the tokenizer has %zu tokens, the model only %" PRId64,
         tok->vocabSize(), ingot_model_info.vocab_size);
    return nullptr;
  }
  return tok;
}

std::vector<int32_t> tokenizePrompt(const Tokenizer &tok,
                                    const std::string &text,
                                    bool fromTemplate) {
  bool addSpecial = true;
  if (fromTemplate && tok.bos() >= 0) {
    const std::string &bos = tok.tokenText(tok.bos());
    if (!bos.empty() && text.compare(0, bos.size(), bos) == 0)
      addSpecial = false;
  }
  return tok.tokenize(text, addSpecial, true);
}

void printPromptIds(const std::vector<int32_t> &ids) {
  std::fprintf(stderr, "%s: prompt tokens (%zu):", programName(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i)
    std::fprintf(stderr, "%s%d", i ? "," : " ", ids[i]);
  std::fprintf(stderr, "\n");
}

uint64_t longestTokenBytes(const Tokenizer &tok) {
  uint64_t longest = 1;
  for (size_t id = 0; id < tok.vocabSize(); ++id)
    longest = std::max<uint64_t>(longest, tok.tokenText(int32_t(id)).size());
  return longest;
}

uint64_t textByteLimit(int64_t context, uint64_t tokenBytes) {
  uint64_t bytes;
  if (__builtin_mul_overflow(uint64_t(context), tokenBytes, &bytes) ||
      bytes > kMaxPromptBytes)
    return kMaxPromptBytes;
  return bytes;
}

std::string textLimitReason(int64_t context, uint64_t tokenBytes) {
  if (textByteLimit(context, tokenBytes) == kMaxPromptBytes)
    return "the most prompt text this binary reads";
  return format("the most text a context of %" PRId64
                " positions can hold (the longest token has %" PRIu64 " bytes)",
                context, tokenBytes);
}

uint64_t randomSeed() {
  uint64_t seed = 0;
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (::read(fd, &seed, sizeof(seed)) != ssize_t(sizeof(seed)))
      seed = 0;
    ::close(fd);
  }
  if (!seed)
    seed = uint64_t(now() * 1e9) ^ uint64_t(getpid());
  return seed & 0x7fffffffffffffffull;
}

} // namespace ingot::rt
