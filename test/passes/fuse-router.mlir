// ingot-fuse-router: a router matmul read only as an ingot.moe's logits
// becomes that moe's `router` (one routing call); other products stay.
// RUN: ingot-opt %s --ingot-plan-weights --ingot-fuse-router | FileCheck %s
// RUN: ingot-opt %s --ingot-plan-weights --ingot-fuse-router --ingot-plan-memory=max-batch=4 --ingot-select-kernels --ingot-lower-to-llvm | FileCheck %s --check-prefix=LOWER
// Without the fusion the lowering refuses the unfused form.
// RUN: not ingot-opt %s --ingot-plan-weights --ingot-plan-memory=max-batch=4 --ingot-select-kernels --ingot-lower-to-llvm 2>&1 | FileCheck %s --check-prefix=UNFUSED

// As imported: the router product, then the moe that routes by it.
module @imported {
  ingot.weight @router : f32 [8, 64] at 0 size 2048
  ingot.weight @bias : f32 [8] at 2048 size 32
  ingot.weight @gate : q8_0 [8, 32, 64] at 2080 size 17408
  ingot.weight @up : q8_0 [8, 32, 64] at 19488 size 17408
  ingot.weight @down : q8_0 [8, 64, 32] at 36896 size 17408
  func.func @forward(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
    %h = ingot.add %x, %x : tensor<?x64xf32>
    %l = ingot.matmul %h, @router : tensor<?x64xf32> -> tensor<?x8xf32>
    %e = ingot.moe %h logits %l bias @bias experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 2 : i64, gating = #ingot<gating sigmoid>, normalize = true, num_groups = 4 : i64, groups_used = 2 : i64} : tensor<?x64xf32>, tensor<?x8xf32>
    return %e : tensor<?x64xf32>
  }
}
// CHECK-LABEL: module @imported
// CHECK: %[[H:.*]] = ingot.add
// CHECK-NOT: ingot.matmul
// CHECK-NEXT: ingot.moe %[[H]] router @router bias @bias experts(@gate, @up, @down) {{.*}}groups_used = 2 : i64{{.*}} : tensor<?x64xf32>{{$}}
// LOWER-LABEL: llvm.func @ingot_model_forward
// LOWER-NOT: llvm.call @ingot_op_matmul
// LOWER: llvm.call @ingot_op_moe_route
// LOWER-NOT: llvm.call @ingot_op_matmul
// LOWER: llvm.call @ingot_op_moe_experts
// UNFUSED: 'ingot.moe' op routes by the router's logits: run ingot-fuse-router first
