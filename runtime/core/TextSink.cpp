//===- TextSink.cpp - Where generated text goes ---------------------------===//
#include "TextSink.h"
#include "Console.h"

#include <cstdio>
#include <unistd.h>

namespace ingot::rt {

TextSink::TextSink(std::vector<std::string> stops, bool split,
                   bool insideReasoning)
    : stop(std::move(stops)), splitReasoning(split) {
  stopped_.reserve(4096);
  thought.reserve(4096);
  answer.reserve(4096);
  reasoning.reset(insideReasoning);
  dim = isatty(STDERR_FILENO);
}

bool TextSink::emit(std::string &error) {
  if (!thought.empty()) {
    if (!reasoningOpen) {
      if (!checkStdout(error))
        return false;
      std::fputs(dim ? "\033[2m" : "[reasoning]\n", stderr);
      reasoningOpen = true;
    }
    std::fwrite(thought.data(), 1, thought.size(), stderr);
    std::fflush(stderr);
    thought.clear();
  }
  if (!answer.empty()) {
    closeReasoning();
    std::fwrite(answer.data(), 1, answer.size(), stdout);
    if (!checkStdout(error))
      return false;
    answer.clear();
  }
  return true;
}

void TextSink::closeReasoning() {
  if (reasoningOpen) {
    std::fputs(dim ? "\033[0m\n" : "\n[/reasoning]\n", stderr);
    std::fflush(stderr);
    reasoningOpen = false;
  }
}

bool TextSink::route(std::string &error) {
  if (splitReasoning)
    reasoning.push(stopped_, thought, answer);
  else
    answer.append(stopped_);
  stopped_.clear();
  return emit(error);
}

bool TextSink::push(std::string_view text, std::string &error) {
  stop.push(text, stopped_);
  return route(error);
}

bool TextSink::finish(std::string &error) {
  stop.finish(stopped_);
  if (!route(error))
    return false;
  if (splitReasoning)
    reasoning.finish(thought, answer);
  if (!emit(error))
    return false;
  closeReasoning();
  return true;
}

} // namespace ingot::rt
