//===- Interpreter.h - Reference interpreter of ingot modules ---*- C++ -*-===//
//
// Runs `func.func @forward` of an imported module op by op, with the plain
// C++ numerics of ReferenceOps.h on the weights of the GGUF file the module
// names. Slow and simple on purpose: it is the oracle every kernel, pass and
// compiled binary is checked against.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_INTERP_INTERPRETER_H
#define INGOT_INTERP_INTERPRETER_H

#include "compiler/interp/ReferenceOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace ingot::gguf {
class GGUFFile;
}

namespace ingot::interp {

class ModelInterpreter {
public:
  /// Prepares to run `module` with the weights of `file`, with KV caches of
  /// `contextLength` positions storing keys as `keyType` (F32, F16 or
  /// Q8_0). Fails when the module has no @forward, uses an op the
  /// interpreter does not know, names tensors the file lacks, or has keys
  /// the type cannot store.
  static llvm::Expected<std::unique_ptr<ModelInterpreter>>
  create(mlir::ModuleOp module, const gguf::GGUFFile &file,
         int64_t contextLength, ggml::Type keyType = ggml::Type::F32);
  ~ModelInterpreter();

  /// One forward step over `tokens` at `positions`; returns their logits,
  /// tokens.size() rows of vocabSize() values. The KV caches keep what the
  /// step stored.
  llvm::Expected<std::vector<float>> step(llvm::ArrayRef<int32_t> tokens,
                                          llvm::ArrayRef<int32_t> positions);

  int64_t vocabSize() const { return vocab; }
  int64_t contextLength() const { return capacity; }

private:
  class Impl;
  ModelInterpreter() = default;
  std::unique_ptr<Impl> impl;
  int64_t vocab = 0, capacity = 0;
};

} // namespace ingot::interp

#endif // INGOT_INTERP_INTERPRETER_H
