//===- Session.cpp - Setting up payload, arena, KV cache and threads ------===//
#include "Session.h"
#include "CommandLine.h"
#include "Console.h"
#include "CpuFeatures.h"
#include "Error.h"
#include "KVKeyType.h"
#include "Sampler.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <vector>

namespace ingot::rt {
namespace {

bool checkModelInfo(const IngotModelInfo &info, std::string &error) {
  if (info.abi_version != INGOT_MODEL_ABI_VERSION)
    return fail(error, "model code has ABI version %u, this runtime expects %u",
                info.abi_version, INGOT_MODEL_ABI_VERSION);
  if (info.vocab_size < 1 ||
      info.vocab_size > std::numeric_limits<int32_t>::max() ||
      info.max_batch < 1 || info.max_context_length < 1 ||
      info.arena_bytes < 0 || info.weight_bytes < 0 ||
      std::any_of(
          std::begin(info.kv_bytes_per_position),
          std::end(info.kv_bytes_per_position),
          [](int64_t bytes) { return bytes < 0; }))
    return fail(error,
                "model description is inconsistent (vocab %" PRId64
                ", max batch %" PRId64 ", max context %" PRId64 ")",
                info.vocab_size, info.max_batch, info.max_context_length);
  return true;
}

bool openPayload(Session &s, const Options &o, const IngotModelInfo &info,
                 std::string &error) {
  PayloadOptions po;
  po.hugepages = o.hugepages;
  // The nodes the threads run on share the weights (NodeBinding.h).
  if (s.threadPlan.hostKnown)
    po.nodes = s.threadPlan.host.nodes;
  po.verify = o.verify;
  po.minDataBytes = uint64_t(info.weight_bytes);
  std::vector<std::string> notes;
  bool ok = s.payload.open("/proc/self/exe", po, error, notes);
  for (const std::string &n : notes)
    std::fprintf(stderr, "%s: %s\n", programName(), n.c_str());
  if (!ok)
    return false;
  if (s.payload.dataBytes() < uint64_t(info.weight_bytes))
    return fail(error,
                "the payload holds %" PRIu64
                " bytes of weights, the model code needs %" PRId64,
                s.payload.dataBytes(), info.weight_bytes);
  return true;
}

/// The batch and context sizes: -b and -c when given (within what the
/// compiled plan allows), else the model's maximum batch and a context of
/// `wantedContext` positions.
bool chooseSizes(Session &s, const Options &o, const IngotModelInfo &info,
                 int64_t wantedContext, std::string &error) {
  s.vocab = info.vocab_size;
  if (o.batch > info.max_batch)
    return fail(error,
                "-b: expected an integer in [1, %" PRId64
                "] (the model's maximum batch), got %" PRId64,
                info.max_batch, o.batch);
  s.maxBatch = o.batch ? o.batch : info.max_batch;
  // The KV cache is laid out for contextLength positions per layer and the
  // model indexes it by position: a context beyond what the compiled plan
  // was made for, or one whose size wraps, would write past it.
  s.maxContext = modelMaxContext();
  s.requestedContext = o.context;
  int64_t ctxLen = o.context;
  if (ctxLen > info.max_context_length)
    return fail(error,
                "-c %" PRId64 ": the model was compiled for at most %" PRId64
                " positions",
                ctxLen, info.max_context_length);
  if (ctxLen > s.maxContext)
    return fail(error,
                "-c %" PRId64 ": at most %" PRId64
                " positions (positions are 32-bit integers)",
                ctxLen, s.maxContext);
  if (!ctxLen)
    ctxLen = std::min(std::max<int64_t>(wantedContext, 4096), s.maxContext);
  s.contextLength = ctxLen;
  return true;
}

bool allocateArena(Session &s, const Options &o, const IngotModelInfo &info,
                   std::string &error) {
  // Every sequence's rows are addressed by int32 cache rows.
  int64_t ctxLen = 0;
  if (__builtin_mul_overflow(s.contextLength, s.sequences, &ctxLen) ||
      ctxLen > std::numeric_limits<int32_t>::max())
    return fail(error,
                "%" PRId64 " sequences of %" PRId64
                " positions: more than 2^31 KV cache rows",
                s.sequences, s.contextLength);
  // The compiler lays the cache out for every key type a layer can store;
  // 0 bytes means one cannot (Q8_0 needs heads a multiple of 32 wide).
  const int64_t kvBytesPerPosition = s.kvBytesPerPosition();
  if (o.cacheTypeK != INGOT_KV_KEY_F32 && kvBytesPerPosition == 0 &&
      info.kv_bytes_per_position[INGOT_KV_KEY_F32] > 0)
    return fail(error,
                "--cache-type-k %s: this model's key heads are not a multiple "
                "of 32 values wide, which %s blocks need; use f16 or f32",
                kvKeyTypeName(o.cacheTypeK), kvKeyTypeName(o.cacheTypeK));
  ArenaPlan plan;
  plan.arenaBytes = uint64_t(info.arena_bytes);
  if (__builtin_mul_overflow(uint64_t(kvBytesPerPosition), uint64_t(ctxLen),
                             &plan.kvBytes))
    return fail(error,
                "%s%" PRId64 " positions: the KV cache (%" PRId64
                " bytes per position) would need more than 2^64 "
                "bytes",
                o.context ? "-c " : "a context of ", ctxLen,
                kvBytesPerPosition);
  plan.maxBatch = uint64_t(info.max_batch);
  plan.vocabSize = uint64_t(info.vocab_size);
  plan.historyTokens = uint64_t(ctxLen);
  return s.arena.allocate(plan, error);
}

/// Decode and prefill may use different thread counts (the target plan's by
/// default, e.g. one per core for bandwidth-bound decode and every hardware
/// thread for compute-bound prefill), never more than the CPUs this process
/// may use unless asked explicitly (-t and -tb are at most kMaxThreads).
/// Planned before the weights are loaded, so that a bad --pin fails fast.
bool planSessionThreads(Session &s, const Options &o, std::string &error) {
  std::vector<std::string> warnings;
  if (!planThreads(o, s.threadPlan, error, warnings))
    return false;
  for (const std::string &w : warnings)
    std::fprintf(stderr, "%s: %s\n", programName(), w.c_str());
  s.decodeThreads = s.threadPlan.decode;
  s.prefillThreads = s.threadPlan.prefill;
  return true;
}

/// Pool thread i's NUMA node as an index into the host's nodes (the order
/// the weights are spread in, NodeBinding.h), from the CPU the placement
/// gives it; empty on one node or without a placement.
std::vector<int> threadNodes(const ThreadPlan &plan) {
  const Topology &host = plan.host;
  if (!plan.hostKnown || host.nodes.size() < 2 || plan.cpus.empty())
    return {};
  std::vector<int> nodes;
  for (int cpu : plan.cpus) {
    int index = 0;
    for (const Core &core : host.cores)
      if (std::find(core.cpus.begin(), core.cpus.end(), cpu) != core.cpus.end())
        index = int(std::find(host.nodes.begin(), host.nodes.end(), core.node) -
                    host.nodes.begin());
    nodes.push_back(index < int(host.nodes.size()) ? index : 0);
  }
  return nodes;
}

/// Decode runs on the pool's first threads, prefill on as many as it has.
bool startThreads(Session &s, std::string &error) {
  return s.pool.start(std::max(s.decodeThreads, s.prefillThreads),
                      s.threadPlan.pinned() ? s.threadPlan.cpus
                                            : std::vector<int>(),
                      error, threadNodes(s.threadPlan));
}

} // namespace

bool Session::forward(int64_t n, int64_t pos0, LogitRows rows,
                      std::string &error) {
  if (n < 1 || n > maxBatch || pos0 < 0 || pos0 > contextLength - n)
    return fail(error,
                "internal error: forward call of %" PRId64
                " tokens at position %" PRId64 " outside a context of %" PRId64
                " positions (batch %" PRId64 ")",
                n, pos0, contextLength, maxBatch);
  int32_t *pos = arena.positions();
  for (int64_t i = 0; i < n; ++i)
    pos[i] = int32_t(pos0 + i);
  ctx.n_threads = n > 1 ? prefillThreads : decodeThreads;
  lastLogitRows = rows == LogitRows::All ? n : 1;
  logitRowsWritten += lastLogitRows;
  ingot_model_forward(&ctx, n, arena.tokens(), pos, nullptr, lastLogitRows,
                      arena.logits());
  return true;
}

bool Session::forwardSequences(int64_t n, const int32_t *seq, int64_t logitRows,
                               bool prompt, std::string &error) {
  if (n < 1 || n > maxBatch || logitRows < 1 || logitRows > n)
    return fail(error,
                "internal error: forward call of %" PRId64
                " tokens (batch %" PRId64 ") with %" PRId64 " logit rows",
                n, maxBatch, logitRows);
  const int32_t *pos = arena.positions();
  starts.resize(size_t(maxBatch));
  for (int64_t i = 0; i < n; ++i) {
    if (seq[i] < 0 || seq[i] >= sequences || pos[i] < 0 ||
        pos[i] >= contextLength)
      return fail(error,
                  "internal error: token %" PRId64 " of sequence %d at "
                  "position %d outside %" PRId64 " sequences of %" PRId64
                  " positions",
                  i, seq[i], pos[i], sequences, contextLength);
    starts[size_t(i)] = int32_t(seq[i] * contextLength);
  }
  ctx.n_threads = prompt ? prefillThreads : decodeThreads;
  lastLogitRows = logitRows;
  logitRowsWritten += logitRows;
  ingot_model_forward(&ctx, n, arena.tokens(), pos, starts.data(), logitRows,
                      arena.logits());
  return true;
}

std::string Session::contextLimit() const {
  if (contextLength >= maxContext)
    return format("%" PRId64 " positions, the model's maximum", contextLength);
  if (requestedContext)
    return format("%" PRId64
                  " positions as set by -c; the model allows up to %" PRId64,
                  contextLength, maxContext);
  return format("%" PRId64 " positions; -c allows up to %" PRId64,
                contextLength, maxContext);
}

bool setUpSession(Session &s, const Options &o, int64_t wantedContext,
                  std::string &error, int64_t sequences) {
  const IngotModelInfo &info = ingot_model_info;
  s.sequences = sequences < 1 ? 1 : sequences;
  s.kvKeyType = o.cacheTypeK;
  if (!checkModelInfo(info, error) || !planSessionThreads(s, o, error) ||
      !openPayload(s, o, info, error) ||
      !chooseSizes(s, o, info, wantedContext, error) ||
      !allocateArena(s, o, info, error) || !startThreads(s, error))
    return false;
  s.ctx.weights = s.payload.data();
  s.ctx.arena = s.arena.arena();
  s.ctx.kv = s.arena.kv();
  s.ctx.context_length = s.contextLength * s.sequences;
  s.ctx.n_threads = s.pool.size();
  s.ctx.pool = &s.pool;
  s.ctx.kv_key_type = s.kvKeyType;
  return true;
}

int64_t Session::kvBytesPerPosition() const {
  return kvKeyType >= 0 && kvKeyType < INGOT_KV_KEY_TYPES
             ? ingot_model_info.kv_bytes_per_position[kvKeyType]
             : 0;
}

int64_t modelMaxContext() {
  return std::min<int64_t>(ingot_model_info.max_context_length,
                           std::numeric_limits<int32_t>::max());
}

bool checkLogits(const float *row, int64_t vocab, int64_t position,
                 std::string &error) {
  int64_t bad = firstNonFinite(row, vocab);
  if (bad >= 0)
    return fail(error,
                "the model produced %s logits at position %" PRId64
                " (corrupt or overflowing weights)",
                std::isnan(row[bad]) ? "NaN" : "infinite", position);
  return true;
}

int64_t saturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? kInt64Max : r;
}

} // namespace ingot::rt
