//===- LogitsTail.h - The ops only the requested logits need ----*- C++ -*-===//
//
// A caller of ingot_model_forward asks for the logits of the last
// n_logit_rows tokens only (ModelABI.h). The ops after the last one that
// mixes tokens (attention) whose results only the logits read, the output
// norm and matrix and the last layer's projections, FFN and residual adds,
// can then run on those rows alone. The lowering computes them so, and the
// compile-time cost plan counts their products apart.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_PASSES_LOGITSTAIL_H
#define INGOT_PASSES_LOGITSTAIL_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseSet.h"

namespace ingot {

/// Whether every output row of `op` depends only on the same row of each
/// operand, whatever the other rows and their count: such an op may run on
/// any subset of the rows and gives the same bits for it. Products need
/// their kernels chosen (ingot-select-kernels) to tell.
bool isRowWise(mlir::Operation *op);

/// The logits tail of @forward: its row-wise ops whose results are read only
/// by tail ops or returned as the logits (the first result). Empty when the
/// logits do not come from a row-wise op.
llvm::DenseSet<mlir::Operation *> findLogitsTail(mlir::func::FuncOp forward);

} // namespace ingot

#endif // INGOT_PASSES_LOGITSTAIL_H
