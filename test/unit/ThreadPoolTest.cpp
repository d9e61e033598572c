//===- ThreadPoolTest.cpp - The pool behind ingot_rt_parallel -------------===//
//
// Every chunk of a call runs exactly once, for many thread and chunk counts;
// a worker stuck in a chunk leaves the rest to the others; a worker that
// never wakes up is not waited for. The tests make the slow and the absent
// worker deterministic (a chunk that blocks until all others are done, a
// worker held by a test hook) rather than timing anything: a pool that
// waited for them would hang, which the watchdog turns into a failure.
//
//===----------------------------------------------------------------------===//

#include "runtime/core/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <gtest/gtest.h>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace ingot;

namespace {

/// Runs `body` on another thread and aborts the test binary if it has not
/// finished after a minute: the pool under test would be waiting for a
/// thread that cannot make progress. Generous, since it only catches hangs.
template <typename Body> void runOrAbortIfHung(const char *what, Body body) {
  std::packaged_task<void()> task(body);
  std::future<void> done = task.get_future();
  std::thread runner(std::move(task));
  if (done.wait_for(std::chrono::minutes(1)) != std::future_status::ready) {
    std::fprintf(stderr, "hung: %s\n", what);
    std::abort();
  }
  runner.join();
  done.get();
}

/// Per chunk: how often it ran, which thread ran it last, and whether it
/// was told the right chunk count.
struct ChunkLog {
  explicit ChunkLog(int32_t chunks)
      : expectedChunks(chunks), runs(size_t(chunks > 0 ? chunks : 1)),
        threads(runs.size()) {}
  int32_t expectedChunks;
  std::vector<std::atomic<int>> runs;
  std::vector<std::atomic<std::thread::id>> threads;
  std::atomic<int> wrongCount{0}, outOfRange{0};

  void record(int32_t chunk, int32_t nChunks) {
    if (nChunks != expectedChunks)
      ++wrongCount;
    if (chunk < 0 || chunk >= expectedChunks) {
      ++outOfRange;
      return;
    }
    ++runs[size_t(chunk)];
    threads[size_t(chunk)] = std::this_thread::get_id();
  }
  size_t distinctThreads() const {
    std::set<std::thread::id> ids;
    for (int32_t c = 0; c < expectedChunks; ++c)
      ids.insert(threads[size_t(c)].load());
    return ids.size();
  }
};

void logChunk(void *p, int32_t chunk, int32_t nChunks) {
  static_cast<ChunkLog *>(p)->record(chunk, nChunks);
}

IngotContext contextFor(rt::ThreadPool *pool, int threads) {
  IngotContext ctx{};
  ctx.pool = pool;
  ctx.n_threads = threads;
  return ctx;
}

} // namespace

TEST(ThreadPool, RunsEveryChunkOncePerCall) {
  for (int poolThreads : {1, 2, 3, 5, 8}) {
    rt::ThreadPool pool;
    std::string error;
    ASSERT_TRUE(pool.start(poolThreads, /*cpus=*/{}, error)) << error;
    // Decode may use fewer threads than the pool has.
    for (int threads : {poolThreads, 1, poolThreads > 2 ? 2 : 1}) {
      for (int32_t chunks : {0, 1, 2, 3, 7, 8, 9, 64, 1000}) {
        IngotContext ctx = contextFor(&pool, threads);
        ChunkLog log(chunks);
        const int calls = chunks > 100 ? 20 : 200;
        runOrAbortIfHung("RunsEveryChunkOncePerCall", [&] {
          for (int i = 0; i < calls; ++i)
            ingot_rt_parallel(&ctx, logChunk, &log, chunks);
        });
        const std::string where = std::to_string(poolThreads) + " in pool, " +
                                  std::to_string(threads) + " used, " +
                                  std::to_string(chunks) + " chunks";
        EXPECT_EQ(log.wrongCount.load(), 0) << where;
        EXPECT_EQ(log.outOfRange.load(), 0) << where;
        for (int32_t c = 0; c < chunks; ++c)
          ASSERT_EQ(log.runs[size_t(c)].load(), calls)
              << where << ", chunk " << c;
        if (chunks > 0)
          EXPECT_LE(log.distinctThreads(), size_t(threads)) << where;
      }
    }
  }
}

