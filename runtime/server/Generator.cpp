//===- Generator.cpp - The worker: one job at a time on one slot ----------===//
#include "Generator.h"
#include "runtime/core/CommandLine.h"
#include "runtime/core/Console.h"
#include "runtime/core/Error.h"
#include "runtime/core/Prompt.h"
#include "runtime/core/Warmup.h"

#include <cinttypes>
#include <cstdio>
#include <ctime>

namespace ingot::rt::server {
namespace {

/// The answer's text as it comes out of the text sink: streamed as chunks,
/// or collected for one body. A cancelled job fails the output, which ends
/// generation at that token.
class JobOutput final : public TextOutput {
public:
  JobOutput(Job &job, const ResponseId &rid, const std::atomic<bool> &stopping)
      : job(job), rid(rid), stopping(stopping) {}

  bool reasoning(std::string_view text, std::string &error) override {
    return deliver({}, text, error);
  }
  bool answer(std::string_view text, std::string &error) override {
    return deliver(text, {}, error);
  }

  std::string content, thought;

private:
  bool deliver(std::string_view text, std::string_view reasoning,
               std::string &error) {
    if (job.cancelled.load(std::memory_order_relaxed) ||
        stopping.load(std::memory_order_relaxed))
      return fail(error, "cancelled");
    if (job.request.stream)
      job.post({JobEvent::Kind::Chunk, 200,
                chunkBody(job.request.endpoint, rid, false, text, reasoning,
                          nullptr)});
    else {
      content.append(text);
      thought.append(reasoning);
    }
    return true;
  }

