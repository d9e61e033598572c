//===- Metrics.h - What GET /metrics reports ---------------------*- C++
//-*-===//
//
// The server's counters and gauges, written by the connection threads and
// read by GET /metrics in Prometheus' text format (version 0.0.4).
//
// Everything here is measured in the HTTP layer, from what a connection
// sees of its job: the final status, the `usage` of the answer (tokens),
// and for a streamed answer the times of its chunks (the first text chunk
// ends the prompt phase, the finish chunk ends generation). A non-streamed
// answer arrives in one piece: its phase times are the worker's (the first
// generated token ends the prompt phase; Job::promptSeconds).
//
// The KV gauges come from the worker: the positions all slots' caches hold
// (busy slots' requests, idle slots' prefixes kept for reuse) over all
// slots' positions.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_SERVER_METRICS_H
#define INGOT_RUNTIME_SERVER_METRICS_H

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace ingot::rt::server {

/// The `endpoint` label: the known paths, anything else is "other" (so a
/// scan of random paths cannot grow the label set).
enum class Route {
  Health,
  Metrics,
  Models,
  ChatCompletions,
  Completions,
  Other,
};
Route routeOf(std::string_view path);

/// The status a request that the client abandoned before its answer is
/// counted with (nginx's "client closed request").
constexpr int kClientClosedStatus = 499;

/// One answer as its connection saw it.
struct AnswerRecord {
  int64_t promptTokens = 0;
  int64_t completionTokens = 0;
  /// From the worker taking the job to the first token (streamed: the
  /// first text chunk), and from there to the last (the finish chunk);
  /// negative: not known.
  double promptSeconds = -1, generationSeconds = -1;
};

/// Values that live elsewhere, read when /metrics is rendered.
struct MetricsGauges {
  uint64_t queueDepth = 0;
  uint64_t connections = 0;
  int64_t contextLength = 0; ///< 0 while loading
  int64_t kvTokens = 0;      ///< positions holding tokens, all slots
  int64_t kvCapacity = 0;    ///< positions of all slots' KV regions
  bool ready = false;
};

class Metrics {
public:
  /// A response sent (or, with kClientClosedStatus, abandoned).
  void countRequest(Route route, int status);
  /// A completion job accepted onto the queue, and its end (answered,
  /// failed or abandoned).
  void jobAccepted();
  void jobDone();
  /// A successful answer's tokens and timings.
  void answered(const AnswerRecord &record);

  /// The Prometheus text exposition of everything.
  std::string render(const MetricsGauges &gauges);

  /// How many recent answers the tokens/s gauges average over.
  static constexpr size_t kRecentAnswers = 64;

private:
  struct Recent {
    int64_t promptTokens = 0, generatedSteps = 0;
    double promptSeconds = 0, generationSeconds = 0;
  };

  std::mutex mutex;
  std::map<std::pair<Route, int>, uint64_t> requests;
  uint64_t jobsInFlight = 0;
  uint64_t promptTokensTotal = 0, generatedTokensTotal = 0;
  double promptSecondsTotal = 0, generationSecondsTotal = 0;
  uint64_t answersTotal = 0;
  std::array<Recent, kRecentAnswers> recent{};
  size_t recentCount = 0, recentNext = 0;
};

} // namespace ingot::rt::server

#endif // INGOT_RUNTIME_SERVER_METRICS_H
