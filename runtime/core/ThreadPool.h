//===- ThreadPool.h - Persistent worker threads -------------------*- C++
//-*-===//
//
// The pool behind ingot_rt_parallel: n-1 persistent pthreads plus the
// calling thread. A call publishes the job by bumping a generation counter;
// workers spin briefly and then sleep on a futex, and the caller waits for
// the last worker the same way. Nothing is allocated per call.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_THREADPOOL_H
#define INGOT_RUNTIME_CORE_THREADPOOL_H

#include "NonCopyable.h"
#include "ingot/ModelABI.h"

#include <atomic>
#include <cstdint>
#include <pthread.h>
#include <string>
#include <vector>

namespace ingot::rt {

class ThreadPool : NonCopyable {
public:
  ~ThreadPool();

  /// Starts n_threads-1 workers. With `pin`, thread i (the caller is 0) is
  /// bound to the i-th CPU of the process's affinity mask. False and `error`
  /// when a thread cannot be created.
  bool start(int nThreads, bool pin, std::string &error);
  int size() const { return nThreads_; }

  /// Runs fn(args, i, n) for i in [0, n), n = min(nTasks, size()); the
  /// caller runs task 0. Returns when all are done.
  void run(IngotTaskFn fn, void *args, int nTasks);

  struct WorkerStart {
    ThreadPool *pool;
    int index;
  };

private:
  static void *workerMain(void *self);
  void workerLoop(int index);

  int nThreads_ = 1;
  bool pin_ = false;
  int spinIterations_ = 0;
  std::vector<pthread_t> threads_;
  std::vector<WorkerStart> starts_;
  std::vector<int> cpus_;

  // The job, published by `generation_` (release) and read after it (acquire).
  IngotTaskFn fn_ = nullptr;
  void *args_ = nullptr;
  int nTasks_ = 0;
  bool stop_ = false;

  alignas(64) std::atomic<uint32_t> generation_{0};
  alignas(64) std::atomic<uint32_t> sleepers_{0};
  alignas(64) std::atomic<uint32_t> pending_{0};
  alignas(64) std::atomic<uint32_t> callerWaiting_{0};
};

/// Number of CPUs this process may run on.
int availableCpus();

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_THREADPOOL_H
