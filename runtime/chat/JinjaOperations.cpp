//===- JinjaOperations.cpp - Python object protocol for templates ---------===//
#include "runtime/chat/JinjaOperations.h"

#include "runtime/chat/JinjaLimits.h"
#include "runtime/chat/Utf8.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>

namespace ingot::chat {

Failure raiseError(const std::string &message, int line) {
  return fail(message + " at line " + std::to_string(line));
}

Failure raiseUndefined(const Value &value, int line) {
  std::string why = value.undefinedDescription();
  return raiseError(
      why.rfind("unsupported", 0) == 0 ? why : "UndefinedError: " + why, line);
}

Failure raiseIntegerOverflow(const std::string &what, int line) {
  return raiseError("OverflowError: " + what +
                        " does not fit in 64 bits (the interpreter's integers)",
                    line);
}

int64_t floatToInt(double d, int line) {
  if (std::isnan(d))
    return raiseError("ValueError: cannot convert float NaN to integer", line);
  if (std::isinf(d))
    return raiseError("OverflowError: cannot convert float infinity to integer",
                      line);
  // The doubles that convert are those in [-2^63, 2^63).
  if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
    return raiseIntegerOverflow("int(" + formatPythonFloat(d) + ")", line);
  return static_cast<int64_t>(d);
}

size_t findText(std::string_view text, std::string_view needle, size_t from) {
  if (from > text.size())
    return std::string::npos;
  // glibc's memmem (two-way) is linear; std::string::find compares at every
  // candidate position, quadratic on a hostile needle.
  const void *at = memmem(text.data() + from, text.size() - from, needle.data(),
                          needle.size());
  size_t found =
      at ? static_cast<const char *>(at) - text.data() : std::string::npos;
  chargeBytes((at ? found : text.size()) - from + needle.size());
  return found;
}

// Searching from the end: a forward search of the reversed text.
class ReverseFinder {
public:
  ReverseFinder(std::string_view text, std::string_view needle)
      : reversedText(text.rbegin(), text.rend()),
        reversedNeedle(needle.rbegin(), needle.rend()) {
    chargeBytes(text.size());
  }
  /// Start of the last occurrence ending at or before `end`, or npos.
  size_t findLast(size_t end) const {
    size_t n = reversedText.size();
    if (end > n)
      end = n;
    size_t at = findText(reversedText, reversedNeedle, n - end);
    if (at == std::string::npos)
      return at;
    return n - at - reversedNeedle.size();
  }

private:
  std::string reversedText, reversedNeedle;
};

// ---- arguments
// ---------------------------------------------------------------

bool ArgReader::has(size_t position, const char *name) const {
  if (position < args.positional.size())
    return true;
  for (const auto &[k, v] : args.keyword)
    if (k == name)
      return true;
  return false;
}

Value ArgReader::get(size_t position, const char *name, Value fallback) {
  maxPosition = std::max(maxPosition, position + 1);
  knownNames.push_back(name);
  if (position < args.positional.size())
    return args.positional[position];
  for (const auto &[k, v] : args.keyword)
    if (k == name)
      return v;
  return fallback;
}

bool ArgReader::done() {
  if (args.positional.size() > maxPosition)
    return raiseError("TypeError: " + function + "() takes at most " +
                          std::to_string(maxPosition) + " arguments",
                      args.line);
  for (const auto &[k, v] : args.keyword)
    if (std::find(knownNames.begin(), knownNames.end(), k) == knownNames.end())
      return raiseError("TypeError: " + function +
                            "() got an unexpected keyword argument '" + k + "'",
                        args.line);
  return true;
}

// ---- strings
// -------------------------------------------------------------------

static bool isAscii(const std::string &s) {
  for (unsigned char c : s)
    if (c >= 0x80)
      return false;
  return true;
}

static std::string stripString(const std::string &s, const Value &chars,
                               bool left, bool right) {
  std::u32string text = decodeUtf8(s);
  std::u32string set;
  bool whitespace = chars.isNone() || chars.isUndefined();
  if (!whitespace)
    set = decodeUtf8(chars.str());
  auto strip = [&](char32_t c) {
    return whitespace ? isPythonSpace(c) : set.find(c) != std::u32string::npos;
  };
  size_t b = 0, e = text.size();
  if (left)
    while (b < e && strip(text[b]))
      ++b;
  if (right)
    while (e > b && strip(text[e - 1]))
      --e;
  return encodeUtf8(text.substr(b, e - b));
}

// A separator given to split/rsplit (not None): a non-empty str, or false
// having failed.
static bool isSeparator(const Value &sep, int line) {
  if (!sep.isString())
    return raiseError("TypeError: must be str or None, not " + sep.typeName(),
                      line);
  if (sep.getString().empty())
    return raiseError("ValueError: empty separator", line);
  return true;
}

static ValueList splitString(const std::string &s, const Value &sepValue,
                             int64_t maxSplit, int line) {
  ValueList out;
  chargeBytes(s.size());
  if (sepValue.isNone() || sepValue.isUndefined()) {
    std::u32string text = decodeUtf8(s);
    size_t i = 0, n = text.size();
    while (true) {
      while (i < n && isPythonSpace(text[i]))
        ++i;
      if (i >= n)
        break;
      if (maxSplit >= 0 && static_cast<int64_t>(out.size()) == maxSplit) {
        // The rest keeps its trailing whitespace, as in Python.
        out.push_back(Value(encodeUtf8(text.substr(i))));
        break;
      }
      size_t j = i;
      while (j < n && !isPythonSpace(text[j]))
        ++j;
      out.push_back(Value(encodeUtf8(text.substr(i, j - i))));
      i = j;
    }
    return out;
  }
  if (!isSeparator(sepValue, line))
    return Failure();
  const std::string &sep = sepValue.getString();
  size_t start = 0;
  while (true) {
    if (!chargeSteps(1))
      return Failure();
    size_t at = (maxSplit >= 0 && static_cast<int64_t>(out.size()) == maxSplit)
                    ? std::string::npos
                    : findText(s, sep, start);
    if (at == std::string::npos) {
      out.push_back(Value(s.substr(start)));
      break;
    }
    out.push_back(Value(s.substr(start, at - start)));
    start = at + sep.size();
  }
  return out;
}

static ValueList rsplitString(const std::string &s, const Value &sepValue,
                              int64_t maxSplit, int line) {
  if (maxSplit < 0)
    return splitString(s, sepValue, maxSplit, line);
  if (sepValue.isNone() || sepValue.isUndefined()) {
    // Whitespace runs from the right; what is left keeps its leading
    // whitespace, as in Python ('  a b  c'.rsplit(None, 1) == ['  a b', 'c']).
    chargeBytes(s.size());
    std::u32string text = decodeUtf8(s);
    ValueList out;
    size_t end = text.size();
    while (true) {
      while (end > 0 && isPythonSpace(text[end - 1]))
        --end;
      if (end == 0)
        break;
      if (static_cast<int64_t>(out.size()) == maxSplit) {
        out.push_back(Value(encodeUtf8(text.substr(0, end))));
        break;
      }
      size_t begin = end;
      while (begin > 0 && !isPythonSpace(text[begin - 1]))
        --begin;
      out.push_back(Value(encodeUtf8(text.substr(begin, end - begin))));
      end = begin;
    }
    std::reverse(out.begin(), out.end());
    return out;
  }
  if (!isSeparator(sepValue, line))
    return Failure();
  const std::string &sep = sepValue.getString();
  ValueList out;
  ReverseFinder finder(s, sep);
  size_t end = s.size();
  while (static_cast<int64_t>(out.size()) < maxSplit) {
    if (!chargeSteps(1))
      return Failure();
    size_t at = finder.findLast(end);
    if (at == std::string::npos)
      break;
    out.push_back(Value(s.substr(at + sep.size(), end - at - sep.size())));
    end = at;
  }
  out.push_back(Value(s.substr(0, end)));
  std::reverse(out.begin(), out.end());
  return out;
}

static std::string replaceString(const std::string &s, const std::string &old,
                                 const std::string &with, int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `with` between every character (and at both ends).
    std::u32string text = decodeUtf8(s);
    int64_t done = 0;
    std::string character;
    for (size_t i = 0; i <= text.size(); ++i) {
      if (count < 0 || done < count) {
        if (!appendBounded(out, with))
          return Failure();
        ++done;
      }
      if (i < text.size()) {
        character.clear();
        appendUtf8(character, text[i]);
        if (!appendBounded(out, character))
          return Failure();
      }
    }
    return out;
  }
  std::string_view view(s);
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t at = findText(s, old, start);
    if (at == std::string::npos)
      break;
    if (!appendBounded(out, view.substr(start, at - start)))
      return Failure();
    if (!appendBounded(out, with))
      return Failure();
    start = at + old.size();
    ++done;
  }
  if (!appendBounded(out, view.substr(start)))
    return Failure();
  return out;
}

