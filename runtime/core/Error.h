//===- Error.h - The runtime's one error style -------------------*- C++
//-*-===//
//
// The runtime has no exceptions and never ends the process from library
// code. A function that can fail returns false (or null) and describes the
// failure as one sentence in a `std::string &error` out-parameter (no
// program name, no newline); its caller adds context or passes it up, and
// only main() prints it and picks the exit status.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_ERROR_H
#define INGOT_RUNTIME_CORE_ERROR_H

#include <string>

namespace ingot::rt {

/// printf into a std::string (no length limit).
std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/// Sets `error` to the formatted message and returns false, so a failing
/// check reads `return fail(error, "...", ...);`.
bool fail(std::string &error, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_ERROR_H
