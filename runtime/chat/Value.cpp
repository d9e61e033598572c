//===- Value.cpp - Dynamic values of the Jinja interpreter ----------------===//
#include "runtime/chat/Value.h"

#include "runtime/chat/JinjaLimits.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ingot::chat {

// Lookup is a linear search (dicts are small: a message's fields); a wide
// dict from JSON makes it cost, and a render pays for it.
const Value *Dict::find(std::string_view key) const {
  chargeSteps(items.size() / 8);
  for (const auto &[k, v] : items)
    if (k == key)
      return &v;
  return nullptr;
}

Value *Dict::find(std::string_view key) {
  chargeSteps(items.size() / 8);
  for (auto &[k, v] : items)
    if (k == key)
      return &v;
  return nullptr;
}

void Dict::set(const std::string &key, Value value) {
  if (Value *slot = find(key))
    *slot = std::move(value);
  else
    items.emplace_back(key, std::move(value));
}

Value Value::undefined(std::string description) {
  Value v;
  v.s_ = std::make_shared<std::string>(std::move(description));
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::None;
  return v;
}

Value::Value(bool b) : kind_(Kind::Bool), b_(b) {}
Value::Value(int64_t i) : kind_(Kind::Int), i_(i) {}
Value::Value(double d) : kind_(Kind::Float), d_(d) {}
Value::Value(std::string s)
    : kind_(Kind::String), s_(std::make_shared<std::string>(std::move(s))) {}

// One more level than the deepest item: walkers such as repr, equals and
// tojson recurse per level, so the depth is bounded when a value is built.
// False, having failed, when the container may not be built.
template <class Items, class DepthOf>
static bool containerDepth(const Items &items, DepthOf depthOf,
                           uint16_t &depth) {
  int deepest = 0;
  for (const auto &item : items)
    deepest = std::max(deepest, depthOf(item));
  if (deepest + 1 > kMaxValueDepth)
    return raiseLimit("the nesting of lists and dicts",
                      std::to_string(kMaxValueDepth) + " levels");
  depth = static_cast<uint16_t>(deepest + 1);
  return true;
}

// A value too deep to build is undefined (the render has failed).
Value Value::list(ValueList items) {
  Value v;
  if (!containerDepth(items, std::mem_fn(&Value::depth), v.depth_))
    return v;
  v.kind_ = Kind::List;
  v.list_ = std::make_shared<ValueList>(std::move(items));
  return v;
}

Value Value::tuple(ValueList items) {
  Value v = list(std::move(items));
  v.tuple_ = v.isList();
  return v;
}

Value Value::generator(ValueList items) {
  Value v = list(std::move(items));
  if (v.isList())
    v.kind_ = Kind::Generator;
  return v;
}

Value Value::dict(Dict d) {
  Value v;
  auto depthOf = [](const auto &item) { return item.second.depth(); };
  if (!containerDepth(d.items, depthOf, v.depth_))
    return v;
  v.kind_ = Kind::Dict;
  v.dict_ = std::make_shared<Dict>(std::move(d));
  return v;
}

Value Value::ns(Dict d) {
  Value v;
  v.kind_ = Kind::Namespace;
  v.dict_ = std::make_shared<Dict>(std::move(d));
  return v;
}

Value Value::callable(std::string name, Function f) {
  Value v;
  v.kind_ = Kind::Callable;
  v.s_ = std::make_shared<std::string>(std::move(name));
  v.fn_ = std::make_shared<Function>(std::move(f));
  return v;
}

bool Value::truthy() const {
  switch (kind_) {
  case Kind::Undefined:
  case Kind::None:
    return false;
  case Kind::Bool:
    return b_;
  case Kind::Int:
    return i_ != 0;
  case Kind::Float:
    return d_ != 0;
  case Kind::String:
    return !s_->empty();
  case Kind::List:
    return !list_->empty();
  case Kind::Dict:
    return !dict_->items.empty();
  case Kind::Generator:
  case Kind::Namespace:
  case Kind::Callable:
    return true;
  }
  return false;
}

std::string formatPythonFloat(double d) {
  if (std::isnan(d))
    return "nan";
  if (std::isinf(d))
    return d < 0 ? "-inf" : "inf";
  if (d == 0)
    return std::signbit(d) ? "-0.0" : "0.0";
  // Shortest digits that read back as the same double, as Python's repr.
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1, d);
    if (std::strtod(buf, nullptr) == d)
      break;
  }
  std::string text(buf);
  bool negative = text[0] == '-';
  if (negative)
    text.erase(0, 1);
  size_t e = text.find('e');
  int exponent = std::atoi(text.c_str() + e + 1);
  std::string digits;
  for (size_t i = 0; i < e; ++i)
    if (text[i] != '.')
      digits += text[i];
  std::string out;
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out = "0." + std::string(-exponent - 1, '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      out = digits + std::string(exponent + 1 - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1)
      out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+',
                  std::abs(exponent));
    out += exp;
  }
  return negative ? "-" + out : out;
}

