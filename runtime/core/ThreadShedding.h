//===- ThreadShedding.h - Fewer threads while one keeps stalling -*- C++
//-*-===//
//
// Claiming chunks dynamically lets the other threads take over the work a
// slow thread has not claimed, but not the chunk it holds: a worker that the
// operating system deschedules in the middle of a chunk (a busy process
// shares its CPU) keeps the caller waiting until it runs again, a whole
// scheduler time slice, milliseconds against microseconds of work. When
// that happens so often that the waits cost more than the other threads'
// chunks save, one thread fewer is faster.
//
// This policy watches each parallel call: once the caller has run out of
// chunks, a healthy thread finishes its last chunk within about one chunk's
// time; a wait far longer than that is a stall. It also keeps the balance
// of the recent calls: the time the other threads' chunks saved the caller
// (valued at the caller's own time per chunk) against the time it waited.
// A stall while the waits outweigh the savings sheds one thread for a span,
// then the pool tries it again; stalls that keep coming double
// the span (up to kMaxSpanNs), so a steady busy neighbour costs one stall
// per long span, and a machine that is quiet again gets its threads back
// after one short span. The thread count still comes from the target's plan
// (and -t): shedding only lowers it for a while. Times are nanoseconds of a
// monotonic clock, passed in so the policy is deterministic to test.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_THREADSHEDDING_H
#define INGOT_RUNTIME_CORE_THREADSHEDDING_H

#include <cstdint>

namespace ingot::rt {

class ThreadShedding {
public:
  /// The first shed span, and the longest after repeated stalls.
  static constexpr int64_t kInitialSpanNs = 2'000'000;
  static constexpr int64_t kMaxSpanNs = 128'000'000;
  /// A stall this long after the previous one starts again from the first
  /// span: the earlier contention is over.
  static constexpr int64_t kForgetNs = 1'000'000'000;
  /// A wait is a stall beyond kStallChunks of the caller's own mean chunk
  /// time plus kStallSlackNs (a sleeping worker's wake-up, a slower core).
  static constexpr int64_t kStallChunks = 4;
  static constexpr int64_t kStallSlackNs = 50'000;
  /// The savings and waits older than about this count half as much.
  static constexpr int64_t kBalanceWindowNs = 100'000'000;

  /// Threads the next call may use when it asks for `threads`: at least 1.
  int threadsFor(int threads, int64_t nowNs);

  /// After a call on `threads` threads in which the caller ran `ownChunks`
  /// chunks in `ownNs` and the other threads `otherChunks`, then the caller
  /// waited `waitNs` for the last of those. `maxThreads` bounds how many
  /// threads can be shed (all but one).
  void recordCall(int threads, int ownChunks, int64_t ownNs, int otherChunks,
                  int64_t waitNs, int64_t nowNs, int maxThreads);

  /// Whether a wait counts as a stall.
  static bool isStall(int ownChunks, int64_t ownNs, int64_t waitNs);

  int shedThreads() const { return shed_; }
  int64_t spanNs() const { return span_; }

private:
  int shed_ = 0;
  int64_t retryAtNs_ = 0;
  int64_t span_ = kInitialSpanNs;
  bool stalledBefore_ = false;
  int64_t lastStallNs_ = 0;
  int64_t savedNs_ = 0, waitedNs_ = 0, balanceSinceNs_ = 0;
};

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_THREADSHEDDING_H
