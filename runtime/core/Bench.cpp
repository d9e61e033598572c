//===- Bench.cpp - bench: prompt processing and generation speed ----------===//
//
// llama-bench's two tests on synthetic tokens: pp (the prompt in batches)
// and tg (greedy decoding one token at a time), each warmed up once and
// then repeated; the table reports mean and standard deviation in tokens
// per second, and beside them how close each test comes to the target's
// roofline: the bytes per decode step against the measured read bandwidth,
// the int8 operations of prefill against the probed int8 peak (Roofline.h).
// One row per test, so that scripts/bench-vs-llama.sh can parse it.
//
//===----------------------------------------------------------------------===//
#include "CommandLine.h"
#include "Commands.h"
#include "Console.h"
#include "Error.h"
#include "HumanBytes.h"
#include "KVKeyType.h"
#include "Roofline.h"
#include "Sampler.h"
#include "Session.h"
#include "Warmup.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <vector>

namespace ingot::rt {
namespace {

struct BenchRow {
  std::string test;
  int64_t tokens;
  bool decode; ///< tg (one token per step), else pp
  double mean, sd;
  /// Packed bytes of the routed experts the timed runs chose, per token
  /// (IngotContext::routed_expert_bytes; 0 for a dense model).
  double routedExpertBytes;
  /// Rows of logits one run asked the model for (Session::logitRowsWritten).
  int64_t logitRows;
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
      if (!s.forward(n, done, LogitRows::Last, error))
        return false;
    }
    // The row a generation would start from (nPrompt > 0 here).
    return checkLogits(s.lastLogits(), s.vocab, nPrompt - 1, error);
  }

