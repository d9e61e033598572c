//===- JinjaInterpreter.cpp - Renders a parsed Jinja2 template ------------===//
#include "runtime/chat/JinjaInterpreter.h"

#include "runtime/chat/JinjaBuiltins.h"
#include "runtime/chat/JinjaLimits.h"
#include "runtime/chat/JinjaOperations.h"

#include <unordered_map>

namespace ingot::chat {
namespace {

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;

  const Value *lookup(const std::string &name) const {
    for (const Scope *s = this; s; s = s->parent.get()) {
      auto it = s->vars.find(name);
      if (it != s->vars.end())
        return &it->second;
    }
    return nullptr;
  }
};
using ScopePtr = std::shared_ptr<Scope>;

ScopePtr childOf(const ScopePtr &parent) {
  auto s = std::make_shared<Scope>();
  s->parent = parent;
  return s;
}

Value kwargsDict(CallArgs &args, const char *function) {
  Dict d;
  for (const Value &p : args.positional) {
    if (!p.isDict())
      return raiseError(std::string("TypeError: ") + function +
                            "() takes only keyword arguments or a dict",
                        args.line);
    for (const auto &[k, v] : p.getDict().items)
      d.set(k, v);
  }
  for (const auto &[k, v] : args.keyword)
    d.set(k, v);
  return Value::dict(std::move(d));
}

Value rangeFunction(CallArgs &args) {
  if (!args.keyword.empty() || args.positional.empty() ||
      args.positional.size() > 3)
    return raiseError("TypeError: range expects 1 to 3 integer arguments",
                      args.line);
  for (const Value &v : args.positional)
    if (!v.isInt() && !v.isBool())
      return raiseError("TypeError: range() arguments must be integers",
                        args.line);
  int64_t start = 0, stop, step = 1;
  if (args.positional.size() == 1) {
    stop = args.positional[0].getInt();
  } else {
    start = args.positional[0].getInt();
    stop = args.positional[1].getInt();
    if (args.positional.size() == 3)
      step = args.positional[2].getInt();
  }
  if (step == 0)
    return raiseError("ValueError: range() arg 3 must not be zero", args.line);
  // Jinja2's sandbox (transformers renders in one) measures the range
  // before making it and refuses more than MAX_RANGE items. The length is
  // computed in unsigned arithmetic: stop - start may not fit in int64.
  uint64_t span = 0, stride = 0;
  if (step > 0 && start < stop) {
    span = static_cast<uint64_t>(stop) - static_cast<uint64_t>(start);
    stride = static_cast<uint64_t>(step);
  } else if (step < 0 && start > stop) {
    span = static_cast<uint64_t>(start) - static_cast<uint64_t>(stop);
    stride = 0 - static_cast<uint64_t>(step);
  }
  uint64_t length = span == 0 ? 0 : (span - 1) / stride + 1;
  if (length > 100000)
    return raiseError("OverflowError: range too big", args.line);
  if (!checkListSize(length))
    return Failure();
  ValueList out;
  out.reserve(length);
  for (uint64_t k = 0; k < length; ++k)
    out.push_back(Value(static_cast<int64_t>(static_cast<uint64_t>(start) +
                                             k * static_cast<uint64_t>(step))));
  return Value::list(std::move(out));
}

class Renderer {
public:
  Renderer(const Dict &variables, uint64_t stepLimit)
      : budget(stepLimit), root(std::make_shared<Scope>()) {
    auto globals = std::make_shared<Scope>();
    globals->vars["namespace"] =
        Value::callable("namespace", [this](CallArgs &args) -> Value {
          Value fields = kwargsDict(args, "namespace");
          if (!fields.isDict())
            return Failure();
          Value ns = Value::ns(fields.getDict());
          namespaces.push_back(ns);
          return ns;
        });
    globals->vars["dict"] = Value::callable(
        "dict", [](CallArgs &args) { return kwargsDict(args, "dict"); });
    globals->vars["range"] = Value::callable("range", rangeFunction);
    for (const auto &[k, v] : variables.items)
      globals->vars[k] = v;
    root->parent = globals;
  }

