//===- OutputFile.cpp - Outputs that appear whole or not at all -----------===//
#include "compiler/codegen/OutputFile.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Signals.h"

using namespace llvm;

namespace ingot::codegen {

namespace {

Error fail(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message.str().c_str());
}

} // namespace

StreamErrorGuard::~StreamErrorGuard() {
  // After an error the buffer is discarded by the flush, so the stream's
  // own destructor has nothing left to fail on.
  if (!closed)
    os.flush();
  os.clear_error();
}

Error StreamErrorGuard::close(StringRef path) {
  closed = true;
  os.close();
  if (!os.has_error())
    return Error::success();
  std::error_code ec = os.error();
  os.clear_error();
  return fail(path + ": write failed: " + ec.message());
}

Error checkOutputIsNotInput(StringRef outputPath,
                            ArrayRef<std::string> inputs) {
  if (outputPath == "-")
    return Error::success();
  sys::fs::UniqueID output;
  // getUniqueID follows symlinks: a link to the input is the input.
  if (sys::fs::getUniqueID(outputPath, output))
    return Error::success(); // does not exist yet
  for (const std::string &input : inputs) {
    sys::fs::UniqueID id;
    if (input.empty() || sys::fs::getUniqueID(input, id))
      continue;
    if (id == output)
      return fail("-o " + outputPath + ": this is the input file " + input +
                  " (the same file" +
                  (outputPath == input ? "" : ", through a link") +
                  "); writing it would destroy the input: choose another "
                  "output path");
  }
  return Error::success();
}

static const char *describeFileType(sys::fs::file_type type) {
  switch (type) {
  case sys::fs::file_type::directory_file:
    return "a directory";
  case sys::fs::file_type::character_file:
    return "a character device";
  case sys::fs::file_type::block_file:
    return "a block device";
  case sys::fs::file_type::fifo_file:
    return "a FIFO";
  case sys::fs::file_type::socket_file:
    return "a socket";
  default:
    return "not a regular file";
  }
}

Error checkOutputPath(StringRef outputPath) {
  if (outputPath == "-")
    return Error::success();
  if (outputPath.empty() || outputPath.ends_with("/"))
    return fail("-o " + outputPath + ": names a folder, not a file");
  std::string real = resolveOutputPath(outputPath);
  sys::fs::file_status status;
  if (!sys::fs::status(real, status) &&
      status.type() != sys::fs::file_type::file_not_found) {
    if (status.type() != sys::fs::file_type::regular_file)
      return fail("-o " + outputPath + ": is " +
                  describeFileType(status.type()) +
                  "; the output replaces a regular file whole, so give the "
                  "path of a new or regular file");
    return Error::success();
  }
  StringRef directory = sys::path::parent_path(real);
  if (directory.empty())
    directory = ".";
  if (!sys::fs::is_directory(directory))
    return fail("-o " + outputPath + ": the folder " + directory +
                " does not exist");
  return Error::success();
}

std::string resolveOutputPath(StringRef outputPath) {
  if (!sys::fs::is_symlink_file(outputPath))
    return outputPath.str();
  SmallString<256> real;
  if (sys::fs::real_path(outputPath, real))
    return outputPath.str(); // a dangling link: replace the link itself
  return real.str().str();
}

Expected<TemporaryFile>
TemporaryFile::create(StringRef directory, StringRef prefix, StringRef suffix) {
  SmallString<256> path;
  int fd;
  std::error_code ec;
  if (directory.empty()) {
    ec = sys::fs::createTemporaryFile(prefix, suffix, fd, path);
  } else {
    SmallString<256> model(directory);
    sys::path::append(model, prefix + "-%%%%%%%%." + suffix);
    ec = sys::fs::createUniqueFile(model, fd, path);
  }
  if (ec)
    return fail("cannot create a temporary file " +
                (directory.empty() ? Twine("") : Twine("in ") + directory) +
                ": " + ec.message());
  sys::Process::SafelyCloseFileDescriptor(fd);
  // From here on, a fatal signal removes it too.
  sys::RemoveFileOnSignal(path);
  return TemporaryFile(path.str().str());
}

TemporaryFile::TemporaryFile(TemporaryFile &&other)
    : tempPath(std::move(other.tempPath)), done(other.done) {
  other.done = true;
}

TemporaryFile::~TemporaryFile() { discard(); }

void TemporaryFile::discard() {
  if (done)
    return;
  done = true;
  sys::fs::remove(tempPath);
  sys::DontRemoveFileOnSignal(tempPath);
}

Error TemporaryFile::makeExecutable() {
  unsigned mode = 0777 & ~sys::fs::getUmask();
  if (std::error_code ec =
          sys::fs::setPermissions(tempPath, static_cast<sys::fs::perms>(mode)))
    return fail(tempPath + ": cannot make it executable: " + ec.message());
  return Error::success();
}

Error TemporaryFile::commit(StringRef finalPath) {
  if (std::error_code ec = sys::fs::rename(tempPath, finalPath)) {
    std::string from = tempPath;
    discard();
    return fail(finalPath + ": cannot write (renaming " + from +
                " failed): " + ec.message());
  }
  sys::DontRemoveFileOnSignal(tempPath);
  done = true;
  return Error::success();
}

Expected<TemporaryFile> createOutputTemporary(StringRef outputPath) {
  std::string real = resolveOutputPath(outputPath);
  StringRef directory = sys::path::parent_path(real);
  if (directory.empty())
    directory = ".";
  // Hidden, and named after the output so that a leftover is recognisable.
  return TemporaryFile::create(
      directory, ("." + sys::path::filename(real) + ".ingot").str(), "tmp");
}

} // namespace ingot::codegen
