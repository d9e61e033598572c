//===- TextStream.h - Streaming text filters of the text interface -*- C++
//-*-===//
//
// The pieces between generated token text and the terminal, each fed
// incrementally and holding back only what it must:
//   - Utf8Holdback: never lets an incomplete UTF-8 sequence through;
//   - StopFilter: cuts the text at the first stop string (the stop string
//     itself is not emitted) and holds back a tail that may be the start of
//     one;
//   - ReasoningParser: splits DeepSeek-R1 style output into reasoning (the
//     text between <think> and </think>) and the answer, with tags split
//     anywhere across pushes.
// All of them append to caller-owned strings, so with reserved capacity the
// decode loop does not allocate.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_TEXTSTREAM_H
#define INGOT_RUNTIME_CORE_TEXTSTREAM_H

#include <string>
#include <string_view>
#include <vector>

namespace ingot::rt {

/// Length of the longest proper suffix of `text` that is a prefix of `tag`.
size_t partialTagTail(std::string_view text, std::string_view tag);

class Utf8Holdback {
public:
  Utf8Holdback() { pending.reserve(16); }
  /// Appends the complete part of (held bytes + bytes) to `out`.
  void push(std::string_view bytes, std::string &out);
  /// Appends whatever is still held.
  void finish(std::string &out);

private:
  std::string pending;
};

class StopFilter {
public:
  explicit StopFilter(std::vector<std::string> stops = {});
  /// Appends the text that is safe to show to `out`; once a stop string
  /// is seen, everything from it on is dropped and stopped() is true.
  void push(std::string_view text, std::string &out);
  void finish(std::string &out);
  bool stopped() const { return isStopped; }
  /// Everything accepted so far minus the stop string and what followed.
  const std::string &text() const { return all; }

private:
  std::vector<std::string> stops;
  std::string held, all;
  bool isStopped = false;
};

class ReasoningParser {
public:
  ReasoningParser(std::string open = "<think>", std::string close = "</think>");
  /// Starts a new message; `insideReasoning` when the prompt already opened
  /// the reasoning block (R1 generation prompts end in "<think>\n").
  void reset(bool insideReasoning);
  void push(std::string_view text, std::string &reasoning,
            std::string &content);
  void finish(std::string &reasoning, std::string &content);
  bool inReasoning() const { return inside; }
  /// True once any reasoning text was seen in this message.
  bool sawReasoning() const { return seen; }

private:
  std::string open, close, held;
  bool inside = false, seen = false;
  bool skipSpace = true; ///< drop whitespace right after a tag / at the start
};

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_TEXTSTREAM_H
