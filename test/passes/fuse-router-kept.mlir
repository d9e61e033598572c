// ingot-fuse-router leaves a router product alone when the moe cannot
// take it: logits read by another op too (here returned), a product with
// a bias, or one of another input than the moe's.
// RUN: ingot-opt %s --ingot-plan-weights --ingot-fuse-router | FileCheck %s

module @kept {
  ingot.weight @router : f32 [8, 64] at 0 size 2048
  ingot.weight @rbias : f32 [8] at 2048 size 32
  ingot.weight @gate : q8_0 [8, 32, 64] at 2080 size 17408
  ingot.weight @up : q8_0 [8, 32, 64] at 19488 size 17408
  ingot.weight @down : q8_0 [8, 64, 32] at 36896 size 17408
  func.func @forward(%x: tensor<?x64xf32>, %y: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x8xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
    %l = ingot.matmul %x, @router : tensor<?x64xf32> -> tensor<?x8xf32>
    %e = ingot.moe %x logits %l experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = false} : tensor<?x64xf32>, tensor<?x8xf32>
    %lb = ingot.matmul %x, @router bias @rbias : tensor<?x64xf32> -> tensor<?x8xf32>
    %eb = ingot.moe %x logits %lb experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = false} : tensor<?x64xf32>, tensor<?x8xf32>
    %ly = ingot.matmul %y, @router : tensor<?x64xf32> -> tensor<?x8xf32>
    %ey = ingot.moe %x logits %ly experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = false} : tensor<?x64xf32>, tensor<?x8xf32>
    return %e, %l, %eb, %ey : tensor<?x64xf32>, tensor<?x8xf32>, tensor<?x64xf32>, tensor<?x64xf32>
  }
}
// CHECK-LABEL: module @kept
// CHECK: %[[L:.*]] = ingot.matmul %{{.*}}, @router :
// CHECK-NEXT: ingot.moe %{{.*}} logits %[[L]] experts
// CHECK-NEXT: %[[LB:.*]] = ingot.matmul %{{.*}}, @router bias @rbias
// CHECK-NEXT: ingot.moe %{{.*}} logits %[[LB]] experts
// CHECK-NEXT: %[[LY:.*]] = ingot.matmul %{{.*}}, @router :
// CHECK-NEXT: ingot.moe %{{.*}} logits %[[LY]] experts
