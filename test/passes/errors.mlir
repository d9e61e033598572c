// What the planning and lowering passes refuse, with the weight named.
// RUN: ingot-opt %s -split-input-file --ingot-plan-weights -verify-diagnostics
// RUN: not ingot-opt %s -split-input-file --ingot-lower-to-llvm 2>&1 | FileCheck %s --check-prefix=LOWER
// RUN: not ingot-opt %s -split-input-file "--ingot-plan-weights=kernel-isa=sse4" 2>&1 | FileCheck %s --check-prefix=ISA
// ISA: error: unknown kernel ISA 'sse4' (expected avx512vnni, avxvnni or avx2)

// A type without a decoder: no kernel can read it, in any role.
// expected-error-re @below {{weight 'w' has type IQ2_XS, which no kernel can read (supported: F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, {{.*}}Q4_K, Q5_K, Q6_K, {{.*}}BF16)}}
ingot.weight @w : iq2_xs [32, 256] at 0 size 2368
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