static std::string reprString(const std::string &s) {
  bool hasSingle = s.find('\'') != std::string::npos;
  bool hasDouble = s.find('"') != std::string::npos;
  char quote = hasSingle && !hasDouble ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == '\\' || c == static_cast<unsigned char>(quote)) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
    // Escapes make the repr up to four times longer than the string.
    if (out.size() > kMaxStringBytes && !checkStringSize(out.size()))
      return Failure();
  }
  out += quote;
  return out;
}

std::string Value::str() const {
  switch (kind_) {
  case Kind::Undefined:
    return "";
  case Kind::String:
    return *s_;
  default:
    return repr();
  }
}

// The repr of a list repeats its items' reprs, which may each be long:
// every piece is appended with appendBounded, and the walk stops once that
// fails.
static bool appendRepr(std::string &out, const Value &v) {
  switch (v.kind()) {
  case Value::Kind::Undefined:
    return appendBounded(out, "Undefined");
  case Value::Kind::None:
    return appendBounded(out, "None");
  case Value::Kind::Bool:
    return appendBounded(out, v.getBool() ? "True" : "False");
  case Value::Kind::Int:
    return appendBounded(out, std::to_string(v.getInt()));
  case Value::Kind::Float:
    return appendBounded(out, formatPythonFloat(v.asDouble()));
  case Value::Kind::String:
    return appendBounded(out, reprString(v.getString()));
  case Value::Kind::List: {
    const ValueList &items = v.getList();
    if (!appendBounded(out, v.isTuple() ? "(" : "["))
      return false;
    for (size_t i = 0; i < items.size(); ++i)
      if ((i && !appendBounded(out, ", ")) || !appendRepr(out, items[i]))
        return false;
    if (v.isTuple())
      return appendBounded(out, items.size() == 1 ? ",)" : ")");
    return appendBounded(out, "]");
  }
  case Value::Kind::Generator:
    return appendBounded(out, "<generator object>");
  case Value::Kind::Dict: {
    if (!appendBounded(out, "{"))
      return false;
    bool first = true;
    for (const auto &[k, item] : v.getDict().items) {
      if ((!first && !appendBounded(out, ", ")) ||
          !appendBounded(out, reprString(k)) || !appendBounded(out, ": ") ||
          !appendRepr(out, item))
        return false;
      first = false;
    }
    return appendBounded(out, "}");
  }
  case Value::Kind::Namespace:
    return appendBounded(out, "<Namespace>");
  case Value::Kind::Callable:
    return appendBounded(out, "<function " + v.callableName() + ">");
  }
  return true;
}

std::string Value::repr() const {
  std::string out;
  if (!appendRepr(out, *this))
    return Failure();
  return out;
}

std::string Value::typeName() const {
  switch (kind_) {
  case Kind::Undefined:
    return "Undefined";
  case Kind::None:
    return "NoneType";
  case Kind::Bool:
    return "bool";
  case Kind::Int:
    return "int";
  case Kind::Float:
    return "float";
  case Kind::String:
    return "str";
  case Kind::List:
    return "list";
  case Kind::Generator:
    return "generator";
  case Kind::Dict:
    return "dict";
  case Kind::Namespace:
    return "Namespace";
  case Kind::Callable:
    return "function";
  }
  return "object";
}

bool Value::equals(const Value &other) const {
  if (isNumber() && other.isNumber()) {
    if (isFloat() || other.isFloat())
      return asDouble() == other.asDouble();
    return getInt() == other.getInt();
  }
  if (kind_ != other.kind_)
    return false;
  switch (kind_) {
  case Kind::Undefined:
  case Kind::None:
    return true;
  case Kind::String:
    if (s_->size() == other.s_->size())
      chargeBytes(s_->size());
    return *s_ == *other.s_;
  case Kind::List: {
    if (tuple_ != other.tuple_ || list_->size() != other.list_->size())
      return false;
    if (!chargeSteps(list_->size()))
      return false;
    for (size_t i = 0; i < list_->size(); ++i)
      if (!(*list_)[i].equals((*other.list_)[i]))
        return false;
    return true;
  }
  case Kind::Dict: {
    if (dict_->items.size() != other.dict_->items.size())
      return false;
    // Key lookup is linear: n^2 comparisons for two n-key dicts.
    if (!chargeSteps(dict_->items.size() * dict_->items.size()))
      return false;
    for (const auto &[k, v] : dict_->items) {
      const Value *o = other.dict_->find(k);
      if (!o || !v.equals(*o))
        return false;
    }
    return true;
  }
  default:
    return sameAs(other);
  }
}

bool Value::sameAs(const Value &other) const {
  if (kind_ != other.kind_)
    return false;
  switch (kind_) {
  case Kind::List:
  case Kind::Generator:
    return list_ == other.list_;
  case Kind::Dict:
  case Kind::Namespace:
    return dict_ == other.dict_;
  case Kind::Callable:
    return fn_ == other.fn_;
  default:
    return equals(other);
  }
}

} // namespace ingot::chat
