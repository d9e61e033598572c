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

/// `bytes` in the largest of `units` (each `step` times the last) that
/// keeps it at least 1; whole bytes print without decimals.
inline std::string scaledBytes(double bytes, double step,
                               const char *const (&units)[5]) {
  int unit = 0;
  while (bytes >= step && unit < 4) {
    bytes /= step;
    ++unit;
  }
  char text[64];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.2f %s", bytes,
                units[unit]);
  return text;
}

/// A size in the largest binary unit that keeps it at least 1 ("512 B",
/// "1.05 KiB", "3.46 MiB"), so that small sizes never print as 0.00.
inline std::string humanBytes(double bytes) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  return scaledBytes(bytes, 1024, units);
}

/// The same in decimal units ("444.12 MB"), as bandwidth figures are.
inline std::string decimalBytes(double bytes) {
  static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
  return scaledBytes(bytes, 1000, units);
}

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_HUMANBYTES_H
