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

// Jinja2's make_attrgetter: "a.b.0" looks up a, then b, then item 0.
Value lookupPath(const Value &item, const Value &attribute, int line) {
  if (!attribute.isString()) {
    if (attribute.isInt())
      return getItem(item, attribute, line);
    return raiseError("TypeError: attribute must be a string", line);
  }
  Value v = item;
  const std::string &path = attribute.getString();
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(
        start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits =
        !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        });
    if (digits) {
      // Python makes the part an int; one past int64 indexes nothing.
      errno = 0;
      long long index = std::strtoll(part.c_str(), nullptr, 10);
      v = errno == ERANGE
              ? Value::undefined("list index out of range")
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
  if (!checkRepeatedStringSize(s.size(), 5))
    return Failure();
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&#34;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
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
      return raiseIntegerOverflow("int('" + s + "')", line);
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
      return raiseError("TypeError: missing parameter 'attribute'", line);
    attribute = args.positional[k++];
  }
  std::string test;
  if (k < args.positional.size()) {
    if (!args.positional[k].isString())
      return raiseError("TypeError: test name must be a string", line);
    test = args.positional[k++].getString();
    if (!isKnownTest(test))
      return raiseError("unsupported test '" + test + "'", line);
  }
  CallArgs testArgs;
  testArgs.line = line;
  testArgs.positional.assign(args.positional.begin() + k,
                             args.positional.end());
  testArgs.keyword = args.keyword;
  ValueList out;
  for (const Value &item : iterate(input, line)) {
    if (!chargeSteps(1))
      return Failure();
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

std::string indentText(const std::string &input, const Value &width, bool first,
                       bool blank, int line) {
  // Jinja2: indention = width if a string, else " " * width.
  std::string indention;
  if (width.isString()) {
    indention = width.getString();
  } else if (width.isInt() || width.isBool()) {
    int64_t n = std::max<int64_t>(0, width.getInt());
    if (!checkStringSize(static_cast<uint64_t>(n)))
      return Failure();
    indention.assign(static_cast<size_t>(n), ' ');
  } else {
    return raiseError(
        "TypeError: can't multiply sequence by non-int of type '" +
            width.typeName() + "'",
        line);
  }
  std::string s = input;
  if (!appendBounded(s, "\n"))
    return Failure();
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
  if (first && !appendBounded(rv, indention))
    return Failure();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) {
      if (!appendBounded(rv, "\n"))
        return Failure();
      if ((blank || !lines[i].empty()) && !appendBounded(rv, indention))
        return Failure();
    }
    if (!appendBounded(rv, lines[i]))
      return Failure();
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
    if (!chargeSteps(n))
      return;
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

// ---- filters
// -------------------------------------------------------------------

// One filter application: `input | name(args)`, with `reader` over its
// arguments (named as written: "d" or "default").
struct FilterCall {
  const std::string &name;
  const Value &input;
  CallArgs &args;
  ArgReader reader;
  int line;
};

// The filters without arguments; false, having failed, when some were given.
bool noArguments(FilterCall &c) { return c.reader.done(); }

// transformers' signature: tojson(x, ensure_ascii=False, indent=None,
// separators=None, sort_keys=False).
bool readJsonOptions(FilterCall &c, JsonDumpOptions &options) {
  options.ensureAscii = c.reader.get(0, "ensure_ascii", Value(false)).truthy();
  Value indent = c.reader.get(1, "indent", Value::none());
  Value separators = c.reader.get(2, "separators", Value::none());
  Value sortKeys = c.reader.get(3, "sort_keys", Value(false));
  if (!c.reader.done())
    return false;
  if (indent.isInt() || indent.isBool()) {
    int64_t n = std::max<int64_t>(0, indent.getInt());
    if (!checkStringSize(static_cast<uint64_t>(n)))
      return false;
    options.indent = std::string(static_cast<size_t>(n), ' ');
  } else if (indent.isString()) {
    options.indent = indent.getString();
  } else if (!indent.isNone()) {
    return raiseError("TypeError: indent must be an integer or a string",
                      c.line);
  }
  if (separators.isList() && separators.getList().size() == 2 &&
      separators.getList()[0].isString() &&
      separators.getList()[1].isString()) {
    options.itemSeparator = separators.getList()[0].getString();
    options.keySeparator = separators.getList()[1].getString();
  } else if (!separators.isNone()) {
    return raiseError("TypeError: separators must be a pair of strings",
                      c.line);
  }
  options.sortKeys = sortKeys.truthy();
  return true;
}

Value filterToJson(FilterCall &c) {
  JsonDumpOptions options;
  if (!readJsonOptions(c, options))
    return Failure();
  // What json.dumps raises (a value JSON cannot hold, a limit) is the
  // filter's TypeError.
  std::string json, dumpError;
  {
    ErrorScope dump;
    json = dumpJson(c.input, options);
    dumpError = dump.message();
    if (!dump.failed())
      return Value(std::move(json));
  }
  return raiseError("TypeError: " + dumpError, c.line);
}

// `input.method(arguments)` on the input's string.
Value callStringMethod(FilterCall &c, const char *method, ValueList arguments) {
  CallArgs call;
  call.line = c.line;
  call.positional = std::move(arguments);
  return callValue(getAttribute(Value(c.input.str()), method, c.line), call,
                   c.line);
}

Value filterTrim(FilterCall &c) {
  Value chars = c.reader.get(0, "chars", Value::none());
  if (!c.reader.done())
    return Failure();
  return callStringMethod(c, "strip", {chars});
}

Value filterReplace(FilterCall &c) {
  Value old = c.reader.get(0, "old"), with = c.reader.get(1, "new");
  Value count = c.reader.get(2, "count", Value::none());
  if (!c.reader.done())
    return Failure();
  ValueList arguments = {Value(old.str()), Value(with.str())};
  if (!count.isNone())
    arguments.push_back(count);
  return callStringMethod(c, "replace", std::move(arguments));
}

Value filterLength(FilterCall &c) {
  if (!noArguments(c))
    return Failure();
  return Value(lengthOf(c.input, c.line));
}

// upper, lower, title, capitalize.
Value filterCase(FilterCall &c) {
  if (!noArguments(c))
    return Failure();
  std::string s = c.input.str();
  return Value(c.name == "upper"   ? pythonUpper(s)
               : c.name == "lower" ? pythonLower(s)
               : c.name == "title" ? jinjaTitle(s)
                                   : pythonCapitalize(s));
}

Value filterDefault(FilterCall &c) {
  Value fallback = c.reader.get(0, "default_value", Value(""));
  bool boolean = c.reader.get(1, "boolean", Value(false)).truthy();
  if (!c.reader.done())
    return Failure();
  if (c.input.isUndefined() || (boolean && !c.input.truthy()))
    return fallback;
  return c.input;
}

Value filterJoin(FilterCall &c) {
  Value sep = c.reader.get(0, "d", Value(""));
  Value attribute = c.reader.get(1, "attribute", Value::none());
  if (!c.reader.done())
    return Failure();
  std::string out, separator = sep.str();
  bool first = true;
  for (const Value &item : iterate(c.input, c.line)) {
    if (!first && !appendBounded(out, separator))
      return Failure();
    if (!appendBounded(out, keyOf(item, attribute, c.line).str()))
      return Failure();
    first = false;
  }
  return Value(std::move(out));
}

// first, last.
Value filterFirstOrLast(FilterCall &c) {
  bool last = c.name == "last";
  if (!noArguments(c))
    return Failure();
  if (last && c.input.isGenerator())
    return raiseError("TypeError: 'generator' object is not reversible",
                      c.line);
  ValueList items = iterate(c.input, c.line);
  if (items.empty())
    return Value::undefined(std::string("No ") + (last ? "last" : "first") +
                            " item, sequence was empty.");
  return last ? items.back() : items.front();
}

Value filterList(FilterCall &c) {
  if (!noArguments(c))
    return Failure();
  return Value::list(iterate(c.input, c.line));
}

Value filterString(FilterCall &c) {
  if (!noArguments(c))
    return Failure();
  return Value(c.input.str());
}

Value filterSafe(FilterCall &c) {
  if (!noArguments(c))
    return Failure();
  return c.input;
}

Value filterEscape(FilterCall &c) {
  if (!noArguments(c))
    return Failure();
  return Value(htmlEscape(c.input.str()));
}

Value filterInt(FilterCall &c) {
  Value fallback = c.reader.get(0, "default", Value(int64_t(0)));
  Value base = c.reader.get(1, "base", Value(int64_t(10)));
  if (!c.reader.done())
    return Failure();
  const Value &input = c.input;
  if (input.isInt() || input.isBool())
    return Value(input.getInt());
  if (input.isFloat())
    return std::isfinite(input.asDouble())
               ? Value(floatToInt(input.asDouble(), c.line))
               : fallback;
  int64_t v;
  if (input.isString() && parseInt(input.getString(), base.getInt(), v, c.line))
    return Value(v);
  return fallback;
}

Value filterFloat(FilterCall &c) {
  Value fallback = c.reader.get(0, "default", Value(0.0));
  if (!c.reader.done())
    return Failure();
  if (c.input.isNumber())
    return Value(c.input.asDouble());
  double d;
  if (c.input.isString() && parseFloat(c.input.getString(), d))
    return Value(d);
  return fallback;
}

// A mapping's (key, value) pairs; none when one is too deep to make.
ValueList dictPairs(const Value &input) {
  ValueList out;
  for (const auto &[k, v] : input.getDict().items) {
    Value pair = Value::tuple({Value(k), v});
    if (!pair.isList())
      return Failure();
    out.push_back(std::move(pair));
  }
  return out;
}

Value filterItems(FilterCall &c) {
  if (!noArguments(c))
    return Failure();
  if (c.input.isUndefined())
    return Value::generator({});
  if (!c.input.isDict())
    return raiseError("TypeError: Can only get item pairs from a mapping.",
                      c.line);
  return Value::generator(dictPairs(c.input));
}

Value filterDictSort(FilterCall &c) {
  bool caseSensitive = c.reader.get(0, "case_sensitive", Value(false)).truthy();
  Value by = c.reader.get(1, "by", Value("key"));
  bool reverse = c.reader.get(2, "reverse", Value(false)).truthy();
  if (!c.reader.done())
    return Failure();
  if (!c.input.isDict())
    return raiseError("TypeError: dictsort requires a mapping", c.line);
  ValueList out = dictPairs(c.input);
  size_t pos = by.str() == "value" ? 1 : 0;
  stableSort(out, [&](const Value &a, const Value &b) {
    int order =
        sortCompare(a.getList()[pos], b.getList()[pos], caseSensitive, c.line);
    return reverse ? order > 0 : order < 0;
  });
  return Value::list(std::move(out));
}

// map(attribute=..., default=...): each item's attribute.
Value mapAttribute(FilterCall &c) {
  Value attribute = c.reader.get(99, "attribute");
  Value fallback = c.reader.get(100, "default");
  if (!c.reader.done())
    return Failure();
  ValueList out;
  for (const Value &item : iterate(c.input, c.line)) {
    Value v = lookupPath(item, attribute, c.line);
    out.push_back(v.isUndefined() && !fallback.isUndefined() ? fallback : v);
  }
  return Value::generator(std::move(out));
}

Value filterMap(FilterCall &c) {
  for (const auto &[k, v] : c.args.keyword)
    if (k == "attribute")
      return mapAttribute(c);
  const ValueList &positional = c.args.positional;
  if (positional.empty() || !positional[0].isString())
    return raiseError("TypeError: map requires a filter name or attribute=",
                      c.line);
  std::string filter = positional[0].getString();
  if (!isKnownFilter(filter))
    return raiseError("unsupported filter '" + filter + "'", c.line);
  ValueList out;
  for (const Value &item : iterate(c.input, c.line)) {
    if (!chargeSteps(1))
      return Failure();
    CallArgs call;
    call.line = c.line;
    call.positional.assign(positional.begin() + 1, positional.end());
    call.keyword = c.args.keyword;
    out.push_back(applyFilter(filter, item, call));
  }
  return Value::generator(std::move(out));
}

// select, reject, selectattr, rejectattr.
Value filterSelect(FilterCall &c) {
  bool byAttribute = c.name == "selectattr" || c.name == "rejectattr";
  bool keep = c.name == "select" || c.name == "selectattr";
  return Value::generator(selectItems(c.input, c.args, byAttribute, keep));
}

Value filterAttr(FilterCall &c) {
  Value attribute = c.reader.get(0, "name");
  if (!c.reader.done())
    return Failure();
  return getAttribute(c.input, attribute.str(), c.line);
}

Value filterAbs(FilterCall &c) {
  if (!noArguments(c))
    return Failure();
  const Value &input = c.input;
  if (input.isFloat())
    return Value(std::fabs(input.asDouble()));
  if (input.isInt() || input.isBool()) {
    if (input.getInt() == INT64_MIN)
      return raiseIntegerOverflow("abs(" + std::to_string(INT64_MIN) + ")",
                                  c.line);
    return Value(static_cast<int64_t>(std::llabs(input.getInt())));
  }
  return raiseError("TypeError: bad operand type for abs(): '" +
                        input.typeName() + "'",
                    c.line);
}

Value filterRound(FilterCall &c) {
  int64_t precision = c.reader.get(0, "precision", Value(int64_t(0))).getInt();
  std::string method = c.reader.get(1, "method", Value("common")).str();
  if (!c.reader.done())
    return Failure();
  const Value &input = c.input;
  if (!input.isNumber())
    return raiseError("TypeError: round requires a number", c.line);
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = input.asDouble() * scale;
  if (method == "common")
    x = roundHalfEven(x);
  else if (method == "ceil")
    x = std::ceil(x);
  else if (method == "floor")
    x = std::floor(x);
  else
    return raiseError("TypeError: method must be common, ceil or floor",
                      c.line);
  x /= scale;
  if (!input.isFloat() && method == "common") {
    // Python's round(int, ndigits >= 0) is the int itself.
    if (precision >= 0)
      return Value(input.getInt());
    return Value(floatToInt(x, c.line));
  }
  return Value(x);
}

Value filterReverse(FilterCall &c) {
  if (!noArguments(c))
    return Failure();
  if (c.input.isString()) {
    chargeBytes(c.input.getString().size());
    std::u32string text = decodeUtf8(c.input.getString());
    std::reverse(text.begin(), text.end());
    return Value(encodeUtf8(text));
  }
  ValueList items = iterate(c.input, c.line);
  std::reverse(items.begin(), items.end());
  return Value::generator(std::move(items));
}

// unique: the first item of each key, keys compared as sort compares them.
ValueList uniqueItems(const ValueList &items, const Value &attribute,
                      bool caseSensitive, int line) {
  ValueList out, seen;
  for (const Value &item : items) {
    Value key = keyOf(item, attribute, line);
    if (!caseSensitive && key.isString())
      key = Value(pythonLower(key.getString()));
    bool dup = false;
    if (!chargeSteps(seen.size()))
      return Failure();
    for (const Value &s : seen)
      dup |= s.equals(key);
    if (!dup) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return out;
}

// sort, unique, min, max: items ordered by key.
Value filterOrdered(FilterCall &c) {
  bool sort = c.name == "sort";
  bool reverse = sort && c.reader.get(0, "reverse", Value(false)).truthy();
  bool caseSensitive =
      c.reader.get(sort ? 1 : 0, "case_sensitive", Value(false)).truthy();
  Value attribute = c.reader.get(sort ? 2 : 1, "attribute", Value::none());
  if (!c.reader.done())
    return Failure();
  int line = c.line;
  ValueList items = iterate(c.input, line);
  if (c.name == "unique")
    return Value::generator(uniqueItems(items, attribute, caseSensitive, line));
  auto less = [&](const Value &a, const Value &b) {
    return sortCompare(keyOf(a, attribute, line), keyOf(b, attribute, line),
                       caseSensitive, line) < 0;
  };
  if (sort) {
    stableSort(items, [&](const Value &a, const Value &b) {
      return reverse ? less(b, a) : less(a, b);
    });
    return Value::list(std::move(items));
  }
  if (items.empty())
    return Value::undefined("No aggregated item, sequence was empty.");
  Value best = items[0];
  for (const Value &item : items)
    if (c.name == "min" ? less(item, best) : less(best, item))
      best = item;
  return best;
}

Value filterSum(FilterCall &c) {
  Value attribute = c.reader.get(0, "attribute", Value::none());
  Value total = c.reader.get(1, "start", Value(int64_t(0)));
  if (!c.reader.done())
    return Failure();
  for (const Value &item : iterate(c.input, c.line))
    total = binaryOp("+", total, keyOf(item, attribute, c.line), c.line);
  return total;
}

// Jinja2: "%s, %s" | format(a, b) or "%(x)s" | format(x=1).
Value filterFormat(FilterCall &c) {
  if (c.args.keyword.empty())
    return Value(
        printfFormat(c.input.str(), Value::tuple(c.args.positional), c.line));
  Dict named;
  for (const auto &[k, v] : c.args.keyword)
    named.set(k, v);
  return Value(
      printfFormat(c.input.str(), Value::dict(std::move(named)), c.line));
}

Value filterIndent(FilterCall &c) {
  Value width = c.reader.get(0, "width", Value(int64_t(4)));
  bool first = c.reader.get(1, "first", Value(false)).truthy();
  bool blank = c.reader.get(2, "blank", Value(false)).truthy();
  if (!c.reader.done())
    return Failure();
  return Value(indentText(c.input.str(), width, first, blank, c.line));
}

using Filter = Value (*)(FilterCall &);

// Every filter, by name.
const std::pair<std::string_view, Filter> kFilters[] = {
    {"abs", filterAbs},           {"attr", filterAttr},
    {"capitalize", filterCase},   {"count", filterLength},
    {"d", filterDefault},         {"default", filterDefault},
    {"dictsort", filterDictSort}, {"e", filterEscape},
    {"escape", filterEscape},     {"first", filterFirstOrLast},
    {"float", filterFloat},       {"format", filterFormat},
    {"indent", filterIndent},     {"int", filterInt},
    {"items", filterItems},       {"join", filterJoin},
    {"last", filterFirstOrLast},  {"length", filterLength},
    {"list", filterList},         {"lower", filterCase},
    {"map", filterMap},           {"max", filterOrdered},
    {"min", filterOrdered},       {"reject", filterSelect},
    {"rejectattr", filterSelect}, {"replace", filterReplace},
    {"reverse", filterReverse},   {"round", filterRound},
    {"safe", filterSafe},         {"select", filterSelect},
    {"selectattr", filterSelect}, {"sort", filterOrdered},
    {"string", filterString},     {"sum", filterSum},
    {"title", filterCase},        {"tojson", filterToJson},
    {"trim", filterTrim},         {"unique", filterOrdered},
    {"upper", filterCase}};

// ---- tests
// ---------------------------------------------------------------------

// One test application: `input is name(args)`.
using TestCall = FilterCall;

// The tests that only look at the input's type or value.
using Predicate = bool (*)(const Value &);
const std::pair<std::string_view, Predicate> kPredicates[] = {
    {"defined", [](const Value &v) { return !v.isUndefined(); }},
    {"undefined", [](const Value &v) { return v.isUndefined(); }},
    {"none", [](const Value &v) { return v.isNone(); }},
    {"string", [](const Value &v) { return v.isString(); }},
    {"mapping", [](const Value &v) { return v.isDict(); }},
    {"iterable",
     [](const Value &v) {
       return v.isString() || v.isList() || v.isGenerator() || v.isDict() ||
              v.isUndefined();
     }},
    {"sequence",
     [](const Value &v) {
       return v.isString() || v.isList() || v.isDict() || v.isUndefined();
     }},
    {"number", [](const Value &v) { return v.isNumber(); }},
    {"integer", [](const Value &v) { return v.isInt(); }},
    {"float", [](const Value &v) { return v.isFloat(); }},
    {"boolean", [](const Value &v) { return v.isBool(); }},
    {"true", [](const Value &v) { return v.isBool() && v.getBool(); }},
    {"false", [](const Value &v) { return v.isBool() && !v.getBool(); }},
    {"callable", [](const Value &v) { return v.isCallable(); }}};

// The tests that compare the input with one argument, and the operator.
const std::pair<std::string_view, const char *> kComparisons[] = {
    {"equalto", "=="}, {"eq", "=="}, {"==", "=="},      {"ne", "!="},
    {"!=", "!="},      {"lt", "<"},  {"lessthan", "<"}, {"<", "<"},
    {"le", "<="},      {"<=", "<="}, {"gt", ">"},       {"greaterthan", ">"},
    {">", ">"},        {"ge", ">="}, {">=", ">="}};

bool testParity(TestCall &c) {
  if (!c.reader.done())
    return false;
  if (!c.input.isInt() && !c.input.isBool())
    return raiseError("TypeError: odd/even requires an integer", c.line);
  return (c.input.getInt() % 2 != 0) == (c.name == "odd");
}

bool testDivisibleBy(TestCall &c) {
  Value num = c.reader.get(0, "num");
  if (!c.reader.done())
    return false;
  Value rem = binaryOp("%", c.input, num, c.line);
  return rem.isNumber() && rem.asDouble() == 0;
}

// `is lower` / `is upper`: Python's str.islower() / isupper().
bool testCase(TestCall &c) {
  if (!c.reader.done())
    return false;
  if (!c.input.isString())
    return false;
  CallArgs none;
  none.line = c.line;
  const char *method = c.name == "lower" ? "islower" : "isupper";
  return callValue(getAttribute(c.input, method, c.line), none, c.line)
      .truthy();
}

bool testSameAs(TestCall &c) {
  Value other = c.reader.get(0, "other");
  return c.reader.done() && c.input.sameAs(other);
}

bool testIn(TestCall &c) {
  Value seq = c.reader.get(0, "seq");
  return c.reader.done() && compareOp("in", c.input, seq, c.line);
}

using Test = bool (*)(TestCall &);
const std::pair<std::string_view, Test> kTests[] = {
    {"odd", testParity}, {"even", testParity}, {"divisibleby", testDivisibleBy},
    {"lower", testCase}, {"upper", testCase},  {"sameas", testSameAs},
    {"in", testIn}};

template <class T, size_t N>
const T *lookup(const std::pair<std::string_view, T> (&table)[N],
                std::string_view name) {
  for (const auto &entry : table)
    if (entry.first == name)
      return &entry.second;
  return nullptr;
}

} // namespace

bool isKnownFilter(std::string_view name) { return lookup(kFilters, name); }

bool isKnownTest(std::string_view name) {
  return lookup(kPredicates, name) || lookup(kComparisons, name) ||
         lookup(kTests, name);
}

Value applyFilter(const std::string &name, const Value &input, CallArgs &args) {
  const Filter *filter = lookup(kFilters, name);
  if (!filter)
    return raiseError("unsupported filter '" + name + "'", args.line);
  FilterCall call{name, input, args, ArgReader(args, name), args.line};
  return (*filter)(call);
}

bool applyTest(const std::string &name, const Value &input, CallArgs &args) {
  TestCall call{name, input, args, ArgReader(args, name), args.line};
  if (const Predicate *predicate = lookup(kPredicates, name))
    return call.reader.done() && (*predicate)(input);
  if (const char *const *op = lookup(kComparisons, name)) {
    Value other = call.reader.get(0, "other");
    return call.reader.done() && compareOp(*op, input, other, call.line);
  }
  if (const Test *test = lookup(kTests, name))
    return (*test)(call);
  return raiseError("unsupported test '" + name + "'", args.line);
}

} // namespace ingot::chat
