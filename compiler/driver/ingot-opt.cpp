//===- ingot-opt.cpp - mlir-opt for the ingot dialect ---------------------===//
//
// Parses, verifies, runs passes over and prints ingot modules, as mlir-opt
// does for upstream dialects (lit tests use it with -verify-diagnostics).
//
//===----------------------------------------------------------------------===//
#include "compiler/dialect/IngotDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerTransformsPasses();
  ingot::registerIngotPasses();
  mlir::DialectRegistry registry;
  registry.insert<ingot::IngotDialect, mlir::func::FuncDialect,
                  mlir::LLVM::LLVMDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Ingot optimizer driver\n", registry));
}
