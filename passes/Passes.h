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

/// Whether `module` keeps ggml's summation order everywhere: a model that
/// routes tokens to experts (any ingot.moe) makes discrete choices from near
/// ties of router scores, and a rounding difference anywhere upstream can
/// flip one and jump the logits (block-order Q8_0 sums do so in
/// synth-deepseek2-noyarn, row 39; the tiled attention moved
/// synth-qwen3moe.Q8_0 to cosine 0.986 at row 23). Such a module gets
/// ggml-order kernels (the object emitter), ggml-order attention
/// (ingot-select-kernels) and no AMX kernel (the driver): its choices are
/// then llama.cpp's.
bool keepsGgmlOrder(mlir::ModuleOp module);

} // namespace ingot

#endif // INGOT_PASSES_PASSES_H
