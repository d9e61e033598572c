//===- PlanningUtils.h - Sizes the planning passes share --------*- C++ -*-===//
//
// Small facts about activations and weight types that the weight planner,
// the memory planner, the lowering and the payload writer must agree on.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_PASSES_PLANNINGUTILS_H
#define INGOT_PASSES_PLANNINGUTILS_H

#include "compiler/dialect/IngotDialect.h"
#include "targets/x86/Kernels.h"

#include <optional>

namespace ingot {

/// Values per row of an activation tensor<?xWxf32>.
inline int64_t rowWidth(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType()).getDimSize(1);
}

/// Bytes of one activation row of width k prepared for a kernel reading
/// `type` (targets::activationBytesPerToken; the op library agrees).
inline int64_t activationBytes(GGMLType type, int64_t k) {
  if (type == GGMLType::Q8_0 || type == GGMLType::Q4_0)
    return k + 4 * (k / 32);
  return 4 * k;
}

/// The kernel weight type of a ggml type, or nullopt when no generated
/// kernel reads it.
inline std::optional<targets::WeightType> kernelWeightType(GGMLType type) {
  switch (type) {
  case GGMLType::F32: return targets::WeightType::F32;
  case GGMLType::F16: return targets::WeightType::F16;
  case GGMLType::Q8_0: return targets::WeightType::Q8_0;
  case GGMLType::Q4_0: return targets::WeightType::Q4_0;
  default: return std::nullopt;
  }
}

} // namespace ingot

#endif // INGOT_PASSES_PLANNINGUTILS_H