// Python's case conversions, with the simple Unicode mappings of Utf8.h
// (and U+00DF, which upper-cases to "SS").
static bool isCased(char32_t c) {
  return toUpperCodePoint(c) != c || toLowerCodePoint(c) != c;
}

std::string pythonUpper(const std::string &s) {
  chargeBytes(s.size());
  std::string out;
  for (char32_t c : decodeUtf8(s)) {
    if (c == 0xDF)
      out += "SS";
    else
      appendUtf8(out, toUpperCodePoint(c));
  }
  return out;
}

std::string pythonLower(const std::string &s) {
  chargeBytes(s.size());
  std::string out;
  for (char32_t c : decodeUtf8(s))
    appendUtf8(out, toLowerCodePoint(c));
  return out;
}

std::string pythonTitle(const std::string &s) {
  chargeBytes(s.size());
  std::string out;
  bool previousCased = false;
  for (char32_t c : decodeUtf8(s)) {
    bool cased = isCased(c);
    if (cased && !previousCased && c == 0xDF)
      out += "Ss";
    else
      appendUtf8(out, cased ? (previousCased ? toLowerCodePoint(c)
                                             : toUpperCodePoint(c))
                            : c);
    previousCased = cased;
  }
  return out;
}

std::string pythonCapitalize(const std::string &s) {
  chargeBytes(s.size());
  std::u32string text = decodeUtf8(s);
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 0 && text[i] == 0xDF)
      out += "Ss";
    else
      appendUtf8(out, i == 0 ? toUpperCodePoint(text[i])
                             : toLowerCodePoint(text[i]));
  }
  return out;
}

static bool matchesAffix(const std::string &s, const Value &affix, bool prefix,
                         int line) {
  auto one = [&](const Value &a) -> bool {
    if (!a.isString())
      return raiseError(
          std::string("TypeError: ") + (prefix ? "startswith" : "endswith") +
              " first arg must be str or a tuple of str, not " + a.typeName(),
          line);
    const std::string &x = a.getString();
    if (x.size() > s.size())
      return false;
    return prefix ? s.compare(0, x.size(), x) == 0
                  : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.isList()) {
    for (const Value &a : affix.getList())
      if (one(a))
        return true;
    return false;
  }
  return one(affix);
}

