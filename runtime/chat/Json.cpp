//===- Json.cpp - JSON in and out of template values ----------------------===//
#include "runtime/chat/Json.h"

#include "runtime/chat/JinjaLimits.h"
#include "runtime/chat/Utf8.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <unordered_map>
#include <vector>

namespace ingot::chat {

namespace {
// Builds values straight from nlohmann's SAX events: no recursion (the
// nesting is an explicit stack, bounded like every value's) and no
// quadratic work on wide objects (nlohmann's ordered_json, and Dict::set,
// find keys by a linear search).
class ValueBuilder {
public:
  using json = nlohmann::json;

  Value result;
  std::string error;

  bool null() { return add(Value::none()); }
  bool boolean(bool b) { return add(Value(b)); }
  bool number_integer(json::number_integer_t i) {
    return add(Value(static_cast<int64_t>(i)));
  }
  bool number_unsigned(json::number_unsigned_t u) {
    if (u <= static_cast<uint64_t>(INT64_MAX))
      return add(Value(static_cast<int64_t>(u)));
    return add(Value(static_cast<double>(u)));
  }
  bool number_float(json::number_float_t d, const std::string &) {
    return add(Value(static_cast<double>(d)));
  }
  bool string(std::string &s) { return add(Value(std::move(s))); }
  bool binary(json::binary_t &) {
    error = "binary values are not JSON";
    return false;
  }
  bool start_object(size_t) { return open(/*isObject=*/true); }
  bool key(std::string &k) {
    frames.back().key = std::move(k);
    return true;
  }
  bool end_object() {
    Frame frame = std::move(frames.back());
    frames.pop_back();
    return add(Value::dict(std::move(frame.dict)));
  }
  bool start_array(size_t) { return open(/*isObject=*/false); }
  bool end_array() {
    Frame frame = std::move(frames.back());
    frames.pop_back();
    return add(Value::list(std::move(frame.items)));
  }
  bool parse_error(size_t, const std::string &,
                   const nlohmann::detail::exception &e) {
    error = e.what();
    return false;
  }

private:
  struct Frame {
    bool isObject;
    std::string key;
    ValueList items;
    Dict dict;
    // Position of each key in `dict`: a repeated key keeps its first
    // position and takes the last value, as Python's json.loads does.
    std::unordered_map<std::string, size_t> positions;
  };
  std::vector<Frame> frames;

  bool open(bool isObject) {
    if (frames.size() >= static_cast<size_t>(kMaxValueDepth)) {
      error = "JSON nesting exceeds the limit of " +
              std::to_string(kMaxValueDepth) + " levels";
      return false;
    }
    frames.push_back(Frame{isObject, {}, {}, {}, {}});
    return true;
  }

  bool add(Value v) {
    if (frames.empty()) {
      result = std::move(v);
      return true;
    }
    Frame &top = frames.back();
    if (!top.isObject) {
      top.items.push_back(std::move(v));
      return true;
    }
    auto [it, inserted] = top.positions.emplace(top.key, top.dict.items.size());
    if (inserted)
      top.dict.items.emplace_back(std::move(top.key), std::move(v));
    else
      top.dict.items[it->second].second = std::move(v);
    return true;
  }
};
} // namespace

bool parseJson(std::string_view text, Value &out, std::string &error) {
  // Without exceptions, nlohmann reports every parse error to the SAX
  // handler.
  ValueBuilder builder;
  if (!nlohmann::json::sax_parse(text, &builder)) {
    error = builder.error.empty() ? "invalid JSON" : builder.error;
    return false;
  }
  out = std::move(builder.result);
  return true;
}

static bool dumpString(const std::string &s, std::string &out,
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
    if (out.size() > kMaxStringBytes && !checkStringSize(out.size()))
      return false;
    switch (cp) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
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
  return true;
}

namespace {
// Writes one value; each function returns false once the dump has failed.
struct Dumper {
  const JsonDumpOptions &options;
  std::string itemSep, keySep;
  std::string out;

  bool newline(int level) {
    if (!appendBounded(out, "\n"))
      return false;
    for (int i = 0; i < level; ++i)
      if (!appendBounded(out, *options.indent))
        return false;
    return true;
  }

  // A list or object of `count` entries between `open` and `close`, each
  // written by dumpEntry(i).
  template <class DumpEntry>
  bool dumpContainer(char open, char close, size_t count, int level,
                     DumpEntry dumpEntry) {
    out += open;
    if (count == 0) {
      out += close;
      return true;
    }
    for (size_t i = 0; i < count; ++i) {
      if (i && !appendBounded(out, itemSep))
        return false;
      if (options.indent && !newline(level + 1))
        return false;
      if (!dumpEntry(i))
        return false;
    }
    if (options.indent && !newline(level))
      return false;
    out += close;
    return true;
  }

  bool dump(const Value &v, int level) {
    switch (v.kind()) {
    case Value::Kind::None:
      out += "null";
      return true;
    case Value::Kind::Bool:
      out += v.getBool() ? "true" : "false";
      return true;
    case Value::Kind::Int:
      out += std::to_string(v.getInt());
      return true;
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
      return true;
    }
    case Value::Kind::String:
      return dumpString(v.getString(), out, options.ensureAscii);
    case Value::Kind::List: {
      const ValueList &items = v.getList();
      return dumpContainer('[', ']', items.size(), level,
                           [&](size_t i) { return dump(items[i], level + 1); });
    }
    case Value::Kind::Dict: {
      std::vector<const std::pair<std::string, Value> *> entries;
      for (const auto &e : v.getDict().items)
        entries.push_back(&e);
      if (options.sortKeys)
        std::sort(entries.begin(), entries.end(), // keys are unique
                  [](auto *a, auto *b) { return a->first < b->first; });
      return dumpContainer('{', '}', entries.size(), level, [&](size_t i) {
        return dumpString(entries[i]->first, out, options.ensureAscii) &&
               appendBounded(out, keySep) &&
               dump(entries[i]->second, level + 1);
      });
    }
    default:
      return fail("Object of type " + v.typeName() +
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
  if (!d.dump(value, 0))
    return Failure();
  return d.out;
}

} // namespace ingot::chat
