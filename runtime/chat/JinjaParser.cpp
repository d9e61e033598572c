//===- JinjaParser.cpp - Jinja2 template parser ---------------------------===//
#include "runtime/chat/JinjaParser.h"

#include "runtime/chat/JinjaBuiltins.h"
#include "runtime/chat/JinjaLexer.h"
#include "runtime/chat/JinjaLimits.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <initializer_list>

namespace ingot::chat {
namespace {

class Parser {
public:
  explicit Parser(std::vector<Token> tokens) : toks(std::move(tokens)) {}

  /// The template's syntax tree; false after a syntax error (recorded in
  /// the current ErrorScope).
  bool run(TemplateAst &ast) {
    ast.body = parseUntil({}, nullptr);
    return !failed();
  }

private:
  std::vector<Token> toks;
  size_t i = 0;
  // Recursion of the parser: blocks in blocks, and parenthesised and
  // unary expressions. Parentheses nest the parser without adding tree
  // levels, so this is bounded apart from the depth of the tree (seal()).
  int blockNesting = 0, expressionNesting = 0;

  struct NestingGuard {
    int &nesting;
    NestingGuard(Parser &parser, int &nesting, const char *what)
        : nesting(nesting) {
      if (++nesting > kMaxNestingDepth)
        parser.fail(std::string(what) + " nesting exceeds the limit of " +
                        std::to_string(kMaxNestingDepth) + " levels",
                    parser.peek().line);
    }
    ~NestingGuard() { --nesting; }
  };

  // After an error every token reads as the end of the template, so that
  // each loop of the parser ends and the recursion unwinds.
  const Token &peek(size_t ahead = 0) const {
    if (failed())
      return toks.back();
    size_t k = i + ahead;
    return k < toks.size() ? toks[k] : toks.back();
  }
  const Token &next() {
    const Token &t = peek();
    if (i < toks.size() - 1)
      ++i;
    return t;
  }
  Failure fail(const std::string &message, int line) {
    return chat::fail(message + " at line " + std::to_string(line));
  }
  static std::string describe(const Token &t) {
    switch (t.type) {
    case Token::Text:
      return "template text";
    case Token::VarBegin:
      return "'{{'";
    case Token::VarEnd:
      return "'}}'";
    case Token::BlockBegin:
      return "'{%'";
    case Token::BlockEnd:
      return "'%}'";
    case Token::End:
      return "end of template";
    case Token::String:
      return "string";
    default:
      return "'" + t.text + "'";
    }
  }
  bool isOp(const char *op, size_t ahead = 0) const {
    const Token &t = peek(ahead);
    return t.type == Token::Operator && t.text == op;
  }
  bool isName(const char *name, size_t ahead = 0) const {
    const Token &t = peek(ahead);
    return t.type == Token::Name && t.text == name;
  }
  // Consumes the next token if it is the one expected (`present`).
  void expectToken(bool present, const char *text) {
    if (!present) {
      fail(std::string("expected '") + text + "', found " + describe(peek()),
           peek().line);
      return;
    }
    next();
  }
  void expectOp(const char *op) { expectToken(isOp(op), op); }
  void expectName(const char *name) { expectToken(isName(name), name); }
  std::string expectIdentifier() {
    if (peek().type != Token::Name)
      return fail("expected a name, found " + describe(peek()), peek().line);
    return next().text;
  }
  void expect(Token::Type type) {
    if (peek().type != type) {
      Token want{type, "", 0};
      fail("expected " + describe(want) + ", found " + describe(peek()),
           peek().line);
      return;
    }
    next();
  }

  // ---- statements ----------------------------------------------------------