  // Namespaces are the only mutable values: `set ns.a = ns` makes a cycle
  // and a chain of them may be deeper than any limit on values. Emptying
  // every one here frees them without recursion, cycles included.
  ~Renderer() {
    for (Value &ns : namespaces)
      ns.getDict().items.clear();
  }

  /// The rendering of `ast`; false once the render has failed.
  bool run(const TemplateAst &ast, std::string &out) {
    Flow flow = exec(ast.body, root, out);
    if (flow == Flow::Failed)
      return false;
    if (flow != Flow::Normal)
      return fail("'break' or 'continue' outside a loop");
    return true;
  }

private:
  // Failed: the render has failed (the error is recorded); every statement
  // and expression returns at once, unwinding it.
  enum class Flow { Normal, Break, Continue, Failed };
  RenderBudget budget;
  ScopePtr root;
  std::vector<Value> namespaces;
  int macroDepth = 0;
  int renderDepth = 0;

  // Where the render's stack began, to measure how much its recursion uses.
  uintptr_t stackStart =
      reinterpret_cast<uintptr_t>(__builtin_frame_address(0));

  // One level of the renderer's recursion, bounded so that a deep template
  // (recursive macros around deep expressions) cannot exhaust the stack:
  // by levels, and by the bytes those levels really take.
  struct DepthGuard {
    int &depth;
    DepthGuard(Renderer &renderer, int &depth) : depth(depth) {
      if (++depth > kMaxRenderDepth) {
        raiseLimit("the nesting of statements, expressions and macro calls",
                   std::to_string(kMaxRenderDepth) + " levels");
        return;
      }
      uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
      if (renderer.stackStart > here &&
          renderer.stackStart - here > kMaxStackBytes)
        raiseLimit("the stack used by nested statements, expressions and "
                   "macro calls",
                   std::to_string(kMaxStackBytes) + " bytes");
    }
    ~DepthGuard() { --depth; }
  };

  static void appendOutput(std::string &out, const std::string &piece) {
    if (piece.size() > kMaxStringBytes - out.size()) {
      raiseLimit("the rendered text",
                 std::to_string(kMaxStringBytes) + " bytes");
      return;
    }
    chargeBytes(piece.size());
    out += piece;
  }

  Flow exec(const StmtList &body, const ScopePtr &scope, std::string &out) {
    DepthGuard guard(*this, renderDepth);
    for (const StmtPtr &s : body) {
      Flow flow = failed() ? Flow::Failed : execOne(*s, scope, out);
      if (flow != Flow::Normal)
        return flow;
    }
    return failed() ? Flow::Failed : Flow::Normal;
  }

  void assign(const ScopePtr &scope, const std::vector<std::string> &targets,
              const Value &value, int line) {
    if (targets.size() == 1) {
      scope->vars[targets[0]] = value;
      return;
    }
    ValueList items = iterate(value, line);
    if (items.size() != targets.size()) {
      raiseError(items.size() > targets.size()
                     ? "ValueError: too many values to unpack (expected " +
                           std::to_string(targets.size()) + ")"
                     : "ValueError: not enough values to unpack (expected " +
                           std::to_string(targets.size()) + ", got " +
                           std::to_string(items.size()) + ")",
                 line);
      return;
    }
    for (size_t i = 0; i < targets.size(); ++i)
      scope->vars[targets[i]] = items[i];
  }

