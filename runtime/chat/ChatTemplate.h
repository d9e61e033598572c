//===- ChatTemplate.h - Render a model's chat template ----------*- C++ -*-===//
//
// The runtime API an emitted binary uses to turn a conversation into the
// prompt text, exactly as Hugging Face transformers' apply_chat_template
// renders it: the template gets `messages`, `tools`, `documents` (none),
// `add_generation_prompt` and the special-token variables, plus the globals
// raise_exception(msg) and strftime_now(fmt). No exception leaves this API.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CHAT_CHATTEMPLATE_H
#define INGOT_RUNTIME_CHAT_CHATTEMPLATE_H

#include "runtime/chat/Value.h"

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ingot::chat {

struct ChatMessage {
  std::string role;
  std::string content;
};

struct RenderResult {
  bool ok = false;
  std::string text;  // the rendering, when ok
  std::string error; // the template's error message, otherwise
};

class ChatTemplate {
public:
  ChatTemplate();
  ~ChatTemplate();
  ChatTemplate(ChatTemplate &&) noexcept;
  ChatTemplate &operator=(ChatTemplate &&) noexcept;

  /// Parses template text. Returns false and sets `error` on a syntax error
  /// or a feature the interpreter does not support.
  bool load(std::string_view source, std::string &error);

  /// Sets a variable every render sees, e.g. "bos_token" (transformers passes
  /// the tokenizer's special tokens this way).
  void setVariable(const std::string &name, Value value);
  void setSpecialTokens(const std::string &bosToken,
                        const std::string &eosToken);
  /// Pins the time strftime_now() formats; by default it is the local time
  /// at the moment of the call.
  void setFixedTime(const std::tm &time);
  /// Bounds the work of one render (kDefaultStepLimit evaluation steps
  /// unless set); the other limits of JinjaLimits.h are fixed.
  void setStepLimit(uint64_t steps);

  /// Renders `messages` (a list of message dicts) with `tools` (a list, or
  /// none when there are none).
  RenderResult render(const Value &messages, const Value &tools,
                      bool addGenerationPrompt) const;
  /// Convenience for plain role/content conversations.
  RenderResult render(const std::vector<ChatMessage> &messages,
                      bool addGenerationPrompt) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// Reads "YYYY-MM-DDTHH:MM:SS" (or with a space instead of T) into `out`.
bool parseIsoDateTime(std::string_view text, std::tm &out);

} // namespace ingot::chat

#endif // INGOT_RUNTIME_CHAT_CHATTEMPLATE_H
