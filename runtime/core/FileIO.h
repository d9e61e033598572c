//===- FileIO.h - Bounded reads and checked writes of named files -*- C++
//-*-===//
//
// The files the command line names: a prompt or chat template read with a
// size bound (an endless file such as /dev/zero is an error, not a growing
// buffer), and the --logits-out files, where a failed write or close is an
// error rather than a silent success.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_FILEIO_H
#define INGOT_RUNTIME_CORE_FILEIO_H

#include "NonCopyable.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace ingot::rt {

/// Reads `path` (given by `flag`) into `text`; it must not be longer than
/// `limit` bytes: a longer file is an error after reading at most limit + 1
/// bytes. `why` says where the limit comes from.
bool readFileBounded(const char *flag, const std::string &path, uint64_t limit,
                     const std::string &why, std::string &text,
                     std::string &error);

/// A file written from scratch; every failure names the path.
class OutputFile : NonCopyable {
public:
  ~OutputFile();

  bool open(std::string path, std::string &error);
  bool write(const void *data, size_t n, std::string &error);
  /// Closes the file (when open); a failure there can still lose data.
  bool close(std::string &error);

private:
  std::string path;
  int fd = -1;
};

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_FILEIO_H
