//===- ModelLoading.h - Import a GGUF file or read ingot IR ----*- C++ -*-===//
//
// Compiling and interpreting both start from a GGUF file and either import
// it or read an ingot module written earlier (`--ir FILE.mlir`).
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_IMPORT_MODELLOADING_H
#define INGOT_IMPORT_MODELLOADING_H

#include "compiler/gguf/GGUFFile.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

namespace ingot {

/// Imports `file`, or parses and verifies `irPath` when it is not empty.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
loadModule(mlir::MLIRContext &context, const gguf::GGUFFile &file,
           llvm::StringRef irPath);

} // namespace ingot

#endif // INGOT_IMPORT_MODELLOADING_H
