//===- JinjaBuiltins.cpp - Jinja2 filters and tests -----------------------===//
#include "runtime/chat/JinjaBuiltins.h"

#include "runtime/chat/JinjaLimits.h"
#include "runtime/chat/JinjaOperations.h"
#include "runtime/chat/Json.h"
#include "runtime/chat/Utf8.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace ingot::chat {
namespace {

const char *const kFilters[] = {
    "abs",    "attr",     "capitalize", "count",      "d",       "default",
    "dictsort", "e",      "escape",     "first",      "float",   "format",
    "indent",
    "int",    "items",    "join",       "last",       "length",  "list",
    "lower",  "map",      "max",        "min",        "reject",  "rejectattr",
    "replace", "reverse", "round",      "safe",       "select",  "selectattr",
    "sort",   "string",   "sum",        "title",      "tojson",  "trim",
    "unique", "upper"};

const char *const kTests[] = {
    "defined", "undefined", "none",     "string",  "mapping", "iterable",
    "sequence", "number",   "integer",  "float",   "boolean", "true",
    "false",   "callable",  "equalto",  "eq",      "==",      "ne",
    "!=",      "lt",        "lessthan", "<",       "le",      "<=",
    "gt",      "greaterthan", ">",      "ge",      ">=",      "odd",
    "even",    "divisibleby", "sameas", "lower",   "upper",   "in"};

template <size_t N>
bool listed(const char *const (&names)[N], std::string_view name) {
  for (const char *n : names)
    if (name == n)
      return true;
  return false;
}

// Jinja2's make_attrgetter: "a.b.0" looks up a, then b, then item 0.
Value lookupPath(const Value &item, const Value &attribute, int line) {
  if (!attribute.isString()) {
    if (attribute.isInt())
      return getItem(item, attribute, line);
    raiseError("TypeError: attribute must be a string", line);
  }
  Value v = item;
  const std::string &path = attribute.getString();
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos
                                              ? std::string::npos
                                              : dot - start);
    bool digits = !part.empty() &&
                  std::all_of(part.begin(), part.end(),
                              [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (digits) {
      // Python makes the part an int; one past int64 indexes nothing.
      errno = 0;
      long long index = std::strtoll(part.c_str(), nullptr, 10);
      v = errno == ERANGE ? Value::undefined("list index out of range")
                          : getItem(v, Value(static_cast<int64_t>(index)), line);
    } else {
      v = getItem(v, Value(part), line);
    }
    if (dot == std::string::npos)
      return v;
    start = dot + 1;
  }
}

std::string htmlEscape(const std::string &s) {
  std::string out;
  // An entity is up to five bytes for one.
  checkRepeatedStringSize(s.size(), 5);
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&#34;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

// A number's text as Python reads it: '_' separators dropped, surrounding
// whitespace ignored.
std::string numberText(const std::string &text) {
  chargeBytes(text.size());
  std::string s;
  for (char c : text)
    if (c != '_')
      s += c;
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b])))
    ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])))
    --e;
  s = s.substr(b, e - b);
  return s;
}

