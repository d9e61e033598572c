//===- ThreadPool.cpp - Persistent worker threads ------------------------===//

#include "ThreadPool.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <utility>

namespace ingot::rt {
namespace {

void futexWait(std::atomic<uint32_t> &word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(&word), FUTEX_WAIT_PRIVATE,
          expected, nullptr, nullptr, 0);
}

void futexWake(std::atomic<uint32_t> &word, int count) {
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(&word), FUTEX_WAKE_PRIVATE,
          count, nullptr, nullptr, 0);
}

inline void cpuRelax() { __builtin_ia32_pause(); }

int64_t nowNs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

void pinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

} // namespace

int availableCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0)
      return n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? int(n) : 1;
}

bool ThreadPool::start(int nThreads, std::vector<int> cpus, std::string &error,
                       std::vector<int> threadNodes) {
  nThreads_ = nThreads < 1 ? 1 : nThreads;
  cpus_ = std::move(cpus);
  // Thread i's node for every i; blocks only when the threads span nodes.
  nodeCount_ = 1;
  threadNodes_.assign(size_t(nThreads_), 0);
  if (!threadNodes.empty()) {
    int most = 0;
    bool spans = false;
    for (int i = 0; i < nThreads_; ++i) {
      int node = threadNodes[size_t(i) % threadNodes.size()];
      node = std::clamp(node, 0, kMaxNodes - 1);
      threadNodes_[size_t(i)] = node;
      most = std::max(most, node);
      spans |= node != threadNodes_[0];
    }
    if (spans)
      nodeCount_ = most + 1;
  }
  // Spinning only helps when every thread has a CPU of its own; with more
  // threads than CPUs the spinners would steal time from the workers.
  spinIterations_ = nThreads_ <= availableCpus() ? (1 << 14) : 0;
  if (!cpus_.empty())
    pinTo(cpus_[0]);
  threads_.reserve(nThreads_);
  starts_.resize(
      size_t(nThreads_)); // never resized again: workers keep pointers
  for (int i = 0; i < nThreads_; ++i)
    starts_[size_t(i)] = {this, i};
  for (int i = 1; i < nThreads_; ++i) {
    pthread_t t;
    int rc = pthread_create(&t, nullptr, &ThreadPool::workerMain,
                            &starts_[size_t(i)]);
    if (rc != 0) {
      error = "cannot create worker thread " + std::to_string(i) + ": " +
              std::strerror(rc);
      nThreads_ = i;
      return false;
    }
    threads_.push_back(t);
  }
  return true;
}

ThreadPool::~ThreadPool() {
  if (threads_.empty())
    return;
  stop_.store(true);
  generation_.fetch_add(1);
  futexWake(generation_, INT_MAX);
  releaseWorkerForTest();
  for (pthread_t t : threads_)
    pthread_join(t, nullptr);
}

void *ThreadPool::workerMain(void *arg) {
  auto *s = static_cast<ThreadPool::WorkerStart *>(arg);
  s->pool->workerLoop(s->index);
  return nullptr;
}

void ThreadPool::workerLoop(int index) {
  if (!cpus_.empty())
    pinTo(cpus_[size_t(index) % cpus_.size()]);
  uint32_t seen = 0;
  for (;;) {
    // Wait for a new job: spin, then sleep.
    uint32_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < spinIterations_; ++spin) {
      cpuRelax();
      g = generation_.load(std::memory_order_acquire);
    }
    while (g == seen) {
      sleepers_.fetch_add(1);
      if (generation_.load() == seen)
        futexWait(generation_, seen);
      sleepers_.fetch_sub(1);
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    waitWhileHeld(index);
    if (stop_.load(std::memory_order_acquire))
      return;
    // A stale count only makes a worker join or skip a job it need not:
    // claims are safe either way.
    if (index < participants_.load(std::memory_order_relaxed))
      runChunks(index);
  }
}

int ThreadPool::runChunks(int index) {
  if (nodeCount_ > 1) {
    // The own node's block first, then the others' in turn.
    const int own = threadNodes_[size_t(index)];
    int ran = 0;
    for (int step = 0; step < nodeCount_; ++step)
      ran += runBlockChunks((own + step) % nodeCount_);
    return ran;
  }
  int ran = 0;
  uint64_t word = job_.load(std::memory_order_acquire);
  for (;;) {
    const uint32_t left = uint32_t(word);
    if (left == 0)
      return ran;
    // Fails (and reloads `word`) if another thread claimed first or a new
    // job replaced this one.
    if (!job_.compare_exchange_weak(word, word - 1, std::memory_order_acquire,
                                    std::memory_order_acquire))
      continue;
    // The claimed chunk is unfinished, so the caller is still inside run()
    // and the job's fields are the ones this claim belongs to.
    const uint32_t n = nChunks_;
    fn_(args_, int32_t(n - left), int32_t(n));
    // Sequentially consistent with the caller's callerWaiting_ store and
    // completed_ load: one of the two sees the other, so no lost wake-up.
    if (completed_.fetch_add(1) + 1 == n && callerWaiting_.load() != 0)
      futexWake(completed_, 1);
    ++ran;
    word = job_.load(std::memory_order_acquire);
  }
}

