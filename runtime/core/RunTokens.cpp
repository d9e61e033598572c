//===- RunTokens.cpp - run --tokens: token ids in, greedy token ids out ---===//
//
// The exactness path: no tokenizer, no sampler. The ids are the output, so
// a prompt or -n that does not fit the context is an error rather than
// fewer ids than asked for; --logits-out writes every row computed: every
// prompt token's, or with --last-prompt-logits the last one's only.
//
// Several --tokens lists run as sequences of one batch, as `serve` steps
// its slots: each its own KV cache region, every forward call over all of
// them (the prompts together, then one token of each per step). Their ids
// and logits are those of each list run alone, up to the rounding of
// another batch size: the check of the multi-sequence model ABI.
//
//===----------------------------------------------------------------------===//
#include "CommandLine.h"
#include "Commands.h"
#include "Console.h"
#include "Error.h"
#include "FileIO.h"
#include "Sampler.h"
#include "Session.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace ingot::rt {
namespace {

bool parseTokens(const std::string &text, int64_t vocab,
                 std::vector<int32_t> &ids, std::string &error) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos)
      end = text.size();
    std::string item = text.substr(start, end - start);
    char *stop = nullptr;
    errno = 0;
    long long v = std::strtoll(item.c_str(), &stop, 10);
    if (item.empty() || (errno && errno != ERANGE) || *stop ||
        stop == item.c_str())
      return fail(error,
                  "--tokens: '%s' is not a token id (expected comma-separated "
                  "integers)",
                  item.c_str());
    if (errno == ERANGE)
      return fail(
          error,
          "--tokens: token id %s is out of range (vocabulary has %" PRId64
          " tokens)",
          item.c_str(), vocab);
    if (v < 0 || v >= vocab)
      return fail(
          error,
          "--tokens: token id %lld is out of range (vocabulary has %" PRId64
          " tokens)",
          v, vocab);
    ids.push_back(int32_t(v));
    start = end + 1;
  }
  return true;
}

/// PREFIX.prompt.f32 and PREFIX.gen.f32 (float32 rows), when asked for.
struct LogitsFiles {
  bool enabled = false;
  /// The prompt file gets the last prompt token's row only.
  bool lastPromptRow = false;
  OutputFile prompt, gen;
  size_t rowBytes = 0;

  bool open(const std::string &prefix, int64_t nGen, int64_t vocab,
            std::string &error) {
    enabled = !prefix.empty();
    rowBytes = size_t(vocab) * sizeof(float);
    if (!enabled)
      return true;
    return prompt.open(prefix + ".prompt.f32", error) &&
           (nGen <= 0 || gen.open(prefix + ".gen.f32", error));
  }
  bool close(std::string &error) {
    return prompt.close(error) && gen.close(error);
  }
};

/// Feeds the prompt in chunks of at most maxBatch tokens; `next` is the
/// greedy pick after its last token.
bool prefill(Session &s, const std::vector<int32_t> &prompt,
             LogitsFiles &logits, int64_t &next, std::string &error) {
  const int64_t nPrompt = int64_t(prompt.size());
  for (int64_t done = 0; done < nPrompt;) {
    int64_t n = nPrompt - done < s.maxBatch ? nPrompt - done : s.maxBatch;
    std::memcpy(s.arena.tokens(), prompt.data() + done,
                size_t(n) * sizeof(int32_t));
    const bool allRows = logits.enabled && !logits.lastPromptRow;
    if (!s.forward(n, done, allRows ? LogitRows::All : LogitRows::Last, error))
      return false;
    if (allRows && !logits.prompt.write(s.arena.logits(),
                                        size_t(n) * logits.rowBytes, error))
      return false;
    done += n;
    if (done == nPrompt) {
      const float *last = s.lastLogits();
      if (!checkLogits(last, s.vocab, nPrompt - 1, error))
        return false;
      if (logits.enabled && logits.lastPromptRow &&
          !logits.prompt.write(last, logits.rowBytes, error))
        return false;
      next = argmax(last, s.vocab);
    }
  }
  return true;
}

