//===- HttpServer.h - HTTP/1.1 front end of `serve` --------------*- C++
//-*-===//
//
// Boost.Beast over Boost.Asio (header-only, so the emitted binary stays one
// static executable): an accept thread and one thread per connection (at
// most kMaxConnections), each running its own small io_context so every
// read and write has a deadline (a client that sends or reads too slowly is
// dropped, never holds a thread forever). Limits: request headers
// (431), body (413), connections, and the job queue (429 with
// Retry-After). The API key is compared in constant time; without it every
// endpoint but /health answers 401. Every answer is counted for GET
// /metrics (see Metrics.h).
//
// Completion requests become Jobs on the shared queue; the connection then
// relays the job's events (one JSON body, or SSE chunks and [DONE]) and
// cancels the job when the client goes away.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_SERVER_HTTPSERVER_H
#define INGOT_RUNTIME_SERVER_HTTPSERVER_H

#include "Job.h"
#include "Metrics.h"
#include "ServerApi.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace ingot::rt::server {

/// Request headers beyond this are a 431, bodies beyond this a 413 (the
/// longest prompt a large context holds is well below it).
constexpr uint32_t kMaxHeaderBytes = 16u << 10;
constexpr uint64_t kMaxBodyBytes = 8u << 20;
/// Requests waiting for the worker; one more is a 429.
constexpr size_t kMaxQueuedJobs = 16;
/// Open connections (each one a thread); one more is closed with a 503.
constexpr int kMaxConnections = 256;

/// What the connections share with the worker.
struct ServerState {
  std::string model;  ///< the id /v1/models reports and responses carry
  std::string apiKey; ///< empty: no key required
  int64_t created = 0;
  JobQueue queue{kMaxQueuedJobs};
  /// Set (release) once the model is loaded and `defaults` is written.
  std::atomic<bool> ready{false};
  RequestDefaults defaults;
  std::atomic<int> connections{0};
  Metrics metrics;
  /// Written by the worker (Generator::kvTokensInUse) once loaded, with the
  /// positions of all slots' KV regions.
  const std::atomic<int64_t> *kvTokensInUse = nullptr;
  int64_t kvCapacity = 0;
};

/// Binds host:port (a numeric IPv4 or IPv6 address; port 0 picks a free
/// one, returned in `boundPort`) and starts accepting on a thread of its own.
bool startHttpServer(std::shared_ptr<ServerState> state,
                     const std::string &host, int64_t port, uint16_t &boundPort,
                     std::string &error);

} // namespace ingot::rt::server

#endif // INGOT_RUNTIME_SERVER_HTTPSERVER_H
