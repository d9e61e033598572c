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

} // namespace ingot

#endif // INGOT_PASSES_PASSES_H
