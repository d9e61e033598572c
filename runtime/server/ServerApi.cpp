//===- ServerApi.cpp - OpenAI request and response bodies -----------------===//
#include "ServerApi.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace ingot::rt::server {
namespace {

using nlohmann::json;

/// Most stop strings per request, and their length: enough for any real
/// client, small enough that the stop filter stays cheap per token.
constexpr size_t kMaxStops = 16;
constexpr size_t kMaxStopBytes = 1024;

bool bad(ApiError &error, std::string message) {
  error.status = 400;
  error.message = std::move(message);
  return false;
}

/// An optional number field in [min, max] into `value`.
bool readNumber(const json &body, const char *name, double min, double max,
                float &value, ApiError &error) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null())
    return true;
  if (!it->is_number())
    return bad(error, std::string("'") + name + "' must be a number");
  double v = it->get<double>();
  if (!(v >= min && v <= max))
    return bad(error, std::string("'") + name + "' must be in [" +
                          json(min).dump() + ", " + json(max).dump() + "]");
  value = float(v);
  return true;
}

/// An optional integer field in [min, max]; `given` says whether it was.
bool readInteger(const json &body, const char *name, int64_t min, int64_t max,
                 int64_t &value, bool &given, ApiError &error) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null())
    return true;
  if (!it->is_number_integer())
    return bad(error, std::string("'") + name + "' must be an integer");
  // Unsigned values beyond int64 are out of range, not wrapped.
  if (it->is_number_unsigned() &&
      it->get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
    return bad(error, std::string("'") + name + "' is out of range");
  int64_t v = it->get<int64_t>();
  if (v < min || v > max)
    return bad(error, std::string("'") + name + "' must be in [" +
                          std::to_string(min) + ", " + std::to_string(max) +
                          "]");
  value = v;
  given = true;
  return true;
}

bool readBool(const json &body, const char *name, bool &value,
              ApiError &error) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null())
    return true;
  if (!it->is_boolean())
    return bad(error, std::string("'") + name + "' must be a boolean");
  value = it->get<bool>();
  return true;
}

bool readStops(const json &body, std::vector<std::string> &stops,
               ApiError &error) {
  auto it = body.find("stop");
  if (it == body.end() || it->is_null())
    return true;
  auto add = [&](const json &s) {
    if (!s.is_string())
      return bad(error, "'stop' must be a string or an array of strings");
    const std::string &text = s.get_ref<const std::string &>();
    if (text.empty())
      return bad(error, "'stop' strings must not be empty");
    if (text.size() > kMaxStopBytes)
      return bad(error, "'stop' strings are at most " +
                            std::to_string(kMaxStopBytes) + " bytes");
    stops.push_back(text);
    return true;
  };
  if (it->is_string())
    return add(*it);
  if (!it->is_array())
    return bad(error, "'stop' must be a string or an array of strings");
  if (it->size() > kMaxStops)
    return bad(error, "'stop' has more than " + std::to_string(kMaxStops) +
                          " strings");
  for (const json &s : *it)
    if (!add(s))
      return false;
  return true;
}

/// A message's content: a string, or an array of {"type": "text", "text"}
/// parts (concatenated); null only for an assistant message.
bool readContent(const json &message, size_t index, const std::string &role,
                 std::string &content, ApiError &error) {
  std::string where = "messages[" + std::to_string(index) + "]";
  auto it = message.find("content");
  if (it == message.end() || it->is_null()) {
    if (role == "assistant")
      return true;
    return bad(error, where + ": 'content' is missing");
  }
  if (it->is_string()) {
    content = it->get<std::string>();
    return true;
  }
  if (!it->is_array())
    return bad(error, where + ": 'content' must be a string or an array of "
                              "text parts");
  for (const json &part : *it) {
    auto type = part.is_object() ? part.find("type") : part.end();
    auto text = part.is_object() ? part.find("text") : part.end();
    if (!part.is_object() || type == part.end() || *type != "text" ||
        text == part.end() || !text->is_string())
      return bad(error, where + ": only {\"type\": \"text\", \"text\": ...} "
                                "content parts are supported");
    content += text->get<std::string>();
  }
  return true;
}

bool readMessages(const json &body, GenerationRequest &r, ApiError &error) {
  auto it = body.find("messages");
  if (it == body.end())
    return bad(error, "'messages' is required");
  if (!it->is_array() || it->empty())
    return bad(error, "'messages' must be a non-empty array");
  for (size_t i = 0; i < it->size(); ++i) {
    const json &m = (*it)[i];
    std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object())
      return bad(error, where + " must be an object");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string())
      return bad(error, where + ": 'role' must be a string");
    std::string name = role->get<std::string>();
    if (name != "system" && name != "user" && name != "assistant" &&
        name != "tool" && name != "developer")
      return bad(error, where + ": unknown role '" + name +
                            "' (expected system, developer, user, assistant "
                            "or tool)");
    ingot::chat::ChatMessage message;
    message.role = name == "developer" ? "system" : name;
    if (!readContent(m, i, name, message.content, error))
      return false;
    r.messages.push_back(std::move(message));
  }
  return true;
}

