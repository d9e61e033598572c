//===- ThreadShedding.cpp - Fewer threads while one keeps stalling --------===//

#include "ThreadShedding.h"

namespace ingot::rt {

int ThreadShedding::threadsFor(int threads, int64_t nowNs) {
  if (shed_ > 0 && nowNs >= retryAtNs_) {
    // Try one thread more; a stall on it sheds it again for a longer span.
    --shed_;
    retryAtNs_ = nowNs + span_;
  }
  const int n = threads - shed_;
  return n < 1 ? 1 : n;
}

bool ThreadShedding::isStall(int ownChunks, int64_t ownNs, int64_t waitNs) {
  if (ownChunks <= 0)
    return false; // nothing to compare the wait with
  return waitNs > kStallChunks * ownNs / ownChunks + kStallSlackNs;
}

void ThreadShedding::recordCall(int threads, int ownChunks, int64_t ownNs,
                                int otherChunks, int64_t waitNs, int64_t nowNs,
                                int maxThreads) {
  if (threads <= 1 || ownChunks <= 0)
    return;
  if (nowNs - balanceSinceNs_ > kBalanceWindowNs) {
    savedNs_ /= 2;
    waitedNs_ /= 2;
    balanceSinceNs_ = nowNs;
  }
  savedNs_ += otherChunks * (ownNs / ownChunks);
  waitedNs_ += waitNs;
  // Stalls that the other threads' work more than pays for are kept: the
  // extra threads still win (on a busy machine a process with more threads
  // also gets more CPU time).
  if (!isStall(ownChunks, ownNs, waitNs) || waitedNs_ <= savedNs_)
    return;
  savedNs_ = waitedNs_ = 0;
  if (stalledBefore_ && nowNs - lastStallNs_ < kForgetNs)
    span_ = span_ * 2 < kMaxSpanNs ? span_ * 2 : kMaxSpanNs;
  else
    span_ = kInitialSpanNs;
  stalledBefore_ = true;
  lastStallNs_ = nowNs;
  if (shed_ < maxThreads - 1)
    ++shed_;
  retryAtNs_ = nowNs + span_;
}

} // namespace ingot::rt
