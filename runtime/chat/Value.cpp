//===- Value.cpp - Dynamic values of the Jinja interpreter ----------------===//
#include "runtime/chat/Value.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ingot::chat {

const Value *Dict::find(std::string_view key) const {
  for (const auto &[k, v] : items)
    if (k == key)
      return &v;
  return nullptr;
}

Value *Dict::find(std::string_view key) {
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

Value Value::list(ValueList items) {
  Value v;
  v.kind_ = Kind::List;
  v.list_ = std::make_shared<ValueList>(std::move(items));
  return v;
}

Value Value::tuple(ValueList items) {
  Value v = list(std::move(items));
  v.tuple_ = true;
  return v;
}

Value Value::generator(ValueList items) {
  Value v = list(std::move(items));
  v.kind_ = Kind::Generator;
  return v;
}

Value Value::dict(Dict d) {
  Value v;
  v.kind_ = Kind::Dict;
  v.dict_ = std::make_shared<Dict>(std::move(d));
  return v;
}

Value Value::ns(Dict d) {
  Value v = dict(std::move(d));
  v.kind_ = Kind::Namespace;
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

std::string Value::repr() const {
  switch (kind_) {
  case Kind::Undefined:
    return "Undefined";
  case Kind::None:
    return "None";
  case Kind::Bool:
    return b_ ? "True" : "False";
  case Kind::Int:
    return std::to_string(i_);
  case Kind::Float:
    return formatPythonFloat(d_);
  case Kind::String:
    return reprString(*s_);
  case Kind::List: {
    std::string out = tuple_ ? "(" : "[";
    for (size_t i = 0; i < list_->size(); ++i)
      out += (i ? ", " : "") + (*list_)[i].repr();
    if (tuple_)
      return out + (list_->size() == 1 ? ",)" : ")");
    return out + "]";
  }
  case Kind::Generator:
    return "<generator object>";
  case Kind::Dict: {
    std::string out = "{";
    bool first = true;
    for (const auto &[k, v] : dict_->items) {
      out += (first ? "" : ", ") + reprString(k) + ": " + v.repr();
      first = false;
    }
    return out + "}";
  }
  case Kind::Namespace:
    return "<Namespace>";
  case Kind::Callable:
    return "<function " + *s_ + ">";
  }
  return "";
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
    return *s_ == *other.s_;
  case Kind::List: {
    if (tuple_ != other.tuple_ || list_->size() != other.list_->size())
      return false;
    for (size_t i = 0; i < list_->size(); ++i)
      if (!(*list_)[i].equals((*other.list_)[i]))
        return false;
    return true;
  }
  case Kind::Dict: {
    if (dict_->items.size() != other.dict_->items.size())
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
