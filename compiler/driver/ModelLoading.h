//===- ModelLoading.h - Shared model loading for driver commands -*- C++ -*-===//
//
// compile and interpret both start from a GGUF file and either import it or
// read an ingot module written earlier (`--ir FILE.mlir`).
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_DRIVER_MODELLOADING_H
#define INGOT_DRIVER_MODELLOADING_H

#include "compiler/gguf/GGUFFile.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

namespace ingot::driver {

/// Imports `file`, or parses and verifies `irPath` when it is not empty.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
loadModule(mlir::MLIRContext &context, const gguf::GGUFFile &file,
           llvm::StringRef irPath);

} // namespace ingot::driver

#endif // INGOT_DRIVER_MODELLOADING_H
