//===- Json.cpp - JSON in and out of template values ----------------------===//
#include "runtime/chat/Json.h"

#include "runtime/chat/JinjaLimits.h"
#include "runtime/chat/Utf8.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace ingot::chat {

static Value fromNlohmann(const nlohmann::ordered_json &j, int depth) {
  // The conversion recurses per level: refuse what no template could use
  // before the stack runs out.
  if (depth > kMaxValueDepth)
    throw TemplateError("JSON nesting exceeds the limit of " +
                        std::to_string(kMaxValueDepth) + " levels");
  switch (j.type()) {
  case nlohmann::ordered_json::value_t::null:
    return Value::none();
  case nlohmann::ordered_json::value_t::boolean:
    return Value(j.get<bool>());
  case nlohmann::ordered_json::value_t::number_integer:
    return Value(j.get<int64_t>());
  case nlohmann::ordered_json::value_t::number_unsigned: {
    uint64_t u = j.get<uint64_t>();
    if (u <= static_cast<uint64_t>(INT64_MAX))
      return Value(static_cast<int64_t>(u));
    return Value(static_cast<double>(u));
  }
  case nlohmann::ordered_json::value_t::number_float:
    return Value(j.get<double>());
  case nlohmann::ordered_json::value_t::string:
    return Value(j.get<std::string>());
  case nlohmann::ordered_json::value_t::array: {
    ValueList items;
    for (const auto &e : j)
      items.push_back(fromNlohmann(e, depth + 1));
    return Value::list(std::move(items));
  }
  case nlohmann::ordered_json::value_t::object: {
    Dict d;
    for (auto it = j.begin(); it != j.end(); ++it)
      d.set(it.key(), fromNlohmann(it.value(), depth + 1));
    return Value::dict(std::move(d));
  }
  default:
    return Value::none();
  }
}

bool parseJson(std::string_view text, Value &out, std::string &error) {
  try {
    out = fromNlohmann(nlohmann::ordered_json::parse(text), 1);
    return true;
  } catch (const std::exception &e) {
    error = e.what();
    return false;
  }
}

static void dumpString(const std::string &s, std::string &out,
                       bool ensureAscii) {
  auto escape = [&](uint32_t unit) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", unit);
    out += buf;
  };
  out += '"';
  chargeBytes(s.size());
  for (char32_t cp : decodeUtf8(s)) {
    // An escape is up to twelve bytes for four.
    if (out.size() > kMaxStringBytes)
      checkStringSize(out.size());
    switch (cp) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    default:
      if (cp < 0x20) {
        escape(cp);
      } else if (cp >= 0x80 && ensureAscii) {
        if (cp >= 0x10000) {
          escape(0xD800 + ((cp - 0x10000) >> 10));
          escape(0xDC00 + ((cp - 0x10000) & 0x3FF));
        } else {
          escape(cp);
        }
      } else {
        appendUtf8(out, cp);
      }
    }
  }
  out += '"';
}

namespace {
struct Dumper {
  const JsonDumpOptions &options;
  std::string itemSep, keySep;
  std::string out;

  void newline(int level) {
    appendBounded(out, "\n");
    for (int i = 0; i < level; ++i)
      appendBounded(out, *options.indent);
  }

  void dump(const Value &v, int level) {
    switch (v.kind()) {
    case Value::Kind::None:
      out += "null";
      return;
    case Value::Kind::Bool:
      out += v.getBool() ? "true" : "false";
      return;
    case Value::Kind::Int:
      out += std::to_string(v.getInt());
      return;
    case Value::Kind::Float: {
      double d = v.asDouble();
      if (d != d)
        out += "NaN";
      else if (d > 1e308 * 10)
        out += "Infinity";
      else if (d < -1e308 * 10)
        out += "-Infinity";
      else
        out += formatPythonFloat(d);
      return;
    }
    case Value::Kind::String:
      dumpString(v.getString(), out, options.ensureAscii);
      return;
    case Value::Kind::List: {
      const ValueList &items = v.getList();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i)
          appendBounded(out, itemSep);
        if (options.indent)
          newline(level + 1);
        dump(items[i], level + 1);
      }
      if (options.indent)
        newline(level);
      out += ']';
      return;
    }
    case Value::Kind::Dict: {
      std::vector<const std::pair<std::string, Value> *> entries;
      for (const auto &e : v.getDict().items)
        entries.push_back(&e);
      if (entries.empty()) {
        out += "{}";
        return;
      }
      if (options.sortKeys)
        std::sort(entries.begin(), entries.end(), // keys are unique
                         [](auto *a, auto *b) { return a->first < b->first; });
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i)
          appendBounded(out, itemSep);
        if (options.indent)
          newline(level + 1);
        dumpString(entries[i]->first, out, options.ensureAscii);
        appendBounded(out, keySep);
        dump(entries[i]->second, level + 1);
      }
      if (options.indent)
        newline(level);
      out += '}';
      return;
    }
    default:
      throw TemplateError("Object of type " + v.typeName() +
                          " is not JSON serializable");
    }
  }
};
} // namespace

std::string dumpJson(const Value &value, const JsonDumpOptions &options) {
  Dumper d{options,
           options.itemSeparator.value_or(options.indent ? "," : ", "),
           options.keySeparator.value_or(": "),
           {}};
  d.dump(value, 0);
  return d.out;
}

} // namespace ingot::chat
