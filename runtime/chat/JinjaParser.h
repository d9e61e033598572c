//===- JinjaParser.h - Jinja2 template parser -------------------*- C++ -*-===//
//
// Builds the syntax tree of a template with Jinja2's grammar and operator
// precedence. Unknown tags, filters and tests are rejected here, as Jinja2
// rejects them when it compiles a template, with "unsupported ... at line N".
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CHAT_JINJAPARSER_H
#define INGOT_RUNTIME_CHAT_JINJAPARSER_H

#include "runtime/chat/JinjaAst.h"

#include <string>
#include <string_view>

namespace ingot::chat {

/// Parses template source into `ast`; false with `error` set on a syntax
/// error.
bool parseTemplate(std::string_view source, TemplateAst &ast,
                   std::string &error);

} // namespace ingot::chat

#endif // INGOT_RUNTIME_CHAT_JINJAPARSER_H
