//===- ServeCommand.cpp - `serve`: the OpenAI-compatible server -----------===//
//
// Order at start: the tokenizer and chat template (a bad template fails the
// start), the port (a busy port fails the start; /health answers 503 from
// here on), then the weights and KV cache, then /health says 200 and the
// worker answers jobs until SIGINT or SIGTERM. At the signal the waiting
// jobs get a 503 and the running ones stop before the next step.
//
//===----------------------------------------------------------------------===//
#include "ServeCommand.h"
#include "Generator.h"
#include "HttpServer.h"
#include "runtime/core/CommandLine.h"
#include "runtime/core/Console.h"
#include "runtime/core/Error.h"
#include "runtime/core/FileIO.h"

#include <csignal>
#include <cstdio>
#include <ctime>
#include <pthread.h>
#include <thread>

namespace ingot::rt::server {
namespace {

/// The most bytes an API key file may have.
constexpr uint64_t kMaxKeyFileBytes = 4096;

bool readApiKey(const Options &o, std::string &key, std::string &error) {
  if (o.apiKeyFile.empty()) {
    key = o.apiKey;
    return true;
  }
  std::string text;
  if (!readFileBounded("--api-key-file", o.apiKeyFile, kMaxKeyFileBytes,
                       "the most an API key file may have", text, error))
    return false;
  key = text.substr(0, text.find('\n'));
  while (!key.empty() &&
         (key.back() == '\r' || key.back() == ' ' || key.back() == '\t'))
    key.pop_back();
  if (key.empty())
    return fail(error, "--api-key-file: '%s' has no key on its first line",
                o.apiKeyFile.c_str());
  return true;
}

/// The model's name for clients: the binary's file name.
std::string modelName() {
  std::string name = programName();
  size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

/// Waits for SIGINT or SIGTERM (blocked in every thread, see runServe),
/// then stops the worker and answers the waiting jobs.
void awaitStopSignal(sigset_t signals, std::shared_ptr<ServerState> state,
                     Generator *generator) {
  int signal = 0;
  sigwait(&signals, &signal);
  std::fprintf(stderr, "%s: serve: signal %d, stopping\n", programName(),
               signal);
  generator->stopping = true;
  for (const std::shared_ptr<Job> &job : state->queue.stop())
    job->post({JobEvent::Kind::Response, 503,
               errorBody(503, "the server is shutting down")});
}

} // namespace

bool runServe(const Options &o, std::string &error) {
  auto state = std::make_shared<ServerState>();
  if (!readApiKey(o, state->apiKey, error))
    return false;
  state->model = modelName();
  state->created = int64_t(std::time(nullptr));
  // A client that disconnects makes a write fail, not the process die.
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  // Blocked before any thread starts, so every thread inherits the mask
  // and only the signal thread receives them.
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  // Outlives runServe: detached connection threads still use it.
  auto *generator = new Generator(o);
  if (!generator->loadText(error))
    return false;
  uint16_t port = 0;
  if (!startHttpServer(state, o.host, o.port, port, error))
    return false;
  std::fprintf(
      stderr, "%s: serve: listening on http://%s:%u (loading)\n", programName(),
      o.host.find(':') != std::string::npos ? ("[" + o.host + "]").c_str()
                                            : o.host.c_str(),
      unsigned(port));
  std::thread(awaitStopSignal, stopSignals, state, generator).detach();
  if (!generator->loadModel(error))
    return false;
  state->defaults = generator->defaults();
  state->kvTokensInUse = &generator->kvTokensInUse;
  state->kvCapacity =
      int64_t(generator->slotCount()) * state->defaults.contextLength;
  state->ready.store(true, std::memory_order_release);
  std::fprintf(stderr, "%s: serve: ready, %d slots of %lld positions each\n",
               programName(), generator->slotCount(),
               (long long)state->defaults.contextLength);
  generator->serve(state->queue, state->model);
  return true;
}

} // namespace ingot::rt::server