TEST(ThreadPool, NodeBlocksRunEveryChunkOncePerCall) {
  // Threads on several NUMA nodes: one job word per node's block.
  const std::vector<std::vector<int>> layouts = {
      {0, 1}, {0, 1, 0, 1}, {0, 0, 1}, {1, 0, 2}, {0, 1, 2, 3, 4}};
  for (const std::vector<int> &nodes : layouts) {
    const int poolThreads = int(nodes.size());
    rt::ThreadPool pool;
    std::string error;
    ASSERT_TRUE(pool.start(poolThreads, /*cpus=*/{}, error, nodes)) << error;
    int most = 0;
    for (int node : nodes)
      most = std::max(most, node);
    EXPECT_EQ(pool.nodeBlocks(), most + 1);
    for (int threads : {poolThreads, 1, 2}) {
      for (int32_t chunks : {0, 1, 2, 3, 7, 64, 1000}) {
        IngotContext ctx = contextFor(&pool, threads);
        ChunkLog log(chunks);
        const int calls = chunks > 100 ? 20 : 200;
        runOrAbortIfHung("NodeBlocksRunEveryChunkOncePerCall", [&] {
          for (int i = 0; i < calls; ++i)
            ingot_rt_parallel(&ctx, logChunk, &log, chunks);
        });
        EXPECT_EQ(log.wrongCount.load(), 0);
        EXPECT_EQ(log.outOfRange.load(), 0);
        for (int32_t c = 0; c < chunks; ++c)
          ASSERT_EQ(log.runs[size_t(c)].load(), calls)
              << poolThreads << " threads, " << threads << " used, " << chunks
              << " chunks, chunk " << c;
      }
    }
  }
  // One node (or none given): a single block.
  rt::ThreadPool pool;
  std::string error;
  ASSERT_TRUE(pool.start(3, {}, error, {1, 1, 1})) << error;
  EXPECT_EQ(pool.nodeBlocks(), 1);
}

namespace {
/// The chunks in the order one thread ran them.
struct OrderLog {
  std::vector<int32_t> order;
  std::mutex mutex;
};
void logOrder(void *p, int32_t chunk, int32_t) {
  auto *log = static_cast<OrderLog *>(p);
  std::lock_guard<std::mutex> lock(log->mutex);
  log->order.push_back(chunk);
}
} // namespace

TEST(ThreadPool, AThreadTakesItsNodesBlockFirst) {
  // The caller on node 1, the only worker on node 0 and held: the caller
  // runs its own block [5, 10) in order, then takes over node 0's [0, 5).
  rt::ThreadPool pool;
  std::string error;
  ASSERT_TRUE(pool.start(2, {}, error, {1, 0})) << error;
  pool.holdWorkerForTest(1);
  IngotContext ctx = contextFor(&pool, 2);
  OrderLog log;
  runOrAbortIfHung("AThreadTakesItsNodesBlockFirst",
                   [&] { ingot_rt_parallel(&ctx, logOrder, &log, 10); });
  EXPECT_EQ(log.order, (std::vector<int32_t>{5, 6, 7, 8, 9, 0, 1, 2, 3, 4}));
  pool.releaseWorkerForTest();
}

TEST(ThreadPool, NoPoolRunsEveryChunkOnTheCaller) {
  IngotContext ctx = contextFor(nullptr, 4);
  for (int32_t chunks : {0, 1, 5}) {
    ChunkLog log(chunks);
    ingot_rt_parallel(&ctx, logChunk, &log, chunks);
    EXPECT_EQ(log.wrongCount.load(), 0);
    for (int32_t c = 0; c < chunks; ++c) {
      EXPECT_EQ(log.runs[size_t(c)].load(), 1) << c;
      EXPECT_EQ(log.threads[size_t(c)].load(), std::this_thread::get_id());
    }
  }
}

namespace {

/// The first chunk a worker takes does not return until every other chunk
/// has completed, as if that worker were descheduled in the middle of it.
/// The caller's first chunk waits until a worker holds its chunk, so the
/// remaining chunks can only complete if the caller (and the other
/// workers) take what a fixed split would have given the stuck worker.
struct StuckWorkerJob {
  explicit StuckWorkerJob(int32_t chunks) : log(chunks) {}
  ChunkLog log;
  std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> workerStuck{false};
  std::atomic<bool> callerWaited{false};
  std::atomic<int> completed{0};
  std::atomic<std::thread::id> stuckThread{};
};

void stuckWorkerChunk(void *p, int32_t chunk, int32_t nChunks) {
  auto *job = static_cast<StuckWorkerJob *>(p);
  const bool isCaller = std::this_thread::get_id() == job->caller;
  if (isCaller && !job->callerWaited.exchange(true)) {
    while (!job->workerStuck.load())
      std::this_thread::yield();
  } else if (!isCaller && !job->workerStuck.exchange(true)) {
    job->stuckThread = std::this_thread::get_id();
    while (job->completed.load() != nChunks - 1)
      std::this_thread::yield();
  }
  job->log.record(chunk, nChunks);
  ++job->completed;
}

} // namespace

