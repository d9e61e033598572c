//===- Value.h - Dynamic values of the Jinja interpreter --------*- C++ -*-===//
//
// The values a chat template computes with, modelled on the Python objects
// Jinja2 works on: undefined, none, bool, int, float, str, list, dict, plus
// namespace objects, callables (macros and builtins) and one-shot iterables
// ("generators", what Jinja2's map/select filters return). Lists, dicts and
// namespaces are shared by reference, as in Python.
//
// Plain C++20: this library is linked into every emitted binary.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CHAT_VALUE_H
#define INGOT_RUNTIME_CHAT_VALUE_H

#include "runtime/chat/TemplateError.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ingot::chat {

class Value;
using ValueList = std::vector<Value>;

/// A dict with insertion order and string keys (JSON objects, kwargs).
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  const Value *find(std::string_view key) const;
  Value *find(std::string_view key);
  void set(const std::string &key, Value value);
};

/// Keyword and positional arguments of a call.
struct CallArgs {
  ValueList positional;
  std::vector<std::pair<std::string, Value>> keyword;
  int line = 0;
};

using Function = std::function<Value(CallArgs &)>;

class Value {
public:
  enum class Kind {
    Undefined,
    None,
    Bool,
    Int,
    Float,
    String,
    List,
    Generator,
    Dict,
    Namespace,
    Callable
  };

  Value() = default;
  /// An undefined value that remembers why, for the error when it is used.
  static Value undefined(std::string description);
  static Value none();
  Value(bool b);
  Value(int64_t i);
  Value(int i) : Value(static_cast<int64_t>(i)) {}
  Value(double d);
  Value(std::string s);
  Value(const char *s) : Value(std::string(s)) {}
  static Value list(ValueList items = {});
  /// A list that prints as a Python tuple: "(1, 2)".
  static Value tuple(ValueList items);
  static Value generator(ValueList items);
  static Value dict(Dict d = {});
  static Value ns(Dict d = {});
  static Value callable(std::string name, Function f);

  Kind kind() const { return kind_; }
  bool isUndefined() const { return kind_ == Kind::Undefined; }
  bool isNone() const { return kind_ == Kind::None; }
  bool isBool() const { return kind_ == Kind::Bool; }
  bool isInt() const { return kind_ == Kind::Int; }
  bool isFloat() const { return kind_ == Kind::Float; }
  bool isNumber() const { return isInt() || isFloat() || isBool(); }
  bool isString() const { return kind_ == Kind::String; }
  bool isList() const { return kind_ == Kind::List; }
  bool isTuple() const { return kind_ == Kind::List && tuple_; }
  bool isGenerator() const { return kind_ == Kind::Generator; }
  bool isDict() const { return kind_ == Kind::Dict; }
  bool isNamespace() const { return kind_ == Kind::Namespace; }
  bool isCallable() const { return kind_ == Kind::Callable; }

  bool getBool() const { return b_; }
  int64_t getInt() const { return isBool() ? (b_ ? 1 : 0) : i_; }
  double asDouble() const {
    return isFloat() ? d_ : static_cast<double>(getInt());
  }
  const std::string &getString() const { return *s_; }
  /// Items of a list or generator.
  const ValueList &getList() const { return *list_; }
  ValueList &getList() { return *list_; }
  /// Entries of a dict or namespace.
  const Dict &getDict() const { return *dict_; }
  Dict &getDict() { return *dict_; }
  const std::string &callableName() const { return *s_; }
  /// Why an undefined value is undefined ("'x' is undefined").
  std::string undefinedDescription() const {
    return s_ ? *s_ : "value is undefined";
  }
  const Function &getFunction() const { return *fn_; }

  /// Python truthiness (undefined is false, a generator is true).
  bool truthy() const;
  /// Python `str(x)` (undefined renders as "").
  std::string str() const;
  /// Python `repr(x)`, used inside printed lists and dicts.
  std::string repr() const;
  /// Python type name for error messages ("str", "NoneType", ...).
  std::string typeName() const;
  /// Python `==` (structural for lists and dicts).
  bool equals(const Value &other) const;
  /// Same object (lists, dicts, namespaces) or equal scalars.
  bool sameAs(const Value &other) const;
  /// How deeply lists and dicts nest in this value (0 for a scalar; a
  /// namespace counts as a scalar: nothing walks into one).
  int depth() const { return depth_; }

private:
  Kind kind_ = Kind::Undefined;
  bool b_ = false;
  bool tuple_ = false;
  uint16_t depth_ = 0;
  int64_t i_ = 0;
  double d_ = 0;
  std::shared_ptr<std::string> s_;
  std::shared_ptr<ValueList> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Function> fn_;
};

/// Python's repr of a float ("1.0", "0.1", "1e+16", "inf").
std::string formatPythonFloat(double d);

} // namespace ingot::chat

#endif // INGOT_RUNTIME_CHAT_VALUE_H
