//===- ThreadPool.cpp - Persistent worker threads
//--------------------------===//

#include "ThreadPool.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

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

bool ThreadPool::start(int nThreads, bool pin, std::string &error) {
  nThreads_ = nThreads < 1 ? 1 : nThreads;
  pin_ = pin;
  // Spinning only helps when every thread has a CPU of its own; with more
  // threads than CPUs the spinners would steal time from the workers.
  spinIterations_ = nThreads_ <= availableCpus() ? (1 << 14) : 0;
  if (pin) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
      for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set))
          cpus_.push_back(c);
    if (!cpus_.empty())
      pinTo(cpus_[0]);
  }
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
  stop_ = true;
  generation_.fetch_add(1);
  futexWake(generation_, INT_MAX);
  for (pthread_t t : threads_)
    pthread_join(t, nullptr);
}

void *ThreadPool::workerMain(void *arg) {
  auto *s = static_cast<ThreadPool::WorkerStart *>(arg);
  s->pool->workerLoop(s->index);
  return nullptr;
}

void ThreadPool::workerLoop(int index) {
  if (pin_ && !cpus_.empty())
    pinTo(cpus_[size_t(index) % cpus_.size()]);
  uint32_t seen = 0;
  for (;;) {
    // Wait for a new generation: spin, then sleep.
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
    if (stop_)
      return;
    if (index < nTasks_)
      fn_(args_, index, nTasks_);
    if (pending_.fetch_sub(1) == 1 && callerWaiting_.load())
      futexWake(pending_, 1);
  }
}

void ThreadPool::run(IngotTaskFn fn, void *args, int nTasks) {
  int n = nTasks < nThreads_ ? nTasks : nThreads_;
  if (n <= 1 || threads_.empty()) {
    fn(args, 0, n < 1 ? 1 : n);
    return;
  }
  fn_ = fn;
  args_ = args;
  nTasks_ = n;
  // Every worker acknowledges each generation, even those without a task.
  pending_.store(uint32_t(threads_.size()));
  callerWaiting_.store(0);
  generation_.fetch_add(1);
  if (sleepers_.load() != 0)
    futexWake(generation_, INT_MAX);
  fn(args, 0, n);
  uint32_t left = pending_.load(std::memory_order_acquire);
  for (int spin = 0; left != 0 && spin < spinIterations_; ++spin) {
    cpuRelax();
    left = pending_.load(std::memory_order_acquire);
  }
  while (left != 0) {
    callerWaiting_.store(1);
    left = pending_.load();
    if (left != 0)
      futexWait(pending_, left);
    left = pending_.load(std::memory_order_acquire);
  }
}

} // namespace ingot::rt

extern "C" void ingot_rt_parallel(IngotContext *ctx, IngotTaskFn fn,
                                  void *args) {
  auto *pool = static_cast<ingot::rt::ThreadPool *>(ctx->pool);
  int n = ctx->n_threads < 1 ? 1 : ctx->n_threads;
  if (!pool) {
    fn(args, 0, 1);
    return;
  }
  pool->run(fn, args, n);
}
