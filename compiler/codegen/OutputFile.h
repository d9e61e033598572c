//===- OutputFile.h - Outputs that appear whole or not at all ---*- C++ -*-===//
//
// Every file `ingot compile` writes goes to a temporary file in the folder
// of its final path and is renamed over that path only once it is complete,
// so that a failed or killed compile never leaves a partial executable (or
// object, assembly, IR) behind, nor destroys a good file already there.
// The temporary is removed on every failure path: when the OutputFile is
// destroyed without commit(), and by LLVM's signal handlers when the
// process dies of a signal (SIGBUS from a model truncated under its
// mapping, SIGXFSZ, SIGINT, ...).
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_CODEGEN_OUTPUTFILE_H
#define INGOT_CODEGEN_OUTPUTFILE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>

namespace ingot::codegen {

/// Turns a raw_fd_ostream's write error (disk full, file size limit) into
/// an llvm::Error: LLVM aborts the process when a stream with an unchecked
/// error is destroyed, and every failure must end as one error line with
/// the temporaries removed. Declare it right after the stream.
class StreamErrorGuard {
public:
  explicit StreamErrorGuard(llvm::raw_fd_ostream &os) : os(os) {}
  StreamErrorGuard(const StreamErrorGuard &) = delete;
  StreamErrorGuard &operator=(const StreamErrorGuard &) = delete;
  ~StreamErrorGuard();
  /// Flushes and closes the stream: the first write error, naming `path`.
  llvm::Error close(llvm::StringRef path);

private:
  llvm::raw_fd_ostream &os;
  bool closed = false;
};

/// Refuses an output path that names (directly, through a symlink or as a
/// hard link) one of `inputs`: writing it would destroy an input. Paths
/// that do not exist yet, and "-", are fine.
llvm::Error checkOutputIsNotInput(llvm::StringRef outputPath,
                                  llvm::ArrayRef<std::string> inputs);

/// Refuses, before any work is done, an output path that cannot be
/// replaced by a renamed temporary: an existing directory, device, FIFO or
/// socket (renaming over /dev/null would replace the device node with the
/// executable), or a path whose folder does not exist. "-" is fine.
llvm::Error checkOutputPath(llvm::StringRef outputPath);

/// A temporary file registered for removal on a fatal signal, kept under a
/// final name by commit() and removed otherwise.
class TemporaryFile {
public:
  /// A new empty file in `directory` (a unique name built from `prefix`
  /// and `suffix`), or in the system's temporary folder when `directory`
  /// is empty.
  static llvm::Expected<TemporaryFile> create(llvm::StringRef directory,
                                              llvm::StringRef prefix,
                                              llvm::StringRef suffix);
  TemporaryFile(TemporaryFile &&other);
  TemporaryFile &operator=(TemporaryFile &&) = delete;
  ~TemporaryFile();

  llvm::StringRef path() const { return tempPath; }
  /// Makes the file executable (rwx for the user, rx for group and others,
  /// less the umask), as the linker would.
  llvm::Error makeExecutable();
  /// Renames the file to `finalPath` (atomic within one file system).
  llvm::Error commit(llvm::StringRef finalPath);
  /// Removes the file now (also done by the destructor).
  void discard();

private:
  explicit TemporaryFile(std::string path) : tempPath(std::move(path)) {}
  std::string tempPath;
  bool done = false;
};

/// The temporary file that becomes `outputPath` (its symlink resolved, so
/// that a link keeps pointing at the new file): it lives in the same folder
/// so that the final rename is atomic.
llvm::Expected<TemporaryFile> createOutputTemporary(llvm::StringRef outputPath);

/// The real file `outputPath` names: the symlink target if it is a symlink
/// (so that renaming over it keeps the link), else the path itself.
std::string resolveOutputPath(llvm::StringRef outputPath);

} // namespace ingot::codegen

#endif // INGOT_CODEGEN_OUTPUTFILE_H
