// ingot-fuse-sibling-matmuls: matmuls of one input with weights of one type,
// ISA and granule become one ingot.fused_matmul.
// RUN: ingot-opt %s -split-input-file --ingot-plan-weights --ingot-fuse-sibling-matmuls | FileCheck %s
// The fused op is planned, given one kernel per weight and lowered to one
// call that prepares the input once.
// RUN: ingot-opt %s -split-input-file --ingot-plan-weights --ingot-fuse-sibling-matmuls --ingot-plan-memory=max-batch=4 --ingot-select-kernels | FileCheck %s --check-prefix=SELECT
// RUN: ingot-opt %s -split-input-file --ingot-plan-weights --ingot-fuse-sibling-matmuls --ingot-plan-memory=max-batch=4 --ingot-select-kernels --ingot-lower-to-llvm | FileCheck %s --check-prefix=LOWER

// Q, K and V: one op, segments in program order; the users read its results.
module {
  ingot.weight @wq : q8_0 [32, 64] at 0 size 2176
  ingot.weight @wk : q8_0 [16, 64] at 2176 size 1088
  ingot.weight @wv : q8_0 [16, 64] at 3264 size 1088
  func.func @forward(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
    %q = ingot.matmul %x, @wq : tensor<?x64xf32> -> tensor<?x32xf32>
    %k = ingot.matmul %x, @wk : tensor<?x64xf32> -> tensor<?x16xf32>
    %v = ingot.matmul %x, @wv : tensor<?x64xf32> -> tensor<?x16xf32>
    %kv = ingot.add %k, %v : tensor<?x16xf32>
    %o = ingot.slice %q[0] : tensor<?x32xf32> -> tensor<?x32xf32>
    return %o : tensor<?x32xf32>
  }
}
// CHECK-LABEL: func.func @forward
// CHECK-NEXT: %[[Q:.*]]:3 = ingot.fused_matmul %{{.*}} [@wq, @wk, @wv] : (tensor<?x64xf32>) -> (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32>)
// CHECK-NOT: ingot.matmul
// CHECK: ingot.add %[[Q]]#1, %[[Q]]#2
// CHECK: ingot.slice %[[Q]]#0
// Three buffers, one scratch (the input prepared once), three kernels.
// SELECT-LABEL: func.func @forward
// SELECT: ingot.fused_matmul {{.*}}ingot.arena_offsets = array<i64: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}>, ingot.scratch_offset = {{[0-9]+}} : i64, kernels = [#ingot.kernel<matmul, q8_0, 32, 64, avx512vnni, granule = 16>, #ingot.kernel<matmul, q8_0, 16, 64, avx512vnni, granule = 16>, #ingot.kernel<matmul, q8_0, 16, 64, avx512vnni, granule = 16>]
// LOWER-LABEL: llvm.func @ingot_model_forward
// LOWER: llvm.mlir.addressof @ingot_k_mm_q8_0_32x64_avx512vnni
// LOWER: llvm.mlir.addressof @ingot_k_mm_q8_0_16x64_avx512vnni
// LOWER: llvm.call @ingot_op_fused_matmul
// LOWER-NOT: llvm.call @ingot_op_fused_matmul
// LOWER-NOT: llvm.call @ingot_op_matmul
// LOWER: llvm.return

// -----

// Biases go along, one per weight; matmuls with and without a bias, of
// other types or of other inputs stay apart.
module {
  ingot.weight @wq : q8_0 [32, 64] at 0 size 2176
  ingot.weight @wk : q8_0 [32, 64] at 2176 size 2176
  ingot.weight @bq : f32 [32] at 4352 size 128
  ingot.weight @bk : f32 [32] at 4480 size 128
  ingot.weight @wn : q8_0 [32, 64] at 4608 size 2176
  ingot.weight @w4 : q4_0 [32, 64] at 6784 size 1152
  ingot.weight @wo : q8_0 [64, 32] at 7936 size 2176
  func.func @forward(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
    %q = ingot.matmul %x, @wq bias @bq : tensor<?x64xf32> -> tensor<?x32xf32>
    %n = ingot.matmul %x, @wn : tensor<?x64xf32> -> tensor<?x32xf32>
    %f = ingot.matmul %x, @w4 : tensor<?x64xf32> -> tensor<?x32xf32>
    %k = ingot.matmul %x, @wk bias @bk : tensor<?x64xf32> -> tensor<?x32xf32>
    %a = ingot.add %q, %k : tensor<?x32xf32>
    %b = ingot.add %a, %n : tensor<?x32xf32>
    %c = ingot.add %b, %f : tensor<?x32xf32>
    %o = ingot.matmul %c, @wo : tensor<?x32xf32> -> tensor<?x64xf32>
    return %o : tensor<?x64xf32>
  }
}
// CHECK-LABEL: func.func @forward
// CHECK-NEXT: ingot.fused_matmul %{{.*}} [@wq, @wk] bias [@bq, @bk]
// CHECK-NEXT: ingot.matmul %{{.*}}, @wn :
// CHECK-NEXT: ingot.matmul %{{.*}}, @w4 :
// CHECK: ingot.matmul %{{.*}}, @wo :
// The logits of a fused op still go to the caller's buffer.
// SELECT-LABEL: func.func @forward
// SELECT: ingot.fused_matmul {{.*}}ingot.arena_offsets = array<i64: {{[0-9]+}}, {{[0-9]+}}>
// SELECT: ingot.matmul {{.*}}@wo {{.*}}ingot.arena_offset = -1

// -----

// F32 weights are fused too (the op library's plain path per segment).
module {
  ingot.weight @a : f32 [8, 32] at 0 size 1024
  ingot.weight @b : f32 [4, 32] at 1024 size 512
  func.func @forward(%x: tensor<?x32xf32>) -> tensor<?x4xf32> {
    %a = ingot.matmul %x, @a : tensor<?x32xf32> -> tensor<?x8xf32>
    %b = ingot.matmul %x, @b : tensor<?x32xf32> -> tensor<?x4xf32>
    return %b : tensor<?x4xf32>
  }
}
// CHECK-LABEL: func.func @forward
// CHECK-NEXT: %[[F:.*]]:2 = ingot.fused_matmul %{{.*}} [@a, @b]
// CHECK-NEXT: return %[[F]]#1
// SELECT-LABEL: func.func @forward
// SELECT: ingot.fused_matmul {{.*}}ingot.arena_offsets = array<i64: {{[0-9]+}}, -1>{{.*}}kernels = [#ingot.kernel<matmul, f32, 8, 32, none, granule = 16>, #ingot.kernel<matmul, f32, 4, 32, none, granule = 16>]
