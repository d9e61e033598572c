// A weight of a type the kernels do not read natively is planned and given
// kernels as its kernel type (the type table's read-as column): q5_k as
// q8_0 (its packed form sized as Q8_0); bf16 is read as itself (a generated
// kernel over pairs of bf16, half the bytes of f32). The weight op keeps the
// file's type; the kernel attributes state the decision.
// RUN: ingot-opt %s "--ingot-plan-weights=kernel-isa=avx2" --ingot-select-kernels | FileCheck %s
ingot.weight @q : q5_k [32, 256] at 0 size 5632
ingot.weight @b : bf16 [32, 256] at 5632 size 16384
func.func @forward(%x: tensor<?x256xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %y = ingot.matmul %x, @q : tensor<?x256xf32> -> tensor<?x32xf32>
  %z = ingot.matmul %x, @b : tensor<?x256xf32> -> tensor<?x32xf32>
  return %y, %z : tensor<?x32xf32>, tensor<?x32xf32>
}
// 32 rows of 8 Q8_0 blocks of 34 bytes, and 32 x 256 bf16:
// CHECK: ingot.weight @q : q5_k [32, 256] at 0 size 5632 layout <packed_offset = 0, packed_bytes = 8704,
// CHECK: ingot.weight @b : bf16 [32, 256] at 5632 size 16384 layout <packed_offset = 8704, packed_bytes = 16384,
// CHECK: ingot.matmul %{{.*}}, @q {kernel = #ingot.kernel<matmul, q8_0, 32, 256, avx2, granule = 8>}
// CHECK: ingot.matmul %{{.*}}, @b {kernel = #ingot.kernel<matmul, bf16, 32, 256, avx2, granule = 8>}
