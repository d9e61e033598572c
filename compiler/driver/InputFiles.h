//===- InputFiles.h - Bounded reads of the driver's text inputs -*- C++ -*-===//
//
// Chat templates, conversations, prompts and test-vector files are read whole
// into memory. MemoryBuffer::getFile reads a device or pipe until its end,
// which for /dev/zero never comes; these reads stop one byte past a limit
// and say which limit was hit.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_DRIVER_INPUTFILES_H
#define INGOT_DRIVER_INPUTFILES_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace ingot::driver {

/// The most a chat template may have (the emitted binary's limit too).
constexpr uint64_t kMaxTemplateFileBytes = 16u << 20;
/// The most a conversation, prompt or test-vector file may have.
constexpr uint64_t kMaxTextFileBytes = 64u << 20;

/// The whole of `path` (a regular file, pipe or device), or an error naming
/// `path` when it cannot be read or has more than `maxBytes` bytes; `what`
/// names the kind of file in that message ("chat template").
llvm::Expected<std::string>
readBoundedFile(llvm::StringRef path, uint64_t maxBytes, llvm::StringRef what);

} // namespace ingot::driver

#endif // INGOT_DRIVER_INPUTFILES_H