// str.format with automatic/numbered/named fields and no format specs.
static std::string formatString(const std::string &fmt, CallArgs &args,
                                int line) {
  std::string out;
  size_t autoIndex = 0;
  chargeBytes(fmt.size());
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      size_t close = fmt.find('}', i);
      if (close == std::string::npos)
        return raiseError("ValueError: unmatched '{' in format string", line);
      std::string field = fmt.substr(i + 1, close - i - 1);
      if (field.find_first_of(":!.[") != std::string::npos)
        return raiseError(
            "unsupported format field '{" + field + "}' in str.format", line);
      Value v;
      if (field.empty()) {
        if (autoIndex >= args.positional.size())
          return raiseError("IndexError: Replacement index out of range", line);
        v = args.positional[autoIndex++];
      } else if (std::all_of(field.begin(), field.end(), [](char d) {
                   return std::isdigit(static_cast<unsigned char>(d));
                 })) {
        // More digits than any argument list has items: out of range.
        size_t k = field.size() > 9 ? SIZE_MAX : std::stoul(field);
        if (k >= args.positional.size())
          return raiseError("IndexError: Replacement index out of range", line);
        v = args.positional[k];
      } else {
        bool found = false;
        for (auto &[name, value] : args.keyword)
          if (name == field) {
            v = value;
            found = true;
          }
        if (!found)
          return raiseError("KeyError: '" + field + "'", line);
      }
      if (!appendBounded(out, v.str()))
        return Failure();
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

static int64_t intArg(const Value &v, const char *what, int line) {
  if (v.isInt() || v.isBool())
    return v.getInt();
  return raiseError(std::string("TypeError: ") + what +
                        " must be an integer, not " + v.typeName(),
                    line);
}

// ---- str methods -----------------------------------------------------------

// One call of a str method: `s.name(args)`, with `reader` over the arguments.
struct MethodCall {
  const std::string &name;
  const std::string &s;
  CallArgs &args;
  ArgReader reader;
  int line;
};

static Value strAffix(MethodCall &c) {
  Value affix = c.reader.get(0, "prefix");
  if (!c.reader.done())
    return Failure();
  return Value(matchesAffix(c.s, affix, c.name == "startswith", c.line));
}

// split, rsplit.
static Value strSplit(MethodCall &c) {
  Value sep = c.reader.get(0, "sep", Value::none());
  int64_t maxSplit = intArg(c.reader.get(1, "maxsplit", Value(int64_t(-1))),
                            "maxsplit", c.line);
  if (!c.reader.done())
    return Failure();
  return Value::list(c.name == "split"
                         ? splitString(c.s, sep, maxSplit, c.line)
                         : rsplitString(c.s, sep, maxSplit, c.line));
}

// strip, lstrip, rstrip.
static Value strStrip(MethodCall &c) {
  Value chars = c.reader.get(0, "chars", Value::none());
  if (!c.reader.done())
    return Failure();
  return Value(stripString(c.s, chars, c.name != "rstrip", c.name != "lstrip"));
}

static Value strReplace(MethodCall &c) {
  Value old = c.reader.get(0, "old"), with = c.reader.get(1, "new");
  int64_t count =
      intArg(c.reader.get(2, "count", Value(int64_t(-1))), "count", c.line);
  if (!c.reader.done())
    return Failure();
  if (!old.isString() || !with.isString())
    return raiseError("TypeError: replace() arguments must be str", c.line);
  return Value(replaceString(c.s, old.getString(), with.getString(), count));
}

// upper, lower, title, capitalize.
static Value strCase(MethodCall &c) {
  if (!c.reader.done())
    return Failure();
  return Value(c.name == "upper"   ? pythonUpper(c.s)
               : c.name == "lower" ? pythonLower(c.s)
               : c.name == "title" ? pythonTitle(c.s)
                                   : pythonCapitalize(c.s));
}

// find, rfind, count.
static Value strFind(MethodCall &c) {
  Value sub = c.reader.get(0, "sub");
  if (!c.reader.done())
    return Failure();
  if (!sub.isString())
    return raiseError("TypeError: must be str, not " + sub.typeName(), c.line);
  const std::string &s = c.s, &x = sub.getString();
  if (c.name == "count") {
    if (x.empty())
      return Value(static_cast<int64_t>(utf8Length(s) + 1));
    int64_t n = 0;
    for (size_t at = findText(s, x, 0); at != std::string::npos;
         at = findText(s, x, at + x.size()))
      ++n;
    return Value(n);
  }
  size_t at = c.name == "find" ? findText(s, x, 0)
                               : ReverseFinder(s, x).findLast(s.size());
  if (at == std::string::npos)
    return Value(int64_t(-1));
  return Value(
      static_cast<int64_t>(utf8Length(std::string_view(s).substr(0, at))));
}

static Value strJoin(MethodCall &c) {
  Value items = c.reader.get(0, "iterable");
  if (!c.reader.done())
    return Failure();
  std::string out;
  bool first = true;
  for (const Value &v : iterate(items, c.line)) {
    if (!v.isString())
      return raiseError("TypeError: sequence item: expected str instance, " +
                            v.typeName() + " found",
                        c.line);
    if (!first && !appendBounded(out, c.s))
      return Failure();
    if (!appendBounded(out, v.getString()))
      return Failure();
    first = false;
  }
  return Value(out);
}

static Value strFormat(MethodCall &c) {
  return Value(formatString(c.s, c.args, c.line));
}

static Value strSplitLines(MethodCall &c) {
  if (!c.reader.done())
    return Failure();
  const std::string &s = c.s;
  chargeBytes(s.size());
  ValueList out;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r') {
      out.push_back(Value(s.substr(start, i - start)));
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')
        ++i;
      start = i + 1;
    }
  }
  if (start < s.size())
    out.push_back(Value(s.substr(start)));
  return Value::list(std::move(out));
}