  Flow execOne(const Stmt &s, const ScopePtr &scope, std::string &out) {
    budget.line = s.line;
    chargeSteps(1);
    switch (s.kind) {
    case Stmt::Text:
      appendOutput(out, s.text);
      return Flow::Normal;
    case Stmt::Output:
      appendOutput(out, eval(*s.expr, scope).str());
      return Flow::Normal;
    case Stmt::If:
      for (size_t i = 0; i < s.conditions.size(); ++i)
        if (eval(*s.conditions[i], scope).truthy())
          return exec(s.bodies[i], scope, out);
      return exec(s.elseBody, scope, out);
    case Stmt::For:
      return execFor(s, scope, out);
    case Stmt::Set: {
      Value v = eval(*s.expr, scope);
      if (!s.attribute.empty()) {
        const Value *target = scope->lookup(s.targets[0]);
        if (!target || !target->isNamespace()) {
          raiseError("TemplateRuntimeError: cannot assign attribute on "
                     "non-namespace object",
                     s.line);
          return Flow::Failed;
        }
        Value ns = *target;
        ns.getDict().set(s.attribute, std::move(v));
        return Flow::Normal;
      }
      assign(scope, s.targets, v, s.line);
      return Flow::Normal;
    }
    case Stmt::SetBlock: {
      std::string text;
      exec(s.bodies[0], scope, text);
      scope->vars[s.targets[0]] = Value(text);
      return Flow::Normal;
    }
    case Stmt::Macro:
      scope->vars[s.name] = makeMacro(s, scope);
      return Flow::Normal;
    case Stmt::Break:
      return Flow::Break;
    case Stmt::Continue:
      return Flow::Continue;
    case Stmt::Body:
      return exec(s.bodies[0], scope, out);
    }
    return Flow::Normal;
  }

  Flow execFor(const Stmt &s, const ScopePtr &scope, std::string &out) {
    ValueList items = iterate(eval(*s.expr, scope), s.line);
    if (s.filter) {
      ValueList kept;
      for (const Value &item : items) {
        ScopePtr inner = childOf(scope);
        assign(inner, s.targets, item, s.line);
        if (eval(*s.filter, inner).truthy())
          kept.push_back(item);
        if (failed())
          return Flow::Failed;
      }
      items = std::move(kept);
    }
    const int64_t n = items.size();
    for (int64_t i = 0; i < n; ++i) {
      // An iteration allocates a scope and the loop object, which costs as
      // much time as some forty expression nodes.
      budget.line = s.line;
      chargeSteps(40);
      ScopePtr inner = childOf(scope);
      assign(inner, s.targets, items[i], s.line);
      Dict loop;
      loop.set("index", Value(i + 1));
      loop.set("index0", Value(i));
      loop.set("revindex", Value(n - i));
      loop.set("revindex0", Value(n - i - 1));
      loop.set("first", Value(i == 0));
      loop.set("last", Value(i == n - 1));
      loop.set("length", Value(n));
      loop.set("depth", Value(int64_t(1)));
      loop.set("depth0", Value(int64_t(0)));
      loop.set("previtem", i > 0
                               ? items[i - 1]
                               : Value::undefined("there is no previous item"));
      loop.set("nextitem", i + 1 < n
                               ? items[i + 1]
                               : Value::undefined("there is no next item"));
      loop.set("cycle",
               Value::callable("loop.cycle", [i](CallArgs &args) -> Value {
                 if (args.positional.empty())
                   return raiseError("TypeError: no items for cycling given",
                                     args.line);
                 return args.positional[i % args.positional.size()];
               }));
      inner->vars["loop"] = Value::dict(std::move(loop));
      Flow flow = exec(s.bodies[0], inner, out);
      if (flow == Flow::Break)
        break;
      if (flow == Flow::Failed)
        return flow;
    }
    if (n == 0)
      return exec(s.elseBody, childOf(scope), out);
    return Flow::Normal;
  }

