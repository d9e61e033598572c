//===- HalfKernels.h - x86 matmul kernels for F16 / BF16 -------*- C++ -*-===//
//
// The generator behind generateMatmul for 16-bit float weights (Kernels.h
// has the ABI, the packed layouts and the numerics); internal to this
// library.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_TARGETS_X86_HALFKERNELS_H
#define INGOT_TARGETS_X86_HALFKERNELS_H

#include "targets/x86/Kernels.h"

namespace ingot::targets {

/// Bytes of one packed unit of a group of `granule` rows: F16 one k (2
/// bytes a row), BF16 one pair of k (4 bytes a row).
int halfUnitBytes(WeightType type, int granule);

/// The dense matmul kernel for F16 or BF16 weights.
GenerateResult generateHalfMatmul(WeightType type, MatmulShape shape, ISA isa,
                                  const std::string &name,
                                  const KernelTargetFacts &facts);

} // namespace ingot::targets

#endif // INGOT_TARGETS_X86_HALFKERNELS_H
