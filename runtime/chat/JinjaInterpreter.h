//===- JinjaInterpreter.h - Renders a parsed Jinja2 template ----*- C++ -*-===//
//
// Walks the syntax tree with Jinja2's scoping (a for loop body and a macro
// have their own scope; if does not; namespace() objects are shared), loop
// variables, macros, break/continue, and Jinja2's global functions
// namespace(), range() and dict().
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CHAT_JINJAINTERPRETER_H
#define INGOT_RUNTIME_CHAT_JINJAINTERPRETER_H

#include "runtime/chat/JinjaAst.h"
#include "runtime/chat/JinjaLimits.h"

#include <string>

namespace ingot::chat {

/// Renders `ast` with `variables` (render arguments and extra globals) on top
/// of Jinja2's globals, within `stepLimit` evaluation steps and the other
/// limits of JinjaLimits.h, into `out`; false with `error` set when the
/// template fails.
bool renderTemplate(const TemplateAst &ast, const Dict &variables,
                    uint64_t stepLimit, std::string &out, std::string &error);

} // namespace ingot::chat

#endif // INGOT_RUNTIME_CHAT_JINJAINTERPRETER_H
