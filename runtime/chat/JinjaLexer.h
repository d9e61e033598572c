//===- JinjaLexer.h - Tokens of a Jinja2 template ---------------*- C++ -*-===//
//
// Splits template source into text and tag tokens, applying Jinja2's
// whitespace rules as Hugging Face configures them: trim_blocks and
// lstrip_blocks on, `-` strips all whitespace on its side, `+` turns the
// block rules off for one tag, one trailing newline of the source dropped,
// \r\n and \r read as \n. Comments are dropped; {% raw %} bodies are text.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CHAT_JINJALEXER_H
#define INGOT_RUNTIME_CHAT_JINJALEXER_H

#include <string>
#include <string_view>
#include <vector>

namespace ingot::chat {

struct Token {
  enum Type {
    Text,       // literal template text
    VarBegin,   // {{
    VarEnd,     // }}
    BlockBegin, // {%
    BlockEnd,   // %}
    Name,
    String, // text holds the unescaped value
    Integer,
    Float,
    Operator, // text holds the operator: + // == ( ...
    End
  };
  Type type;
  std::string text;
  int line;
};

/// Tokenizes `source`; on bad input, fails (TemplateError.h) with the line
/// and returns false.
bool lexTemplate(std::string_view source, std::vector<Token> &tokens);

} // namespace ingot::chat

#endif // INGOT_RUNTIME_CHAT_JINJALEXER_H
