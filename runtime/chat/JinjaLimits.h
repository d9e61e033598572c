//===- JinjaLimits.h - Bounds on what one template may cost -----*- C++ -*-===//
//
// A chat template is code from the model file (or the user), run by the
// compiler's trial render and by every emitted binary. Jinja2 itself has no
// bounds (Python's recursion limit and MemoryError stand in for them); here a
// hostile template must end in one clean error instead of a stack
// overflow, a hang or an allocation the machine cannot satisfy. The limits
// are far above what real chat templates use and every error names the limit
// it hit:
//  - nesting: the parser rejects expressions and blocks nested deeper than
//    kMaxNestingDepth; the renderer bounds its own recursion (statements,
//    expressions and macro calls) and how deeply values nest;
//  - size: no string (the output included) grows past kMaxStringBytes and no
//    list past kMaxListItems, checked before the memory is asked for;
//  - work: every render has a budget of evaluation steps; loops, expression
//    nodes and the bytes and items that builtins process draw from it.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CHAT_JINJALIMITS_H
#define INGOT_RUNTIME_CHAT_JINJALIMITS_H

#include "runtime/chat/TemplateError.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ingot::chat {

/// Nesting of one expression (parentheses, operators, filters, calls...) or
/// of blocks ({% if %} in {% for %}...), checked when parsing.
constexpr int kMaxNestingDepth = 256;
/// Nesting of lists and dicts in values, template-built or from JSON.
constexpr int kMaxValueDepth = 512;
/// Recursion of the renderer: statements, expressions and macro bodies.
constexpr int kMaxRenderDepth = 2048;
/// Stack the renderer's recursion may use, whatever the frames cost (they
/// are several times larger under the sanitizers): a fraction of the 8 MiB
/// a main thread has.
constexpr size_t kMaxStackBytes = size_t(1) << 20;
/// Macro calls active at once (recursive macros).
constexpr int kMaxMacroDepth = 200;
/// Any string a template builds, and the rendered output.
constexpr size_t kMaxStringBytes = size_t(64) << 20;
/// Any list a template builds.
constexpr size_t kMaxListItems = size_t(1) << 20;
/// Evaluation steps of one render, unless ChatTemplate::setStepLimit says:
/// about a second of work. Real templates take a few thousand steps per
/// message.
constexpr uint64_t kDefaultStepLimit = 30'000'000;
/// Bytes a builtin may copy, scan or allocate per step it is charged. As
/// every string and list is charged when it is built, the budget also bounds
/// the memory a render can hold (kDefaultStepLimit * kBytesPerStep).
constexpr size_t kBytesPerStep = 32;

/// What one render has spent; the renderer installs one for the duration of
/// a render and builtins charge it through the functions below.
class RenderBudget {
public:
  explicit RenderBudget(uint64_t stepLimit);
  ~RenderBudget();
  RenderBudget(const RenderBudget &) = delete;
  RenderBudget &operator=(const RenderBudget &) = delete;

  /// The template line being evaluated, for limit errors raised in builtins.
  int line = 0;
  uint64_t steps = 0;
  uint64_t stepLimit;

private:
  RenderBudget *previous;
};

/// Fails with the error for a limit: "<what> exceeds the limit of <limit>
/// at line N" (the line of the current render, when there is one).
Failure raiseLimit(const std::string &what, const std::string &limit);

/// Charges `n` evaluation steps to the current render (none outside one);
/// past the budget, the render fails. Like every function below, returns
/// whether the render may go on (false once it has failed): long walks stop
/// on false.
bool chargeSteps(uint64_t n);
/// Charges the work of copying or scanning `bytes` bytes.
inline bool chargeBytes(size_t bytes) {
  return chargeSteps(bytes / kBytesPerStep + 1);
}
/// Charges copying or making `items` list items.
bool chargeItems(size_t items);
/// The checks below return false when the string or list may not be built;
/// callers build it only on true.
/// A string of `bytes` bytes; charges building it.
[[nodiscard]] bool checkStringSize(size_t bytes);
/// `count` copies of `unit` bytes (or items): checked without overflow.
[[nodiscard]] bool checkRepeatedStringSize(size_t unit, uint64_t count);
/// A list of `items` items; charges building it.
[[nodiscard]] bool checkListSize(size_t items);
[[nodiscard]] bool checkRepeatedListSize(size_t unit, uint64_t count);
/// Appends `piece` to a string being built, unless that makes it too long.
bool appendBounded(std::string &out, std::string_view piece);

} // namespace ingot::chat

#endif // INGOT_RUNTIME_CHAT_JINJALIMITS_H