// Python int(str) / int(float(str)) as Jinja2's int filter tries them.
bool parseInt(const std::string &text, int64_t base, int64_t &out, int line) {
  std::string s = numberText(text);
  if (s.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  // strtoll takes bases 0 and 2..36, as Python's int() does; others fail
  // here and fall through to float(), as in Jinja2.
  long long v = base >= 0 && base <= 36
                    ? std::strtoll(s.c_str(), &end, static_cast<int>(base))
                    : 0;
  if (end && *end == '\0') {
    if (errno == ERANGE)
      raiseIntegerOverflow("int('" + s + "')", line);
    out = v;
    return true;
  }
  double d = std::strtod(s.c_str(), &end);
  if (end && *end == '\0' && std::isfinite(d)) {
    out = floatToInt(d, line);
    return true;
  }
  return false;
}

bool parseFloat(const std::string &text, double &out) {
  std::string s = numberText(text);
  if (s.empty())
    return false;
  char *end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end && *end == '\0';
}

// Sort key comparison for sort/min/max/unique: strings compare lowercased
// unless case_sensitive.
int sortCompare(const Value &a, const Value &b, bool caseSensitive, int line) {
  if (!caseSensitive && a.isString() && b.isString()) {
    std::string x = pythonLower(a.getString()), y = pythonLower(b.getString());
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (compareOp("<", a, b, line))
    return -1;
  if (compareOp(">", a, b, line))
    return 1;
  return 0;
}

Value keyOf(const Value &item, const Value &attribute, int line) {
  if (attribute.isNone() || attribute.isUndefined())
    return item;
  return lookupPath(item, attribute, line);
}

// select/reject/selectattr/rejectattr: the test and its arguments follow
// `skip` leading positionals.
ValueList selectItems(const Value &input, CallArgs &args, bool byAttribute,
                      bool keep) {
  int line = args.line;
  size_t k = 0;
  Value attribute;
  if (byAttribute) {
    if (args.positional.empty())
      raiseError("TypeError: missing parameter 'attribute'", line);
    attribute = args.positional[k++];
  }
  std::string test;
  if (k < args.positional.size()) {
    if (!args.positional[k].isString())
      raiseError("TypeError: test name must be a string", line);
    test = args.positional[k++].getString();
    if (!isKnownTest(test))
      raiseError("unsupported test '" + test + "'", line);
  }
  CallArgs testArgs;
  testArgs.line = line;
  testArgs.positional.assign(args.positional.begin() + k, args.positional.end());
  testArgs.keyword = args.keyword;
  ValueList out;
  for (const Value &item : iterate(input, line)) {
    chargeSteps(1);
    Value subject = byAttribute ? lookupPath(item, attribute, line) : item;
    bool pass;
    if (test.empty()) {
      pass = subject.truthy();
    } else {
      CallArgs copy = testArgs;
      pass = applyTest(test, subject, copy);
    }
    if (pass == keep)
      out.push_back(item);
  }
  return out;
}

std::string indentText(const std::string &input, const Value &width,
                       bool first, bool blank, int line) {
  // Jinja2: indention = width if a string, else " " * width.
  std::string indention;
  if (width.isString()) {
    indention = width.getString();
  } else if (width.isInt() || width.isBool()) {
    int64_t n = std::max<int64_t>(0, width.getInt());
    checkStringSize(static_cast<uint64_t>(n));
    indention.assign(static_cast<size_t>(n), ' ');
  } else {
    raiseError("TypeError: can't multiply sequence by non-int of type '" +
                   width.typeName() + "'",
               line);
  }
  std::string s = input;
  appendBounded(s, "\n");
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r') {
      lines.push_back(s.substr(start, i - start));
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')
        ++i;
      start = i + 1;
    }
  }
  std::string rv;
  if (first)
    appendBounded(rv, indention);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) {
      appendBounded(rv, "\n");
      if (blank || !lines[i].empty())
        appendBounded(rv, indention);
    }
    appendBounded(rv, lines[i]);
  }
  return rv;
}

// Jinja2's title filter: words begin after whitespace, '-', '(', '{', '['
// or '<' (unlike str.title, an apostrophe does not start a word).
std::string jinjaTitle(const std::string &s) {
  chargeBytes(s.size());
  std::u32string text = decodeUtf8(s);
  std::string out;
  bool wordStart = true;
  for (char32_t c : text) {
    bool delimiter = isPythonSpace(c) || c == '-' || c == '(' || c == '{' ||
                     c == '[' || c == '<';
    if (delimiter) {
      appendUtf8(out, c);
      wordStart = true;
      continue;
    }
    if (wordStart && c == 0xDF)
      out += "SS";
    else
      appendUtf8(out, wordStart ? toUpperCodePoint(c) : toLowerCodePoint(c));
    wordStart = false;
  }
  return out;
}