  StmtList parseUntil(std::initializer_list<const char *> ends,
                      std::string *which) {
    StmtList body;
    if (which)
      which->clear();
    while (true) {
      const Token &t = peek();
      if (t.type == Token::End) {
        if (ends.size())
          return fail(std::string("unexpected end of template, expected '") +
                          *ends.begin() + "'",
                      t.line);
        return body;
      }
      if (t.type == Token::Text) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Text;
        s->line = t.line;
        s->text = t.text;
        body.push_back(std::move(s));
        next();
        continue;
      }
      if (t.type == Token::VarBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Output;
        s->line = t.line;
        next();
        s->expr = parseTupleOrExpression();
        expect(Token::VarEnd);
        body.push_back(std::move(s));
        continue;
      }
      if (t.type == Token::BlockBegin) {
        const Token &tag = peek(1);
        if (tag.type == Token::Name)
          for (const char *end : ends)
            if (tag.text == end) {
              next();
              next();
              *which = end;
              return body;
            }
        body.push_back(parseStatement());
        continue;
      }
      return fail("unexpected " + describe(t), t.line);
    }
  }

  StmtPtr parseStatement() {
    NestingGuard guard(*this, blockNesting, "block");
    int line = next().line; // {%
    if (peek().type != Token::Name)
      return fail("expected a tag name, found " + describe(peek()),
                  peek().line);
    std::string tag = next().text;
    auto s = std::make_unique<Stmt>();
    s->line = line;
    if (tag == "if")
      parseIf(*s);
    else if (tag == "for")
      parseFor(*s);
    else if (tag == "set")
      parseSet(*s);
    else if (tag == "macro")
      parseMacro(*s);
    else if (tag == "break" || tag == "continue")
      s->kind = tag == "break" ? Stmt::Break : Stmt::Continue;
    else if (tag == "generation")
      // transformers' AssistantTracker: the tag only marks its body.
      parseBlockBody(*s, Stmt::Body, "endgeneration");
    else
      return fail("unsupported tag '" + tag + "'", line);
    expect(Token::BlockEnd);
    return s;
  }

  // The tag's `%}`, then its body up to `{% end %}` (whose `%}` is left).
  void parseBlockBody(Stmt &s, Stmt::Kind kind, const char *end) {
    s.kind = kind;
    expect(Token::BlockEnd);
    std::string which;
    s.bodies.push_back(parseUntil({end}, &which));
  }

  void parseIf(Stmt &s) {
    s.kind = Stmt::If;
    std::string which = "elif";
    while (which == "elif") {
      s.conditions.push_back(parseExpression());
      expect(Token::BlockEnd);
      s.bodies.push_back(parseUntil({"endif", "elif", "else"}, &which));
    }
    if (which == "else") {
      expect(Token::BlockEnd);
      s.elseBody = parseUntil({"endif"}, &which);
    }
  }

  void parseFor(Stmt &s) {
    s.kind = Stmt::For;
    s.targets.push_back(expectIdentifier());
    while (isOp(",")) {
      next();
      s.targets.push_back(expectIdentifier());
    }
    expectName("in");
    s.expr = parseTupleOrExpression(/*withCondition=*/false);
    if (isName("if")) {
      next();
      s.filter = parseExpression();
    }
    if (isName("recursive")) {
      fail("unsupported tag 'for ... recursive'", peek().line);
      return;
    }
    expect(Token::BlockEnd);
    std::string which;
    s.bodies.push_back(parseUntil({"endfor", "else"}, &which));
    if (which == "else") {
      expect(Token::BlockEnd);
      s.elseBody = parseUntil({"endfor"}, &which);
    }
  }

  // `set a = ...`, `set a, b = ...`, `set ns.attr = ...` or the block form
  // `set a %}...{% endset`.
  void parseSet(Stmt &s) {
    s.targets.push_back(expectIdentifier());
    if (isOp(".")) {
      next();
      s.attribute = expectIdentifier();
    } else {
      while (isOp(",")) {
        next();
        s.targets.push_back(expectIdentifier());
      }
    }
    if (peek().type == Token::BlockEnd && s.targets.size() == 1 &&
        s.attribute.empty()) {
      parseBlockBody(s, Stmt::SetBlock, "endset");
      return;
    }
    s.kind = Stmt::Set;
    expectOp("=");
    s.expr = parseTupleOrExpression();
  }

  void parseMacro(Stmt &s) {
    s.kind = Stmt::Macro;
    s.name = expectIdentifier();
    expectOp("(");
    while (!isOp(")")) {
      std::string param = expectIdentifier();
      ExprPtr def;
      if (isOp("=")) {
        next();
        def = parseExpression();
      }
      s.params.emplace_back(param, std::move(def));
      if (!isOp(","))
        break;
      next();
    }
    expectOp(")");
    parseBlockBody(s, Stmt::Macro, "endmacro");
    if (peek().type == Token::Name && peek().text == s.name)
      next();
  }