// removeprefix, removesuffix.
static Value strRemoveAffix(MethodCall &c) {
  Value a = c.reader.get(0, "affix");
  if (!c.reader.done())
    return Failure();
  if (!a.isString())
    return raiseError("TypeError: argument must be str", c.line);
  const std::string &s = c.s, &x = a.getString();
  if (c.name == "removeprefix")
    return Value(s.compare(0, x.size(), x) == 0 ? s.substr(x.size()) : s);
  if (x.size() <= s.size() && s.compare(s.size() - x.size(), x.size(), x) == 0)
    return Value(s.substr(0, s.size() - x.size()));
  return Value(s);
}

// isdigit, isalpha, isalnum, isspace, isupper, islower (ASCII classes;
// other bytes count as letters).
static Value strIsClass(MethodCall &c) {
  if (!c.reader.done())
    return Failure();
  if (c.s.empty())
    return Value(false);
  const std::string &name = c.name;
  bool all = true, anyCased = false;
  for (unsigned char ch : c.s) {
    if (name == "isdigit")
      all &= std::isdigit(ch) != 0;
    else if (name == "isalpha")
      all &= std::isalpha(ch) != 0 || ch >= 0x80;
    else if (name == "isalnum")
      all &= std::isalnum(ch) != 0 || ch >= 0x80;
    else if (name == "isspace")
      all &= std::isspace(ch) != 0;
    else if (name == "isupper") {
      all &= !std::islower(ch);
      anyCased |= std::isupper(ch) != 0;
    } else {
      all &= !std::isupper(ch);
      anyCased |= std::islower(ch) != 0;
    }
  }
  if (name == "isupper" || name == "islower")
    return Value(all && anyCased);
  return Value(all);
}

using StrMethod = Value (*)(MethodCall &);

// Every str method templates may call, by name.
static const std::pair<std::string_view, StrMethod> kStrMethods[] = {
    {"startswith", strAffix},
    {"endswith", strAffix},
    {"split", strSplit},
    {"rsplit", strSplit},
    {"strip", strStrip},
    {"lstrip", strStrip},
    {"rstrip", strStrip},
    {"replace", strReplace},
    {"upper", strCase},
    {"lower", strCase},
    {"title", strCase},
    {"capitalize", strCase},
    {"find", strFind},
    {"rfind", strFind},
    {"count", strFind},
    {"join", strJoin},
    {"format", strFormat},
    {"splitlines", strSplitLines},
    {"isdigit", strIsClass},
    {"isalpha", strIsClass},
    {"isalnum", strIsClass},
    {"isspace", strIsClass},
    {"isupper", strIsClass},
    {"islower", strIsClass},
    {"removeprefix", strRemoveAffix},
    {"removesuffix", strRemoveAffix}};

static Value stringMethod(const Value &self, const std::string &name) {
  StrMethod method = nullptr;
  for (const auto &[n, m] : kStrMethods)
    if (n == name)
      method = m;
  if (!method) {
    static const char *python[] = {
        "casefold",    "center",     "encode",    "expandtabs",   "format_map",
        "index",       "isascii",    "isdecimal", "isidentifier", "isnumeric",
        "isprintable", "istitle",    "ljust",     "partition",    "rindex",
        "rjust",       "rpartition", "swapcase",  "translate",    "zfill"};
    for (const char *p : python)
      if (name == p)
        return Value::undefined("unsupported method 'str." + name + "'");
    return Value::undefined("'str object' has no attribute '" + name + "'");
  }
  chargeBytes(self.getString().size());
  std::string s = self.getString();
  return Value::callable(
      "str." + name, [s, name, method](CallArgs &args) -> Value {
        MethodCall call{name, s, args, ArgReader(args, name), args.line};
        return method(call);
      });
}

static Value dictMethod(const Value &self, const std::string &name) {
  Value d = self;
  return Value::callable("dict." + name, [d, name](CallArgs &args) -> Value {
    ArgReader r(args, name);
    if (name == "get") {
      Value key = r.get(0, "key");
      Value fallback = r.get(1, "default", Value::none());
      if (!r.done())
        return Failure();
      if (key.isString())
        if (const Value *v = d.getDict().find(key.getString()))
          return *v;
      return fallback;
    }
    if (!r.done())
      return Failure();
    ValueList out;
    for (const auto &[k, v] : d.getDict().items) {
      if (name == "keys")
        out.push_back(Value(k));
      else if (name == "values")
        out.push_back(v);
      else
        out.push_back(Value::tuple({Value(k), v}));
    }
    return Value::list(std::move(out));
  });
}

// ---- lookup
// ------------------------------------------------------------------

Value getAttribute(const Value &obj, const std::string &name, int line) {
  switch (obj.kind()) {
  case Value::Kind::Undefined:
    return raiseUndefined(obj, line);
  case Value::Kind::Dict:
    if (name == "get" || name == "items" || name == "keys" || name == "values")
      return dictMethod(obj, name);
    if (const Value *v = obj.getDict().find(name))
      return *v;
    return Value::undefined("'dict object' has no attribute '" + name + "'");
  case Value::Kind::Namespace:
    if (const Value *v = obj.getDict().find(name))
      return *v;
    return Value::undefined("'Namespace' has no attribute '" + name + "'");
  case Value::Kind::String:
    return stringMethod(obj, name);
  default:
    return Value::undefined("'" + obj.typeName() +
                            " object' has no attribute '" + name + "'");
  }
}

static bool normalizeIndex(int64_t &index, int64_t size) {
  if (index < 0)
    index += size;
  return index >= 0 && index < size;
}

