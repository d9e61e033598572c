//===- JinjaAst.h - Syntax tree of a Jinja2 template ------------*- C++ -*-===//
#ifndef INGOT_RUNTIME_CHAT_JINJAAST_H
#define INGOT_RUNTIME_CHAT_JINJAAST_H

#include "runtime/chat/Value.h"

#include <memory>
#include <string>
#include <vector>

namespace ingot::chat {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum Kind {
    Literal, // value
    Name,    // name
    GetAttr, // operands[0] . name
    GetItem, // operands[0] [ operands[1] ]
    Slice,   // operands[0] [ operands[1] : operands[2] : operands[3] ]
             // (null operands are omitted bounds)
    Call,    // operands[0] ( operands[1..] , keyword )
    Filter,  // operands[0] | name ( operands[1..] , keyword )
    Test,    // operands[0] is [not] name ( operands[1..] ); negate
    Not,     // not operands[0]
    Negate,  // - operands[0]
    Plus,    // + operands[0]
    Binary,  // operands[0] op operands[1]; op in + - * / // % ** ~
    And,
    Or,
    Compare,  // operands[0] ops[0] operands[1] ops[1] ... (chained)
    Cond,     // operands[1] if operands[0] else operands[2] (may be null)
    ListLit,  // [operands...]
    TupleLit, // (operands...)
    DictLit   // {operands[0]: operands[1], ...}
  };
  Kind kind;
  int line = 0;
  Value value;
  std::string name; // Name, GetAttr, Filter, Test; operator of Binary
  std::vector<ExprPtr> operands;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
  std::vector<std::string> ops; // Compare
  bool negate = false;
  /// Levels of this subtree (1 for a leaf); the parser bounds it.
  int depth = 1;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using StmtList = std::vector<StmtPtr>;

struct Stmt {
  enum Kind {
    Text,     // text
    Output,   // {{ expr }}
    If,       // conditions[i] -> bodies[i]; elseBody
    For,      // for targets in expr [if filter]: bodies[0]; elseBody
    Set,      // set targets (or targets[0].attr) = expr
    SetBlock, // set targets[0] %} bodies[0] {% endset
    Macro,    // macro name(params = defaults) bodies[0]
    Break,
    Continue,
    Body // bodies[0] rendered as is ({% generation %})
  };
  Kind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;
  std::vector<ExprPtr> conditions;
  std::vector<StmtList> bodies;
  StmtList elseBody;
  std::vector<std::string> targets;
  std::string attribute; // `set ns.attribute = ...`
  std::string name;      // macro name
  std::vector<std::pair<std::string, ExprPtr>> params; // macro parameters
};

struct TemplateAst {
  StmtList body;
};

} // namespace ingot::chat

#endif // INGOT_RUNTIME_CHAT_JINJAAST_H
