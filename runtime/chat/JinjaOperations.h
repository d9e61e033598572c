//===- JinjaOperations.h - Python object protocol for templates -*- C++ -*-===//
//
// What Jinja2 delegates to Python: attribute and item lookup (with the
// str/dict methods templates call), slicing, iteration, len(), operators and
// comparisons, with Python's results and Python's failures (TypeError,
// Jinja2's UndefinedError) as errors (TemplateError.h) that name the
// template line.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CHAT_JINJAOPERATIONS_H
#define INGOT_RUNTIME_CHAT_JINJAOPERATIONS_H

#include "runtime/chat/Value.h"

#include <string>
#include <string_view>

namespace ingot::chat {

/// Fails with `message` at template line `line` (TemplateError.h).
Failure raiseError(const std::string &message, int line);
/// The UndefinedError Jinja2 raises when an undefined value is used.
Failure raiseUndefined(const Value &value, int line);
/// The error for an integer result Python would hold but int64 cannot.
Failure raiseIntegerOverflow(const std::string &what, int line);
/// Python's int(float): fails for NaN, infinities and values past int64.
int64_t floatToInt(double d, int line);
/// std::string::find in linear time, charged to the render's budget.
size_t findText(std::string_view text, std::string_view needle, size_t from);

/// `obj.name`: dict keys, str and dict methods (as bound callables),
/// namespace attributes; undefined when missing.
Value getAttribute(const Value &obj, const std::string &name, int line);
/// `obj[key]`: list/str index (negative from the end), dict key; undefined
/// when missing.
Value getItem(const Value &obj, const Value &key, int line);
/// `obj[start:stop:step]` on lists and strings (by code point).
Value sliceValue(const Value &obj, const Value &start, const Value &stop,
                 const Value &step, int line);
/// The items a `for` loop visits: list items, dict keys, characters.
ValueList iterate(const Value &v, int line);
/// Python len().
int64_t lengthOf(const Value &v, int line);
/// Arithmetic and `~`: op is one of + - * / // % ** ~.
Value binaryOp(const std::string &op, const Value &l, const Value &r, int line);
/// op is one of == != < <= > >= in "not in".
bool compareOp(const std::string &op, const Value &l, const Value &r, int line);
Value callValue(const Value &callee, CallArgs &args, int line);

/// Python's `format % args` (printf-style), also the `format` filter.
std::string printfFormat(const std::string &format, const Value &args,
                         int line);

/// Python's str.upper/lower/title/capitalize (ASCII letters change).
std::string pythonUpper(const std::string &s);
std::string pythonLower(const std::string &s);
std::string pythonTitle(const std::string &s);
std::string pythonCapitalize(const std::string &s);

/// Reads a call's arguments by position or keyword, Python style.
class ArgReader {
public:
  ArgReader(CallArgs &args, std::string function)
      : args(args), function(std::move(function)) {}
  /// Argument `name` at position `position`, or `fallback` when absent.
  Value get(size_t position, const char *name, Value fallback = Value());
  bool has(size_t position, const char *name) const;
  /// False, having failed, if an argument was given that no get() asked for.
  [[nodiscard]] bool done();

private:
  CallArgs &args;
  std::string function;
  size_t maxPosition = 0;
  std::vector<std::string> knownNames;
};

} // namespace ingot::chat

#endif // INGOT_RUNTIME_CHAT_JINJAOPERATIONS_H