  // ---- expressions ---------------------------------------------------------

  ExprPtr make(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  // Records the depth of a finished node and rejects trees deeper than the
  // renderer may recurse: left-associative chains (a + b + c ..., x|f|g ...)
  // grow the tree without nesting the parser.
  ExprPtr seal(ExprPtr e) {
    int deepest = 0;
    for (const ExprPtr &o : e->operands)
      if (o)
        deepest = std::max(deepest, o->depth);
    for (const auto &[k, v] : e->keyword)
      if (v)
        deepest = std::max(deepest, v->depth);
    e->depth = deepest + 1;
    if (e->depth > kMaxNestingDepth)
      return fail("expression nesting exceeds the limit of " +
                      std::to_string(kMaxNestingDepth) + " levels",
                  e->line);
    return e;
  }

  // Python's ints are unbounded; the interpreter's are 64-bit, so a literal
  // past that is an error rather than a silently clamped value.
  Value integerLiteral(const Token &t) {
    errno = 0;
    long long v = std::strtoll(t.text.c_str(), nullptr, 10);
    if (errno == ERANGE)
      return fail("integer literal " + t.text + " does not fit in 64 bits",
                  t.line);
    return Value(static_cast<int64_t>(v));
  }

  // `a, b` without parentheses is a tuple where Jinja2 allows one.
  ExprPtr parseTupleOrExpression(bool withCondition = true) {
    int line = peek().line;
    ExprPtr first = withCondition ? parseExpression() : parseOr();
    if (!isOp(","))
      return first;
    auto tuple = make(Expr::TupleLit, line);
    tuple->operands.push_back(std::move(first));
    while (isOp(",")) {
      next();
      if (peek().type == Token::BlockEnd || peek().type == Token::VarEnd ||
          isName("if"))
        break;
      tuple->operands.push_back(withCondition ? parseExpression() : parseOr());
    }
    return seal(std::move(tuple));
  }

  ExprPtr parseExpression() {
    NestingGuard guard(*this, expressionNesting, "expression");
    ExprPtr e = parseOr();
    while (isName("if")) {
      int line = next().line;
      auto cond = make(Expr::Cond, line);
      cond->operands.push_back(parseOr());
      cond->operands.push_back(std::move(e));
      if (isName("else")) {
        next();
        cond->operands.push_back(parseExpression());
      } else {
        cond->operands.push_back(nullptr);
      }
      e = seal(std::move(cond));
    }
    return e;
  }

  // A left-associative chain `operand (op operand)*` of one precedence
  // level: `ops` are words (and, or) or operator tokens; a Binary node
  // records its operator.
  ExprPtr parseChain(Expr::Kind kind, std::initializer_list<const char *> ops,
                     ExprPtr (Parser::*operand)()) {
    auto atOperator = [&] {
      for (const char *op : ops)
        if (kind == Expr::Binary ? isOp(op) : isName(op))
          return true;
      return false;
    };
    ExprPtr e = (this->*operand)();
    while (atOperator()) {
      const Token &t = next();
      auto n = make(kind, t.line);
      if (kind == Expr::Binary)
        n->name = t.text;
      n->operands.push_back(std::move(e));
      n->operands.push_back((this->*operand)());
      e = seal(std::move(n));
    }
    return e;
  }

  ExprPtr parseOr() { return parseChain(Expr::Or, {"or"}, &Parser::parseAnd); }

  ExprPtr parseAnd() {
    return parseChain(Expr::And, {"and"}, &Parser::parseNot);
  }

  ExprPtr parseNot() {
    if (isName("not")) {
      NestingGuard guard(*this, expressionNesting, "expression");
      auto n = make(Expr::Not, next().line);
      n->operands.push_back(parseNot());
      return seal(std::move(n));
    }
    return parseCompare();
  }

  ExprPtr parseCompare() {
    int line = peek().line;
    ExprPtr e = parseMath1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (peek().type == Token::Operator &&
          (peek().text == "==" || peek().text == "!=" || peek().text == "<" ||
           peek().text == "<=" || peek().text == ">" || peek().text == ">=")) {
        op = next().text;
      } else if (isName("in")) {
        next();
        op = "in";
      } else if (isName("not") && isName("in", 1)) {
        next();
        next();
        op = "not in";
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(Expr::Compare, line);
        cmp->operands.push_back(std::move(e));
      }
      cmp->ops.push_back(op);
      cmp->operands.push_back(parseMath1());
    }
    return cmp ? seal(std::move(cmp)) : std::move(e);
  }

