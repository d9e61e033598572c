//===- Passes.h - ingot passes ----------------------------------*- C++ -*-===//
#ifndef INGOT_PASSES_PASSES_H
#define INGOT_PASSES_PASSES_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace ingot {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// Kernel naming shared by the lowering and the kernel emitter.
struct KernelKey {
  enum Kind { Matmul, Expert } kind;
  int32_t ggmlType;
  int64_t rows, cols;
  std::string isa;
  std::string symbol() const;
  static std::optional<KernelKey> parse(llvm::StringRef symbol);
};

} // namespace ingot

#endif // INGOT_PASSES_PASSES_H
