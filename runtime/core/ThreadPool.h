//===- ThreadPool.h - Persistent worker threads -----------------*- C++ -*-===//
//
// The pool behind ingot_rt_parallel: n-1 persistent pthreads plus the
// calling thread. A parallel call is split into chunks that the threads
// claim one at a time, so no thread owns a fixed share: when one thread is
// slow (descheduled by a busy neighbour, say), the others take what it has
// not claimed. The caller returns as soon as every chunk is completed; it
// never waits for a worker that has nothing left to do or has not woken up.
//
// The job word packs (generation << 32 | chunks left to claim). A thread
// claims a chunk by a compare-and-swap that decrements the count, which
// fails if the job changed since it read the word; only after a successful
// claim does it read the job's function, arguments and chunk count. Those
// stay valid while any chunk is unfinished because the caller does not
// return (and so cannot publish the next job) before the completed-chunk
// count reaches the chunk count. A worker that wakes after the job is done
// finds nothing to claim and goes back to waiting.
//
// On a host with several NUMA nodes (start's threadNodes), a call's chunks
// are cut into one contiguous block per node, in node order, and each block
// has its own job word: a thread claims from its node's block first and
// then takes over the other blocks' unclaimed chunks. The weights are
// spread the same way (each tensor's bytes cut into one slice per node in
// node order, NodeBinding.h), and the ops number their chunks in row order,
// so a matrix's rows are mostly computed by the threads of the node whose
// memory holds them, while no thread waits for another node's.
//
// Waits (workers for a job, the caller for the last chunk) spin a bounded
// number of times and then sleep on a futex. A worker descheduled in the
// middle of a chunk still holds the caller up; when that keeps happening
// the pool runs on fewer threads for a while (ThreadShedding.h). Nothing is
// allocated per call.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_THREADPOOL_H
#define INGOT_RUNTIME_CORE_THREADPOOL_H

#include "NonCopyable.h"
#include "ThreadShedding.h"
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

  /// Starts n_threads-1 workers. Thread i (the caller is 0) is bound to
  /// cpus[i % cpus.size()] (Placement.h); none is bound when `cpus` is
  /// empty. threadNodes[i % size], when given, is thread i's NUMA node as an
  /// index in the order the weights are spread over the nodes (0, 1, ...,
  /// fewer than kMaxNodes); two or more distinct nodes turn on the per-node
  /// blocks above. False and `error` when a thread cannot be created.
  bool start(int nThreads, std::vector<int> cpus, std::string &error,
             std::vector<int> threadNodes = {});
  /// Nodes the chunks of a call are cut into (1: one block).
  int nodeBlocks() const { return nodeCount_; }
  static constexpr int kMaxNodes = 64;
  int size() const { return nThreads_; }

  /// Runs fn(args, c, nChunks) exactly once for every c in [0, nChunks),
  /// on the calling thread and at most threads-1 workers, each claiming the
  /// next unclaimed chunk. Returns when every chunk has completed.
  void run(IngotTaskFn fn, void *args, int32_t nChunks, int threads);

  /// Test hooks. A held worker stops before it claims anything in the next
  /// job it sees and stays stopped until released, as a worker that the
  /// operating system never schedules would. Hold before the calls it should
  /// miss.
  void holdWorkerForTest(int index);
  void releaseWorkerForTest();

  struct WorkerStart {
    ThreadPool *pool;
    int index;
  };

private:
  static void *workerMain(void *self);
  void workerLoop(int index);
  /// Claims and runs chunks of the current job until none is left; returns
  /// how many thread `index` ran.
  int runChunks(int index);
  /// The same from block `node`'s job word (several nodes).
  int runBlockChunks(int node);
  /// Block `node` of a call of n chunks: [blockBegin(node), blockBegin(node
  /// + 1)).
  uint32_t blockBegin(int node, uint32_t n) const {
    return uint32_t(uint64_t(n) * uint64_t(node) / uint64_t(nodeCount_));
  }
  void waitWhileHeld(int index);

  int nThreads_ = 1;
  int spinIterations_ = 0;
  uint32_t lastGeneration_ = 0; // the caller's
  ThreadShedding shedding_;     // the caller's
  std::vector<pthread_t> threads_;
  std::vector<WorkerStart> starts_;
  std::vector<int> cpus_;
  /// Per-node blocks: how many, and each thread's node index.
  int nodeCount_ = 1;
  std::vector<int> threadNodes_;

  // The job: written before the job word is published (release), read only
  // after a successful claim (acquire).
  IngotTaskFn fn_ = nullptr;
  void *args_ = nullptr;
  uint32_t nChunks_ = 0;

  /// (generation << 32) | chunks not yet claimed.
  alignas(64) std::atomic<uint64_t> job_{0};
  /// With several nodes, one such word per node's block (`job_` then only
  /// carries the generation).
  std::atomic<uint64_t> blockJobs_[kMaxNodes] = {};
  /// The job word's generation alone: what waiting workers spin and sleep
  /// on (a futex is 32 bits wide).
  alignas(64) std::atomic<uint32_t> generation_{0};
  /// Workers with an index below this take part in the current job.
  std::atomic<int> participants_{0};
  std::atomic<bool> stop_{false};
  alignas(64) std::atomic<uint32_t> sleepers_{0};
  alignas(64) std::atomic<uint32_t> completed_{0};
  std::atomic<uint32_t> callerWaiting_{0};
  /// Index + 1 of the held worker, 0 when none (test hook).
  alignas(64) std::atomic<uint32_t> heldWorker_{0};
};

/// Number of CPUs this process may run on.
int availableCpus();

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_THREADPOOL_H