TEST(ThreadPool, OthersTakeTheShareOfAStuckWorker) {
  for (int threads : {2, 3, 4}) {
    for (int32_t chunks : {2, 3, 16, 64}) {
      rt::ThreadPool pool;
      std::string error;
      ASSERT_TRUE(pool.start(threads, /*cpus=*/{}, error)) << error;
      IngotContext ctx = contextFor(&pool, threads);
      std::unique_ptr<StuckWorkerJob> job;
      runOrAbortIfHung("OthersTakeTheShareOfAStuckWorker", [&] {
        job = std::make_unique<StuckWorkerJob>(chunks);
        job->caller = std::this_thread::get_id();
        ingot_rt_parallel(&ctx, stuckWorkerChunk, job.get(), chunks);
      });
      const std::string where =
          std::to_string(threads) + " threads, " + std::to_string(chunks);
      for (int32_t c = 0; c < chunks; ++c)
        EXPECT_EQ(job->log.runs[size_t(c)].load(), 1)
            << where << ", chunk " << c;
      int byStuck = 0;
      for (int32_t c = 0; c < chunks; ++c)
        byStuck += job->log.threads[size_t(c)].load() == job->stuckThread;
      EXPECT_EQ(byStuck, 1) << where;
    }
  }
}

TEST(ThreadPool, DoesNotWaitForAWorkerThatNeverWakes) {
  for (int threads : {2, 3}) {
    rt::ThreadPool pool;
    std::string error;
    ASSERT_TRUE(pool.start(threads, /*cpus=*/{}, error)) << error;
    pool.holdWorkerForTest(threads - 1);
    IngotContext ctx = contextFor(&pool, threads);
    for (int32_t chunks : {1, 2, 3, 16}) {
      ChunkLog log(chunks);
      const int calls = 100;
      runOrAbortIfHung("DoesNotWaitForAWorkerThatNeverWakes", [&] {
        for (int i = 0; i < calls; ++i)
          ingot_rt_parallel(&ctx, logChunk, &log, chunks);
      });
      for (int32_t c = 0; c < chunks; ++c)
        EXPECT_EQ(log.runs[size_t(c)].load(), calls) << threads << " " << c;
      EXPECT_LE(log.distinctThreads(), size_t(threads - 1));
    }
    // Released, it joins later calls; the pool still stops cleanly.
    pool.releaseWorkerForTest();
    ChunkLog log(64);
    runOrAbortIfHung("released worker", [&] {
      for (int i = 0; i < 50; ++i)
        ingot_rt_parallel(&ctx, logChunk, &log, 64);
    });
    for (int32_t c = 0; c < 64; ++c)
      EXPECT_EQ(log.runs[size_t(c)].load(), 50) << c;
  }
}

using rt::ThreadShedding;

