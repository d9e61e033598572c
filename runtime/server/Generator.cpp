//===- Generator.cpp - The worker: N slots stepping together --------------===//
#include "Generator.h"
#include "runtime/core/CommandLine.h"
#include "runtime/core/Console.h"
#include "runtime/core/Error.h"
#include "runtime/core/Prompt.h"
#include "runtime/core/Warmup.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace ingot::rt::server {
namespace {

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
  run.sequences = o.parallel;
  // Warmed up before /health says ready: the first client does not pay
  // for faulting in the weights (runtime/core/Warmup.h).
  if (!run.start(0, error) ||
      !warmUp(run.session, run.session.threadPlan.warmupRounds, error))
    return false;
  Session &s = run.session;
  // Every step holds one token of each generating slot.
  int64_t n = std::min(o.parallel, s.maxBatch);
  if (n < o.parallel)
    std::fprintf(stderr,
                 "%s: serve: %" PRId64 " slots, not %" PRId64
                 ": a step holds at most %" PRId64 " tokens\n",
                 programName(), n, o.parallel, s.maxBatch);
  const std::vector<int32_t> endOfGeneration = run.tok->endOfGenerationIds();
  for (int64_t i = 0; i < n; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->index = int32_t(i);
    slot->cache.ids = s.arena.history() + i * s.contextLength;
    if (!slot->sampler.init(s.vocab, s.contextLength, run.sampling, error))
      return false;
    slot->sampler.setEndOfGeneration(endOfGeneration);
    slots.push_back(std::move(slot));
  }
  stepSequences.resize(size_t(s.maxBatch));
  decoding.reserve(slots.size());
  reading.reserve(slots.size());
  chunks.reserve(slots.size());
  return true;
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

bool Generator::hasFreeSlot() const {
  for (const std::unique_ptr<Slot> &s : slots)
    if (!s->busy())
      return true;
  return false;
}

bool Generator::anyBusy() const {
  for (const std::unique_ptr<Slot> &s : slots)
    if (s->busy())
      return true;
  return false;
}

Slot *Generator::freeSlotFor(const std::vector<int32_t> &ids, int64_t &cached) {
  Slot *best = nullptr;
  cached = -1;
  for (const std::unique_ptr<Slot> &s : slots) {
    if (s->busy())
      continue;
    int64_t common = commonPrefix(s->cache, ids);
    if (common > cached || (common == cached && s->admitted < best->admitted)) {
      best = s.get();
      cached = common;
    }
  }
  return best;
}

void Generator::admit(std::shared_ptr<Job> job) {
  if (job->cancelled)
    return;
  const GenerationRequest &r = job->request;
  const bool chat = r.endpoint == Endpoint::ChatCompletions;
  ResponseId rid;
  rid.id = format("%s-%" PRIu64, chat ? "chatcmpl" : "cmpl", ++requests);
  rid.created = int64_t(std::time(nullptr));
  rid.model = model;
  const double tStart = now();
  std::string text;
  std::vector<int32_t> ids;
  ApiError apiError;
  if (!prompt(*job, text, ids, apiError))
    return respond(*job, apiError.status, apiError.message);
  int64_t cached = 0;
  Slot *slot = freeSlotFor(ids, cached);
  SamplerParams sampling = r.sampling;
  if (!r.seedGiven && !run.o.haveSeed)
    sampling.seed = randomSeed();
  std::string error;
  if (!slot->sampler.init(run.session.vocab, run.session.contextLength,
                          sampling, error))
    return respond(*job, 500, error);
  slot->sampler.resetHistory();
  for (int32_t id : ids)
    slot->sampler.accept(id);
  slot->job = std::move(job);
  slot->admitted = ++admissions;
  slot->rid = rid;
  slot->prompt = std::move(ids);
  slot->cache.size = cached;
  slot->fed = slot->reused = cached;
  slot->nGen = r.maxTokens;
  slot->sampled = 0;
  slot->pending = -1;
  slot->tStart = tStart;
  slot->tPrompt = slot->tFirst = 0;
  const bool split = chat && splitReasoning;
  slot->output = std::make_unique<JobOutput>(*slot->job, slot->rid, stopping);
  slot->sink = std::make_unique<TextSink>(
      r.stops, split, split && endsInsideReasoning(text), *slot->output);
  slot->printer = std::make_unique<TokenPrinter>(*run.tok, *slot->sink);
  if (r.stream && chat)
    slot->job->post({JobEvent::Kind::Chunk, 200,
                     chunkBody(r.endpoint, slot->rid, true, {}, {}, nullptr)});
}

void Generator::abort(Slot &s, int status, const std::string &message) {
  const bool cancelled = s.job->cancelled.load() || stopping.load();
  std::fprintf(stderr, "%s: serve: %s %s after %" PRId64 " tokens\n",
               programName(), s.rid.id.c_str(),
               cancelled ? "cancelled" : message.c_str(), s.sampled);
  if (stopping.load())
    respond(*s.job, 503, "the server is shutting down");
  else
    respond(*s.job, cancelled ? 500 : status,
            cancelled ? "cancelled" : message);
  s.release();
}

void Generator::dropCancelled() {
  for (const std::unique_ptr<Slot> &s : slots)
    if (s->busy() && (stopping.load() || s->job->cancelled.load()))
      abort(*s, 500, "cancelled");
}

void Generator::finish(Slot &s, FinishReason reason, int64_t generated) {
  std::string error;
  if (!s.printer->finish(error))
    return abort(s, 500, error);
  const Session &session = run.session;
  if (reason == FinishReason::ContextFull)
    std::fprintf(stderr, "%s: serve: %s: the context is full (%s)\n",
                 programName(), s.rid.id.c_str(),
                 session.contextLimit().c_str());
  const double tEnd = now();
  if (s.tFirst == 0)
    s.tFirst = s.tPrompt;
  const double promptSeconds = s.tPrompt - s.tStart,
               genSeconds = tEnd - s.tFirst;
  const GenerationRequest &r = s.job->request;
  AnswerSummary summary;
  summary.promptTokens = int64_t(s.prompt.size());
  summary.cachedTokens = s.reused;
  summary.completionTokens = generated;
  summary.finishReason = finishName(reason);
  // Generation speed counts the tokens after the first (whose time is in
  // the time to first token).
  int64_t steps = generated > 1 ? generated - 1 : 0;
  std::fprintf(stderr,
               "%s: serve: %s slot %d prompt %zu tokens (%" PRId64
               " cached, %" PRId64 " fed) in %.2f ms, first token after "
               "%.2f ms, %" PRId64 " generated in %.2f ms (%.2f tok/s), "
               "finish %s\n",
               programName(), s.rid.id.c_str(), s.index, s.prompt.size(),
               s.reused, int64_t(s.prompt.size()) - s.reused,
               promptSeconds * 1e3, (s.tFirst - s.tStart) * 1e3, generated,
               genSeconds * 1e3,
               steps > 0 && genSeconds > 0 ? double(steps) / genSeconds : 0.0,
               summary.finishReason);
  Job &job = *s.job;
  job.promptSeconds = s.tFirst - s.tStart;
  job.generationSeconds = genSeconds;
  if (!r.stream) {
    job.post({JobEvent::Kind::Response, 200,
              completionBody(r.endpoint, s.rid, s.output->content,
                             s.output->thought, summary)});
  } else {
    job.post(
        {JobEvent::Kind::Chunk, 200,
         chunkBody(r.endpoint, s.rid, false, {}, {}, summary.finishReason)});
    if (r.includeUsage)
      job.post({JobEvent::Kind::Chunk, 200,
                usageChunkBody(r.endpoint, s.rid, summary)});
    job.post({JobEvent::Kind::Response, 200, std::string()});
  }
  s.release();
}

// The decisions of TextRun::turn's sampling loop, one token at a time.
void Generator::sampleNext(Slot &s, const float *logits) {
  const Session &session = run.session;
  if (s.nGen == 0)
    return finish(s, FinishReason::Length, 0);
  std::string error;
  // The logits are those of the last token in the cache.
  if (!checkLogits(logits, session.vocab, s.cache.size - 1, error))
    return abort(s, 500, error);
  int32_t next = s.sampler.sample(logits);
  if (++s.sampled == 1)
    s.tFirst = now();
  s.sampler.accept(next);
  if (run.tok->isEndOfGeneration(next))
    return finish(s, FinishReason::EndOfGeneration, s.sampled - 1);
  if (!s.printer->push(next, error))
    return abort(s, 500, error);
  if (s.sink->stopped())
    return finish(s, FinishReason::StopString, s.sampled);
  const bool full = s.cache.size >= session.contextLength;
  if ((s.nGen >= 0 && s.sampled == s.nGen) || full)
    return finish(s,
                  full && (s.nGen < 0 || s.sampled < s.nGen)
                      ? FinishReason::ContextFull
                      : FinishReason::Length,
                  s.sampled);
  s.pending = next;
}

bool Generator::step(std::string &error) {
  Session &session = run.session;
  decoding.clear();
  reading.clear();
  chunks.clear();
  for (const std::unique_ptr<Slot> &s : slots)
    if (s->busy())
      (s->generating() ? decoding : reading).push_back(s.get());
  std::sort(reading.begin(), reading.end(), [](const Slot *a, const Slot *b) {
    return a->admitted < b->admitted;
  });
  // The model writes the logits of the step's last tokens: the chunks that
  // do not end their prompts come first, then at most one that does, then
  // the generating slots' tokens (the order of a step's tokens is free).
  int64_t room = session.maxBatch - int64_t(decoding.size());
  Chunk last = {nullptr, 0};
  for (Slot *s : reading) {
    if (room <= 0)
      break;
    const int64_t left = int64_t(s->prompt.size()) - s->fed;
    int64_t take = std::min(left, room);
    if (take == left && last.slot)
      --take; // its last token waits for the next step
    if (take <= 0)
      continue;
    if (take == left)
      last = {s, take};
    else
      chunks.push_back({s, take});
    room -= take;
  }
  if (last.slot)
    chunks.push_back(last);
  int32_t *tokens = session.arena.tokens();
  int32_t *positions = session.arena.positions();
  int64_t n = 0;
  for (const Chunk &c : chunks)
    for (int64_t i = 0; i < c.tokens; ++i, ++n) {
      tokens[n] = c.slot->prompt[size_t(c.slot->fed + i)];
      positions[n] = int32_t(c.slot->fed + i);
      stepSequences[size_t(n)] = c.slot->index;
    }
  for (Slot *s : decoding) {
    tokens[n] = s->pending;
    positions[n] = int32_t(s->cache.size);
    stepSequences[size_t(n)] = s->index;
    ++n;
  }
  if (n == 0)
    return true;
  const int64_t logitRows = (last.slot ? 1 : 0) + int64_t(decoding.size());
  // A step of prompt chunks alone still asks for one row (the ABI's least).
  if (!session.forwardSequences(n, stepSequences.data(),
                                std::max<int64_t>(logitRows, 1),
                                !chunks.empty(), error))
    return false;
  for (const Chunk &c : chunks) {
    Slot &s = *c.slot;
    std::memcpy(s.cache.ids + s.fed, s.prompt.data() + s.fed,
                size_t(c.tokens) * sizeof(int32_t));
    s.fed += c.tokens;
    s.cache.size = s.fed;
  }
  for (Slot *s : decoding)
    s->cache.ids[s->cache.size++] = s->pending;
  const float *row = session.arena.logits();
  const double tNow = now();
  if (last.slot) {
    last.slot->tPrompt = tNow;
    sampleNext(*last.slot, row);
    row += session.vocab;
  }
  for (Slot *s : decoding) {
    sampleNext(*s, row);
    row += session.vocab;
  }
  return true;
}

void Generator::serve(JobQueue &queue, const std::string &modelName) {
  model = modelName;
  for (;;) {
    if (!anyBusy()) {
      std::shared_ptr<Job> job = queue.pop();
      if (!job)
        return;
      admit(std::move(job));
    }
    // New requests join between steps.
    while (hasFreeSlot())
      if (std::shared_ptr<Job> job = queue.tryPop())
        admit(std::move(job));
      else
        break;
    dropCancelled();
    std::string error;
    if (!step(error)) {
      // An internal error: every busy slot's request fails with it, the
      // server goes on.
      for (const std::unique_ptr<Slot> &s : slots)
        if (s->busy())
          abort(*s, 500, error);
    }
    int64_t inUse = 0;
    for (const std::unique_ptr<Slot> &s : slots)
      inUse += s->cache.size;
    kvTokensInUse.store(inUse, std::memory_order_relaxed);
  }
}

} // namespace ingot::rt::server
