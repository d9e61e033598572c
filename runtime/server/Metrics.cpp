//===- Metrics.cpp - What GET /metrics reports ----------------------------===//
#include "Metrics.h"

#include <algorithm>
#include <cstdio>

namespace ingot::rt::server {
namespace {

const char *routeLabel(Route route) {
  switch (route) {
  case Route::Health:
    return "/health";
  case Route::Metrics:
    return "/metrics";
  case Route::Models:
    return "/v1/models";
  case Route::ChatCompletions:
    return "/v1/chat/completions";
  case Route::Completions:
    return "/v1/completions";
  case Route::Other:
    break;
  }
  return "other";
}

/// Appends one metric's HELP and TYPE lines.
void family(std::string &out, const char *name, const char *type,
            const char *help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string &out, const char *name, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.10g", value);
  out += name;
  out += ' ';
  out += text;
  out += '\n';
}

void metric(std::string &out, const char *name, const char *type,
            const char *help, double value) {
  family(out, name, type, help);
  sample(out, name, value);
}

} // namespace

Route routeOf(std::string_view path) {
  if (path == "/health")
    return Route::Health;
  if (path == "/metrics")
    return Route::Metrics;
  if (path == "/v1/models" || path == "/models")
    return Route::Models;
  if (path == "/v1/chat/completions" || path == "/chat/completions")
    return Route::ChatCompletions;
  if (path == "/v1/completions" || path == "/completions")
    return Route::Completions;
  return Route::Other;
}

void Metrics::countRequest(Route route, int status) {
  std::lock_guard<std::mutex> lock(mutex);
  ++requests[{route, status}];
}

void Metrics::jobAccepted() {
  std::lock_guard<std::mutex> lock(mutex);
  ++jobsInFlight;
}

void Metrics::jobDone() {
  std::lock_guard<std::mutex> lock(mutex);
  if (jobsInFlight)
    --jobsInFlight;
}

void Metrics::answered(const AnswerRecord &r) {
  std::lock_guard<std::mutex> lock(mutex);
  ++answersTotal;
  promptTokensTotal += uint64_t(std::max<int64_t>(r.promptTokens, 0));
  generatedTokensTotal += uint64_t(std::max<int64_t>(r.completionTokens, 0));
  if (r.promptSeconds < 0 || r.generationSeconds < 0)
    return;
  promptSecondsTotal += r.promptSeconds;
  generationSecondsTotal += r.generationSeconds;
  // The first token is sampled at the end of the prompt phase; the
  // generation phase holds the steps after it.
  Recent &slot = recent[recentNext];
  slot.promptTokens = r.promptTokens;
  slot.generatedSteps = std::max<int64_t>(r.completionTokens - 1, 0);
  slot.promptSeconds = r.promptSeconds;
  slot.generationSeconds = r.generationSeconds;
  recentNext = (recentNext + 1) % kRecentAnswers;
  recentCount = std::min(recentCount + 1, kRecentAnswers);
}

std::string Metrics::render(const MetricsGauges &g) {
  std::lock_guard<std::mutex> lock(mutex);
  std::string out;
  family(out, "ingot_requests_total", "counter",
         "HTTP requests answered, by endpoint and status (499: the client "
         "left before its answer).");
  for (const auto &[key, count] : requests) {
    char line[160];
    std::snprintf(line, sizeof(line),
                  "ingot_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n",
                  routeLabel(key.first), key.second, (unsigned long long)count);
    out += line;
  }
  metric(out, "ingot_prompt_tokens_total", "counter",
         "Prompt tokens of the answered completion requests.",
         double(promptTokensTotal));
  metric(out, "ingot_generated_tokens_total", "counter",
         "Tokens generated for the answered completion requests.",
         double(generatedTokensTotal));
  metric(out, "ingot_answers_total", "counter",
         "Completion requests answered in full.", double(answersTotal));
  metric(out, "ingot_prompt_seconds_total", "counter",
         "Prompt phases of the answers (worker start to first "
         "token), in seconds.",
         promptSecondsTotal);
  metric(out, "ingot_generation_seconds_total", "counter",
         "Generation phases of the answers (first token to the "
         "last), in seconds.",
         generationSecondsTotal);

  int64_t promptTokens = 0, steps = 0;
  double promptSeconds = 0, generationSeconds = 0;
  for (size_t i = 0; i < recentCount; ++i) {
    promptTokens += recent[i].promptTokens;
    steps += recent[i].generatedSteps;
    promptSeconds += recent[i].promptSeconds;
    generationSeconds += recent[i].generationSeconds;
  }
  metric(out, "ingot_prompt_tokens_per_second", "gauge",
         "Prompt tokens per second of the last 64 answers.",
         promptSeconds > 0 ? double(promptTokens) / promptSeconds : 0);
  metric(out, "ingot_generation_tokens_per_second", "gauge",
         "Generated tokens per second of the last 64 answers.",
         generationSeconds > 0 ? double(steps) / generationSeconds : 0);

  const uint64_t processing =
      jobsInFlight > g.queueDepth ? jobsInFlight - g.queueDepth : 0;
  metric(out, "ingot_queue_depth", "gauge",
         "Completion requests waiting for the worker.", double(g.queueDepth));
  metric(out, "ingot_requests_processing", "gauge",
         "Completion requests the worker has taken and not yet answered.",
         double(processing));
  metric(out, "ingot_open_connections", "gauge", "Open HTTP connections.",
         double(g.connections));
  metric(out, "ingot_kv_cache_tokens", "gauge",
         "KV cache positions holding tokens, all slots (requests being "
         "answered and prefixes kept for reuse).",
         double(g.kvTokens));
  metric(out, "ingot_kv_cache_capacity_tokens", "gauge",
         "KV cache positions of all slots (slots x context).",
         double(g.kvCapacity));
  metric(out, "ingot_kv_cache_usage_ratio", "gauge",
         "KV cache positions in use over the capacity.",
         g.kvCapacity > 0
             ? std::min(1.0, double(g.kvTokens) / double(g.kvCapacity))
             : 0);
  metric(out, "ingot_ready", "gauge",
         "1 once the model is loaded and requests are answered.",
         g.ready ? 1 : 0);
  return out;
}

} // namespace ingot::rt::server