bool readPrompt(const json &body, GenerationRequest &r, ApiError &error) {
  auto it = body.find("prompt");
  if (it == body.end())
    return bad(error, "'prompt' is required");
  const json *text = &*it;
  if (it->is_array() && it->size() == 1)
    text = &(*it)[0];
  if (!text->is_string())
    return bad(error, "'prompt' must be a string (or an array of one string)");
  r.prompt = text->get<std::string>();
  if (r.prompt.empty())
    return bad(error, "'prompt' is empty");
  return true;
}

bool readSampling(const json &body, const RequestDefaults &d,
                  GenerationRequest &r, ApiError &error) {
  SamplerParams &s = r.sampling;
  s = d.sampling;
  int64_t topK = 0, seed = 0, n = 1;
  bool topKGiven = false, nGiven = false;
  if (!readNumber(body, "temperature", 0, 1e9, s.temp, error) ||
      !readNumber(body, "top_p", 0, 1, s.topP, error) ||
      !readNumber(body, "min_p", 0, 1, s.minP, error) ||
      !readNumber(body, "presence_penalty", -2, 2, s.presencePenalty, error) ||
      !readNumber(body, "frequency_penalty", -2, 2, s.frequencyPenalty,
                  error) ||
      !readInteger(body, "top_k", 0, std::numeric_limits<int64_t>::max(), topK,
                   topKGiven, error) ||
      !readInteger(body, "seed", std::numeric_limits<int64_t>::min(),
                   std::numeric_limits<int64_t>::max(), seed, r.seedGiven,
                   error) ||
      !readInteger(body, "n", 1, std::numeric_limits<int64_t>::max(), n, nGiven,
                   error))
    return false;
  if (!readBool(body, "ignore_eos", s.ignoreEos, error))
    return false;
  if (n != 1)
    return bad(error, "'n' must be 1 (one answer per request)");
  if (topKGiven)
    s.topK =
        int32_t(std::min<int64_t>(topK, std::numeric_limits<int32_t>::max()));
  // -1 asks for a random seed, as llama-server's (and -s -1).
  if (r.seedGiven && seed == -1)
    r.seedGiven = false;
  if (r.seedGiven)
    s.seed = uint64_t(seed);
  return true;
}

bool readMaxTokens(const json &body, const RequestDefaults &d,
                   GenerationRequest &r, ApiError &error) {
  r.maxTokens = d.maxTokens;
  bool given = false, newGiven = false;
  int64_t v = 0, newV = 0;
  if (!readInteger(body, "max_tokens", 1, std::numeric_limits<int64_t>::max(),
                   v, given, error) ||
      !readInteger(body, "max_completion_tokens", 1,
                   std::numeric_limits<int64_t>::max(), newV, newGiven, error))
    return false;
  if (newGiven) {
    v = newV;
    given = true;
  }
  if (given && v > d.contextLength)
    return bad(error, "'max_tokens' is " + std::to_string(v) +
                          ", the context holds " +
                          std::to_string(d.contextLength) + " tokens");
  if (given) {
    r.maxTokens = v;
    r.maxTokensGiven = true;
  }
  return true;
}

