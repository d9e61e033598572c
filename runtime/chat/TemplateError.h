//===- TemplateError.h - How template code reports an error -----*- C++ -*-===//
//
// The chat library is built without exceptions. A function that fails
// records its message with fail() and returns the Failure it gets back,
// which reads as the neutral value of the function's return type (undefined,
// false, 0, empty, null): `return fail("...")`. A caller that goes on to rely
// on a result checks failed() (or the bool a check returns) first. The first
// message recorded wins: it is the error ChatTemplate reports, as the
// runtime's usual `bool` + `std::string &error`.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CHAT_TEMPLATEERROR_H
#define INGOT_RUNTIME_CHAT_TEMPLATEERROR_H

#include <string>

namespace ingot::chat {

/// What a failing function returns: the neutral value of any type.
struct Failure {
  template <class T> operator T() const { return T(); }
};

/// The first error of one parse or render on this thread; installed for its
/// lifetime (scopes nest).
class ErrorScope {
public:
  ErrorScope();
  ~ErrorScope();
  ErrorScope(const ErrorScope &) = delete;
  ErrorScope &operator=(const ErrorScope &) = delete;

  bool failed() const { return hasFailed; }
  const std::string &message() const { return firstMessage; }

private:
  friend Failure fail(std::string message);
  bool hasFailed = false;
  std::string firstMessage;
  ErrorScope *previous;
};

/// Records `message` in the current scope unless it already holds an error.
Failure fail(std::string message);
/// Whether the current parse or render has failed.
bool failed();

} // namespace ingot::chat

#endif // INGOT_RUNTIME_CHAT_TEMPLATEERROR_H