  ExprPtr parseMath1() {
    return parseChain(Expr::Binary, {"+", "-"}, &Parser::parseConcat);
  }

  ExprPtr parseConcat() {
    return parseChain(Expr::Binary, {"~"}, &Parser::parseMath2);
  }

  ExprPtr parseMath2() {
    return parseChain(Expr::Binary, {"*", "/", "//", "%"}, &Parser::parsePow);
  }

  ExprPtr parsePow() {
    return parseChain(Expr::Binary, {"**"}, &Parser::parseFilteredUnary);
  }

  ExprPtr parseFilteredUnary() { return parseUnary(true); }

  ExprPtr parseUnary(bool withFilter) {
    ExprPtr e;
    if (isOp("-") || isOp("+")) {
      NestingGuard guard(*this, expressionNesting, "expression");
      const Token &t = next();
      e = make(t.text == "-" ? Expr::Negate : Expr::Plus, t.line);
      e->operands.push_back(parseUnary(false));
      e = seal(std::move(e));
    } else {
      e = parsePrimary();
    }
    e = parsePostfix(std::move(e));
    if (withFilter)
      e = parseFilterExpr(std::move(e));
    return e;
  }

  ExprPtr parsePrimary() {
    const Token &t = peek();
    int line = t.line;
    if (t.type == Token::Name)
      return parseNameOrConstant();
    if (t.type == Token::String) {
      std::string s;
      while (peek().type == Token::String)
        s += next().text;
      auto e = make(Expr::Literal, line);
      e->value = Value(std::move(s));
      return e;
    }
    if (t.type == Token::Integer) {
      auto e = make(Expr::Literal, line);
      e->value = integerLiteral(next());
      return e;
    }
    if (t.type == Token::Float) {
      auto e = make(Expr::Literal, line);
      e->value = Value(std::strtod(next().text.c_str(), nullptr));
      return e;
    }
    if (isOp("("))
      return parseParenthesized();
    if (isOp("["))
      return parseDisplay(Expr::ListLit, "]");
    if (isOp("{"))
      return parseDisplay(Expr::DictLit, "}");
    return fail("unexpected " + describe(t), line);
  }

  ExprPtr parseNameOrConstant() {
    int line = peek().line;
    std::string n = next().text;
    auto e = make(Expr::Literal, line);
    if (n == "true" || n == "True")
      e->value = Value(true);
    else if (n == "false" || n == "False")
      e->value = Value(false);
    else if (n == "none" || n == "None")
      e->value = Value::none();
    else {
      e->kind = Expr::Name;
      e->name = n;
    }
    return e;
  }

  // `(x)`, `()` or a tuple `(x, y...)`.
  ExprPtr parseParenthesized() {
    int line = next().line; // (
    if (isOp(")")) {
      next();
      return make(Expr::TupleLit, line);
    }
    ExprPtr first = parseExpression();
    if (!isOp(",")) {
      expectOp(")");
      return first;
    }
    auto tuple = make(Expr::TupleLit, line);
    tuple->operands.push_back(std::move(first));
    while (isOp(",")) {
      next();
      if (isOp(")"))
        break;
      tuple->operands.push_back(parseExpression());
    }
    expectOp(")");
    return seal(std::move(tuple));
  }

  // `[a, b...]` or `{k: v, ...}` up to `close` (a trailing comma allowed);
  // a dict's operands alternate keys and values.
  ExprPtr parseDisplay(Expr::Kind kind, const char *close) {
    auto display = make(kind, next().line); // [ or {
    while (!isOp(close)) {
      display->operands.push_back(parseExpression());
      if (kind == Expr::DictLit) {
        expectOp(":");
        display->operands.push_back(parseExpression());
      }
      if (!isOp(","))
        break;
      next();
    }
    expectOp(close);
    return seal(std::move(display));
  }

