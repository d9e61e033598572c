//===- StepTraffic.h - Bytes and multiply-adds of one token -----*- C++ -*-===//
//
// What one token costs the planned model, from the weight layouts
// ingot-plan-weights chose: the weight bytes a decode step streams and the
// multiply-adds of its weight products. The compile summary predicts decode
// speed from it and the binary's `bench` divides measured speed by it, so
// both say the same.
//
// Computed here, once, and embedded in the binary (IngotModelInfo), rather
// than at start-up from the payload's tensor table: the table lists forms
// and sizes but not which op reads which form, how many rows of a table a
// token touches, or which stacks are experts chosen top-k of n. The plan
// knows all of that.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_CODEGEN_STEPTRAFFIC_H
#define INGOT_CODEGEN_STEPTRAFFIC_H

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>

namespace ingot::codegen {

/// Per token of one decode step; every field in exact integers.
struct StepTraffic {
  /// Weight bytes one decode step reads: every matmul, MoE and MLA weight
  /// in its packed form (MoE experts: top-k of n, see below), the norm
  /// scales, biases and rope factors in f32, and one row of each embedding
  /// table. Includes the two below.
  int64_t weightBytes = 0;
  /// Of which: the embedding row(s) of one token.
  int64_t embeddingBytes = 0;
  /// Of which: the output matrix (the product with vocab_size rows).
  int64_t outputBytes = 0;
  /// Multiply-adds per token of the weight products with quantized weights
  /// (int8 dot products: the activations are quantized to Q8_0) and with
  /// F32/F16 weights. Attention (scores and values over the cache) is not
  /// a weight product and is not counted.
  int64_t quantizedMacs = 0;
  int64_t floatMacs = 0;
  /// Of quantizedMacs: those of the logits tail (passes/LogitsTail.h),
  /// done only for the tokens whose logits are asked for: in prefill, once
  /// per batch rather than once per token.
  int64_t logitsTailQuantizedMacs = 0;
  /// MoE models: experts chosen per token and experts per layer (0 for a
  /// dense model). Expert stacks are counted as used/experts of their
  /// bytes and multiply-adds: an estimate, since a step over several
  /// tokens may read more of them.
  int64_t expertsUsed = 0, experts = 0;
  /// Of weightBytes: the routed experts' share (used/experts of each expert
  /// stack), the part a run's routing replaces with what it chose.
  int64_t routedExpertBytes = 0;
};

/// The traffic of the planned module (after ingot-plan-weights); vocabSize
/// identifies the output product.
StepTraffic computeStepTraffic(mlir::ModuleOp planned, int64_t vocabSize);

} // namespace ingot::codegen

#endif // INGOT_CODEGEN_STEPTRAFFIC_H
