//===- TextGeneration.h - Prompt tokens in, streamed text out ----*- C++
//-*-===//
//
// One text run: the tokenizer, the conversation, the session and the
// sampler, set up once. Each turn feeds the prompt (reusing the KV cache
// for the prefix it already holds), then samples token by token into the
// text sink until end of generation, a stop string, -n or a full context.
// The decode loop allocates nothing.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_TEXTGENERATION_H
#define INGOT_RUNTIME_CORE_TEXTGENERATION_H

#include "ChatPrompt.h"
#include "Prompt.h"
#include "Sampler.h"
#include "Session.h"
#include "TextSink.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ingot::rt {

struct Options;

/// Why generation ended.
enum class FinishReason {
  EndOfGeneration, ///< the model's end-of-generation token
  StopString,      ///< a stop string
  Length,          ///< the requested number of tokens (-n, max_tokens)
  ContextFull,     ///< no position left in the context
};

struct TextTimings {
  int64_t promptTokens = 0, genTokens = 0;
  double promptSeconds = 0, firstTokenSeconds = 0, genSeconds = 0;
  FinishReason finish = FinishReason::EndOfGeneration;
};

/// The tokens the KV cache holds, position by position (storage: the
/// arena's history, one id per context position).
struct KvTokens {
  int32_t *ids = nullptr;
  int64_t size = 0;
};

struct TextRun {
  explicit TextRun(const Options &o) : o(o) {}

  const Options &o;
  std::unique_ptr<Tokenizer> tok;
  /// longestTokenBytes(*tok): bounds the text read.
  uint64_t tokenBytes = 1;
  ChatPrompt chat;
  /// Reasoning (<think>...</think>) goes to stderr.
  bool splitReasoning = false;
  SamplerParams sampling;
  /// -n; -1: until end of generation or a full context.
  int64_t nGen = -1;
  /// Generation ends before the first of these (-r/--stop).
  std::vector<std::string> stops;
  /// KV cache regions the session holds (serve's slots; 1 otherwise).
  int64_t sequences = 1;
  Session session;
  Sampler sampler;
  KvTokens cache;

  /// Sets up the session and the sampler for a first prompt of
  /// `promptTokens` tokens.
  bool start(int64_t promptTokens, std::string &error);
  /// New sampling settings (and seed) for the next turns.
  bool setSampling(const SamplerParams &params, std::string &error);
  /// Generates the answer to `ids` (rendered from `text`) into `output`;
  /// `raw` receives it (stop string excluded) for the conversation.
  bool turn(const std::vector<int32_t> &ids, const std::string &text,
            TextOutput &output, std::string &raw, TextTimings &t,
            std::string &error);
  /// Ends a turn's output (a newline after a chat answer) and prints its
  /// timings to stderr.
  bool finishTurn(bool newline, const TextTimings &t, std::string &error);
};

/// Where the cached tokens and `ids` first differ: the prompt tokens the
/// cache already holds. At least one token of `ids` is always left to feed
/// (its logits are needed).
int64_t commonPrefix(const KvTokens &cache, const std::vector<int32_t> &ids);

/// Whether answers are split into reasoning and content: as
/// --reasoning-format says, or (auto) when the vocabulary or the chat
/// template `templ` knows <think>.
bool splitsReasoning(const Options &o, const Tokenizer &tok,
                     const std::string &templ);

/// The interactive part of `chat` and `run --chat -i`: one user message per
/// stdin line until end of input.
bool runChatLoop(TextRun &run, std::string &error);

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_TEXTGENERATION_H
