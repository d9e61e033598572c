//===- JinjaFuzzer.cpp - libFuzzer target for the chat-template interpreter
//===//
//
// Lexes, parses and renders arbitrary template text, the way the compiler's
// trial render and an emitted binary's --chat do. The input is the template,
// optionally followed by a NUL byte and a JSON conversation
// ({"messages": [...], "tools": [...]}); without one (or when it does not
// parse) the template renders a fixed conversation with a system prompt, a
// tool call and a tool result, so that the common template paths run.
//
// Whatever the input, loading and rendering must end in a result or a clean
// error: a crash, a sanitizer report, a timeout or running out of memory is a
// bug. The render's step budget is lower than the default so that a template
// that exhausts it does so well within libFuzzer's -timeout under the
// sanitizers; every other limit is the one real renders have.
//
//===----------------------------------------------------------------------===//
#include "runtime/chat/ChatTemplate.h"
#include "runtime/chat/JinjaLimits.h"
#include "runtime/chat/Json.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace ingot::chat;

namespace {

const char *const kConversation = R"({
  "messages": [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Weather in Paris? ünïcødé ✓"},
    {"role": "assistant", "content": null, "reasoning_content": "Use the tool.",
     "tool_calls": [{"id": "call_1", "type": "function",
                     "function": {"name": "get_weather",
                                  "arguments": {"city": "Paris", "days": 2}}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21.5}"},
    {"role": "assistant", "content": "<think>ok</think>21.5 degrees."},
    {"role": "user", "content": "Thanks!"}
  ],
  "tools": [{"type": "function",
             "function": {"name": "get_weather", "description": "Weather.",
                          "parameters": {"type": "object",
                                         "properties": {"city": {"type": "string"},
                                                        "days": {"type": "integer"}},
                                         "required": ["city"]}}}]
})";

// Work of one render: a thirtieth of the default. A loop iteration costs
// some 30 us under the sanitizers and libFuzzer's malloc hooks (1 us in a
// release build), so a render that uses up this budget takes about a second.
constexpr uint64_t kFuzzStepLimit = 1'000'000;

struct Conversation {
  Value messages, tools;
};

const Conversation &fixedConversation() {
  static const Conversation conversation = [] {
    Value v;
    std::string error;
    if (!parseJson(kConversation, v, error) || !v.isDict())
      std::abort();
    return Conversation{*v.getDict().find("messages"),
                        *v.getDict().find("tools")};
  }();
  return conversation;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view input(reinterpret_cast<const char *>(data), size);
  std::string_view source = input, json;
  size_t split = input.find('\0');
  if (split != std::string_view::npos) {
    source = input.substr(0, split);
    json = input.substr(split + 1);
  }

  ChatTemplate chat;
  std::string error;
  if (!chat.load(source, error)) {
    if (error.empty())
      std::abort(); // a failure must say why
    return 0;
  }
  chat.setSpecialTokens("<s>", "</s>");
  std::tm fixed{};
  fixed.tm_year = 126;
  fixed.tm_mday = 2;
  chat.setFixedTime(fixed);
  chat.setStepLimit(kFuzzStepLimit);

  Conversation conversation = fixedConversation();
  Value custom;
  if (!json.empty() && parseJson(json, custom, error) && custom.isDict()) {
    const Dict &d = custom.getDict();
    conversation.messages =
        d.find("messages") ? *d.find("messages") : Value::list();
    conversation.tools = d.find("tools") ? *d.find("tools") : Value::none();
  }
  for (bool addGenerationPrompt : {true, false}) {
    RenderResult result = chat.render(conversation.messages, conversation.tools,
                                      addGenerationPrompt);
    if (result.ok && result.text.size() > kMaxStringBytes)
      std::abort(); // the output limit held
  }
  return 0;
}
