//===- Console.cpp - Program name, stdout checks and the error line -------===//
#include "Console.h"
#include "Error.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <time.h>

namespace ingot::rt {
namespace {

const char *gProgram = "ingot-model";
/// Set once a write to stdout failed or stdout was closed.
bool gStdoutDone = false;

bool stdoutWriteError(int err, std::string &error) {
  gStdoutDone = true;
  return fail(error, "write error: stdout: %s",
              err ? std::strerror(err) : "an earlier write failed");
}

} // namespace

const char *programName() { return gProgram; }

void setProgramName(const char *argv0) {
  if (!argv0 || !*argv0)
    return;
  const char *slash = std::strrchr(argv0, '/');
  gProgram = slash ? slash + 1 : argv0;
}

void printError(const std::string &message) {
  if (!gStdoutDone)
    std::fflush(stdout);
  std::fprintf(stderr, "%s: error: %s\n", gProgram, message.c_str());
}

bool checkStdout(std::string &error) {
  errno = 0;
  bool flushFailed = std::fflush(stdout) != 0;
  int err = flushFailed ? errno : 0;
  if (flushFailed || std::ferror(stdout))
    return stdoutWriteError(err, error);
  return true;
}

bool closeStdout(std::string &error) {
  if (!checkStdout(error))
    return false;
  errno = 0;
  gStdoutDone = true;
  if (std::fclose(stdout) != 0)
    return stdoutWriteError(errno, error);
  return true;
}

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

} // namespace ingot::rt
