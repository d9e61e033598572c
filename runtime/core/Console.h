//===- Console.h - What the user sees: program name, stdout, errors -*- C++
//-*-===//
//
// The emitted binary's terminal side. Text goes to stdout exactly as
// generated; errors, notes and timings go to stderr prefixed with the
// program name. A failed write to stdout is an error like any other: the
// checks below return it, and once stdout has failed it is never touched
// again (it may be closed already).
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_CONSOLE_H
#define INGOT_RUNTIME_CORE_CONSOLE_H

#include "HumanBytes.h"

#include <string>

namespace ingot::rt {

/// The name messages start with: argv[0]'s last component.
const char *programName();
void setProgramName(const char *argv0);

/// Prints "PROG: error: MESSAGE" to stderr, after flushing what stdout
/// holds (so the error line follows the text it interrupts).
void printError(const std::string &message);

/// Flushes stdout; false and `error` when anything written to it so far was
/// lost (a full disk, a closed pipe with SIGPIPE ignored, ...).
bool checkStdout(std::string &error);
/// The last step of every successful command: flushes and closes stdout.
bool closeStdout(std::string &error);

/// Monotonic seconds.
double now();
/// `s`, or "" for null.
inline const char *orEmpty(const char *s) { return s ? s : ""; }

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_CONSOLE_H