  ExprPtr parsePostfix(ExprPtr e) {
    while (true) {
      if (isOp(".")) {
        int line = next().line;
        if (peek().type == Token::Integer) {
          auto n = make(Expr::GetItem, line);
          n->operands.push_back(std::move(e));
          auto idx = make(Expr::Literal, line);
          idx->value = integerLiteral(next());
          n->operands.push_back(std::move(idx));
          e = seal(std::move(n));
          continue;
        }
        auto n = make(Expr::GetAttr, line);
        n->name = expectIdentifier();
        n->operands.push_back(std::move(e));
        e = seal(std::move(n));
      } else if (isOp("[")) {
        e = parseSubscript(std::move(e));
      } else if (isOp("(")) {
        e = parseCall(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parseSubscript(ExprPtr e) {
    int line = next().line; // [
    ExprPtr parts[3];
    int colons = 0;
    if (!isOp(":"))
      parts[0] = parseExpression();
    while (isOp(":") && colons < 2) {
      next();
      ++colons;
      if (!isOp(":") && !isOp("]"))
        parts[colons] = parseExpression();
    }
    expectOp("]");
    if (colons == 0) {
      auto n = make(Expr::GetItem, line);
      n->operands.push_back(std::move(e));
      n->operands.push_back(std::move(parts[0]));
      return seal(std::move(n));
    }
    auto n = make(Expr::Slice, line);
    n->operands.push_back(std::move(e));
    for (auto &p : parts)
      n->operands.push_back(std::move(p));
    return seal(std::move(n));
  }

  void parseArgs(Expr &call) {
    expectOp("(");
    while (!isOp(")")) {
      if (peek().type == Token::Name && isOp("=", 1)) {
        std::string key = next().text;
        next();
        call.keyword.emplace_back(key, parseExpression());
      } else {
        if (!call.keyword.empty())
          fail("positional argument after keyword argument", peek().line);
        call.operands.push_back(parseExpression());
      }
      if (!isOp(","))
        break;
      next();
    }
    expectOp(")");
  }

  ExprPtr parseCall(ExprPtr callee) {
    auto n = make(Expr::Call, peek().line);
    n->operands.push_back(std::move(callee));
    parseArgs(*n);
    return seal(std::move(n));
  }

  ExprPtr parseFilterExpr(ExprPtr e) {
    while (true) {
      if (isOp("|")) {
        int line = next().line;
        auto f = make(Expr::Filter, line);
        f->name = expectIdentifier();
        if (!isKnownFilter(f->name))
          return fail("unsupported filter '" + f->name + "'", line);
        f->operands.push_back(std::move(e));
        if (isOp("("))
          parseArgs(*f);
        e = seal(std::move(f));
      } else if (isName("is")) {
        int line = next().line;
        auto t = make(Expr::Test, line);
        if (isName("not")) {
          next();
          t->negate = true;
        }
        t->name = expectIdentifier();
        if (!isKnownTest(t->name))
          return fail("unsupported test '" + t->name + "'", line);
        t->operands.push_back(std::move(e));
        const Token &a = peek();
        if (isOp("(")) {
          parseArgs(*t);
        } else if ((a.type == Token::Name && a.text != "else" &&
                    a.text != "or" && a.text != "and" && a.text != "if") ||
                   a.type == Token::String || a.type == Token::Integer ||
                   a.type == Token::Float || isOp("[") || isOp("{")) {
          t->operands.push_back(parsePostfix(parsePrimary()));
        }
        e = seal(std::move(t));
      } else if (isOp("(")) {
        e = parseCall(std::move(e));
      } else {
        return e;
      }
    }
  }
};

} // namespace

bool parseTemplate(std::string_view source, TemplateAst &ast,
                   std::string &error) {
  ErrorScope scope;
  std::vector<Token> tokens;
  if (lexTemplate(source, tokens) && Parser(std::move(tokens)).run(ast))
    return true;
  error = scope.message();
  return false;
}

} // namespace ingot::chat