TEST(ThreadShedding, WaitsOfAboutAChunkAreNoStall) {
  // 10 chunks of 20 us: a healthy thread's last chunk ends within ~20 us.
  EXPECT_FALSE(ThreadShedding::isStall(10, 200'000, 0));
  EXPECT_FALSE(ThreadShedding::isStall(10, 200'000, 60'000));
  EXPECT_TRUE(ThreadShedding::isStall(10, 200'000, 2'000'000));
  // Long chunks allow long waits.
  EXPECT_FALSE(ThreadShedding::isStall(2, 4'000'000, 3'000'000));
  // The caller ran nothing: no measure of a chunk, no verdict.
  EXPECT_FALSE(ThreadShedding::isStall(0, 0, 50'000'000));
}

TEST(ThreadShedding, ShedsAThreadPerStallAndRetriesAfterASpan) {
  const int64_t ms = 1'000'000, stall = 3 * ms, chunkTime = 100'000;
  ThreadShedding s;
  int64_t now = 1000 * ms;
  EXPECT_EQ(s.threadsFor(4, now), 4);
  s.recordCall(4, 1, chunkTime, 0, 10'000, now, 4); // no stall
  EXPECT_EQ(s.threadsFor(4, now), 4);
  s.recordCall(4, 1, chunkTime, 0, stall, now, 4);
  EXPECT_EQ(s.threadsFor(4, now), 3);
  EXPECT_EQ(s.spanNs(), ThreadShedding::kInitialSpanNs);
  s.recordCall(3, 1, chunkTime, 0, stall, now, 4);
  EXPECT_EQ(s.threadsFor(4, now), 2);
  // A single thread cannot stall; the shed count never drops the last one.
  for (int i = 0; i < 5; ++i)
    s.recordCall(2, 1, chunkTime, 0, stall, now, 4);
  EXPECT_EQ(s.shedThreads(), 3);
  EXPECT_EQ(s.threadsFor(4, now), 1);
  EXPECT_EQ(s.threadsFor(2, now), 1);
  // One thread comes back per span.
  const int64_t span = s.spanNs();
  EXPECT_EQ(s.threadsFor(4, now + span - 1), 1);
  EXPECT_EQ(s.threadsFor(4, now + span), 2);
  EXPECT_EQ(s.threadsFor(4, now + span + 1), 2);
  EXPECT_EQ(s.threadsFor(4, now + 2 * span), 3);
  EXPECT_EQ(s.threadsFor(4, now + 3 * span), 4);
  EXPECT_EQ(s.shedThreads(), 0);
}

TEST(ThreadShedding, RepeatedStallsLengthenTheSpanUntilForgotten) {
  const int64_t ms = 1'000'000;
  ThreadShedding s;
  int64_t now = 5000 * ms;
  int64_t expected = ThreadShedding::kInitialSpanNs;
  for (int round = 0; round < 12; ++round) {
    ASSERT_EQ(s.threadsFor(2, now), 2) << round;
    s.recordCall(2, 4, 400'000, 0, 3 * ms, now, 2);
    EXPECT_EQ(s.spanNs(), expected) << round;
    EXPECT_EQ(s.threadsFor(2, now), 1) << round;
    now += s.spanNs(); // the retry, which stalls again
    expected = expected * 2 < ThreadShedding::kMaxSpanNs
                   ? expected * 2
                   : ThreadShedding::kMaxSpanNs;
  }
  EXPECT_EQ(s.spanNs(), ThreadShedding::kMaxSpanNs);
  // Quiet for longer than kForgetNs: the next stall starts over.
  now += ThreadShedding::kForgetNs;
  EXPECT_EQ(s.threadsFor(2, now), 2);
  s.recordCall(2, 4, 400'000, 0, 3 * ms, now, 2);
  EXPECT_EQ(s.spanNs(), ThreadShedding::kInitialSpanNs);
}

TEST(ThreadShedding, KeepsThreadsWhoseWorkOutweighsTheirStalls) {
  const int64_t ms = 1'000'000;
  ThreadShedding s;
  int64_t now = 1000 * ms;
  // Calls of 8 chunks of 100 us, 4 by the other thread: 400 us saved each.
  for (int i = 0; i < 20; ++i, now += ms)
    s.recordCall(2, 4, 400'000, 4, 0, now, 2);
  // A 3 ms stall costs less than the 8 ms saved so far: keep both threads.
  s.recordCall(2, 4, 400'000, 4, 3 * ms, now, 2);
  EXPECT_EQ(s.threadsFor(2, now), 2);
  // Stalls that keep coming outweigh the savings: shed one.
  for (int i = 0; i < 3; ++i)
    s.recordCall(2, 4, 400'000, 4, 3 * ms, now, 2);
  EXPECT_EQ(s.threadsFor(2, now), 1);
  // The balance starts over after a shed: a stall sheds again only once
  // the waits outweigh what the retried thread saved.
  now += s.spanNs();
  EXPECT_EQ(s.threadsFor(2, now), 2);
  for (int i = 0; i < 10; ++i)
    s.recordCall(2, 4, 400'000, 4, 0, now, 2);
  s.recordCall(2, 4, 400'000, 4, 3 * ms, now, 2);
  EXPECT_EQ(s.threadsFor(2, now), 2);
  s.recordCall(2, 4, 400'000, 4, 3 * ms, now, 2);
  EXPECT_EQ(s.threadsFor(2, now), 1);
}