// Python's sorted(): a stable merge sort. It stays in bounds whatever the
// comparison answers; std::sort does not when `less` is not a strict weak
// order, which Python's comparisons are not (NaN is neither less nor greater
// than anything).
template <typename Less> void stableSort(ValueList &items, Less less) {
  const size_t n = items.size();
  ValueList buffer(n);
  for (size_t width = 1; width < n; width *= 2) {
    chargeSteps(n);
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = std::min(lo + width, n), hi = std::min(lo + 2 * width, n);
      size_t a = lo, b = mid, out = lo;
      // Equal items keep their order: the right run's item goes first only
      // when it is strictly less.
      while (a < mid && b < hi)
        buffer[out++] = less(items[b], items[a]) ? items[b++] : items[a++];
      while (a < mid)
        buffer[out++] = items[a++];
      while (b < hi)
        buffer[out++] = items[b++];
    }
    items.swap(buffer);
  }
}

double roundHalfEven(double x) { return std::nearbyint(x); }

} // namespace

bool isKnownFilter(std::string_view name) { return listed(kFilters, name); }
bool isKnownTest(std::string_view name) { return listed(kTests, name); }

Value applyFilter(const std::string &name, const Value &input, CallArgs &args) {
  int line = args.line;
  ArgReader r(args, name);
  if (name == "tojson") {
    // transformers' signature: tojson(x, ensure_ascii=False, indent=None,
    // separators=None, sort_keys=False).
    JsonDumpOptions options;
    options.ensureAscii = r.get(0, "ensure_ascii", Value(false)).truthy();
    Value indent = r.get(1, "indent", Value::none());
    Value separators = r.get(2, "separators", Value::none());
    Value sortKeys = r.get(3, "sort_keys", Value(false));
    r.done();
    if (indent.isInt() || indent.isBool()) {
      int64_t n = std::max<int64_t>(0, indent.getInt());
      checkStringSize(static_cast<uint64_t>(n));
      options.indent = std::string(static_cast<size_t>(n), ' ');
    }
    else if (indent.isString())
      options.indent = indent.getString();
    else if (!indent.isNone())
      raiseError("TypeError: indent must be an integer or a string", line);
    if (separators.isList() && separators.getList().size() == 2 &&
        separators.getList()[0].isString() && separators.getList()[1].isString()) {
      options.itemSeparator = separators.getList()[0].getString();
      options.keySeparator = separators.getList()[1].getString();
    } else if (!separators.isNone()) {
      raiseError("TypeError: separators must be a pair of strings", line);
    }
    options.sortKeys = sortKeys.truthy();
    try {
      return Value(dumpJson(input, options));
    } catch (const TemplateError &e) {
      raiseError(std::string("TypeError: ") + e.what(), line);
    }
  }
  if (name == "trim") {
    Value chars = r.get(0, "chars", Value::none());
    r.done();
    CallArgs strip;
    strip.line = line;
    strip.positional.push_back(chars);
    return callValue(getAttribute(Value(input.str()), "strip", line), strip, line);
  }
  if (name == "length" || name == "count") {
    r.done();
    return Value(lengthOf(input, line));
  }
  if (name == "upper" || name == "lower" || name == "title" ||
      name == "capitalize") {
    r.done();
    std::string s = input.str();
    return Value(name == "upper"   ? pythonUpper(s)
                 : name == "lower" ? pythonLower(s)
                 : name == "title" ? jinjaTitle(s)
                                   : pythonCapitalize(s));
  }
  if (name == "default" || name == "d") {
    Value fallback = r.get(0, "default_value", Value(""));
    bool boolean = r.get(1, "boolean", Value(false)).truthy();
    r.done();
    if (input.isUndefined() || (boolean && !input.truthy()))
      return fallback;
    return input;
  }
  if (name == "join") {
    Value sep = r.get(0, "d", Value(""));
    Value attribute = r.get(1, "attribute", Value::none());
    r.done();
    std::string out, separator = sep.str();
    bool first = true;
    for (const Value &item : iterate(input, line)) {
      if (!first)
        appendBounded(out, separator);
      appendBounded(out, keyOf(item, attribute, line).str());
      first = false;
    }
    return Value(std::move(out));
  }
  if (name == "replace") {
    Value old = r.get(0, "old"), with = r.get(1, "new");
    Value count = r.get(2, "count", Value::none());
    r.done();
    CallArgs call;
    call.line = line;
    call.positional = {Value(old.str()), Value(with.str())};
    if (!count.isNone())
      call.positional.push_back(count);
    return callValue(getAttribute(Value(input.str()), "replace", line), call, line);
  }
  if (name == "first") {
    r.done();
    ValueList items = iterate(input, line);
    if (items.empty())
      return Value::undefined("No first item, sequence was empty.");
    return items.front();
  }
  if (name == "last") {
    r.done();
    if (input.isGenerator())
      raiseError("TypeError: 'generator' object is not reversible", line);
    ValueList items = iterate(input, line);
    if (items.empty())
      return Value::undefined("No last item, sequence was empty.");
    return items.back();
  }
  if (name == "list") {
    r.done();
    return Value::list(iterate(input, line));
  }
  if (name == "string") {
    r.done();
    return Value(input.str());
  }
  if (name == "safe") {
    r.done();
    return input;
  }
  if (name == "escape" || name == "e") {
    r.done();
    return Value(htmlEscape(input.str()));
  }
  if (name == "int") {
    Value fallback = r.get(0, "default", Value(int64_t(0)));
    Value base = r.get(1, "base", Value(int64_t(10)));
    r.done();
    if (input.isInt() || input.isBool())
      return Value(input.getInt());
    if (input.isFloat())
      return std::isfinite(input.asDouble())
                 ? Value(floatToInt(input.asDouble(), line))
                 : fallback;
    int64_t v;
    if (input.isString() && parseInt(input.getString(), base.getInt(), v, line))
      return Value(v);
    return fallback;
  }
  if (name == "float") {
    Value fallback = r.get(0, "default", Value(0.0));
    r.done();
    if (input.isNumber())
      return Value(input.asDouble());
    double d;
    if (input.isString() && parseFloat(input.getString(), d))
      return Value(d);
    return fallback;
  }
  if (name == "items") {
    r.done();
    if (input.isUndefined())
      return Value::generator({});
    if (!input.isDict())
      raiseError("TypeError: Can only get item pairs from a mapping.", line);
    ValueList out;
    for (const auto &[k, v] : input.getDict().items)
      out.push_back(Value::tuple({Value(k), v}));
    return Value::generator(std::move(out));
  }
  if (name == "dictsort") {
    bool caseSensitive = r.get(0, "case_sensitive", Value(false)).truthy();
    Value by = r.get(1, "by", Value("key"));
    bool reverse = r.get(2, "reverse", Value(false)).truthy();
    r.done();
    if (!input.isDict())
      raiseError("TypeError: dictsort requires a mapping", line);
    ValueList out;
    for (const auto &[k, v] : input.getDict().items)
      out.push_back(Value::tuple({Value(k), v}));
    size_t pos = by.str() == "value" ? 1 : 0;
    stableSort(out, [&](const Value &a, const Value &b) {
      int c = sortCompare(a.getList()[pos], b.getList()[pos], caseSensitive, line);
      return reverse ? c > 0 : c < 0;
    });
    return Value::list(std::move(out));
  }
  if (name == "map") {
    ValueList out;
    bool hasAttribute = false;
    for (const auto &[k, v] : args.keyword)
      if (k == "attribute")
        hasAttribute = true;
    if (hasAttribute) {
      Value attribute = r.get(99, "attribute");
      Value fallback = r.get(100, "default");
      r.done();
      for (const Value &item : iterate(input, line)) {
        Value v = lookupPath(item, attribute, line);
        out.push_back(v.isUndefined() && !fallback.isUndefined() ? fallback : v);
      }
      return Value::generator(std::move(out));
    }
    if (args.positional.empty() || !args.positional[0].isString())
      raiseError("TypeError: map requires a filter name or attribute=", line);
    std::string filter = args.positional[0].getString();
    if (!isKnownFilter(filter))
      raiseError("unsupported filter '" + filter + "'", line);
    for (const Value &item : iterate(input, line)) {
      chargeSteps(1);
      CallArgs call;
      call.line = line;
      call.positional.assign(args.positional.begin() + 1, args.positional.end());
      call.keyword = args.keyword;
      out.push_back(applyFilter(filter, item, call));
    }
    return Value::generator(std::move(out));
  }
  if (name == "select" || name == "reject" || name == "selectattr" ||
      name == "rejectattr") {
    bool byAttribute = name == "selectattr" || name == "rejectattr";
    bool keep = name == "select" || name == "selectattr";
    return Value::generator(selectItems(input, args, byAttribute, keep));
  }
  if (name == "attr") {
    Value attribute = r.get(0, "name");
    r.done();
    return getAttribute(input, attribute.str(), line);
  }
  if (name == "abs") {
    r.done();
    if (input.isFloat())
      return Value(std::fabs(input.asDouble()));
    if (input.isInt() || input.isBool()) {
      if (input.getInt() == INT64_MIN)
        raiseIntegerOverflow("abs(" + std::to_string(INT64_MIN) + ")", line);
      return Value(static_cast<int64_t>(std::llabs(input.getInt())));
    }
    raiseError("TypeError: bad operand type for abs(): '" + input.typeName() + "'",
               line);
  }
  if (name == "round") {
    int64_t precision = r.get(0, "precision", Value(int64_t(0))).getInt();
    std::string method = r.get(1, "method", Value("common")).str();
    r.done();
    if (!input.isNumber())
      raiseError("TypeError: round requires a number", line);
    double scale = std::pow(10.0, static_cast<double>(precision));
    double x = input.asDouble() * scale;
    if (method == "common")
      x = roundHalfEven(x);
    else if (method == "ceil")
      x = std::ceil(x);
    else if (method == "floor")
      x = std::floor(x);
    else
      raiseError("TypeError: method must be common, ceil or floor", line);
    x /= scale;
    if (!input.isFloat() && method == "common") {
      // Python's round(int, ndigits >= 0) is the int itself.
      if (precision >= 0)
        return Value(input.getInt());
      return Value(floatToInt(x, line));
    }
    return Value(x);
  }
  if (name == "reverse") {
    r.done();
    if (input.isString()) {
      chargeBytes(input.getString().size());
      std::u32string text = decodeUtf8(input.getString());
      std::reverse(text.begin(), text.end());
      return Value(encodeUtf8(text));
    }
    ValueList items = iterate(input, line);
    std::reverse(items.begin(), items.end());
    return Value::generator(std::move(items));
  }
  if (name == "sort" || name == "unique" || name == "min" || name == "max") {
    bool reverse = name == "sort" && r.get(0, "reverse", Value(false)).truthy();
    bool caseSensitive =
        r.get(name == "sort" ? 1 : 0, "case_sensitive", Value(false)).truthy();
    Value attribute = r.get(name == "sort" ? 2 : 1, "attribute", Value::none());
    r.done();
    ValueList items = iterate(input, line);
    if (name == "unique") {
      ValueList out, seen;
      for (const Value &item : items) {
        Value key = keyOf(item, attribute, line);
        if (!caseSensitive && key.isString())
          key = Value(pythonLower(key.getString()));
        bool dup = false;
        chargeSteps(seen.size());
        for (const Value &s : seen)
          dup |= s.equals(key);
        if (!dup) {
          seen.push_back(key);
          out.push_back(item);
        }
      }
      return Value::generator(std::move(out));
    }
    auto less = [&](const Value &a, const Value &b) {
      return sortCompare(keyOf(a, attribute, line), keyOf(b, attribute, line),
                         caseSensitive, line) < 0;
    };
    if (name == "sort") {
      stableSort(items,
                       [&](const Value &a, const Value &b) {
                         return reverse ? less(b, a) : less(a, b);
                       });
      return Value::list(std::move(items));
    }
    if (items.empty())
      return Value::undefined("No aggregated item, sequence was empty.");
    Value best = items[0];
    for (const Value &item : items)
      if (name == "min" ? less(item, best) : less(best, item))
        best = item;
    return best;
  }
  if (name == "sum") {
    Value attribute = r.get(0, "attribute", Value::none());
    Value total = r.get(1, "start", Value(int64_t(0)));
    r.done();
    for (const Value &item : iterate(input, line))
      total = binaryOp("+", total, keyOf(item, attribute, line), line);
    return total;
  }
  if (name == "format") {
    // Jinja2: "%s, %s" | format(a, b) or "%(x)s" | format(x=1).
    if (!args.keyword.empty()) {
      Dict named;
      for (const auto &[k, v] : args.keyword)
        named.set(k, v);
      return Value(printfFormat(input.str(), Value::dict(std::move(named)), line));
    }
    return Value(printfFormat(input.str(), Value::tuple(args.positional), line));
  }
  if (name == "indent") {
    Value width = r.get(0, "width", Value(int64_t(4)));
    bool first = r.get(1, "first", Value(false)).truthy();
    bool blank = r.get(2, "blank", Value(false)).truthy();
    r.done();
    return Value(indentText(input.str(), width, first, blank, line));
  }
  raiseError("unsupported filter '" + name + "'", line);
}