/// Greedy decoding: generated[k] is fed back at position nPrompt + k.
/// Without --logits-out the last step's logits are not needed, so it is
/// skipped.
bool decode(Session &s, int64_t nPrompt, int64_t nGen, int64_t next,
            LogitsFiles &logits, int32_t *generated, std::string &error) {
  for (int64_t k = 0; k < nGen; ++k) {
    generated[k] = int32_t(next);
    if (k + 1 == nGen && !logits.enabled)
      break;
    s.arena.tokens()[0] = int32_t(next);
    if (!s.forward(1, nPrompt + k, LogitRows::Last, error))
      return false;
    if (logits.enabled &&
        !logits.gen.write(s.arena.logits(), logits.rowBytes, error))
      return false;
    if (!checkLogits(s.arena.logits(), s.vocab, nPrompt + k, error))
      return false;
    next = argmax(s.arena.logits(), s.vocab);
  }
  return true;
}

bool checkFits(const Session &s, int64_t nPrompt, int64_t nGen,
               std::string &error) {
  if (nPrompt > s.contextLength)
    return fail(error,
                "--tokens: the prompt has %" PRId64
                " tokens, the context holds %s",
                nPrompt, s.contextLimit().c_str());
  if (nGen > s.contextLength - nPrompt)
    return fail(
        error,
        "-n %" PRId64 ": at most %" PRId64 " tokens fit after the %" PRId64
        "-token prompt (the context holds %s)",
        nGen, s.contextLength - nPrompt, nPrompt, s.contextLimit().c_str());
  return true;
}

void printTimings(const Session &s, int64_t nPrompt, int64_t steps, double t0,
                  double t1, double t2) {
  auto rate = [](double n, double seconds) {
    return seconds > 0 ? n / seconds : 0.0;
  };
  std::fprintf(
      stderr,
      "%s: timings: prompt %" PRId64
      " tokens in %.2f ms (%.2f tok/s, TTFT %.2f ms), generation %" PRId64
      " steps in %.2f ms (%.2f tok/s), threads %d prefill / %d decode, "
      "weights in %s\n",
      programName(), nPrompt, (t1 - t0) * 1e3, rate(double(nPrompt), t1 - t0),
      (t1 - t0) * 1e3, steps, (t2 - t1) * 1e3, rate(double(steps), t2 - t1),
      s.prefillThreads, s.decodeThreads, s.payload.loadSummary().c_str());
}

/// The state of one sequence of a multi-sequence run.
struct Sequence {
  std::vector<int32_t> prompt, generated;
  LogitsFiles logits;
  int64_t next = 0;
};

/// Checks a row and picks its greedy successor.
bool pick(const Session &s, const float *row, int64_t position, int64_t &next,
          std::string &error) {
  if (!checkLogits(row, s.vocab, position, error))
    return false;
  next = argmax(row, s.vocab);
  return true;
}

