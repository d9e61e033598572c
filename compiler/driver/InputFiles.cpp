//===- InputFiles.cpp - Bounded reads of the driver's text inputs ---------===//
#include "compiler/driver/InputFiles.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FileSystem.h"

using namespace llvm;

namespace ingot::driver {

Expected<std::string> readBoundedFile(StringRef path, uint64_t maxBytes,
                                      StringRef what) {
  Expected<sys::fs::file_t> file = sys::fs::openNativeFileForRead(path);
  if (!file) {
    std::error_code ec = errorToErrorCode(file.takeError());
    return createStringError(ec, "cannot read '%s': %s", path.str().c_str(),
                             ec.message().c_str());
  }
  scope_exit close([&] { sys::fs::closeFile(*file); });
  std::string text;
  SmallVector<char, 0> chunk(1 << 16);
  while (true) {
    Expected<size_t> n = sys::fs::readNativeFile(*file, chunk);
    if (!n) {
      std::error_code ec = errorToErrorCode(n.takeError());
      return createStringError(ec, "cannot read '%s': %s", path.str().c_str(),
                               ec.message().c_str());
    }
    if (*n == 0)
      return text;
    if (text.size() + *n > maxBytes)
      return createStringError(
          "'%s': more than %llu bytes, the most a %s may have",
          path.str().c_str(), static_cast<unsigned long long>(maxBytes),
          what.str().c_str());
    text.append(chunk.data(), *n);
  }
}

} // namespace ingot::driver