Value getItem(const Value &obj, const Value &key, int line) {
  switch (obj.kind()) {
  case Value::Kind::Undefined:
    return raiseUndefined(obj, line);
  case Value::Kind::Dict:
  case Value::Kind::Namespace:
    if (key.isString()) {
      if (const Value *v = obj.getDict().find(key.getString()))
        return *v;
      if (obj.isDict())
        return getAttribute(obj, key.getString(), line);
    }
    return Value::undefined("'dict object' has no attribute " + key.repr());
  case Value::Kind::List:
    if (key.isInt() || key.isBool()) {
      int64_t i = key.getInt();
      if (normalizeIndex(i, obj.getList().size()))
        return obj.getList()[i];
      return Value::undefined("list index out of range");
    }
    return Value::undefined("'list object' has no attribute " + key.repr());
  case Value::Kind::String:
    if (key.isInt() || key.isBool()) {
      int64_t i = key.getInt();
      const std::string &s = obj.getString();
      // Indexing by code point scans the string.
      chargeBytes(s.size());
      if (isAscii(s)) {
        if (normalizeIndex(i, s.size()))
          return Value(s.substr(i, 1));
      } else {
        std::u32string text = decodeUtf8(s);
        if (normalizeIndex(i, text.size()))
          return Value(encodeUtf8(text.substr(i, 1)));
      }
      return Value::undefined("string index out of range");
    }
    if (key.isString())
      return getAttribute(obj, key.getString(), line);
    return Value::undefined("'str object' has no attribute " + key.repr());
  default:
    return Value::undefined("'" + obj.typeName() +
                            "' object is not subscriptable");
  }
}

static std::vector<int64_t> sliceIndices(int64_t n, const Value &startV,
                                         const Value &stopV, const Value &stepV,
                                         int line) {
  auto isSet = [](const Value &v) { return !v.isNone() && !v.isUndefined(); };
  int64_t step = 1;
  if (isSet(stepV)) {
    step = intArg(stepV, "slice step", line);
    if (step == 0)
      return raiseError("ValueError: slice step cannot be zero", line);
  }
  auto bound = [&](const Value &v, int64_t def, bool isStart) {
    if (!isSet(v))
      return def;
    int64_t x = intArg(v, "slice index", line);
    if (x < 0) {
      x += n;
      if (x < 0)
        x = step < 0 ? -1 : 0;
    } else if (x >= n) {
      x = step < 0 ? n - 1 : n;
    }
    (void)isStart;
    return x;
  };
  int64_t start = bound(startV, step < 0 ? n - 1 : 0, true);
  int64_t stop = bound(stopV, step < 0 ? -1 : n, false);
  // Count first: `i += step` past the end could overflow for a huge step.
  // start and stop are within [-1, n], so their difference fits.
  int64_t span = step > 0 ? stop - start : start - stop;
  uint64_t stride =
      step > 0 ? static_cast<uint64_t>(step) : 0 - static_cast<uint64_t>(step);
  uint64_t count =
      span <= 0 ? 0 : (static_cast<uint64_t>(span) - 1) / stride + 1;
  if (!chargeSteps(count))
    return Failure();
  std::vector<int64_t> out;
  out.reserve(count);
  for (uint64_t k = 0; k < count; ++k)
    out.push_back(start + (step > 0 ? static_cast<int64_t>(k * stride)
                                    : -static_cast<int64_t>(k * stride)));
  return out;
}

Value sliceValue(const Value &obj, const Value &start, const Value &stop,
                 const Value &step, int line) {
  if (obj.isUndefined())
    return raiseUndefined(obj, line);
  if (obj.isList()) {
    const ValueList &items = obj.getList();
    ValueList out;
    for (int64_t i : sliceIndices(items.size(), start, stop, step, line))
      out.push_back(items[i]);
    return obj.isTuple() ? Value::tuple(std::move(out))
                         : Value::list(std::move(out));
  }
  if (obj.isString()) {
    chargeBytes(obj.getString().size());
    std::u32string text = decodeUtf8(obj.getString());
    std::u32string out;
    for (int64_t i : sliceIndices(text.size(), start, stop, step, line))
      out += text[i];
    return Value(encodeUtf8(out));
  }
  return Value::undefined("'" + obj.typeName() +
                          "' object is not subscriptable");
}

ValueList iterate(const Value &v, int line) {
  switch (v.kind()) {
  case Value::Kind::Undefined:
    return {};
  case Value::Kind::List:
  case Value::Kind::Generator:
    chargeItems(v.getList().size());
    return v.getList();
  case Value::Kind::Dict: {
    chargeItems(v.getDict().items.size());
    ValueList keys;
    for (const auto &[k, x] : v.getDict().items)
      keys.push_back(Value(k));
    return keys;
  }
  case Value::Kind::String: {
    // One value per character: measure before making them.
    if (!checkListSize(utf8Length(v.getString())))
      return Failure();
    ValueList chars;
    for (char32_t c : decodeUtf8(v.getString()))
      chars.push_back(Value(encodeUtf8(std::u32string(1, c))));
    return chars;
  }
  default:
    return raiseError(
        "TypeError: '" + v.typeName() + "' object is not iterable", line);
  }
}

int64_t lengthOf(const Value &v, int line) {
  switch (v.kind()) {
  case Value::Kind::Undefined:
    return 0;
  case Value::Kind::String:
    chargeBytes(v.getString().size());
    return utf8Length(v.getString());
  case Value::Kind::List:
    return v.getList().size();
  case Value::Kind::Dict:
    return v.getDict().items.size();
  default:
    return raiseError(
        "TypeError: object of type '" + v.typeName() + "' has no len()", line);
  }
}

