//===- TextSink.cpp - Where generated text goes ---------------------------===//
#include "TextSink.h"
#include "Console.h"

#include <cstdio>
#include <unistd.h>

namespace ingot::rt {

ConsoleOutput::ConsoleOutput() { dim = isatty(STDERR_FILENO); }

bool ConsoleOutput::reasoning(std::string_view text, std::string &error) {
  if (!reasoningOpen) {
    if (!checkStdout(error))
      return false;
    std::fputs(dim ? "\033[2m" : "[reasoning]\n", stderr);
    reasoningOpen = true;
  }
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
  return true;
}

bool ConsoleOutput::answer(std::string_view text, std::string &error) {
  closeReasoning();
  std::fwrite(text.data(), 1, text.size(), stdout);
  return checkStdout(error);
}

bool ConsoleOutput::end(std::string &) {
  closeReasoning();
  return true;
}

void ConsoleOutput::closeReasoning() {
  if (reasoningOpen) {
    std::fputs(dim ? "\033[0m\n" : "\n[/reasoning]\n", stderr);
    std::fflush(stderr);
    reasoningOpen = false;
  }
}

TextSink::TextSink(std::vector<std::string> stops, bool split,
                   bool insideReasoning, TextOutput &output)
    : stop(std::move(stops)), output(output), splitReasoning(split) {
  stopped_.reserve(4096);
  thought.reserve(4096);
  answer.reserve(4096);
  reasoning.reset(insideReasoning);
}

bool TextSink::emit(std::string &error) {
  if (!thought.empty()) {
    if (!output.reasoning(thought, error))
      return false;
    thought.clear();
  }
  if (!answer.empty()) {
    if (!output.answer(answer, error))
      return false;
    answer.clear();
  }
  return true;
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
  return emit(error) && output.end(error);
}

} // namespace ingot::rt