/// Every --tokens list as its own sequence, stepped together: prompt
/// tokens sequence after sequence in steps of up to maxBatch (every row's
/// logits asked for: a sequence's last prompt token may be anywhere in a
/// step), then one token of each sequence per step. --logits-out PREFIX
/// writes PREFIX.seqK.{prompt,gen}.f32 for sequence K as one run would.
bool runSequences(const Options &o, std::string &error) {
  std::vector<Sequence> seqs(1 + o.moreTokens.size());
  int64_t nGen = o.nGenerate < 0 ? 16 : o.nGenerate;
  int64_t wanted = 0, total = 0;
  for (size_t k = 0; k < seqs.size(); ++k) {
    if (!parseTokens(k ? o.moreTokens[k - 1] : o.tokens,
                     ingot_model_info.vocab_size, seqs[k].prompt, error))
      return false;
    wanted =
        std::max(wanted, saturatingAdd(int64_t(seqs[k].prompt.size()), nGen));
    total += int64_t(seqs[k].prompt.size());
  }
  Session s;
  if (!setUpSession(s, o, wanted, error, int64_t(seqs.size())))
    return false;
  if (int64_t(seqs.size()) > s.maxBatch)
    return fail(error,
                "--tokens: %zu sequences, but a step holds at most %" PRId64
                " tokens (one of each)",
                seqs.size(), s.maxBatch);
  for (size_t k = 0; k < seqs.size(); ++k) {
    Sequence &q = seqs[k];
    q.logits.lastPromptRow = o.lastPromptLogits;
    if (!checkFits(s, int64_t(q.prompt.size()), nGen, error) ||
        !q.logits.open(o.logitsOut.empty()
                           ? std::string()
                           : o.logitsOut + ".seq" + std::to_string(k),
                       nGen, s.vocab, error))
      return false;
  }
  std::vector<int32_t> seqOf(size_t(s.maxBatch));
  int32_t *tokens = s.arena.tokens(), *positions = s.arena.positions();
  double t0 = now();
  // The prompts: (sequence, position) pairs in order, maxBatch a step.
  size_t k = 0, i = 0;
  while (k < seqs.size()) {
    int64_t n = 0;
    for (; n < s.maxBatch && k < seqs.size(); ++n) {
      tokens[n] = seqs[k].prompt[i];
      positions[n] = int32_t(i);
      seqOf[size_t(n)] = int32_t(k);
      if (++i == seqs[k].prompt.size())
        ++k, i = 0;
    }
    if (!s.forwardSequences(n, seqOf.data(), n, true, error))
      return false;
    for (int64_t r = 0; r < n; ++r) {
      Sequence &q = seqs[size_t(seqOf[size_t(r)])];
      const float *row = s.arena.logits() + r * s.vocab;
      const bool lastRow = positions[r] + 1 == int32_t(q.prompt.size());
      if (q.logits.enabled && (lastRow || !q.logits.lastPromptRow) &&
          !q.logits.prompt.write(row, q.logits.rowBytes, error))
        return false;
      if (lastRow && !pick(s, row, positions[r], q.next, error))
        return false;
    }
  }
  double t1 = now();
  const bool logits = !o.logitsOut.empty();
  for (int64_t step = 0; step < nGen; ++step) {
    for (Sequence &q : seqs)
      q.generated.push_back(int32_t(q.next));
    if (step + 1 == nGen && !logits)
      break;
    int64_t n = 0;
    for (Sequence &q : seqs) {
      tokens[n] = int32_t(q.next);
      positions[n] = int32_t(int64_t(q.prompt.size()) + step);
      seqOf[size_t(n)] = int32_t(n);
      ++n;
    }
    if (!s.forwardSequences(n, seqOf.data(), n, false, error))
      return false;
    for (int64_t r = 0; r < n; ++r) {
      Sequence &q = seqs[size_t(r)];
      const float *row = s.arena.logits() + r * s.vocab;
      if (q.logits.enabled &&
          !q.logits.gen.write(row, q.logits.rowBytes, error))
        return false;
      if (!pick(s, row, positions[r], q.next, error))
        return false;
    }
  }
  double t2 = now();
  for (Sequence &q : seqs) {
    if (!q.logits.close(error))
      return false;
    for (size_t g = 0; g < q.generated.size(); ++g)
      std::printf(g ? ",%d" : "%d", q.generated[g]);
    std::printf("\n");
  }
  if (!checkStdout(error))
    return false;
  printTimings(s, total, nGen - (logits ? 0 : (nGen > 0 ? 1 : 0)), t0, t1, t2);
  return true;
}

} // namespace

bool runTokens(const Options &o, std::string &error) {
  if (!o.moreTokens.empty())
    return runSequences(o, error);
  std::vector<int32_t> prompt;
  if (!parseTokens(o.tokens, ingot_model_info.vocab_size, prompt, error))
    return false;
  int64_t nGen = o.nGenerate < 0 ? 16 : o.nGenerate;
  int64_t nPrompt = int64_t(prompt.size());
  Session s;
  LogitsFiles logits;
  logits.lastPromptRow = o.lastPromptLogits;
  if (!setUpSession(s, o, saturatingAdd(nPrompt, nGen), error) ||
      !checkFits(s, nPrompt, nGen, error) ||
      !logits.open(o.logitsOut, nGen, s.vocab, error))
    return false;
  int32_t *generated = s.arena.history(); // one per position: nGen fit
  int64_t next = 0;
  double t0 = now();
  if (!prefill(s, prompt, logits, next, error))
    return false;
  double t1 = now();
  if (!decode(s, nPrompt, nGen, next, logits, generated, error))
    return false;
  double t2 = now();
  if (!logits.close(error))
    return false;

  for (int64_t k = 0; k < nGen; ++k)
    std::printf(k ? ",%d" : "%d", generated[k]);
  std::printf("\n");
  if (!checkStdout(error))
    return false;
  printTimings(s, nPrompt, nGen - (logits.enabled ? 0 : (nGen > 0 ? 1 : 0)), t0,
               t1, t2);
  return true;
}

} // namespace ingot::rt
