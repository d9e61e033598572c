//===- JinjaLexer.cpp - Tokens of a Jinja2 template -----------------------===//
#include "runtime/chat/JinjaLexer.h"

#include "runtime/chat/Utf8.h"
#include "runtime/chat/Value.h"

#include <cctype>

namespace ingot::chat {
namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

std::string normalizeNewlines(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out += '\n';
      if (i + 1 < in.size() && in[i + 1] == '\n')
        ++i;
    } else {
      out += in[i];
    }
  }
  // keep_trailing_newline=False: one final newline is not part of the output.
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

class Lexer {
public:
  explicit Lexer(std::string_view input) : src(normalizeNewlines(input)) {}

  /// The tokens; false on bad input (the error is recorded).
  bool run(std::vector<Token> &out) {
    while (true) {
      size_t textStart = pos;
      size_t tag = findTagStart(pos);
      std::string text = src.substr(
          pos, tag == std::string::npos ? std::string::npos : tag - pos);
      size_t removedFront = 0;
      if (pending == Pending::StripAll) {
        while (removedFront < text.size() && isSpace(text[removedFront]))
          ++removedFront;
      } else if (pending == Pending::TrimNewline && !text.empty() &&
                 text[0] == '\n') {
        removedFront = 1;
      }
      text.erase(0, removedFront);
      pending = Pending::None;
      int textLine = lineAt(textStart);
      if (tag == std::string::npos) {
        emitText(std::move(text), textLine);
        break;
      }
      char kind = src[tag + 1];
      char mod = tag + 2 < src.size() ? src[tag + 2] : '\0';
      if (mod == '-') {
        while (!text.empty() && isSpace(text.back()))
          text.pop_back();
      } else if ((kind == '%' || kind == '#') && mod != '+') {
        // lstrip_blocks: drop spaces and tabs between a line start and a tag.
        size_t nl = text.rfind('\n');
        size_t tail = nl == std::string::npos ? 0 : nl + 1;
        size_t effectiveStart = textStart + removedFront;
        bool lineStart = nl != std::string::npos || effectiveStart == 0 ||
                         src[effectiveStart - 1] == '\n';
        bool blank = true;
        for (size_t i = tail; i < text.size(); ++i)
          if (text[i] != ' ' && text[i] != '\t')
            blank = false;
        if (lineStart && blank)
          text.erase(tail);
      }
      emitText(std::move(text), textLine);
      pos = tag + 2 + ((mod == '-' || mod == '+') ? 1 : 0);
      bool lexed =
          kind == '#'
              ? lexComment(tag)
              : lexTag(kind == '{' ? Token::VarBegin : Token::BlockBegin, tag);
      if (!lexed)
        return false;
    }
    tokens.push_back({Token::End, "", lineAt(src.size())});
    out = std::move(tokens);
    return true;
  }

private:
  enum class Pending { None, StripAll, TrimNewline };

  std::string src;
  size_t pos = 0;
  Pending pending = Pending::None;
  std::vector<Token> tokens;
  size_t lineScanPos = 0;
  int lineScanCount = 1;

  int lineAt(size_t offset) {
    if (offset < lineScanPos) {
      lineScanPos = 0;
      lineScanCount = 1;
    }
    for (; lineScanPos < offset && lineScanPos < src.size(); ++lineScanPos)
      if (src[lineScanPos] == '\n')
        ++lineScanCount;
    return lineScanCount;
  }

  Failure fail(const std::string &message, size_t offset) {
    return chat::fail(message + " at line " + std::to_string(lineAt(offset)));
  }

  size_t findTagStart(size_t from) const {
    for (size_t i = from; i + 1 < src.size(); ++i)
      if (src[i] == '{' &&
          (src[i + 1] == '{' || src[i + 1] == '%' || src[i + 1] == '#'))
        return i;
    return std::string::npos;
  }

  void emitText(std::string text, int line) {
    if (!text.empty())
      tokens.push_back({Token::Text, std::move(text), line});
  }

