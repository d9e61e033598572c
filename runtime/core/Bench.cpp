//===- Bench.cpp - bench: prompt processing and generation speed ----------===//
//
// llama-bench's two tests on synthetic tokens: pp (the prompt in batches)
// and tg (greedy decoding one token at a time), each warmed up once and
// then repeated; the table reports mean and standard deviation in tokens
// per second.
//
//===----------------------------------------------------------------------===//
#include "CommandLine.h"
#include "Commands.h"
#include "Console.h"
#include "Error.h"
#include "Sampler.h"
#include "Session.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <vector>

namespace ingot::rt {
namespace {

struct BenchRow {
  std::string test;
  double mean, sd;
};

struct Bench {
  Session &s;
  int64_t nPrompt, nGen;

  int32_t tokenAt(int64_t i) const { return int32_t((i * 7919 + 1) % s.vocab); }

  /// pp: the prompt in chunks of at most maxBatch tokens.
  bool processPrompt(std::string &error) {
    int64_t n = 0;
    for (int64_t done = 0; done < nPrompt; done += n) {
      n = nPrompt - done < s.maxBatch ? nPrompt - done : s.maxBatch;
      for (int64_t i = 0; i < n; ++i)
        s.arena.tokens()[i] = tokenAt(done + i);
      if (!s.forward(n, done, error))
        return false;
    }
    // The row a generation would start from (nPrompt > 0 here).
    return checkLogits(s.arena.logits() + (n - 1) * s.vocab, s.vocab,
                       nPrompt - 1, error);
  }

  /// tg: greedy decoding from position 0.
  bool generate(std::string &error) {
    int32_t tok = tokenAt(0);
    for (int64_t k = 0; k < nGen; ++k) {
      s.arena.tokens()[0] = tok;
      if (!s.forward(1, k, error) ||
          !checkLogits(s.arena.logits(), s.vocab, k, error))
        return false;
      tok = int32_t(argmax(s.arena.logits(), s.vocab));
    }
    return true;
  }

  /// Runs one test once to warm up (faulting in weights, arena and KV
  /// pages), then `reps` timed times.
  bool measure(const char *name, int64_t tokens, int64_t reps,
               bool (Bench::*test)(std::string &), std::vector<BenchRow> &rows,
               std::string &error) {
    if (tokens <= 0)
      return true;
    if (!(this->*test)(error))
      return false;
    std::vector<double> rates; // reps <= kMaxRepetitions
    for (int64_t r = 0; r < reps; ++r) {
      double t0 = now();
      if (!(this->*test)(error))
        return false;
      double dt = now() - t0;
      rates.push_back(double(tokens) / (dt > 0 ? dt : 1e-9));
    }
    double mean = 0, var = 0;
    for (double v : rates)
      mean += v;
    mean /= double(rates.size());
    for (double v : rates)
      var += (v - mean) * (v - mean);
    double sd =
        rates.size() > 1 ? std::sqrt(var / double(rates.size() - 1)) : 0.0;
    rows.push_back({std::string(name) + std::to_string(tokens), mean, sd});
    return true;
  }
};

void printTable(const Session &s, const std::vector<BenchRow> &rows,
                int64_t reps) {
  const IngotModelInfo &info = ingot_model_info;
  std::string model = std::string(orEmpty(info.model_name)) + " (" +
                      orEmpty(info.architecture) + ")";
  std::string size = humanBytes(double(s.payload.dataBytes()));
  std::printf("| model | size | threads | test | t/s |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: |\n");
  for (const BenchRow &r : rows)
    std::printf("| %s | %s | %d | %s | %.2f ± %.2f |\n", model.c_str(),
                size.c_str(),
                r.test.rfind("pp", 0) == 0 ? s.prefillThreads : s.decodeThreads,
                r.test.c_str(), r.mean, r.sd);
  std::printf(
      "\ntarget: %s, %d repetitions, context %" PRId64 ", batch %" PRId64 "\n",
      orEmpty(info.target_name), int(reps), s.contextLength, s.maxBatch);
}

} // namespace

bool runBench(const Options &o, std::string &error) {
  int64_t nGen = o.nGenerate < 0 ? 64 : o.nGenerate;
  int64_t nPrompt = o.nPrompt;
  Session s;
  // pp fills positions 0..nPrompt, tg 0..nGen (each test starts over).
  if (!setUpSession(s, o, nPrompt > nGen ? nPrompt : nGen, error))
    return false;
  if (nPrompt > s.contextLength)
    return fail(
        error, "-p %" PRId64 ": more prompt tokens than the context holds (%s)",
        nPrompt, s.contextLimit().c_str());
  if (nGen > s.contextLength)
    return fail(error,
                "-n %" PRId64 ": more decode steps than the context holds (%s)",
                nGen, s.contextLimit().c_str());
  Bench bench{s, nPrompt, nGen};
  std::vector<BenchRow> rows;
  if (!bench.measure("pp", nPrompt, o.reps, &Bench::processPrompt, rows,
                     error) ||
      !bench.measure("tg", nGen, o.reps, &Bench::generate, rows, error))
    return false;
  printTable(s, rows, o.reps);
  return true;
}

} // namespace ingot::rt
