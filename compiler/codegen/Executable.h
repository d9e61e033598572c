//===- Executable.h - Link the model and append its payload -----*- C++ -*-===//
//
// The model object plus the runtime static library become one `-static`
// executable (lld through the clang-22 driver), then the weights, repacked
// into the layouts ingot-plan-weights chose, are appended after a 2 MiB
// boundary with a header and a trailer (runtime/include/ingot/
// PayloadFormat.h) whose checksums cover the whole file. The same inputs
// always give the same bytes. The driver passes a temporary path and
// renames it when both steps succeeded (OutputFile.h).
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_CODEGEN_EXECUTABLE_H
#define INGOT_CODEGEN_EXECUTABLE_H

#include "compiler/ggml/GGMLRepack.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <string>
#include <vector>

namespace ingot::gguf {
class GGUFFile;
}

namespace ingot::codegen {

/// Links `objectPath` with the runtime into `outputPath`.
llvm::Error linkExecutable(llvm::StringRef objectPath,
                           llvm::StringRef outputPath);

/// A weight the payload holds as another type than the file's: converted
/// to the type its kernels read (ggml::repackValues), with what that changed.
struct RepackedWeight {
  std::string name;
  ggml::Type from, to;
  ggml::RepackError error;
};

struct PayloadInfo {
  std::string targetName;
  uint64_t dataBytes = 0; ///< filled by appendPayload
  uint64_t dataOffset = 0;
  uint64_t fileBytes = 0;
  std::vector<RepackedWeight> repacked; ///< in payload order
};

/// Called with (bytes done, bytes total) while the weights are written.
using ProgressFn = std::function<void(uint64_t, uint64_t)>;

/// Appends the weights of `planned` (a module after ingot-plan-weights,
/// before lowering) read from `file` to the executable at `exePath`.
llvm::Error appendPayload(llvm::StringRef exePath, mlir::ModuleOp planned,
                          const gguf::GGUFFile &file, PayloadInfo &info,
                          const ProgressFn &progress);

} // namespace ingot::codegen

#endif // INGOT_CODEGEN_EXECUTABLE_H