  bool lexComment(size_t tagStart) {
    size_t end = src.find("#}", pos);
    if (end == std::string::npos)
      return fail("unclosed comment", tagStart);
    char before = end > pos ? src[end - 1] : '\0';
    pending = before == '-'   ? Pending::StripAll
              : before == '+' ? Pending::None
                              : Pending::TrimNewline;
    pos = end + 2;
    return true;
  }

  bool lexTag(Token::Type begin, size_t tagStart) {
    bool block = begin == Token::BlockBegin;
    char closer = block ? '%' : '}';
    size_t firstToken = tokens.size();
    tokens.push_back({begin, "", lineAt(tagStart)});
    int depth = 0;
    while (true) {
      while (pos < src.size() && isSpace(src[pos]))
        ++pos;
      if (pos >= src.size())
        return fail(block ? "unclosed block tag" : "unclosed variable tag",
                    tagStart);
      if (depth == 0) {
        char c = src[pos];
        bool dash =
            c == '-' && src.compare(pos + 1, 2, std::string{closer, '}'}) == 0;
        bool plus = block && c == '+' &&
                    src.compare(pos + 1, 2, std::string{closer, '}'}) == 0;
        if (dash || plus ||
            src.compare(pos, 2, std::string{closer, '}'}) == 0) {
          pos += (dash || plus) ? 3 : 2;
          tokens.push_back(
              {block ? Token::BlockEnd : Token::VarEnd, "", lineAt(pos)});
          pending = dash             ? Pending::StripAll
                    : plus || !block ? Pending::None
                                     : Pending::TrimNewline;
          if (block && tokens.size() == firstToken + 3 &&
              tokens[firstToken + 1].type == Token::Name &&
              tokens[firstToken + 1].text == "raw")
            return lexRaw(firstToken);
          return true;
        }
      }
      if (!lexExpressionToken(depth))
        return false;
    }
  }

  // {% raw %}...{% endraw %}: the body is text, tags inside are not read.
  bool lexRaw(size_t firstToken) {
    int line = tokens[firstToken].line;
    tokens.resize(firstToken);
    size_t search = pos;
    while (true) {
      size_t at = src.find("{%", search);
      if (at == std::string::npos)
        return fail("missing endraw", pos);
      size_t p = at + 2;
      bool dashBefore = p < src.size() && src[p] == '-';
      if (p < src.size() && (src[p] == '-' || src[p] == '+'))
        ++p;
      while (p < src.size() && isSpace(src[p]))
        ++p;
      if (src.compare(p, 6, "endraw") != 0) {
        search = at + 2;
        continue;
      }
      p += 6;
      while (p < src.size() && isSpace(src[p]))
        ++p;
      bool dashAfter = false, plusAfter = false;
      if (p < src.size() && (src[p] == '-' || src[p] == '+')) {
        dashAfter = src[p] == '-';
        plusAfter = src[p] == '+';
        ++p;
      }
      if (src.compare(p, 2, "%}") != 0) {
        search = at + 2;
        continue;
      }
      std::string body = src.substr(pos, at - pos);
      if (pending == Pending::StripAll) {
        size_t i = 0;
        while (i < body.size() && isSpace(body[i]))
          ++i;
        body.erase(0, i);
      } else if (pending == Pending::TrimNewline && !body.empty() &&
                 body[0] == '\n') {
        body.erase(0, 1);
      }
      if (dashBefore)
        while (!body.empty() && isSpace(body.back()))
          body.pop_back();
      emitText(std::move(body), line);
      pos = p + 2;
      pending = dashAfter   ? Pending::StripAll
                : plusAfter ? Pending::None
                            : Pending::TrimNewline;
      return true;
    }
  }

