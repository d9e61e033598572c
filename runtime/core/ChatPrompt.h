//===- ChatPrompt.h - The conversation rendered by the chat template -*- C++
//-*-===//
//
// The only place the runtime calls into runtime/chat: loading the template
// (the model's or --chat-template-file) and rendering the messages so far
// as the next prompt.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_CHATPROMPT_H
#define INGOT_RUNTIME_CORE_CHATPROMPT_H

#include "runtime/chat/ChatTemplate.h"
#include "runtime/tokenizer/Tokenizer.h"

#include <string>
#include <vector>

namespace ingot::rt {

struct Options;

class ChatPrompt {
public:
  /// Loads the template; an error when there is none or it does not parse.
  bool load(const Options &o, const ingot::tokenizer::Tokenizer &tok,
            std::string &error);
  /// The template source ("" before load()).
  const std::string &source() const { return source_; }

  void add(std::string role, std::string content) {
    messages.push_back({std::move(role), std::move(content)});
  }
  /// Forgets the conversation (the server renders each request's own).
  void clear() { messages.clear(); }
  /// The conversation so far, ending in the assistant's generation prompt.
  bool render(std::string &text, std::string &error) const;

private:
  ingot::chat::ChatTemplate templ;
  std::string source_;
  std::vector<ingot::chat::ChatMessage> messages;
};

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_CHATPROMPT_H