  Value makeMacro(const Stmt &s, const ScopePtr &definitionScope) {
    const Stmt *macro = &s;
    // A weak reference: the macro is stored in that scope, and a strong one
    // would keep both alive after the render.
    std::weak_ptr<Scope> weakScope = definitionScope;
    return Value::callable(
        s.name, [this, macro, weakScope](CallArgs &args) -> Value {
          if (macroDepth >= kMaxMacroDepth)
            return raiseError(
                "RecursionError: macro calls nested deeper than the limit of " +
                    std::to_string(kMaxMacroDepth),
                args.line);
          // A call allocates a scope and binds the arguments: some twenty
          // expression nodes' worth of time.
          chargeSteps(20);
          ScopePtr definition = weakScope.lock();
          ScopePtr scope = childOf(definition ? definition : root);
          const auto &params = macro->params;
          if (args.positional.size() > params.size())
            return raiseError(
                "TypeError: macro '" + macro->name + "' takes not more than " +
                    std::to_string(params.size()) + " argument(s)",
                args.line);
          std::vector<bool> bound(params.size(), false);
          for (size_t i = 0; i < args.positional.size(); ++i) {
            scope->vars[params[i].first] = args.positional[i];
            bound[i] = true;
          }
          for (const auto &[k, v] : args.keyword) {
            size_t i = 0;
            while (i < params.size() && params[i].first != k)
              ++i;
            if (i == params.size())
              return raiseError("TypeError: macro '" + macro->name +
                                    "' takes no keyword argument '" + k + "'",
                                args.line);
            scope->vars[k] = v;
            bound[i] = true;
          }
          for (size_t i = 0; i < params.size(); ++i)
            if (!bound[i])
              scope->vars[params[i].first] =
                  params[i].second
                      ? eval(*params[i].second, scope)
                      : Value::undefined("parameter '" + params[i].first +
                                         "' was not provided");
          std::string text;
          ++macroDepth;
          Flow flow = exec(macro->bodies[0], scope, text);
          --macroDepth;
          if (flow == Flow::Failed)
            return Failure();
          return Value(text);
        });
  }

  void evalArgs(const Expr &e, size_t first, const ScopePtr &scope,
                CallArgs &args) {
    args.line = e.line;
    for (size_t i = first; i < e.operands.size(); ++i)
      args.positional.push_back(eval(*e.operands[i], scope));
    for (const auto &[k, v] : e.keyword)
      args.keyword.emplace_back(k, eval(*v, scope));
  }

  // The evaluator recurses once per tree level. Each kind of node is its own
  // function, kept out of line, so that a level of recursion costs only the
  // stack of the kinds on the path (under AddressSanitizer, a frame holding
  // the locals of every kind is several kilobytes).
  Value eval(const Expr &e, const ScopePtr &scope) {
    DepthGuard guard(*this, renderDepth);
    // After an error (this node's depth included) nothing more is
    // evaluated: the render unwinds with neutral values.
    if (failed())
      return Failure();
    budget.line = e.line;
    chargeSteps(1);
    switch (e.kind) {
    case Expr::Literal:
      return e.value;
    case Expr::Name:
      return evalName(e, scope);
    case Expr::GetAttr:
    case Expr::GetItem:
    case Expr::Slice:
      return evalSubscript(e, scope);
    case Expr::Call:
    case Expr::Filter:
    case Expr::Test:
      return evalCall(e, scope);
    case Expr::Not:
    case Expr::Negate:
    case Expr::Plus:
      return evalUnary(e, scope);
    case Expr::Binary:
      return evalBinary(e, scope);
    case Expr::And:
    case Expr::Or:
    case Expr::Cond:
      return evalLogic(e, scope);
    case Expr::Compare:
      return evalCompare(e, scope);
    case Expr::ListLit:
    case Expr::TupleLit:
    case Expr::DictLit:
      return evalDisplay(e, scope);
    }
    return Value();
  }

  [[gnu::noinline]] Value evalName(const Expr &e, const ScopePtr &scope) {
    if (const Value *v = scope->lookup(e.name))
      return *v;
    return Value::undefined("'" + e.name + "' is undefined");
  }

  [[gnu::noinline]] Value evalSubscript(const Expr &e, const ScopePtr &scope) {
    if (e.kind == Expr::GetAttr)
      return getAttribute(eval(*e.operands[0], scope), e.name, e.line);
    if (e.kind == Expr::GetItem)
      return getItem(eval(*e.operands[0], scope), eval(*e.operands[1], scope),
                     e.line);
    Value parts[3];
    for (int i = 0; i < 3; ++i)
      parts[i] =
          e.operands[i + 1] ? eval(*e.operands[i + 1], scope) : Value::none();
    return sliceValue(eval(*e.operands[0], scope), parts[0], parts[1], parts[2],
                      e.line);
  }

