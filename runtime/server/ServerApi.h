//===- ServerApi.h - OpenAI request and response bodies ----------*- C++
//-*-===//
//
// The JSON side of the server: request bodies checked field by field into a
// GenerationRequest (every wrong type, unknown role, bad range or malformed
// body is an ApiError naming the field, for a 400), and the response
// bodies in OpenAI's shapes (chat.completion, chat.completion.chunk,
// text_completion, model list, {"error": {...}}). nlohmann-json does the
// parsing (it rejects invalid UTF-8 in strings); generated text that is not
// valid UTF-8 is written with U+FFFD replacements, never an exception.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_SERVER_SERVERAPI_H
#define INGOT_RUNTIME_SERVER_SERVERAPI_H

#include "runtime/chat/ChatTemplate.h"
#include "runtime/core/Sampler.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ingot::rt::server {

enum class Endpoint { ChatCompletions, Completions };

/// What a request may leave out: the server's command-line defaults.
struct RequestDefaults {
  SamplerParams sampling;
  bool haveSeed = false;  ///< -s given: requests without a seed use it
  int64_t maxTokens = -1; ///< -n; -1: until end of generation / context
  int64_t contextLength = 0;
};

struct GenerationRequest {
  Endpoint endpoint = Endpoint::ChatCompletions;
  std::vector<ingot::chat::ChatMessage> messages; ///< chat
  std::string prompt;                             ///< completions
  bool stream = false;
  bool includeUsage = false; ///< stream_options.include_usage
  /// max_tokens / max_completion_tokens; -1: until end of generation or a
  /// full context.
  int64_t maxTokens = -1;
  bool maxTokensGiven = false;
  SamplerParams sampling;
  bool seedGiven = false;
  std::vector<std::string> stops;
};

struct ApiError {
  int status = 400;
  std::string message;
};

/// Parses and checks a request body for `endpoint`; false and `error`
/// (status 400 and a message naming the field) when it is not valid.
bool parseRequest(Endpoint endpoint, std::string_view body,
                  const RequestDefaults &defaults, GenerationRequest &request,
                  ApiError &error);

/// {"error": {"message", "type", "code"}} for `status`.
std::string errorBody(int status, std::string_view message);

/// Usage and ending of one answer, for the response bodies.
struct AnswerSummary {
  int64_t promptTokens = 0, completionTokens = 0;
  /// Of promptTokens: those the KV cache already held (prefix reuse).
  int64_t cachedTokens = 0;
  const char *finishReason = "stop"; ///< "stop" or "length"
};

/// The identity of one response: its id, creation time and model name.
struct ResponseId {
  std::string id;
  int64_t created = 0;
  std::string model;
};

/// The non-streamed answer (chat.completion or text_completion).
std::string completionBody(Endpoint endpoint, const ResponseId &rid,
                           std::string_view content, std::string_view reasoning,
                           const AnswerSummary &summary);
/// One streamed chunk. Chat: `role` for the first, else reasoning and/or
/// content deltas; `finishReason` (null for none) on the last.
std::string chunkBody(Endpoint endpoint, const ResponseId &rid, bool role,
                      std::string_view content, std::string_view reasoning,
                      const char *finishReason);
/// The usage chunk after the last (stream_options.include_usage).
std::string usageChunkBody(Endpoint endpoint, const ResponseId &rid,
                           const AnswerSummary &summary);
/// What the connection reads back from an answer, for /metrics: the
/// `usage` of a body or usage chunk, and what kind a streamed chunk is.
struct ChunkFacts {
  bool text = false;   ///< carries generated text (content or reasoning)
  bool finish = false; ///< carries a finish_reason
  bool usage = false;  ///< the usage chunk (no choices)
  int64_t promptTokens = 0, completionTokens = 0; ///< when `usage`
};
/// Facts of one chunk (chunkBody or usageChunkBody output), or of a whole
/// completionBody (its `usage` and finish); all false for anything else.
ChunkFacts readChunkFacts(std::string_view body);

/// GET /v1/models.
std::string modelsBody(const std::string &model, int64_t created,
                       int64_t contextLength);

} // namespace ingot::rt::server

#endif // INGOT_RUNTIME_SERVER_SERVERAPI_H
