//===- Job.h - One generation request between a connection and the worker -*-
// C++ -*-===//
//
// The connection thread that read a completion request hands it to the
// worker as a Job and waits on it for events: zero or more SSE chunks, then
// one final response (the whole JSON body, an error, or for a stream the
// end). The job is shared: a connection that goes away sets `cancelled` and
// drops its reference; the worker sees the flag at its next token and stops.
//
// The queue is bounded (a full queue is a 429 for the client, not an
// unbounded backlog) and serves jobs in arrival order to one worker, which
// takes them into its slots between decode steps (Generator.h): waiting
// when it has nothing to do, else only taking what is already there.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_SERVER_JOB_H
#define INGOT_RUNTIME_SERVER_JOB_H

#include "ServerApi.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

namespace ingot::rt::server {

struct JobEvent {
  enum class Kind { Chunk, Response } kind = Kind::Response;
  int status = 200; ///< Response: the HTTP status (200 ends a stream)
  std::string body; ///< Chunk: one SSE data payload; Response: the body
};

class Job {
public:
  explicit Job(GenerationRequest request) : request(std::move(request)) {}

  const GenerationRequest request;
  /// Set by the connection (client gone) or at shutdown.
  std::atomic<bool> cancelled{false};
  /// When the worker took the job off the queue (written before its first
  /// event, so the connection reads it after any next()): /metrics times
  /// the prompt phase from here.
  std::chrono::steady_clock::time_point startedAt;
  /// The worker's phase times of the answer (seconds; -1: none), written
  /// before it posts the final response, as startedAt: the prompt phase up
  /// to the first generated token, and generation after it. /metrics takes
  /// them for answers that are not streamed (a streamed answer is timed by
  /// its chunks).
  double promptSeconds = -1, generationSeconds = -1;

  void post(JobEvent event) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      events.push_back(std::move(event));
    }
    ready.notify_one();
  }
  /// The next event, waiting at most `timeout`; false when none came.
  bool next(JobEvent &event, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex);
    if (!ready.wait_for(lock, timeout, [&] { return !events.empty(); }))
      return false;
    event = std::move(events.front());
    events.pop_front();
    return true;
  }

private:
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<JobEvent> events;
};

class JobQueue {
public:
  explicit JobQueue(size_t capacity) : capacity(capacity) {}

  /// False when the queue is full or the server is stopping.
  bool push(std::shared_ptr<Job> job) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping || jobs.size() >= capacity)
        return false;
      jobs.push_back(std::move(job));
    }
    ready.notify_one();
    return true;
  }
  /// The next job, or null once stop() was called.
  std::shared_ptr<Job> pop() {
    std::unique_lock<std::mutex> lock(mutex);
    ready.wait(lock, [&] { return stopping || !jobs.empty(); });
    return stopping ? nullptr : takeFront();
  }
  /// The next job without waiting; null when none waits or once stop() was
  /// called.
  std::shared_ptr<Job> tryPop() {
    std::lock_guard<std::mutex> lock(mutex);
    return stopping || jobs.empty() ? nullptr : takeFront();
  }
  /// Ends pop(); the jobs still waiting are cancelled and returned.
  std::deque<std::shared_ptr<Job>> stop() {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
    ready.notify_all();
    return std::move(jobs);
  }
  size_t depth() {
    std::lock_guard<std::mutex> lock(mutex);
    return jobs.size();
  }

private:
  /// Removes the first waiting job (the mutex held) and stamps when a slot
  /// took it (Job::startedAt).
  std::shared_ptr<Job> takeFront() {
    std::shared_ptr<Job> job = std::move(jobs.front());
    jobs.pop_front();
    job->startedAt = std::chrono::steady_clock::now();
    return job;
  }

  const size_t capacity;
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::shared_ptr<Job>> jobs;
  bool stopping = false;
};

} // namespace ingot::rt::server

#endif // INGOT_RUNTIME_SERVER_JOB_H
