// ingot-fuse-norm-prologue: an rms_norm read only by matmuls of Q8_0 or Q4_0
// weights becomes their prologue.
// RUN: ingot-opt %s -split-input-file --ingot-plan-weights --ingot-fuse-sibling-matmuls --ingot-fuse-norm-prologue | FileCheck %s
// No norm and no normalized tensor are left for the lowering.
// RUN: ingot-opt %s -split-input-file --ingot-plan-weights --ingot-fuse-sibling-matmuls --ingot-fuse-norm-prologue --ingot-plan-memory=max-batch=4 --ingot-select-kernels --ingot-lower-to-llvm | FileCheck %s --check-prefix=LOWER

// Q/K/V after the attention norm, and the logits after the output norm
// (a single matmul becomes a one-segment fused op).
module {
  ingot.weight @norm : f32 [64] at 0 size 256
  ingot.weight @wq : q8_0 [64, 64] at 256 size 4352
  ingot.weight @wk : q8_0 [32, 64] at 4608 size 2176
  ingot.weight @out_norm : f32 [64] at 6784 size 256
  ingot.weight @out : q4_0 [32, 64] at 7040 size 1152
  func.func @forward(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
    %h = ingot.rms_norm %x, @norm {eps = 1.0e-5 : f32} : tensor<?x64xf32>
    %q = ingot.matmul %h, @wq : tensor<?x64xf32> -> tensor<?x64xf32>
    %k = ingot.matmul %h, @wk : tensor<?x64xf32> -> tensor<?x32xf32>
    %s = ingot.add %q, %x : tensor<?x64xf32>
    %n = ingot.rms_norm %s, @out_norm {eps = 1.0e-6 : f32} : tensor<?x64xf32>
    %l = ingot.matmul %n, @out : tensor<?x64xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>)
// CHECK-NOT: ingot.rms_norm
// CHECK: %[[QK:.*]]:2 = ingot.fused_matmul %[[X]] [@wq, @wk] norm @norm {norm_eps = 9.99999974E-6 : f32} :
// CHECK: %[[S:.*]] = ingot.add %[[QK]]#0, %[[X]]
// CHECK: ingot.fused_matmul %[[S]] [@out] norm @out_norm {norm_eps = 9.99999997E-7 : f32} : (tensor<?x64xf32>) -> tensor<?x32xf32>
// LOWER-LABEL: llvm.func @ingot_model_forward
// LOWER-NOT: llvm.call @ingot_op_rms_norm
// LOWER: llvm.call @ingot_op_fused_matmul
// LOWER-NOT: llvm.call @ingot_op_rms_norm
// LOWER: llvm.call @ingot_op_fused_matmul
// LOWER: llvm.return

// -----

// Kept: a norm with another reader, a norm feeding an F32 matmul, a
// per-head norm, and a norm read as a residual.
module {
  ingot.weight @norm : f32 [64] at 0 size 256
  ingot.weight @head_norm : f32 [16] at 256 size 64
  ingot.weight @wq : q8_0 [64, 64] at 320 size 4352
  ingot.weight @wf : f32 [64, 64] at 4672 size 16384
  func.func @forward(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
    %a = ingot.rms_norm %x, @norm {eps = 1.0e-5 : f32} : tensor<?x64xf32>
    %q = ingot.matmul %a, @wq : tensor<?x64xf32> -> tensor<?x64xf32>
    %s = ingot.add %q, %a : tensor<?x64xf32>
    %b = ingot.rms_norm %s, @norm {eps = 1.0e-5 : f32} : tensor<?x64xf32>
    %f = ingot.matmul %b, @wf : tensor<?x64xf32> -> tensor<?x64xf32>
    %c = ingot.rms_norm %f, @head_norm {eps = 1.0e-5 : f32, group_size = 16 : i64} : tensor<?x64xf32>
    %g = ingot.matmul %c, @wq : tensor<?x64xf32> -> tensor<?x64xf32>
    return %g : tensor<?x64xf32>
  }
}
// CHECK-LABEL: func.func @forward
// CHECK-COUNT-3: ingot.rms_norm
// CHECK-NOT: norm @
// LOWER-LABEL: llvm.func @ingot_model_forward
// LOWER-COUNT-3: llvm.call @ingot_op_rms_norm
// LOWER: llvm.return
