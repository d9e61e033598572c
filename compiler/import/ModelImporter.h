//===- ModelImporter.h - GGUF model -> ingot dialect ------------*- C++ -*-===//
//
// Builds, from a GGUF file's metadata and tensor table, a module holding one
// `ingot.weight` per tensor the model uses and `func.func @forward`:
//
//   func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>,
//                      %cache0: !ingot.kv_cache<...>, ...)
//       -> (tensor<?xVOCABxf32>, !ingot.kv_cache<...>, ...)
//
// one step over any number of tokens (prefill or decode), logits for every
// token, each layer's KV cache threaded through. Hyper-parameters come from
// the file; a missing key or tensor, or a tensor whose shape disagrees with
// them, is one error naming it with the expected and actual shapes.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_IMPORT_MODELIMPORTER_H
#define INGOT_IMPORT_MODELIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

namespace ingot::gguf {
class GGUFFile;
}

namespace ingot {

/// Architectures the importer understands, for messages.
llvm::StringRef supportedArchitectures();

llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importModel(mlir::MLIRContext &context, const gguf::GGUFFile &file);

/// Registers the dialects an imported module uses.
void registerImportDialects(mlir::MLIRContext &context);

} // namespace ingot

#endif // INGOT_IMPORT_MODELIMPORTER_H
