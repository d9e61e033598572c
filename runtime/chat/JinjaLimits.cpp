//===- JinjaLimits.cpp - Bounds on what one template may cost -------------===//
#include "runtime/chat/JinjaLimits.h"

#include "runtime/chat/Value.h"

#include <algorithm>

namespace ingot::chat {

// The render in progress on this thread: builtins deep inside a render charge
// it without every signature carrying it.
static thread_local RenderBudget *currentBudget = nullptr;

RenderBudget::RenderBudget(uint64_t stepLimit)
    : stepLimit(stepLimit), previous(currentBudget) {
  currentBudget = this;
}

RenderBudget::~RenderBudget() { currentBudget = previous; }

void raiseLimit(const std::string &what, const std::string &limit) {
  std::string message = what + " exceeds the limit of " + limit;
  if (currentBudget && currentBudget->line > 0)
    message += " at line " + std::to_string(currentBudget->line);
  throw TemplateError(message);
}

void chargeSteps(uint64_t n) {
  RenderBudget *b = currentBudget;
  if (!b)
    return;
  // Saturating: `n` may be a product the caller did not bound.
  b->steps = n > b->stepLimit - std::min(b->steps, b->stepLimit)
                 ? b->stepLimit + 1
                 : b->steps + n;
  if (b->steps > b->stepLimit)
    raiseLimit("the template's work", std::to_string(b->stepLimit) +
                                          " evaluation steps");
}

void checkStringSize(size_t bytes) {
  if (bytes > kMaxStringBytes)
    raiseLimit("a string of " + std::to_string(bytes) + " bytes",
               std::to_string(kMaxStringBytes) + " bytes");
  chargeBytes(bytes);
}

void checkRepeatedStringSize(size_t unit, uint64_t count) {
  if (unit != 0 && count > kMaxStringBytes / unit)
    raiseLimit("a string of " + std::to_string(count) + " x " +
                   std::to_string(unit) + " bytes",
               std::to_string(kMaxStringBytes) + " bytes");
  checkStringSize(unit * count);
}

void chargeItems(size_t items) {
  chargeSteps(static_cast<uint64_t>(items) * (sizeof(Value) / kBytesPerStep));
}

void checkListSize(size_t items) {
  if (items > kMaxListItems)
    raiseLimit("a list of " + std::to_string(items) + " items",
               std::to_string(kMaxListItems) + " items");
  chargeItems(items);
}

void checkRepeatedListSize(size_t unit, uint64_t count) {
  if (unit != 0 && count > kMaxListItems / unit)
    raiseLimit("a list of " + std::to_string(count) + " x " +
                   std::to_string(unit) + " items",
               std::to_string(kMaxListItems) + " items");
  checkListSize(unit * count);
}

void appendBounded(std::string &out, std::string_view piece) {
  if (piece.size() > kMaxStringBytes - std::min(out.size(), kMaxStringBytes))
    checkStringSize(out.size() + piece.size());
  chargeBytes(piece.size());
  out += piece;
}

} // namespace ingot::chat
