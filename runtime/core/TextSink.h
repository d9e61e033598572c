//===- TextSink.h - Where generated text goes --------------------*- C++
//-*-===//
//
// Stop strings first, then the reasoning split, then a TextOutput: the
// console (ConsoleOutput: the answer to stdout exactly as generated, the
// reasoning to stderr, dimmed on a terminal or between [reasoning] markers)
// or the server's response stream. A failed output (a lost write to stdout,
// a client gone) ends the run at the token that failed, not after
// generating everything.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_TEXTSINK_H
#define INGOT_RUNTIME_CORE_TEXTSINK_H

#include "TextStream.h"

#include <string>
#include <string_view>
#include <vector>

namespace ingot::rt {

/// Where the filtered text of one answer goes, piece by piece.
class TextOutput {
public:
  virtual ~TextOutput() = default;
  /// Reasoning text (only with the reasoning split on).
  virtual bool reasoning(std::string_view text, std::string &error) = 0;
  /// Answer text.
  virtual bool answer(std::string_view text, std::string &error) = 0;
  /// The end of the answer.
  virtual bool end(std::string &error) { return true; }
};

/// stdout and stderr, as described above.
class ConsoleOutput final : public TextOutput {
public:
  ConsoleOutput();
  bool reasoning(std::string_view text, std::string &error) override;
  bool answer(std::string_view text, std::string &error) override;
  bool end(std::string &error) override;

private:
  void closeReasoning();
  bool reasoningOpen = false; // the stderr block is open
  bool dim = false;
};

class TextSink {
public:
  /// `insideReasoning` when the prompt already opened a reasoning block.
  TextSink(std::vector<std::string> stops, bool splitReasoning,
           bool insideReasoning, TextOutput &output);

  bool push(std::string_view text, std::string &error);
  /// The end of the message: whatever was held back goes out.
  bool finish(std::string &error);
  /// A stop string was seen; nothing more is shown.
  bool stopped() const { return stop.stopped(); }
  /// Everything generated, the stop string and what followed it excluded.
  const std::string &text() const { return stop.text(); }

private:
  bool route(std::string &error);
  bool emit(std::string &error);

  StopFilter stop;
  ReasoningParser reasoning;
  TextOutput &output;
  bool splitReasoning = false;
  std::string stopped_, thought, answer; // scratch buffers, reserved
};

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_TEXTSINK_H
