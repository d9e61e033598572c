//===- Error.cpp - Formatting error sentences -----------------------------===//
#include "Error.h"

#include <cstdarg>
#include <cstdio>

namespace ingot::rt {
namespace {

std::string formatList(const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0)
    return {};
  std::string text(size_t(n) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), fmt, ap);
  text.resize(size_t(n));
  return text;
}

} // namespace

std::string format(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string text = formatList(fmt, ap);
  va_end(ap);
  return text;
}

bool fail(std::string &error, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  error = formatList(fmt, ap);
  va_end(ap);
  return false;
}

} // namespace ingot::rt
