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

Failure raiseLimit(const std::string &what, const std::string &limit) {
  std::string message = what + " exceeds the limit of " + limit;
  if (currentBudget && currentBudget->line > 0)
    message += " at line " + std::to_string(currentBudget->line);
  return fail(std::move(message));
}

bool chargeSteps(uint64_t n) {
  RenderBudget *b = currentBudget;
  if (!b)
    return !failed();
  // Saturating: `n` may be a product the caller did not bound.
  b->steps = n > b->stepLimit - std::min(b->steps, b->stepLimit)
                 ? b->stepLimit + 1
                 : b->steps + n;
  if (b->steps > b->stepLimit && !failed())
    raiseLimit("the template's work",
               std::to_string(b->stepLimit) + " evaluation steps");
  return !failed();
}

bool chargeItems(size_t items) {
  return chargeSteps(static_cast<uint64_t>(items) *
                     (sizeof(Value) / kBytesPerStep));
}

// Strings and lists are bounded alike: a thing of `count` units, or of
// `repeats` copies of that many.
struct SizeLimit {
  const char *thing, *unit;
  size_t maxCount;
  bool (*charge)(size_t);
};
static const SizeLimit kStringLimit{"string", "bytes", kMaxStringBytes,
                                    chargeBytes};
static const SizeLimit kListLimit{"list", "items", kMaxListItems, chargeItems};

static bool checkSize(const SizeLimit &limit, size_t count) {
  if (count > limit.maxCount)
    return raiseLimit(std::string("a ") + limit.thing + " of " +
                          std::to_string(count) + " " + limit.unit,
                      std::to_string(limit.maxCount) + " " + limit.unit);
  return limit.charge(count);
}

static bool checkRepeatedSize(const SizeLimit &limit, size_t unit,
                              uint64_t count) {
  if (unit != 0 && count > limit.maxCount / unit)
    return raiseLimit(std::string("a ") + limit.thing + " of " +
                          std::to_string(count) + " x " + std::to_string(unit) +
                          " " + limit.unit,
                      std::to_string(limit.maxCount) + " " + limit.unit);
  return checkSize(limit, unit * count);
}

bool checkStringSize(size_t bytes) { return checkSize(kStringLimit, bytes); }

bool checkRepeatedStringSize(size_t unit, uint64_t count) {
  return checkRepeatedSize(kStringLimit, unit, count);
}

bool checkListSize(size_t items) { return checkSize(kListLimit, items); }

bool checkRepeatedListSize(size_t unit, uint64_t count) {
  return checkRepeatedSize(kListLimit, unit, count);
}

bool appendBounded(std::string &out, std::string_view piece) {
  if (piece.size() > kMaxStringBytes - std::min(out.size(), kMaxStringBytes) &&
      !checkStringSize(out.size() + piece.size()))
    return false;
  if (!chargeBytes(piece.size()))
    return false;
  out += piece;
  return true;
}

} // namespace ingot::chat
