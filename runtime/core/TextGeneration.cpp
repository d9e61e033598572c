//===- TextGeneration.cpp - Prompt tokens in, streamed text out -----------===//
#include "TextGeneration.h"
#include "CommandLine.h"
#include "Console.h"
#include "Error.h"
#include "TextSink.h"
#include "TokenPrinter.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace ingot::rt {
namespace {

/// Feeds prompt[from..] at positions from.. (the KV cache already holds
/// prompt[0..from)); `logits` is the row of its last token.
bool feedPrompt(Session &s, const std::vector<int32_t> &prompt, int64_t from,
                KvTokens &cache, const float *&logits, std::string &error) {
  cache.size = from;
  const int64_t nPrompt = int64_t(prompt.size());
  if (nPrompt > s.contextLength)
    return fail(error,
                "the prompt has %" PRId64 " tokens, the context holds %s",
                nPrompt, s.contextLimit().c_str());
  for (int64_t done = from; done < nPrompt;) {
    int64_t n = nPrompt - done < s.maxBatch ? nPrompt - done : s.maxBatch;
    std::memcpy(s.arena.tokens(), prompt.data() + done,
                size_t(n) * sizeof(int32_t));
    if (!s.forward(n, done, LogitRows::Last, error))
      return false;
    std::memcpy(cache.ids + done, prompt.data() + done,
                size_t(n) * sizeof(int32_t));
    cache.size = done + n;
    done += n;
    logits = s.lastLogits();
  }
  return true;
}

/// Samples up to nGen tokens (-1: until end of generation) after the
/// prompt whose last row of logits is `logits`; generation also ends at a
/// stop string or when the context is full. `t.genTokens` gets the token
/// count, `tFirst` the time the first token was sampled.
bool sampleTokens(TextRun &run, const float *logits, TokenPrinter &printer,
                  TextSink &sink, TextTimings &t, double &tFirst,
                  std::string &error) {
  Session &s = run.session;
  KvTokens &cache = run.cache;
  const int64_t nGen = run.nGen;
  int64_t k = 0;
  t.finish = FinishReason::EndOfGeneration;
  if (nGen == 0)
    t.finish = FinishReason::Length;
  for (; nGen < 0 || k < nGen; ++k) {
    // The logits are those of the last token in the cache.
    if (!checkLogits(logits, s.vocab, cache.size - 1, error))
      return false;
    int32_t next = run.sampler.sample(logits);
    if (k == 0)
      tFirst = now();
    run.sampler.accept(next);
    if (run.tok->isEndOfGeneration(next))
      break;
    if (!printer.push(next, error)) {
      t.genTokens = k + 1;
      return false;
    }
    if (sink.stopped()) {
      ++k;
      t.finish = FinishReason::StopString;
      break;
    }
    if ((nGen >= 0 && k + 1 == nGen) || cache.size >= s.contextLength) {
      ++k;
      t.finish = FinishReason::Length;
      if (cache.size >= s.contextLength && (nGen < 0 || k < nGen)) {
        t.finish = FinishReason::ContextFull;
        std::fprintf(stderr, "\n%s: the context is full (%s)\n", programName(),
                     s.contextLimit().c_str());
      }
      break;
    }
    s.arena.tokens()[0] = next;
    if (!s.forward(1, cache.size, LogitRows::Last, error))
      return false;
    cache.ids[cache.size++] = next;
    logits = s.arena.logits();
  }
  t.genTokens = k;
  return true;
}

void printTextTimings(const Session &s, const TextTimings &t, uint64_t seed) {
  // Generation speed counts the tokens after the first (whose time is in TTFT).
  int64_t steps = t.genTokens > 1 ? t.genTokens - 1 : 0;
  // On a terminal the text and the timings share the screen: start the
  // timings on their own line (stdout itself stays exactly the text).
  if (isatty(STDOUT_FILENO))
    std::fputc('\n', stderr);
  std::fprintf(
      stderr,
      "%s: timings: prompt %" PRId64
      " tokens in %.2f ms (%.2f tok/s), time to first token %.2f ms, "
      "generation %" PRId64
      " tokens in %.2f ms (%.2f tok/s), threads %d prefill / %d decode, "
      "seed %" PRIu64 ", weights in %s\n",
      programName(), t.promptTokens, t.promptSeconds * 1e3,
      t.promptSeconds > 0 ? double(t.promptTokens) / t.promptSeconds : 0.0,
      t.firstTokenSeconds * 1e3, t.genTokens, t.genSeconds * 1e3,
      steps > 0 && t.genSeconds > 0 ? double(steps) / t.genSeconds : 0.0,
      s.prefillThreads, s.decodeThreads, seed, s.payload.loadSummary().c_str());
}

} // namespace

int64_t commonPrefix(const KvTokens &cache, const std::vector<int32_t> &ids) {
  size_t common = 0;
  while (int64_t(common) < cache.size && common < ids.size() &&
         cache.ids[common] == ids[common])
    ++common;
  if (common == ids.size() && common > 0)
    --common;
  return int64_t(common);
}

bool splitsReasoning(const Options &o, const Tokenizer &tok,
                     const std::string &templ) {
  if (o.reasoningFormat == "deepseek")
    return true;
  if (o.reasoningFormat == "none")
    return false;
  return tok.lookup("<think>") >= 0 ||
         templ.find("<think>") != std::string::npos;
}

bool TextRun::start(int64_t promptTokens, std::string &error) {
  // -n larger than the context left is not an error: generation stops when
  // the context is full, as in llama.cpp.
  int64_t wanted = o.interactive
                       ? promptTokens + 1
                       : saturatingAdd(promptTokens, nGen > 0 ? nGen : 1);
  if (!setUpSession(session, o, wanted, error, sequences) ||
      !sampler.init(session.vocab, session.contextLength, sampling, error))
    return false;
  sampler.setEndOfGeneration(tok->endOfGenerationIds());
  cache.ids = session.arena.history();
  return true;
}

bool TextRun::setSampling(const SamplerParams &params, std::string &error) {
  sampling = params;
  return sampler.init(session.vocab, session.contextLength, sampling, error);
}

bool TextRun::turn(const std::vector<int32_t> &ids, const std::string &text,
                   TextOutput &output, std::string &raw, TextTimings &t,
                   std::string &error) {
  if (o.verbosePrompt)
    printPromptIds(ids);
  const int64_t from = commonPrefix(cache, ids);
  sampler.resetHistory();
  for (int32_t id : ids)
    sampler.accept(id);
  TextSink sink(stops, splitReasoning,
                splitReasoning && endsInsideReasoning(text), output);
  TokenPrinter printer(*tok, sink);
  const float *logits = nullptr;
  t = TextTimings();
  double t0 = now();
  if (!feedPrompt(session, ids, from, cache, logits, error))
    return false;
  t.promptTokens = int64_t(ids.size()) - from;
  double t1 = now();
  t.promptSeconds = t1 - t0;
  // Generation time starts at the first token (at the prompt's end when
  // none is sampled).
  double tFirst = t1;
  if (!sampleTokens(*this, logits, printer, sink, t, tFirst, error) ||
      !printer.finish(error))
    return false;
  if (nGen != 0)
    t.firstTokenSeconds = tFirst - t0;
  t.genSeconds = now() - tFirst;
  raw = sink.text();
  return true;
}

bool TextRun::finishTurn(bool newline, const TextTimings &t,
                         std::string &error) {
  if (newline)
    std::fputc('\n', stdout);
  if (!checkStdout(error))
    return false;
  printTextTimings(session, t, sampling.seed);
  return true;
}

} // namespace ingot::rt
