//===- HumanBytes.h - A byte count as people read it ------------*- C++ -*-===//
//
// Header-only so that the compiler's reports and the emitted binary's
// messages print sizes the same way without the compiler linking the
// runtime library.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_HUMANBYTES_H
#define INGOT_RUNTIME_CORE_HUMANBYTES_H

#include <cstdio>
#include <string>

namespace ingot::rt {

/// A size in the largest binary unit that keeps it at least 1 ("512 B",
/// "1.05 KiB", "3.46 MiB"), so that small sizes never print as 0.00.
inline std::string humanBytes(double bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char text[64];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.2f %s", bytes,
                units[unit]);
  return text;
}

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_HUMANBYTES_H
