//===- Session.h - Payload, arena, KV cache and threads of one run -*- C++
//-*-===//
//
// Order at start: the payload (weights), then the one allocation (arena +
// KV cache), then the thread pool. Every size is bounded by what the
// compiled plan allows: a context or batch beyond it is an error, not a
// silent clamp or a write past the KV cache.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_SESSION_H
#define INGOT_RUNTIME_CORE_SESSION_H

#include "Arena.h"
#include "Payload.h"
#include "ThreadPlan.h"
#include "ThreadPool.h"
#include "ingot/ModelABI.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ingot::rt {

struct Options;

/// Which tokens of a forward call get logits: the last one (the next token
/// is sampled from it; the model then skips the output matrix for the
/// others) or all of them (--logits-out).
enum class LogitRows { Last, All };

/// Everything one run needs, set up once: payload, arena, pool, context.
struct Session {
  Payload payload;
  Arena arena;
  ThreadPool pool;
  IngotContext ctx{};
  int64_t vocab = 0;
  int64_t maxBatch = 1;
  int64_t contextLength = 0;
  /// Sequences the KV cache holds, each its own region of contextLength
  /// rows (sequence k's position 0 at row k * contextLength); 1 but for
  /// `serve --parallel`.
  int64_t sequences = 1;
  /// The largest context this binary can run: the model's (the compiled
  /// plan's) maximum, within 32-bit positions.
  int64_t maxContext = 0;
  /// -c as given (0: derived), for the messages.
  int64_t requestedContext = 0;
  int decodeThreads = 1, prefillThreads = 1;
  /// Where the threads run and why (ThreadPlan.h).
  ThreadPlan threadPlan;
  /// How the KV cache stores keys (--cache-type-k, IngotKVKeyType).
  int32_t kvKeyType = INGOT_KV_KEY_F32;
  /// The KV cache bytes of one position of one sequence, all layers, for
  /// the chosen key type.
  int64_t kvBytesPerPosition() const;
  /// Rows of logits the model was asked for so far (bench reports it).
  int64_t logitRowsWritten = 0;

  /// One forward call: n <= maxBatch tokens (already in arena.tokens())
  /// at positions pos0.. < contextLength; the logits of the last token
  /// (LogitRows::Last) or of all n land in arena.logits(), the last token's
  /// in the last row written (lastLogits()).
  bool forward(int64_t n, int64_t pos0, LogitRows rows, std::string &error);
  /// One forward call over several sequences (continuous batching): n <=
  /// maxBatch tokens in arena.tokens(), their positions in
  /// arena.positions(), token i of sequence seq[i] (< sequences); the
  /// logits of the last `logitRows` tokens land in arena.logits(), one row
  /// each in order. `prompt`: the step holds prompt tokens (prefill
  /// threads), else only one token of each sequence (decode threads).
  bool forwardSequences(int64_t n, const int32_t *seq, int64_t logitRows,
                        bool prompt, std::string &error);
  /// The last token's logits after forward().
  const float *lastLogits() const {
    return arena.logits() + (lastLogitRows - 1) * vocab;
  }

  /// Why the context is no larger, for the messages: the ceiling itself, or
  /// -c below it.
  std::string contextLimit() const;

private:
  int64_t lastLogitRows = 1;
  /// forwardSequences' cache row of each token's sequence start.
  std::vector<int32_t> starts;
};

/// Sets up the session with -c, or a context of `wantedContext` positions
/// (at least 4096, at most the maximum) when -c is not given, and a KV
/// cache of `sequences` such contexts. Each command checks its own needs
/// against s.contextLength afterwards.
bool setUpSession(Session &s, const Options &o, int64_t wantedContext,
                  std::string &error, int64_t sequences = 1);

/// The largest context the model description allows: its maximum, within
/// the int32 positions of the model ABI.
int64_t modelMaxContext();

/// False and `error` when the logits of the token at `position` are not all
/// finite: no token can be picked from them (argmax would always say 0,
/// the sampler would draw garbage), and the cause is in the weights.
bool checkLogits(const float *row, int64_t vocab, int64_t position,
                 std::string &error);

/// a + b for counts that are each at most int64 max, saturating instead of
/// overflowing (a huge -n plus the prompt).
int64_t saturatingAdd(int64_t a, int64_t b);

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_SESSION_H
