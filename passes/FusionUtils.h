//===- FusionUtils.h - Building ingot.fused_matmul ops ----------*- C++ -*-===//
//
// The fusion passes take ingot.matmul and ingot.fused_matmul ops apart into
// their pieces (input, weights, biases, prologue, epilogues, kernels),
// combine the pieces and build the fused op again; one description keeps
// the three passes consistent.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_PASSES_FUSIONUTILS_H
#define INGOT_PASSES_FUSIONUTILS_H

#include "compiler/dialect/IngotDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/SmallVector.h"

namespace ingot {

/// An ingot.fused_matmul to be built: each field is the op's of that name.
struct FusedMatmulParts {
  mlir::Value input, residual;
  llvm::SmallVector<mlir::Attribute> weights;
  llvm::SmallVector<mlir::Attribute> biases;  // empty: none
  llvm::SmallVector<mlir::Attribute> kernels; // empty: not chosen yet
  mlir::FlatSymbolRefAttr norm;
  mlir::FloatAttr normEps;
  bool swiglu = false;
  llvm::SmallVector<mlir::Type> resultTypes;

  /// A single matmul as one segment.
  static FusedMatmulParts of(MatmulOp op) {
    FusedMatmulParts parts;
    parts.input = op.getInput();
    parts.weights.push_back(op.getWeightAttr());
    if (auto bias = op.getBiasAttr())
      parts.biases.push_back(bias);
    if (auto kernel = op.getKernelAttr())
      parts.kernels.push_back(kernel);
    parts.resultTypes.push_back(op.getType());
    return parts;
  }

  static FusedMatmulParts of(FusedMatmulOp op) {
    FusedMatmulParts parts;
    parts.input = op.getInput();
    parts.residual = op.getResidual();
    llvm::append_range(parts.weights, op.getWeights());
    if (auto biases = op.getBiasesAttr())
      llvm::append_range(parts.biases, biases);
    if (auto kernels = op.getKernelsAttr())
      llvm::append_range(parts.kernels, kernels);
    parts.norm = op.getNormAttr();
    parts.normEps = op.getNormEpsAttr();
    parts.swiglu = op.getSwiglu();
    llvm::append_range(parts.resultTypes, op.getResultTypes());
    return parts;
  }

  /// Builds the op at `b`'s insertion point.
  FusedMatmulOp build(mlir::OpBuilder &b, mlir::Location loc) const {
    auto arrayOrNull = [&](llvm::ArrayRef<mlir::Attribute> a) {
      return a.empty() ? mlir::ArrayAttr() : b.getArrayAttr(a);
    };
    return FusedMatmulOp::create(
        b, loc, resultTypes, input, residual, b.getArrayAttr(weights),
        arrayOrNull(biases), norm, normEps,
        swiglu ? b.getUnitAttr() : mlir::UnitAttr(), arrayOrNull(kernels));
  }
};

} // namespace ingot

#endif // INGOT_PASSES_FUSIONUTILS_H