  /// tg: greedy decoding from position 0.
  bool generate(std::string &error) {
    int32_t tok = tokenAt(0);
    for (int64_t k = 0; k < nGen; ++k) {
      s.arena.tokens()[0] = tok;
      if (!s.forward(1, k, LogitRows::Last, error) ||
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
    s.ctx.routed_expert_bytes = 0;
    int64_t logitRows = 0;
    for (int64_t r = 0; r < reps; ++r) {
      const int64_t rowsBefore = s.logitRowsWritten;
      double t0 = now();
      if (!(this->*test)(error))
        return false;
      double dt = now() - t0;
      logitRows = s.logitRowsWritten - rowsBefore;
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
    double routed = double(s.ctx.routed_expert_bytes) /
                    double(tokens * (reps > 0 ? reps : 1));
    rows.push_back({std::string(name) + std::to_string(tokens), tokens,
                    test == &Bench::generate, mean, sd, routed, logitRows});
    return true;
  }
};

/// The roofline columns of one row: for tg, the bytes a step streams and
/// the share of the target's read bandwidth they reach; for pp, the int8
/// operations per second and the share of the target's int8 peak. The
/// other test's columns are "-": decode is bound by memory, prefill by
/// arithmetic.
struct RooflineCells {
  std::string weights = "-", kv = "-", gbps = "-", readShare = "-";
  std::string gops = "-", peakShare = "-";
};

std::string fixed(double v, const char *format = "%.2f") {
  char text[64];
  std::snprintf(text, sizeof(text), format, v);
  return text;
}

RooflineCells rooflineCells(const BenchRow &r, int64_t kvBytesPerPosition,
                            const TargetFigure &read,
                            const TargetFigure &peak) {
  const IngotModelInfo &info = ingot_model_info;
  RooflineCells c;
  if (r.decode) {
    double weights = double(info.step_weight_bytes);
    double kv = meanKvBytesPerStep(kvBytesPerPosition, r.tokens);
    double gbps = (weights + kv) * r.mean / 1e9;
    c.weights = decimalBytes(weights);
    c.kv = decimalBytes(kv);
    c.gbps = fixed(gbps);
    c.readShare = read.known() ? fixed(100 * gbps / read.value, "%.1f %%")
                               : std::string("n/a");
  } else if (info.step_quantized_macs > 0) {
    // 2 operations (multiply, add) per multiply-add. A model without
    // quantized weights does no int8 work: its cells stay "-". The logits
    // tail runs only for the rows of logits asked for, not every token.
    double tail = double(info.step_logits_tail_quantized_macs);
    double macsPerToken = double(info.step_quantized_macs) - tail +
                          tail * double(r.logitRows) / double(r.tokens);
    double gops = 2.0 * macsPerToken * r.mean / 1e9;
    c.gops = fixed(gops);
    c.peakShare = peak.known() ? fixed(100 * gops / peak.value, "%.1f %%")
                               : std::string("n/a");
  }
  return c;
}

/// What the roofline columns count and compare with, below the table.
void printLegend(const std::vector<BenchRow> &rows, const Session &s,
                 const TargetFigure &read, int readThreads,
                 const TargetFigure &peak) {
  const IngotModelInfo &info = ingot_model_info;
  std::printf(
      "per token (compile-time plan): weights %" PRId64
      " bytes read per decode step (embedding row %" PRId64
      ", output matrix %" PRId64 ", the rest matmul/moe weights, "
      "norms and biases); kv cache %" PRId64 " bytes per position (keys %s)",
      info.step_weight_bytes, info.step_embedding_bytes, info.step_output_bytes,
      s.kvBytesPerPosition(), kvKeyTypeName(s.kvKeyType));
  for (const BenchRow &r : rows)
    if (r.decode)
      std::printf(", %s reads %.0f on average", r.test.c_str(),
                  meanKvBytesPerStep(s.kvBytesPerPosition(), r.tokens));
  std::printf(
      "\nmultiply-adds per token: %" PRId64 " with quantized weights (%" PRId64
      " of them in the logits tail: the output matrix and the last "
      "layer after its attention, done per row of logits only), %" PRId64
      " with F32/F16 weights (not in GOPS); attention not counted; "
      "int8 GOPS = 2 x the quantized ones done x t/s\n",
      info.step_quantized_macs, info.step_logits_tail_quantized_macs,
      info.step_float_macs);
  if (!rows.empty()) {
    std::printf("rows of logits computed per run:");
    for (const BenchRow &r : rows)
      std::printf(" %s %" PRId64 "%s", r.test.c_str(), r.logitRows,
                  &r == &rows.back() ? "" : ",");
    std::printf(" (the last token of each batch only)\n");
  }
  if (info.moe_experts > 0)
    std::printf("moe: experts counted %" PRId64 " of %" PRId64
                " per layer (the chosen ones): bytes and operations are an "
                "estimate\n",
                info.moe_experts_used, info.moe_experts);
  if (info.moe_experts > 0 && !rows.empty()) {
    // What the run's routing chose: per step, each layer's distinct experts
    // (the bytes a step that runs each expert once over its tokens reads).
    std::printf("moe routing of this run, routed expert bytes per token "
                "(plan %" PRId64 "):",
                info.step_routed_expert_bytes);
    for (const BenchRow &r : rows) {
      std::printf(" %s %.0f", r.test.c_str(), r.routedExpertBytes);
      if (r.decode)
        std::printf(
            " (weights per decode step %.0f, plan %" PRId64 ")",
            double(info.step_weight_bytes - info.step_routed_expert_bytes) +
                r.routedExpertBytes,
            info.step_weight_bytes);
    }
    std::printf("\n");
  }
  std::printf("GB/s = (weights + kv) per token x t/s; %% read bw against ");
  if (read.known())
    std::printf("%.1f GB/s (%s, for %d decode thread%s)\n", read.value,
                read.note.c_str(), readThreads, readThreads == 1 ? "" : "s");
  else
    std::printf("n/a: %s\n", read.note.c_str());
  std::printf("%% int8 peak against ");
  if (peak.known())
    std::printf("%.1f GOPS (%s)\n", peak.value, peak.note.c_str());
  else
    std::printf("n/a: %s\n", peak.note.c_str());
  std::printf("%s\n", hostVersusTarget(info).c_str());
}

void printTable(const Session &s, const std::vector<BenchRow> &rows,
                int64_t reps) {
  const IngotModelInfo &info = ingot_model_info;
  std::string model = std::string(orEmpty(info.model_name)) + " (" +
                      orEmpty(info.architecture) + ")";
  std::string size = humanBytes(double(s.payload.dataBytes()));
  TargetFigure read = targetReadBandwidth(info, s.decodeThreads);
  TargetFigure peak = targetInt8Peak(info);
  std::printf("| model | size | threads | test | t/s | weights/tok | kv/tok "
              "| GB/s | %% read bw | int8 GOPS | %% int8 peak |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
              "| ---: | ---: |\n");
  for (const BenchRow &r : rows) {
    RooflineCells c = rooflineCells(r, s.kvBytesPerPosition(), read, peak);
    std::printf("| %s | %s | %d | %s | %.2f ± %.2f | %s | %s | %s | %s | %s "
                "| %s |\n",
                model.c_str(), size.c_str(),
                r.decode ? s.decodeThreads : s.prefillThreads, r.test.c_str(),
                r.mean, r.sd, c.weights.c_str(), c.kv.c_str(), c.gbps.c_str(),
                c.readShare.c_str(), c.gops.c_str(), c.peakShare.c_str());
  }
  std::printf(
      "\ntarget: %s, %d repetitions, context %" PRId64 ", batch %" PRId64 "\n",
      orEmpty(info.target_name), int(reps), s.contextLength, s.maxBatch);
  printLegend(rows, s, read, s.decodeThreads, peak);
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
  if (!warmUp(s, s.threadPlan.warmupRounds, error))
    return false;
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