  [[gnu::noinline]] Value evalCall(const Expr &e, const ScopePtr &scope) {
    Value subject = eval(*e.operands[0], scope);
    CallArgs args;
    evalArgs(e, 1, scope, args);
    if (failed())
      return Failure();
    if (e.kind == Expr::Call)
      return callValue(subject, args, e.line);
    if (e.kind == Expr::Filter)
      return applyFilter(e.name, subject, args);
    return Value(applyTest(e.name, subject, args) != e.negate);
  }

  [[gnu::noinline]] Value evalUnary(const Expr &e, const ScopePtr &scope) {
    Value v = eval(*e.operands[0], scope);
    if (e.kind == Expr::Not)
      return Value(!v.truthy());
    if (v.isUndefined())
      return raiseUndefined(v, e.line);
    if (!v.isNumber())
      return raiseError(std::string("TypeError: bad operand type for unary ") +
                            (e.kind == Expr::Negate ? "-" : "+") + ": '" +
                            v.typeName() + "'",
                        e.line);
    if (e.kind == Expr::Plus)
      return v.isFloat() ? v : Value(v.getInt());
    if (v.isFloat())
      return Value(-v.asDouble());
    return binaryOp("-", Value(int64_t(0)), v, e.line);
  }

  [[gnu::noinline]] Value evalBinary(const Expr &e, const ScopePtr &scope) {
    Value l = eval(*e.operands[0], scope);
    Value r = eval(*e.operands[1], scope);
    return binaryOp(e.name, l, r, e.line);
  }

  [[gnu::noinline]] Value evalLogic(const Expr &e, const ScopePtr &scope) {
    if (e.kind == Expr::Cond) {
      if (eval(*e.operands[0], scope).truthy())
        return eval(*e.operands[1], scope);
      if (e.operands[2])
        return eval(*e.operands[2], scope);
      return Value::undefined("the inline if-expression evaluated to false "
                              "and no else section was defined");
    }
    Value l = eval(*e.operands[0], scope);
    if (l.truthy() == (e.kind == Expr::Or))
      return l;
    return eval(*e.operands[1], scope);
  }

  [[gnu::noinline]] Value evalCompare(const Expr &e, const ScopePtr &scope) {
    Value left = eval(*e.operands[0], scope);
    for (size_t i = 0; i < e.ops.size(); ++i) {
      Value right = eval(*e.operands[i + 1], scope);
      if (!compareOp(e.ops[i], left, right, e.line))
        return Value(false);
      left = std::move(right);
    }
    return Value(true);
  }

  [[gnu::noinline]] Value evalDisplay(const Expr &e, const ScopePtr &scope) {
    if (e.kind == Expr::DictLit) {
      Dict d;
      for (size_t i = 0; i + 1 < e.operands.size(); i += 2) {
        Value key = eval(*e.operands[i], scope);
        if (!key.isString())
          return raiseError("unsupported dict key of type '" + key.typeName() +
                                "' (only string keys are supported)",
                            e.line);
        d.set(key.getString(), eval(*e.operands[i + 1], scope));
      }
      return Value::dict(std::move(d));
    }
    if (!checkListSize(e.operands.size()))
      return Failure();
    ValueList items;
    for (const ExprPtr &o : e.operands)
      items.push_back(eval(*o, scope));
    if (e.kind == Expr::TupleLit)
      return Value::tuple(std::move(items));
    return Value::list(std::move(items));
  }
};

} // namespace

bool renderTemplate(const TemplateAst &ast, const Dict &variables,
                    uint64_t stepLimit, std::string &out, std::string &error) {
  ErrorScope scope;
  if (Renderer(variables, stepLimit).run(ast, out))
    return true;
  error = scope.message();
  return false;
}

} // namespace ingot::chat