  Job &job;
  const ResponseId &rid;
  const std::atomic<bool> &stopping;
};

const char *finishName(FinishReason reason) {
  return reason == FinishReason::Length || reason == FinishReason::ContextFull
             ? "length"
             : "stop";
}

void respond(Job &job, int status, const std::string &message) {
  job.post({JobEvent::Kind::Response, status, errorBody(status, message)});
}

} // namespace

bool Generator::loadText(std::string &error) {
  const Options &o = run.o;
  run.tok = loadTokenizer(error);
  if (!run.tok)
    return false;
  run.tokenBytes = longestTokenBytes(*run.tok);
  // Without a template (none in the model, none given) the server still
  // answers /v1/completions; chat requests get the reason.
  haveTemplate = run.chat.load(o, *run.tok, templateError);
  if (!haveTemplate && !o.templateFile.empty()) {
    error = templateError;
    return false;
  }
  splitReasoning = splitsReasoning(o, *run.tok, run.chat.source());
  return true;
}

bool Generator::loadModel(std::string &error) {
  const Options &o = run.o;
  run.sampling = o.sampling;
  run.nGen = -1;
  // Warmed up before /health says ready: the first client does not pay
  // for faulting in the weights (runtime/core/Warmup.h).
  return run.start(0, error) &&
         warmUp(run.session, run.session.threadPlan.warmupRounds, error);
}

RequestDefaults Generator::defaults() const {
  const Options &o = run.o;
  RequestDefaults d;
  d.sampling = o.sampling;
  d.haveSeed = o.haveSeed;
  d.maxTokens = o.nGenerate < -1 ? -1 : o.nGenerate;
  d.contextLength = run.session.contextLength;
  return d;
}

bool Generator::prompt(Job &job, std::string &text, std::vector<int32_t> &ids,
                       ApiError &error) {
  const GenerationRequest &r = job.request;
  const bool chat = r.endpoint == Endpoint::ChatCompletions;
  if (chat) {
    if (!haveTemplate) {
      error = {400, templateError};
      return false;
    }
    run.chat.clear();
    for (const ingot::chat::ChatMessage &m : r.messages)
      run.chat.add(m.role, m.content);
    std::string renderError;
    if (!run.chat.render(text, renderError)) {
      error = {400, renderError};
      return false;
    }
  } else {
    text = r.prompt;
  }
  const int64_t context = run.session.contextLength;
  // Text longer than this cannot fit the context; the tokenizer's work for
  // it stays bounded.
  if (text.size() > textByteLimit(context, run.tokenBytes)) {
    error = {400, "the prompt is longer than the context can hold: " +
                      textLimitReason(context, run.tokenBytes)};
    return false;
  }
  ids = tokenizePrompt(*run.tok, text, chat);
  if (ids.empty()) {
    error = {400, "the prompt has no tokens"};
    return false;
  }
  const int64_t n = int64_t(ids.size());
  if (n >= context) {
    error = {400, format("the prompt has %" PRId64
                         " tokens, the context holds %" PRId64
                         " (and one more is needed for the answer)",
                         n, context)};
    return false;
  }
  if (r.maxTokensGiven && n + r.maxTokens > context) {
    error = {400, format("the prompt has %" PRId64
                         " tokens and max_tokens is %" PRId64
                         ": more than the context's %" PRId64 " positions",
                         n, r.maxTokens, context)};
    return false;
  }
  return true;
}

void Generator::answer(Job &job, const std::string &model) {
  const GenerationRequest &r = job.request;
  const bool chat = r.endpoint == Endpoint::ChatCompletions;
  ResponseId rid;
  rid.id = format("%s-%" PRIu64, chat ? "chatcmpl" : "cmpl", ++requests);
  rid.created = int64_t(std::time(nullptr));
  rid.model = model;
  std::string text;
  std::vector<int32_t> ids;
  ApiError apiError;
  if (!prompt(job, text, ids, apiError))
    return respond(job, apiError.status, apiError.message);
  SamplerParams sampling = r.sampling;
  if (!r.seedGiven && !run.o.haveSeed)
    sampling.seed = randomSeed();
  std::string error;
  if (!run.setSampling(sampling, error))
    return respond(job, 500, error);
  run.nGen = r.maxTokens;
  run.stops = r.stops;
  run.splitReasoning = chat && splitReasoning;
  if (r.stream && chat)
    job.post({JobEvent::Kind::Chunk, 200,
              chunkBody(r.endpoint, rid, true, {}, {}, nullptr)});
  JobOutput output(job, rid, stopping);
  TextTimings t;
  std::string raw;
  if (!run.turn(ids, text, output, raw, t, error)) {
    const bool cancelled = job.cancelled.load() || stopping.load();
    std::fprintf(stderr, "%s: serve: %s %s after %" PRId64 " tokens\n",
                 programName(), rid.id.c_str(),
                 cancelled ? "cancelled" : error.c_str(), t.genTokens);
    if (stopping.load())
      return respond(job, 503, "the server is shutting down");
    return respond(job, 500, cancelled ? "cancelled" : error);
  }
  AnswerSummary summary;
  summary.promptTokens = int64_t(ids.size());
  summary.completionTokens = t.genTokens;
  summary.finishReason = finishName(t.finish);
  int64_t steps = t.genTokens > 1 ? t.genTokens - 1 : 0;
  std::fprintf(
      stderr,
      "%s: serve: %s prompt %zu tokens (%" PRId64 " fed) in %.2f ms, %" PRId64
      " generated in %.2f ms (%.2f tok/s), finish %s\n",
      programName(), rid.id.c_str(), ids.size(), t.promptTokens,
      t.promptSeconds * 1e3, t.genTokens, t.genSeconds * 1e3,
      steps > 0 && t.genSeconds > 0 ? double(steps) / t.genSeconds : 0.0,
      summary.finishReason);
  if (!r.stream)
    return job.post({JobEvent::Kind::Response, 200,
                     completionBody(r.endpoint, rid, output.content,
                                    output.thought, summary)});
  job.post({JobEvent::Kind::Chunk, 200,
            chunkBody(r.endpoint, rid, false, {}, {}, summary.finishReason)});
  if (r.includeUsage)
    job.post(
        {JobEvent::Kind::Chunk, 200, usageChunkBody(r.endpoint, rid, summary)});
  job.post({JobEvent::Kind::Response, 200, std::string()});
}

} // namespace ingot::rt::server