// ---- operators
// -------------------------------------------------------------------

static Failure unsupportedOperands(const std::string &op, const Value &l,
                                   const Value &r, int line) {
  if (op == "+" && l.isString())
    return raiseError("TypeError: can only concatenate str (not \"" +
                          r.typeName() + "\") to str",
                      line);
  if (op == "+" && l.isList())
    return raiseError("TypeError: can only concatenate list (not \"" +
                          r.typeName() + "\") to list",
                      line);
  return raiseError("TypeError: unsupported operand type(s) for " + op + ": '" +
                        l.typeName() + "' and '" + r.typeName() + "'",
                    line);
}

// Python's // and % on ints (b != 0): the quotient rounds toward minus
// infinity and the remainder takes the divisor's sign. The one quotient that
// does not fit, INT64_MIN // -1, is an overflow error; C++'s / and % on it
// are undefined (a SIGFPE on x86).
static int64_t floorDiv(int64_t a, int64_t b, int line) {
  if (b == -1) {
    if (a == INT64_MIN)
      return raiseIntegerOverflow("the integer result of '//'", line);
    return -a;
  }
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  return q;
}

static int64_t floorMod(int64_t a, int64_t b) {
  if (b == -1)
    return 0;
  int64_t m = a % b;
  if (m != 0 && ((m < 0) != (b < 0)))
    m += b;
  return m;
}

static Value integerPower(int64_t base, int64_t exponent, int line) {
  if (exponent < 0) {
    // Python: int ** negative int is a float.
    if (base == 0)
      return raiseError(
          "ZeroDivisionError: 0.0 cannot be raised to a negative power", line);
    return Value(
        std::pow(static_cast<double>(base), static_cast<double>(exponent)));
  }
  // 0, 1 and -1 stay small for any exponent; other bases overflow 64 bits
  // within 63 squarings, so the loop is short whatever the exponent.
  if (base == 0)
    return Value(int64_t(exponent == 0 ? 1 : 0));
  if (base == 1)
    return Value(int64_t(1));
  if (base == -1)
    return Value(int64_t(exponent % 2 == 0 ? 1 : -1));
  if (exponent >= 64)
    return raiseIntegerOverflow("the integer result of '**'", line);
  int64_t result = 1;
  for (int64_t k = 0; k < exponent; ++k)
    if (__builtin_mul_overflow(result, base, &result))
      return raiseIntegerOverflow("the integer result of '**'", line);
  return Value(result);
}

static Value floatPower(double a, double b, int line) {
  if (a == 0 && b < 0)
    return raiseError(
        "ZeroDivisionError: 0.0 cannot be raised to a negative power", line);
  if (a < 0 && std::isfinite(b) && b != std::floor(b))
    return raiseError(
        "unsupported '**' result: a negative number to a fractional "
        "power is a complex number",
        line);
  double r = std::pow(a, b);
  if (std::isinf(r) && std::isfinite(a) && std::isfinite(b))
    return raiseError("OverflowError: (34, 'Numerical result out of range')",
                      line);
  return Value(r);
}

// `a ~ b`, `a + b`: the whole result is new memory (building a string by
// repeated concatenation copies it every time), so all of it is charged.
static std::string concatenate(const std::string &a, const std::string &b) {
  if (!checkStringSize(a.size() + b.size()))
    return Failure();
  std::string out;
  out.reserve(a.size() + b.size());
  out += a;
  out += b;
  return out;
}

// Arithmetic on two numbers, one of them a float (after the zero checks).
static Value floatOp(const std::string &op, const Value &l, const Value &r,
                     int line) {
  double a = l.asDouble(), b = r.asDouble();
  if (op == "+")
    return Value(a + b);
  if (op == "-")
    return Value(a - b);
  if (op == "*")
    return Value(a * b);
  if (op == "//")
    return Value(std::floor(a / b));
  if (op == "%") {
    double m = std::fmod(a, b);
    if (m != 0 && ((m < 0) != (b < 0)))
      m += b;
    return Value(m);
  }
  if (op == "**")
    return floatPower(a, b, line);
  return unsupportedOperands(op, l, r, line);
}

// Arithmetic on two ints. Python's ints do not overflow; where a result
// leaves int64 this is an error, never a wrapped value.
static Value integerOp(const std::string &op, const Value &l, const Value &r,
                       int line) {
  int64_t a = l.getInt(), b = r.getInt(), result;
  if (op == "+" || op == "-" || op == "*") {
    bool overflow = op == "+"   ? __builtin_add_overflow(a, b, &result)
                    : op == "-" ? __builtin_sub_overflow(a, b, &result)
                                : __builtin_mul_overflow(a, b, &result);
    if (overflow)
      return raiseIntegerOverflow("the integer result of '" + op + "'", line);
    return Value(result);
  }
  if (op == "//")
    return Value(floorDiv(a, b, line));
  if (op == "%")
    return Value(floorMod(a, b));
  if (op == "**")
    return integerPower(a, b, line);
  return unsupportedOperands(op, l, r, line);
}

static Value numberOp(const std::string &op, const Value &l, const Value &r,
                      int line) {
  if ((op == "/" || op == "//" || op == "%") && r.asDouble() == 0)
    return raiseError(op == "%" ? "ZeroDivisionError: integer modulo by zero"
                                : "ZeroDivisionError: division by zero",
                      line);
  if (op == "/")
    return Value(l.asDouble() / r.asDouble());
  if (l.isFloat() || r.isFloat())
    return floatOp(op, l, r, line);
  return integerOp(op, l, r, line);
}

