//===- ChatLoop.cpp - Interactive chat: one user message per stdin line ---===//
//
// The whole conversation is re-rendered every turn and only the tokens
// after the common prefix with the KV cache are fed. A line longer than the
// context could hold is an error once that many bytes are read, not an
// ever-growing buffer (chat < /dev/zero).
//
//===----------------------------------------------------------------------===//
#include "CommandLine.h"
#include "Console.h"
#include "Error.h"
#include "TextGeneration.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace ingot::rt {
namespace {

/// Renders the conversation, generates the assistant's answer and adds it.
bool reply(TextRun &run, std::string &error) {
  std::string text, raw;
  if (!run.chat.render(text, error))
    return false;
  std::vector<int32_t> ids = tokenizePrompt(*run.tok, text, true);
  TextTimings t;
  ConsoleOutput console;
  if (!run.turn(ids, text, console, raw, t, error) ||
      !run.finishTurn(true, t, error))
    return false;
  run.chat.add("assistant", raw);
  return true;
}

/// The next stdin line without its line end; `gotLine` is false at the end
/// of input.
bool readLine(const TextRun &run, std::string &line, bool &gotLine,
              std::string &error) {
  const int64_t context = run.session.contextLength;
  const uint64_t limit = textByteLimit(context, run.tokenBytes);
  line.clear();
  gotLine = false;
  int c;
  while ((c = std::fgetc(stdin)) != EOF) {
    gotLine = true;
    if (c == '\n')
      break;
    if (line.size() >= limit)
      return fail(error,
                  "chat: a message line has more than %" PRIu64 " bytes: %s",
                  limit, textLimitReason(context, run.tokenBytes).c_str());
    line.push_back(char(c));
  }
  if (std::ferror(stdin))
    return fail(error, "chat: cannot read stdin: %s", std::strerror(errno));
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  return true;
}

} // namespace

bool runChatLoop(TextRun &run, std::string &error) {
  const bool tty = isatty(STDIN_FILENO);
  if (run.o.havePrompt && !reply(run, error))
    return false;
  std::string line;
  for (;;) {
    if (tty) {
      std::fputs("> ", stdout);
      if (!checkStdout(error))
        return false;
    }
    bool gotLine;
    if (!readLine(run, line, gotLine, error))
      return false;
    if (!gotLine)
      break;
    if (line.empty())
      continue;
    run.chat.add("user", line);
    if (!reply(run, error))
      return false;
  }
  if (tty)
    std::fputc('\n', stdout);
  return true;
}

} // namespace ingot::rt
