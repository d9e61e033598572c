//===- TemplateError.cpp - How template code reports an error -------------===//
#include "runtime/chat/TemplateError.h"

namespace ingot::chat {

// The parse or render in progress on this thread: functions deep inside one
// (value printing, limits) record an error without every signature carrying
// the scope.
static thread_local ErrorScope *currentScope = nullptr;

ErrorScope::ErrorScope() : previous(currentScope) { currentScope = this; }

ErrorScope::~ErrorScope() { currentScope = previous; }

Failure fail(std::string message) {
  ErrorScope *scope = currentScope;
  if (scope && !scope->hasFailed) {
    scope->hasFailed = true;
    scope->firstMessage = std::move(message);
  }
  return Failure();
}

bool failed() { return currentScope && currentScope->failed(); }

} // namespace ingot::chat