bool applyTest(const std::string &name, const Value &input, CallArgs &args) {
  int line = args.line;
  ArgReader r(args, name);
  auto other = [&]() {
    Value v = r.get(0, "other");
    r.done();
    return v;
  };
  if (name == "defined" || name == "undefined") {
    r.done();
    return input.isUndefined() == (name == "undefined");
  }
  if (name == "none") {
    r.done();
    return input.isNone();
  }
  if (name == "string") {
    r.done();
    return input.isString();
  }
  if (name == "mapping") {
    r.done();
    return input.isDict();
  }
  if (name == "iterable") {
    r.done();
    return input.isString() || input.isList() || input.isGenerator() ||
           input.isDict() || input.isUndefined();
  }
  if (name == "sequence") {
    r.done();
    return input.isString() || input.isList() || input.isDict() ||
           input.isUndefined();
  }
  if (name == "number") {
    r.done();
    return input.isNumber();
  }
  if (name == "integer") {
    r.done();
    return input.isInt();
  }
  if (name == "float") {
    r.done();
    return input.isFloat();
  }
  if (name == "boolean") {
    r.done();
    return input.isBool();
  }
  if (name == "true" || name == "false") {
    r.done();
    return input.isBool() && input.getBool() == (name == "true");
  }
  if (name == "callable") {
    r.done();
    return input.isCallable();
  }
  if (name == "equalto" || name == "eq" || name == "==")
    return compareOp("==", input, other(), line);
  if (name == "ne" || name == "!=")
    return compareOp("!=", input, other(), line);
  if (name == "lt" || name == "lessthan" || name == "<")
    return compareOp("<", input, other(), line);
  if (name == "le" || name == "<=")
    return compareOp("<=", input, other(), line);
  if (name == "gt" || name == "greaterthan" || name == ">")
    return compareOp(">", input, other(), line);
  if (name == "ge" || name == ">=")
    return compareOp(">=", input, other(), line);
  if (name == "sameas")
    return input.sameAs(other());
  if (name == "in") {
    Value seq = r.get(0, "seq");
    r.done();
    return compareOp("in", input, seq, line);
  }
  if (name == "odd" || name == "even") {
    r.done();
    if (!input.isInt() && !input.isBool())
      raiseError("TypeError: odd/even requires an integer", line);
    return (input.getInt() % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    Value num = r.get(0, "num");
    r.done();
    Value rem = binaryOp("%", input, num, line);
    return rem.isNumber() && rem.asDouble() == 0;
  }
  if (name == "lower" || name == "upper") {
    r.done();
    if (!input.isString())
      return false;
    CallArgs none;
    none.line = line;
    return callValue(getAttribute(input, name == "lower" ? "islower" : "isupper", line),
                     none, line)
        .truthy();
  }
  raiseError("unsupported test '" + name + "'", line);
}

} // namespace ingot::chat