const char *errorType(int status) {
  switch (status) {
  case 401:
    return "authentication_error";
  case 404:
    return "not_found_error";
  case 429:
    return "rate_limit_error";
  case 503:
    return "unavailable_error";
  default:
    return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

std::string dump(const json &j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json usageJson(const AnswerSummary &s) {
  return {{"prompt_tokens", s.promptTokens},
          {"completion_tokens", s.completionTokens},
          {"total_tokens", s.promptTokens + s.completionTokens},
          {"prompt_tokens_details", {{"cached_tokens", s.cachedTokens}}}};
}

json header(const ResponseId &rid, const char *object) {
  return {{"id", rid.id},
          {"object", object},
          {"created", rid.created},
          {"model", rid.model}};
}

} // namespace

bool parseRequest(Endpoint endpoint, std::string_view text,
                  const RequestDefaults &defaults, GenerationRequest &r,
                  ApiError &error) {
  json body;
  try {
    body = json::parse(text);
  } catch (const json::exception &e) {
    // The library's "[json.exception.parse_error.101] " prefix means
    // nothing to a client; the rest names the place and the fault.
    std::string_view what = e.what();
    if (what.size() > 1 && what[0] == '[' && what.find("] ") != what.npos)
      what.remove_prefix(what.find("] ") + 2);
    return bad(error, "the body is not valid JSON: " + std::string(what));
  }
  if (!body.is_object())
    return bad(error, "the body must be a JSON object");
  r.endpoint = endpoint;
  auto model = body.find("model");
  if (model != body.end() && !model->is_null() && !model->is_string())
    return bad(error, "'model' must be a string");
  auto options = body.find("stream_options");
  if (options != body.end() && !options->is_null()) {
    if (!options->is_object())
      return bad(error, "'stream_options' must be an object");
    if (!readBool(*options, "include_usage", r.includeUsage, error))
      return false;
  }
  if (!(endpoint == Endpoint::ChatCompletions ? readMessages(body, r, error)
                                              : readPrompt(body, r, error)) ||
      !readBool(body, "stream", r.stream, error) ||
      !readSampling(body, defaults, r, error) ||
      !readMaxTokens(body, defaults, r, error) ||
      !readStops(body, r.stops, error))
    return false;
  return true;
}

std::string errorBody(int status, std::string_view message) {
  return dump({{"error",
                {{"message", message},
                 {"type", errorType(status)},
                 {"code", status}}}});
}

std::string completionBody(Endpoint endpoint, const ResponseId &rid,
                           std::string_view content, std::string_view reasoning,
                           const AnswerSummary &summary) {
  json choice = {{"index", 0},
                 {"finish_reason", summary.finishReason},
                 {"logprobs", nullptr}};
  json body;
  if (endpoint == Endpoint::ChatCompletions) {
    json message = {{"role", "assistant"}, {"content", content}};
    if (!reasoning.empty())
      message["reasoning_content"] = reasoning;
    choice["message"] = std::move(message);
    body = header(rid, "chat.completion");
  } else {
    choice["text"] = content;
    body = header(rid, "text_completion");
  }
  body["choices"] = json::array({std::move(choice)});
  body["usage"] = usageJson(summary);
  return dump(body);
}

std::string chunkBody(Endpoint endpoint, const ResponseId &rid, bool role,
                      std::string_view content, std::string_view reasoning,
                      const char *finishReason) {
  json choice = {{"index", 0}, {"logprobs", nullptr}};
  choice["finish_reason"] = finishReason ? json(finishReason) : json(nullptr);
  json body;
  if (endpoint == Endpoint::ChatCompletions) {
    json delta = json::object();
    if (role) {
      delta["role"] = "assistant";
      delta["content"] = "";
    }
    if (!content.empty())
      delta["content"] = content;
    if (!reasoning.empty())
      delta["reasoning_content"] = reasoning;
    choice["delta"] = std::move(delta);
    body = header(rid, "chat.completion.chunk");
  } else {
    choice["text"] = content;
    body = header(rid, "text_completion");
  }
  body["choices"] = json::array({std::move(choice)});
  return dump(body);
}

std::string usageChunkBody(Endpoint endpoint, const ResponseId &rid,
                           const AnswerSummary &summary) {
  json body = header(rid, endpoint == Endpoint::ChatCompletions
                              ? "chat.completion.chunk"
                              : "text_completion");
  body["choices"] = json::array();
  body["usage"] = usageJson(summary);
  return dump(body);
}

ChunkFacts readChunkFacts(std::string_view text) {
  ChunkFacts facts;
  json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object())
    return facts;
  auto usage = body.find("usage");
  if (usage != body.end() && usage->is_object()) {
    auto prompt = usage->find("prompt_tokens");
    auto completion = usage->find("completion_tokens");
    if (prompt != usage->end() && prompt->is_number_integer() &&
        completion != usage->end() && completion->is_number_integer()) {
      facts.usage = true;
      facts.promptTokens = prompt->get<int64_t>();
      facts.completionTokens = completion->get<int64_t>();
    }
  }
  auto choices = body.find("choices");
  if (choices == body.end() || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object())
    return facts;
  const json &choice = (*choices)[0];
  auto finish = choice.find("finish_reason");
  facts.finish = finish != choice.end() && finish->is_string();
  auto nonEmpty = [](const json &object, const char *name) {
    auto it = object.find(name);
    return it != object.end() && it->is_string() &&
           !it->get_ref<const std::string &>().empty();
  };
  auto delta = choice.find("delta");
  facts.text =
      nonEmpty(choice, "text") ||
      (delta != choice.end() && delta->is_object() &&
       (nonEmpty(*delta, "content") || nonEmpty(*delta, "reasoning_content")));
  return facts;
}

std::string modelsBody(const std::string &model, int64_t created,
                       int64_t contextLength) {
  return dump(
      {{"object", "list"},
       {"data", json::array({{{"id", model},
                              {"object", "model"},
                              {"created", created},
                              {"owned_by", "ingot"},
                              {"meta", {{"n_ctx", contextLength}}}}})}});
}

} // namespace ingot::rt::server