int ThreadPool::runBlockChunks(int node) {
  int ran = 0;
  std::atomic<uint64_t> &block = blockJobs_[node];
  uint64_t word = block.load(std::memory_order_acquire);
  for (;;) {
    const uint32_t left = uint32_t(word);
    if (left == 0)
      return ran;
    // As runChunks: a stale word (an earlier job's) has nothing left.
    if (!block.compare_exchange_weak(word, word - 1, std::memory_order_acquire,
                                     std::memory_order_acquire))
      continue;
    const uint32_t n = nChunks_;
    const uint32_t end = blockBegin(node + 1, n);
    fn_(args_, int32_t(end - left), int32_t(n));
    if (completed_.fetch_add(1) + 1 == n && callerWaiting_.load() != 0)
      futexWake(completed_, 1);
    ++ran;
    word = block.load(std::memory_order_acquire);
  }
}

void ThreadPool::waitWhileHeld(int index) {
  const uint32_t mark = uint32_t(index) + 1;
  while (heldWorker_.load(std::memory_order_acquire) == mark)
    futexWait(heldWorker_, mark);
}

void ThreadPool::holdWorkerForTest(int index) {
  heldWorker_.store(uint32_t(index) + 1);
}

void ThreadPool::releaseWorkerForTest() {
  heldWorker_.store(0);
  futexWake(heldWorker_, INT_MAX);
}

void ThreadPool::run(IngotTaskFn fn, void *args, int32_t nChunks, int threads) {
  if (nChunks <= 0)
    return;
  threads = std::min({threads, nThreads_, int(nChunks)});
  const int64_t start = nowNs();
  if (threads > 1)
    threads = shedding_.threadsFor(threads, start);
  if (threads <= 1 || threads_.empty()) {
    for (int32_t c = 0; c < nChunks; ++c)
      fn(args, c, nChunks);
    return;
  }
  const uint32_t n = uint32_t(nChunks);
  fn_ = fn;
  args_ = args;
  nChunks_ = n;
  completed_.store(0, std::memory_order_relaxed);
  callerWaiting_.store(0, std::memory_order_relaxed);
  participants_.store(threads, std::memory_order_relaxed);
  const uint32_t generation = ++lastGeneration_;
  if (nodeCount_ > 1) {
    for (int node = 0; node < nodeCount_; ++node)
      blockJobs_[node].store(
          uint64_t(generation) << 32 |
              (blockBegin(node + 1, n) - blockBegin(node, n)),
          std::memory_order_release);
    job_.store(uint64_t(generation) << 32, std::memory_order_release);
  } else {
    job_.store(uint64_t(generation) << 32 | n, std::memory_order_release);
  }
  generation_.store(generation);
  if (sleepers_.load() != 0)
    futexWake(generation_, threads == nThreads_ ? threads - 1 : INT_MAX);
  const int own = runChunks(0);
  // Only chunks claimed by others and still running are left: wait for
  // them, not for workers that have nothing to do.
  const int64_t ranOut = nowNs();
  uint32_t done = completed_.load(std::memory_order_acquire);
  if (done == n) {
    shedding_.recordCall(threads, own, ranOut - start, int(n) - own, 0, ranOut,
                         nThreads_);
    return;
  }
  for (int spin = 0; done != n && spin < spinIterations_; ++spin) {
    cpuRelax();
    done = completed_.load(std::memory_order_acquire);
  }
  while (done != n) {
    callerWaiting_.store(1);
    done = completed_.load();
    if (done != n)
      futexWait(completed_, done);
    done = completed_.load(std::memory_order_acquire);
  }
  const int64_t end = nowNs();
  shedding_.recordCall(threads, own, ranOut - start, int(n) - own, end - ranOut,
                       end, nThreads_);
}

} // namespace ingot::rt

extern "C" void ingot_rt_parallel(IngotContext *ctx, IngotTaskFn fn, void *args,
                                  int32_t n_chunks) {
  auto *pool = static_cast<ingot::rt::ThreadPool *>(ctx->pool);
  if (!pool) {
    for (int32_t c = 0; c < n_chunks; ++c)
      fn(args, c, n_chunks);
    return;
  }
  pool->run(fn, args, n_chunks, ctx->n_threads < 1 ? 1 : ctx->n_threads);
}