// `seq * n`: the size is checked before anything is built; an empty
// sequence stays empty however large the count (Python answers at once).
static Value repeatSequence(const Value &seq, const Value &count) {
  int64_t n = std::max<int64_t>(0, count.getInt());
  if (seq.isString()) {
    const std::string &unit = seq.getString();
    if (unit.empty() || n == 0)
      return Value("");
    if (!checkRepeatedStringSize(unit.size(), static_cast<uint64_t>(n)))
      return Failure();
    std::string out;
    out.reserve(unit.size() * static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k)
      out += unit;
    return Value(std::move(out));
  }
  const ValueList &unit = seq.getList();
  ValueList out;
  if (!unit.empty() && n > 0) {
    if (!checkRepeatedListSize(unit.size(), static_cast<uint64_t>(n)))
      return Failure();
    out.reserve(unit.size() * static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k)
      out.insert(out.end(), unit.begin(), unit.end());
  }
  return seq.isTuple() ? Value::tuple(std::move(out))
                       : Value::list(std::move(out));
}

static bool isCount(const Value &v) { return v.isInt() || v.isBool(); }
static bool isSequence(const Value &v) { return v.isString() || v.isList(); }

Value binaryOp(const std::string &op, const Value &l, const Value &r,
               int line) {
  if (op == "~")
    return Value(concatenate(l.str(), r.str()));
  if (l.isUndefined())
    return raiseUndefined(l, line);
  if (r.isUndefined())
    return raiseUndefined(r, line);
  if (l.isNumber() && r.isNumber())
    return numberOp(op, l, r, line);
  if (op == "+" && l.isString() && r.isString())
    return Value(concatenate(l.getString(), r.getString()));
  if (op == "+" && l.isList() && r.isList() && l.isTuple() == r.isTuple()) {
    if (!checkListSize(l.getList().size() + r.getList().size()))
      return Failure();
    ValueList out = l.getList();
    out.insert(out.end(), r.getList().begin(), r.getList().end());
    return l.isTuple() ? Value::tuple(std::move(out))
                       : Value::list(std::move(out));
  }
  if (op == "*" && isSequence(l) && isCount(r))
    return repeatSequence(l, r);
  if (op == "*" && isSequence(r) && isCount(l))
    return repeatSequence(r, l);
  if (op == "%" && l.isString())
    return Value(printfFormat(l.getString(), r, line));
  return unsupportedOperands(op, l, r, line);
}

// A width or precision of a printf-style conversion; the text it asks for
// must fit in a string, so larger numbers are refused before printing.
static size_t formatNumber(const std::string &format, size_t &i) {
  size_t n = 0;
  while (i < format.size() &&
         std::isdigit(static_cast<unsigned char>(format[i]))) {
    n = n * 10 + (format[i++] - '0');
    if (n > kMaxStringBytes)
      return raiseLimit("the width or precision of a '%' conversion",
                        std::to_string(kMaxStringBytes) + " bytes");
  }
  return n;
}

// One printf conversion: %[flags][width][.precision]type.
struct Conversion {
  std::string flags;
  size_t width = 0;
  std::optional<size_t> precision;
  char type = 0;
};

// %s and %r: Python counts width and precision in code points.
static bool appendTextConversion(std::string &out, const Conversion &conv,
                                 const Value &arg) {
  std::string text = conv.type == 's' ? arg.str() : arg.repr();
  size_t length = utf8Length(text);
  if (conv.precision && *conv.precision < length) {
    std::u32string points = decodeUtf8(text);
    text = encodeUtf8(std::u32string_view(points).substr(0, *conv.precision));
    length = *conv.precision;
  }
  bool leftAlign = conv.flags.find('-') != std::string::npos;
  std::string padding(conv.width > length ? conv.width - length : 0, ' ');
  return (leftAlign || appendBounded(out, padding)) &&
         appendBounded(out, text) &&
         (!leftAlign || appendBounded(out, padding));
}

// %d %i %x %X %o %c %f %F %e %E %g %G.
static bool appendNumberConversion(std::string &out, const Conversion &conv,
                                   const Value &arg, int line) {
  char type = conv.type;
  bool integer =
      std::string_view("dixXoc").find(type) != std::string_view::npos;
  if (!arg.isNumber())
    return raiseError(
        integer
            ? "TypeError: %" + std::string(1, type) +
                  " format: a real number is required, not " + arg.typeName()
            : "TypeError: must be real number, not " + arg.typeName(),
        line);
  if (type == 'c') {
    int64_t v = arg.isFloat() ? floatToInt(arg.asDouble(), line) : arg.getInt();
    if (v < 0 || v > 0x10FFFF)
      return raiseError("OverflowError: %c arg not in range(0x110000)", line);
    std::string text;
    appendUtf8(text, static_cast<uint32_t>(v));
    return appendBounded(out, text);
  }
  std::string spec = "%" + conv.flags + std::to_string(conv.width);
  if (conv.precision)
    spec += "." + std::to_string(*conv.precision);
  // Width and precision are at most kMaxStringBytes, so the length
  // snprintf reports fits in an int.
  auto print = [&](auto value) -> bool {
    int n = std::snprintf(nullptr, 0, spec.c_str(), value);
    if (n < 0)
      return raiseError("ValueError: bad format '" + spec + "'", line);
    if (!checkStringSize(out.size() + size_t(n)))
      return false;
    size_t at = out.size();
    out.resize(at + size_t(n) + 1);
    std::snprintf(&out[at], size_t(n) + 1, spec.c_str(), value);
    out.resize(at + size_t(n));
    return true;
  };
  if (integer) {
    spec += std::string("ll") + (type == 'i' ? 'd' : type);
    long long v =
        arg.isFloat() ? floatToInt(arg.asDouble(), line) : arg.getInt();
    return print(v);
  }
  spec += type;
  return print(arg.asDouble());
}

