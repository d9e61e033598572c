// What the planning and lowering passes refuse, with the weight named.
// RUN: ingot-opt %s -split-input-file --ingot-plan-weights -verify-diagnostics
// RUN: not ingot-opt %s -split-input-file --ingot-lower-to-llvm 2>&1 | FileCheck %s --check-prefix=LOWER
// RUN: not ingot-opt %s -split-input-file "--ingot-plan-weights=kernel-isa=sse4" 2>&1 | FileCheck %s --check-prefix=ISA
// ISA: error: unknown kernel ISA 'sse4' (expected avx512vnni or avx2)

// expected-error @below {{weight 'w' has type q4_k, which no generated kernel reads yet (supported: f32, f16, q8_0, q4_0)}}
ingot.weight @w : q4_k [32, 256] at 0 size 4608
func.func @forward(%x: tensor<?x256xf32>) -> tensor<?x32xf32> {
  %y = ingot.matmul %x, @w : tensor<?x256xf32> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// LOWER: error: lowering needs @forward planned by ingot-plan-memory