  bool lexExpressionToken(int &depth) {
    size_t start = pos;
    int line = lineAt(start);
    char c = src[pos];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (pos < src.size() &&
             (std::isalnum(static_cast<unsigned char>(src[pos])) ||
              src[pos] == '_'))
        ++pos;
      tokens.push_back({Token::Name, src.substr(start, pos - start), line});
      return true;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      bool isFloat = false;
      auto digits = [&] {
        while (pos < src.size() &&
               (std::isdigit(static_cast<unsigned char>(src[pos])) ||
                src[pos] == '_'))
          ++pos;
      };
      digits();
      if (pos + 1 < src.size() && src[pos] == '.' &&
          std::isdigit(static_cast<unsigned char>(src[pos + 1]))) {
        isFloat = true;
        ++pos;
        digits();
      }
      if (pos < src.size() && (src[pos] == 'e' || src[pos] == 'E')) {
        size_t save = pos;
        ++pos;
        if (pos < src.size() && (src[pos] == '+' || src[pos] == '-'))
          ++pos;
        if (pos < src.size() &&
            std::isdigit(static_cast<unsigned char>(src[pos]))) {
          isFloat = true;
          digits();
        } else {
          pos = save;
        }
      }
      std::string text;
      for (size_t i = start; i < pos; ++i)
        if (src[i] != '_')
          text += src[i];
      tokens.push_back({isFloat ? Token::Float : Token::Integer, text, line});
      return true;
    }
    if (c == '\'' || c == '"') {
      std::string text;
      if (!lexString(c, text))
        return false;
      tokens.push_back({Token::String, std::move(text), line});
      return true;
    }
    static const char *twoChar[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char *op : twoChar) {
      if (src.compare(pos, 2, op) == 0) {
        pos += 2;
        tokens.push_back({Token::Operator, op, line});
        return true;
      }
    }
    if (std::string_view("+-*/%~<>=()[]{},.:|").find(c) !=
        std::string_view::npos) {
      if (c == '(' || c == '[' || c == '{')
        ++depth;
      else if (c == ')' || c == ']' || c == '}') {
        if (depth == 0)
          return fail(std::string("unexpected '") + c + "'", pos);
        --depth;
      }
      ++pos;
      tokens.push_back({Token::Operator, std::string(1, c), line});
      return true;
    }
    return fail(std::string("unexpected character '") + c + "'", pos);
  }

  // A string literal, unescaped as Python's unicode-escape codec does.
  bool lexString(char quote, std::string &out) {
    size_t start = pos++;
    while (true) {
      if (pos >= src.size())
        return fail("unterminated string", start);
      char c = src[pos++];
      if (c == quote)
        return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos >= src.size())
        return fail("unterminated string", start);
      char e = src[pos++];
      auto hex = [&](int n) -> bool {
        uint32_t cp = 0;
        for (int i = 0; i < n; ++i) {
          if (pos >= src.size() ||
              !std::isxdigit(static_cast<unsigned char>(src[pos])))
            return fail("bad escape in string", start);
          char h = src[pos++];
          cp = cp * 16 + (std::isdigit(static_cast<unsigned char>(h))
                              ? h - '0'
                              : (std::tolower(h) - 'a' + 10));
        }
        // Python rejects escapes past the last code point.
        if (cp > 0x10FFFF)
          return fail("bad escape in string", start);
        appendUtf8(out, cp);
        return true;
      };
      switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '\'':
        out += '\'';
        break;
      case '"':
        out += '"';
        break;
      case '\n':
        break;
      case 'x':
      case 'u':
      case 'U':
        if (!hex(e == 'x' ? 2 : e == 'u' ? 4 : 8))
          return false;
        break;
      default:
        if (e >= '0' && e <= '7') {
          uint32_t cp = e - '0';
          for (int i = 0;
               i < 2 && pos < src.size() && src[pos] >= '0' && src[pos] <= '7';
               ++i)
            cp = cp * 8 + (src[pos++] - '0');
          appendUtf8(out, cp);
        } else {
          out += '\\';
          out += e;
        }
      }
    }
  }
};

} // namespace

bool lexTemplate(std::string_view source, std::vector<Token> &tokens) {
  return Lexer(source).run(tokens);
}

} // namespace ingot::chat
