//===- TextSink.h - Where generated text goes --------------------*- C++
//-*-===//
//
// Stop strings first, then the reasoning split, then stdout (the answer,
// exactly as generated) and stderr (the reasoning, dimmed on a terminal or
// between [reasoning] markers). A lost write to stdout ends the run at the
// token that failed, not after generating everything.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_TEXTSINK_H
#define INGOT_RUNTIME_CORE_TEXTSINK_H

#include "TextStream.h"

#include <string>
#include <string_view>
#include <vector>

namespace ingot::rt {

class TextSink {
public:
  /// `insideReasoning` when the prompt already opened a reasoning block.
  TextSink(std::vector<std::string> stops, bool splitReasoning,
           bool insideReasoning);

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
  void closeReasoning();

  StopFilter stop;
  ReasoningParser reasoning;
  bool splitReasoning = false;
  bool reasoningOpen = false; // the stderr block is open
  bool dim = false;
  std::string stopped_, thought, answer; // scratch buffers, reserved
};

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_TEXTSINK_H
