// Sizes the memory planner computes are exact or refused: with a large
// max-batch or huge dimensions they once wrapped around, giving a binary an
// arena smaller than what its ops write (or crashing the planner).
// RUN: ingot-opt %s "--ingot-plan-memory=max-batch=2147483647" -verify-diagnostics
// RUN: not ingot-opt %s "--ingot-plan-memory=max-batch=2147483648" 2>&1 | FileCheck %s --check-prefix=BATCH
// RUN: not ingot-opt %s "--ingot-plan-memory=max-batch=0" 2>&1 | FileCheck %s --check-prefix=BATCH0
// BATCH: error: max-batch must be between 1 and 2147483647, got 2147483648
// BATCH0: error: max-batch must be between 1 and 2147483647, got 0

// One result row of 2^31 - 1 floats for 2^31 - 1 tokens: 2^64 bytes.
func.func @forward(%a: tensor<?x2147483647xf32>) -> tensor<?x4xf32> {
  // expected-error @below {{the result buffer for max-batch 2147483647 does not fit in 64 bits}}
  %s = ingot.add %a, %a : tensor<?x2147483647xf32>
  %t = ingot.slice %s[0] : tensor<?x2147483647xf32> -> tensor<?x4xf32>
  return %t : tensor<?x4xf32>
}
