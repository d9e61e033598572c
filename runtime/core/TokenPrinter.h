//===- TokenPrinter.h - Sampled tokens to text -------------------*- C++
//-*-===//
//
// The text of sampled tokens as a text sink wants it: each token's piece,
// held back while it ends inside a UTF-8 sequence, control tokens hidden
// but for the reasoning tags. `run`, `chat` and each of the server's slots
// print through one.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_TOKENPRINTER_H
#define INGOT_RUNTIME_CORE_TOKENPRINTER_H

#include "TextSink.h"
#include "TextStream.h"
#include "runtime/tokenizer/Tokenizer.h"

#include <string>
#include <string_view>

namespace ingot::rt {

/// True when `text` leaves a `<think>` block open (R1 generation prompts).
inline bool endsInsideReasoning(const std::string &text) {
  size_t open = text.rfind("<think>");
  if (open == std::string::npos)
    return false;
  size_t close = text.rfind("</think>");
  return close == std::string::npos || close < open;
}

/// Shows each sampled token: its piece, held back while it ends inside a
/// UTF-8 sequence. Control tokens are not shown, except the reasoning tags
/// the sink needs to see.
class TokenPrinter {
public:
  TokenPrinter(const Tokenizer &tok, TextSink &sink)
      : tok(tok), sink(sink), thinkOpen(tok.lookup("<think>")),
        thinkClose(tok.lookup("</think>")) {
    piece.reserve(256);
    ready.reserve(256);
  }
  bool push(int32_t id, std::string &error) {
    ready.clear();
    utf8.push(display(id), ready);
    return sink.push(ready, error);
  }
  bool finish(std::string &error) {
    ready.clear();
    utf8.finish(ready);
    return sink.push(ready, error) && sink.finish(error);
  }

private:
  std::string_view display(int32_t id) {
    if (tok.isControl(id))
      return id == thinkOpen || id == thinkClose
                 ? std::string_view(tok.tokenText(id))
                 : std::string_view();
    piece = tok.tokenToPiece(id, false);
    return piece;
  }

  const Tokenizer &tok;
  TextSink &sink;
  const int32_t thinkOpen, thinkClose;
  Utf8Holdback utf8;
  std::string piece, ready;
};

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_TOKENPRINTER_H
