//===- ChatTemplate.cpp - Render a model's chat template ------------------===//
#include "runtime/chat/ChatTemplate.h"

#include "runtime/chat/JinjaInterpreter.h"
#include "runtime/chat/JinjaLimits.h"
#include "runtime/chat/JinjaOperations.h"
#include "runtime/chat/JinjaParser.h"

#include <cstdio>

namespace ingot::chat {

struct ChatTemplate::Impl {
  std::optional<TemplateAst> ast;
  Dict variables;
  std::optional<std::tm> fixedTime;
  uint64_t stepLimit = kDefaultStepLimit;
};

ChatTemplate::ChatTemplate() : impl(std::make_unique<Impl>()) {}
ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate &&) noexcept = default;
ChatTemplate &ChatTemplate::operator=(ChatTemplate &&) noexcept = default;

bool ChatTemplate::load(std::string_view source, std::string &error) {
  impl->ast.emplace();
  if (parseTemplate(source, *impl->ast, error))
    return true;
  impl->ast.reset();
  return false;
}

void ChatTemplate::setVariable(const std::string &name, Value value) {
  impl->variables.set(name, std::move(value));
}

void ChatTemplate::setSpecialTokens(const std::string &bosToken,
                                    const std::string &eosToken) {
  setVariable("bos_token", Value(bosToken));
  setVariable("eos_token", Value(eosToken));
}

void ChatTemplate::setFixedTime(const std::tm &time) { impl->fixedTime = time; }

void ChatTemplate::setStepLimit(uint64_t steps) { impl->stepLimit = steps; }

static std::string formatTime(const std::string &format, const std::tm &time) {
  if (format.empty())
    return "";
  // The buffer is a multiple of the format's size: bound it first.
  if (!checkRepeatedStringSize(format.size() + 8, 8))
    return Failure();
  std::vector<char> buffer(format.size() * 8 + 64);
  while (true) {
    size_t n =
        std::strftime(buffer.data(), buffer.size(), format.c_str(), &time);
    if (n > 0 || buffer.size() > 65536)
      return std::string(buffer.data(), n);
    buffer.resize(buffer.size() * 4);
  }
}

RenderResult ChatTemplate::render(const Value &messages, const Value &tools,
                                  bool addGenerationPrompt) const {
  RenderResult result;
  if (!impl->ast) {
    result.error = "no chat template loaded";
    return result;
  }
  Dict vars;
  vars.set("raise_exception",
           Value::callable("raise_exception", [](CallArgs &args) -> Value {
             // transformers raises TemplateError(message): the message is
             // the whole error.
             return fail(args.positional.empty() ? std::string()
                                                 : args.positional[0].str());
           }));
  std::optional<std::tm> fixed = impl->fixedTime;
  vars.set("strftime_now",
           Value::callable("strftime_now", [fixed](CallArgs &args) -> Value {
             ArgReader r(args, "strftime_now");
             Value format = r.get(0, "format");
             if (!r.done())
               return Failure();
             if (!format.isString())
               return raiseError(
                   "TypeError: strftime_now() argument must be str", args.line);
             std::tm time{};
             if (fixed) {
               time = *fixed;
             } else {
               std::time_t now = std::time(nullptr);
               localtime_r(&now, &time);
             }
             return Value(formatTime(format.getString(), time));
           }));
  for (const auto &[k, v] : impl->variables.items)
    vars.set(k, v);
  vars.set("messages", messages);
  vars.set("tools", tools.isUndefined() ? Value::none() : tools);
  vars.set("documents", Value::none());
  vars.set("add_generation_prompt", Value(addGenerationPrompt));
  result.ok = renderTemplate(*impl->ast, vars, impl->stepLimit, result.text,
                             result.error);
  if (!result.ok)
    result.text.clear();
  return result;
}

RenderResult ChatTemplate::render(const std::vector<ChatMessage> &messages,
                                  bool addGenerationPrompt) const {
  ValueList list;
  for (const ChatMessage &m : messages) {
    Dict d;
    d.set("role", Value(m.role));
    d.set("content", Value(m.content));
    list.push_back(Value::dict(std::move(d)));
  }
  return render(Value::list(std::move(list)), Value::none(),
                addGenerationPrompt);
}

bool parseIsoDateTime(std::string_view text, std::tm &out) {
  int y, mo, d, h = 0, mi = 0, s = 0;
  std::string str(text);
  char sep = 0;
  int n = std::sscanf(str.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d,
                      &sep, &h, &mi, &s);
  if (n != 3 && !(n == 7 && (sep == 'T' || sep == ' ')))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
    return false;
  std::tm t{};
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = s;
  // Normalise through UTC to fill in the weekday and day of the year.
  std::time_t epoch = timegm(&t);
  if (!gmtime_r(&epoch, &out))
    return false;
  return true;
}

} // namespace ingot::chat
