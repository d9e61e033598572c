//===- Json.h - JSON in and out of template values --------------*- C++ -*-===//
//
// Conversations and special tokens arrive as JSON; the `tojson` filter writes
// JSON the way Python's json.dumps(ensure_ascii=False) does, which is what
// transformers renders with. Parsing uses Debian's header-only nlohmann-json
// (its SAX events, so object keys keep their order); the runtime cannot use
// LLVM's JSON. Writing is done here because the exact Python layout matters.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CHAT_JSON_H
#define INGOT_RUNTIME_CHAT_JSON_H

#include "runtime/chat/Value.h"

#include <optional>
#include <string>
#include <string_view>

namespace ingot::chat {

/// Parses JSON text into a value (objects keep their key order). Returns
/// false and sets `error` when the text is not valid JSON.
bool parseJson(std::string_view text, Value &out, std::string &error);

struct JsonDumpOptions {
  /// Python's `indent`: none for one line, otherwise the per-level string.
  std::optional<std::string> indent;
  /// Python's `separators`; defaults depend on `indent` as in json.dumps.
  std::optional<std::string> itemSeparator;
  std::optional<std::string> keySeparator;
  bool sortKeys = false;
  /// Python's `ensure_ascii`: non-ASCII written as \uXXXX escapes.
  bool ensureAscii = false;
};

/// json.dumps(value, ensure_ascii=False, ...). Fails (TemplateError.h) for
/// a value JSON cannot hold (undefined, a generator, a function...).
std::string dumpJson(const Value &value, const JsonDumpOptions &options = {});

} // namespace ingot::chat

#endif // INGOT_RUNTIME_CHAT_JSON_H
