//===- Generator.h - The worker: one job at a time on one slot ---*- C++
//-*-===//
//
// Owns the text run (tokenizer, chat template, session, sampler, KV cache)
// that `run` and `chat` use, and answers one job after another with it:
// the request's messages rendered by the model's chat template exactly as
// `run --chat` renders them (ChatPrompt), its settings on the sampler, and
// TextRun::turn generating into the job's event stream. So a request gives
// the text `run` gives for the same prompt, seed and settings. The KV cache
// keeps the last answer's tokens, and turn() feeds only what follows the
// common prefix.
//
// The next slice replaces the single TextRun by N slots stepping together
// (continuous batching) with per-slot caches and a q8_0 K cache; jobs,
// events and the response bodies stay as they are.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_SERVER_GENERATOR_H
#define INGOT_RUNTIME_SERVER_GENERATOR_H

#include "Job.h"
#include "ServerApi.h"
#include "runtime/core/TextGeneration.h"

#include <atomic>
#include <string>

namespace ingot::rt::server {

class Generator {
public:
  explicit Generator(const Options &o) : run(o) {}

  /// The tokenizer and chat template (fast: before the port is bound, so a
  /// bad --chat-template-file fails the start).
  bool loadText(std::string &error);
  /// The weights, KV cache and threads (slow: /health says 503 meanwhile).
  bool loadModel(std::string &error);

  /// The defaults of every request (-n, sampling flags, the context).
  RequestDefaults defaults() const;

  /// Answers `job`: its events, ending in one Response.
  void answer(Job &job, const std::string &model);

  /// Set at shutdown: the running job stops at its next token.
  std::atomic<bool> stopping{false};

private:
  bool prompt(Job &job, std::string &text, std::vector<int32_t> &ids,
              ApiError &error);

  TextRun run;
  bool haveTemplate = false;
  std::string templateError; ///< why chat requests cannot be rendered
  bool splitReasoning = false;
  uint64_t requests = 0;
};

} // namespace ingot::rt::server

#endif // INGOT_RUNTIME_SERVER_GENERATOR_H
