// ingot-fuse-epilogues: swiglu of a fused gate/up pair and residual adds
// become epilogues of the matmul that produces them.
// RUN: ingot-opt %s -split-input-file --ingot-plan-weights --ingot-fuse-sibling-matmuls --ingot-fuse-epilogues | FileCheck %s
// The swiglu epilogue's up product lives in scratch, the gate's in the result.
// RUN: ingot-opt %s -split-input-file --ingot-plan-weights --ingot-fuse-sibling-matmuls --ingot-fuse-epilogues --ingot-plan-memory=max-batch=4 --ingot-select-kernels --ingot-lower-to-llvm | FileCheck %s --check-prefix=LOWER

// A SwiGLU FFN with its residual: gate/up fused with the swiglu epilogue,
// down with the residual; neither ingot.swiglu nor ingot.add is left.
module {
  ingot.weight @gate : q8_0 [128, 64] at 0 size 8704
  ingot.weight @up : q8_0 [128, 64] at 8704 size 8704
  ingot.weight @down : q8_0 [64, 128] at 17408 size 8704
  func.func @forward(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
    %g = ingot.matmul %x, @gate : tensor<?x64xf32> -> tensor<?x128xf32>
    %u = ingot.matmul %x, @up : tensor<?x64xf32> -> tensor<?x128xf32>
    %h = ingot.swiglu %g, %u : tensor<?x128xf32>
    %d = ingot.matmul %h, @down : tensor<?x128xf32> -> tensor<?x64xf32>
    %y = ingot.add %x, %d : tensor<?x64xf32>
    return %y : tensor<?x64xf32>
  }
}
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>)
// CHECK-NEXT: %[[H:.*]] = ingot.fused_matmul %[[X]] [@gate, @up] swiglu : (tensor<?x64xf32>) -> tensor<?x128xf32>
// CHECK-NEXT: %[[Y:.*]] = ingot.fused_matmul %[[H]] [@down] residual %[[X]] : (tensor<?x128xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
// CHECK-NEXT: return %[[Y]]
// LOWER-LABEL: llvm.func @ingot_model_forward
// LOWER-COUNT-2: llvm.call @ingot_op_fused_matmul
// LOWER-NOT: llvm.call @ingot_op_swiglu
// LOWER-NOT: llvm.call @ingot_op_add
// LOWER: llvm.return

// -----

// swiglu(up, gate) in the other order: the segments follow the swiglu's
// operands (gate first).
module {
  ingot.weight @a : q8_0 [128, 64] at 0 size 8704
  ingot.weight @b : q8_0 [128, 64] at 8704 size 8704
  func.func @forward(%x: tensor<?x64xf32>) -> tensor<?x128xf32> {
    %a = ingot.matmul %x, @a : tensor<?x64xf32> -> tensor<?x128xf32>
    %b = ingot.matmul %x, @b : tensor<?x64xf32> -> tensor<?x128xf32>
    %h = ingot.swiglu %b, %a : tensor<?x128xf32>
    return %h : tensor<?x128xf32>
  }
}
// CHECK-LABEL: func.func @forward
// CHECK-NEXT: ingot.fused_matmul %{{.*}} [@b, @a] swiglu
// LOWER-LABEL: llvm.func @ingot_model_forward
// LOWER: llvm.return

// -----

// Not fused: a gate product read by something else, a swiglu of products
// of two different ops, and an add whose matmul result has another reader.
module {
  ingot.weight @gate : q8_0 [128, 64] at 0 size 8704
  ingot.weight @up : q8_0 [128, 64] at 8704 size 8704
  ingot.weight @other : q4_0 [128, 64] at 17408 size 4608
  ingot.weight @wo : q8_0 [64, 64] at 22016 size 4352
  func.func @forward(%x: tensor<?x64xf32>, %z: tensor<?x64xf32>) -> tensor<?x128xf32> {
    %g = ingot.matmul %x, @gate : tensor<?x64xf32> -> tensor<?x128xf32>
    %u = ingot.matmul %x, @up : tensor<?x64xf32> -> tensor<?x128xf32>
    %h = ingot.swiglu %g, %u : tensor<?x128xf32>
    %o = ingot.matmul %x, @other : tensor<?x64xf32> -> tensor<?x128xf32>
    %h2 = ingot.swiglu %h, %o : tensor<?x128xf32>
    %s = ingot.add %h2, %g : tensor<?x128xf32>
    %p = ingot.matmul %z, @wo : tensor<?x64xf32> -> tensor<?x64xf32>
    %r = ingot.add %p, %x : tensor<?x64xf32>
    %r2 = ingot.add %r, %p : tensor<?x64xf32>
    return %s : tensor<?x128xf32>
  }
}
// CHECK-LABEL: func.func @forward
// CHECK: %[[GU:.*]]:2 = ingot.fused_matmul %{{.*}} [@gate, @up] :
// CHECK: ingot.swiglu %[[GU]]#0, %[[GU]]#1
// CHECK: ingot.swiglu
// CHECK: ingot.add
// CHECK: %[[P:.*]] = ingot.matmul %{{.*}}, @wo
// CHECK: ingot.add %[[P]]
// CHECK: ingot.add %{{.*}}, %[[P]]
// LOWER-LABEL: llvm.func @ingot_model_forward
// LOWER: llvm.return

// -----

// A residual on a projection with a bias: bias first, then the residual,
// as the matmul and the add did.
module {
  ingot.weight @wo : q8_0 [64, 64] at 0 size 4352
  ingot.weight @bo : f32 [64] at 4352 size 256
  func.func @forward(%x: tensor<?x64xf32>, %r: tensor<?x64xf32>) -> tensor<?x64xf32> {
    %p = ingot.matmul %x, @wo bias @bo : tensor<?x64xf32> -> tensor<?x64xf32>
    %y = ingot.add %p, %r : tensor<?x64xf32>
    return %y : tensor<?x64xf32>
  }
}
// CHECK-LABEL: func.func @forward
// CHECK-NEXT: ingot.fused_matmul %{{.*}} [@wo] bias [@bo] residual %{{.*}} :
// CHECK-NEXT: return
// LOWER-LABEL: llvm.func @ingot_model_forward
// LOWER: llvm.call @ingot_op_fused_matmul
// LOWER: llvm.return
