// What the planning and lowering passes refuse, with the weight named.
// RUN: ingot-opt %s -split-input-file --ingot-plan-weights -verify-diagnostics
// RUN: not ingot-opt %s -split-input-file --ingot-lower-to-llvm 2>&1 | FileCheck %s --check-prefix=LOWER
// RUN: not ingot-opt %s -split-input-file "--ingot-plan-weights=kernel-isa=sse4" 2>&1 | FileCheck %s --check-prefix=ISA
// ISA: error: unknown kernel ISA 'sse4' (expected avx512vnni, avxvnni or avx2)

// expected-error @below {{weight 'w' has type q6_k, which no generated kernel reads yet (supported: f32, f16, q8_0, q4_0, q4_k)}}
ingot.weight @w : q6_k [32, 256] at 0 size 6720
func.func @forward(%x: tensor<?x256xf32>) -> tensor<?x32xf32> {
  %y = ingot.matmul %x, @w : tensor<?x256xf32> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// LOWER: error: lowering needs @forward planned by ingot-plan-memory

// -----

// Lowering follows the kernel choice in the IR and makes none itself.
// RUN: not ingot-opt %s -split-input-file --ingot-plan-weights --ingot-plan-memory --ingot-lower-to-llvm 2>&1 | FileCheck %s --check-prefix=UNSELECTED
// UNSELECTED: error: 'ingot.matmul' op has no kernel chosen: run ingot-select-kernels first
// RUN: not ingot-opt %s -split-input-file --ingot-select-kernels 2>&1 | FileCheck %s --check-prefix=SELECT
// SELECT: error: 'ingot.matmul' op weight 'w8' has no packed layout: run ingot-plan-weights first
ingot.weight @w8 : q8_0 [32, 64] at 0 size 2176
func.func @forward(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
  %y = ingot.matmul %x, @w8 : tensor<?x64xf32> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