// Reads the conversion after '%' at `i` (and its %(name) argument from a
// mapping); leaves `i` on the type.
static bool readConversion(const std::string &format, size_t &i,
                           const Value &args, Conversion &conv, Value &arg,
                           bool &haveArg, int line) {
  if (format[i] == '(') {
    size_t close = format.find(')', i);
    if (close == std::string::npos || !args.isDict())
      return raiseError("TypeError: format requires a mapping", line);
    const Value *v = args.getDict().find(format.substr(i + 1, close - i - 1));
    if (!v)
      return raiseError(
          "KeyError: '" + format.substr(i + 1, close - i - 1) + "'", line);
    arg = *v;
    haveArg = true;
    i = close + 1;
  }
  while (i < format.size() &&
         std::string_view("-+ 0#").find(format[i]) != std::string_view::npos)
    conv.flags += format[i++];
  conv.width = formatNumber(format, i);
  if (i < format.size() && format[i] == '.') {
    ++i;
    conv.precision = formatNumber(format, i);
  }
  if (i >= format.size())
    return raiseError("ValueError: incomplete format", line);
  conv.type = format[i];
  return true;
}

std::string printfFormat(const std::string &format, const Value &args,
                         int line) {
  // A tuple is the argument list; a dict serves %(name)s; anything else
  // (a list too) is the single argument.
  ValueList positional;
  if (args.isTuple())
    positional = args.getList();
  else if (!args.isDict())
    positional.push_back(args);
  chargeBytes(format.size());
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      size_t end = std::min(format.find('%', i), format.size());
      if (!appendBounded(out, std::string_view(format).substr(i, end - i)))
        return Failure();
      i = end - 1;
      continue;
    }
    if (++i >= format.size())
      return raiseError("ValueError: incomplete format", line);
    if (format[i] == '%') {
      if (!appendBounded(out, "%"))
        return Failure();
      continue;
    }
    Conversion conv;
    Value arg;
    bool haveArg = false;
    if (!readConversion(format, i, args, conv, arg, haveArg, line))
      return Failure();
    if (!haveArg) {
      if (next >= positional.size())
        return raiseError("TypeError: not enough arguments for format string",
                          line);
      arg = positional[next++];
    }
    bool appended;
    if (conv.type == 's' || conv.type == 'r')
      appended = appendTextConversion(out, conv, arg);
    else if (std::string_view("dixXocfFeEgG").find(conv.type) !=
             std::string_view::npos)
      appended = appendNumberConversion(out, conv, arg, line);
    else
      return raiseError(
          std::string("ValueError: unsupported format character '") +
              conv.type + "'",
          line);
    if (!appended)
      return Failure();
  }
  if (next < positional.size() && !args.isDict())
    return raiseError(
        "TypeError: not all arguments converted during string formatting",
        line);
  return out;
}

static int orderCompare(const Value &l, const Value &r, const std::string &op,
                        int line) {
  if (l.isUndefined())
    return raiseUndefined(l, line);
  if (r.isUndefined())
    return raiseUndefined(r, line);
  if (l.isNumber() && r.isNumber()) {
    if (!l.isFloat() && !r.isFloat())
      return l.getInt() < r.getInt() ? -1 : l.getInt() > r.getInt() ? 1 : 0;
    double a = l.asDouble(), b = r.asDouble();
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (l.isString() && r.isString()) {
    chargeBytes(std::min(l.getString().size(), r.getString().size()));
    int c = l.getString().compare(r.getString());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (l.isList() && r.isList()) {
    const ValueList &a = l.getList(), &b = r.getList();
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
      if (a[i].equals(b[i]))
        continue;
      return orderCompare(a[i], b[i], op, line);
    }
    return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
  }
  return raiseError("TypeError: '" + op +
                        "' not supported between instances of '" +
                        l.typeName() + "' and '" + r.typeName() + "'",
                    line);
}

static bool contains(const Value &container, const Value &item, int line) {
  switch (container.kind()) {
  case Value::Kind::Undefined:
    return false;
  case Value::Kind::String:
    if (!item.isString())
      return raiseError(
          "TypeError: 'in <string>' requires string as left operand, not " +
              item.typeName(),
          line);
    return findText(container.getString(), item.getString(), 0) !=
           std::string::npos;
  case Value::Kind::List:
  case Value::Kind::Generator:
    chargeSteps(container.getList().size());
    for (const Value &v : container.getList())
      if (v.equals(item))
        return true;
    return false;
  case Value::Kind::Dict:
    return item.isString() && container.getDict().find(item.getString());
  default:
    return raiseError("TypeError: argument of type '" + container.typeName() +
                          "' is not iterable",
                      line);
  }
}

bool compareOp(const std::string &op, const Value &l, const Value &r,
               int line) {
  if (op == "==")
    return l.equals(r);
  if (op == "!=")
    return !l.equals(r);
  if (op == "in")
    return contains(r, l, line);
  if (op == "not in")
    return !contains(r, l, line);
  int c = orderCompare(l, r, op, line);
  if (op == "<")
    return c < 0;
  if (op == "<=")
    return c <= 0;
  if (op == ">")
    return c > 0;
  return c >= 0;
}

Value callValue(const Value &callee, CallArgs &args, int line) {
  args.line = line;
  if (callee.isUndefined())
    return raiseUndefined(callee, line);
  if (!callee.isCallable())
    return raiseError(
        "TypeError: '" + callee.typeName() + "' object is not callable", line);
  return callee.getFunction()(args);
}

} // namespace ingot::chat
