//===- TextStream.cpp - Streaming text filters
//-----------------------------===//
#include "TextStream.h"
#include "runtime/tokenizer/Unicode.h"

#include <algorithm>

namespace ingot::rt {

size_t partialTagTail(std::string_view text, std::string_view tag) {
  size_t maxLen = std::min(text.size(), tag.empty() ? 0 : tag.size() - 1);
  for (size_t len = maxLen; len > 0; --len)
    if (text.substr(text.size() - len) == tag.substr(0, len))
      return len;
  return 0;
}

//===-- Utf8Holdback
//-------------------------------------------------------===//

void Utf8Holdback::push(std::string_view bytes, std::string &out) {
  pending.append(bytes);
  size_t hold = tokenizer::unicode::incompleteSuffix(pending);
  out.append(pending, 0, pending.size() - hold);
  pending.erase(0, pending.size() - hold);
}

void Utf8Holdback::finish(std::string &out) {
  out += pending;
  pending.clear();
}

//===-- StopFilter
//---------------------------------------------------------===//

StopFilter::StopFilter(std::vector<std::string> stopStrings) {
  for (std::string &s : stopStrings)
    if (!s.empty())
      stops.push_back(std::move(s));
  held.reserve(256);
  all.reserve(4096);
}

void StopFilter::push(std::string_view text, std::string &out) {
  if (isStopped)
    return;
  held.append(text);
  // The earliest stop string in the held text wins.
  size_t cut = std::string::npos;
  for (const std::string &s : stops) {
    size_t at = held.find(s);
    if (at < cut)
      cut = at;
  }
  if (cut != std::string::npos) {
    out.append(held, 0, cut);
    all.append(held, 0, cut);
    held.clear();
    isStopped = true;
    return;
  }
  size_t keep = 0;
  for (const std::string &s : stops)
    keep = std::max(keep, partialTagTail(held, s));
  out.append(held, 0, held.size() - keep);
  all.append(held, 0, held.size() - keep);
  held.erase(0, held.size() - keep);
}

void StopFilter::finish(std::string &out) {
  if (!isStopped) {
    out += held;
    all += held;
  }
  held.clear();
}

//===-- ReasoningParser
//----------------------------------------------------===//

ReasoningParser::ReasoningParser(std::string openTag, std::string closeTag)
    : open(std::move(openTag)), close(std::move(closeTag)) {
  held.reserve(64);
}

void ReasoningParser::reset(bool insideReasoning) {
  held.clear();
  inside = insideReasoning;
  seen = false;
  skipSpace = true;
}

namespace {
bool isSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
} // namespace

void ReasoningParser::push(std::string_view text, std::string &reasoning,
                           std::string &content) {
  held.append(text);
  size_t pos = 0;
  for (;;) {
    if (skipSpace) {
      while (pos < held.size() && isSpace(held[pos]))
        ++pos;
      if (pos == held.size())
        break;
      skipSpace = false;
    }
    const std::string &tag = inside ? close : open;
    std::string &sink = inside ? reasoning : content;
    std::string_view rest(held.data() + pos, held.size() - pos);
    size_t at = rest.find(tag);
    if (at != std::string_view::npos) {
      sink.append(rest.substr(0, at));
      if (inside && at)
        seen = true;
      pos += at + tag.size();
      inside = !inside;
      skipSpace = true;
      continue;
    }
    size_t keep = partialTagTail(rest, tag);
    sink.append(rest.substr(0, rest.size() - keep));
    if (inside && rest.size() > keep)
      seen = true;
    pos = held.size() - keep;
    break;
  }
  held.erase(0, pos);
}

void ReasoningParser::finish(std::string &reasoning, std::string &content) {
  (inside ? reasoning : content) += held;
  held.clear();
}

} // namespace ingot::rt
