//===- JinjaBuiltins.h - Jinja2 filters and tests ---------------*- C++ -*-===//
//
// The filters (`x | name(args)`) and tests (`x is name(args)`) of Jinja2
// that chat templates use, with Jinja2's argument names and results; tojson
// is transformers' version (json.dumps with ensure_ascii=False). A filter or
// test not listed here is rejected when the template is parsed.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CHAT_JINJABUILTINS_H
#define INGOT_RUNTIME_CHAT_JINJABUILTINS_H

#include "runtime/chat/Value.h"

#include <string>
#include <string_view>

namespace ingot::chat {

bool isKnownFilter(std::string_view name);
bool isKnownTest(std::string_view name);

/// Applies filter `name` to `input`; args.line is the template line.
Value applyFilter(const std::string &name, const Value &input, CallArgs &args);
/// Evaluates test `name` on `input`.
bool applyTest(const std::string &name, const Value &input, CallArgs &args);

} // namespace ingot::chat

#endif // INGOT_RUNTIME_CHAT_JINJABUILTINS_H
