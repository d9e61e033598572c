// ingot-lower-to-llvm: the ops after the last attention that only the
// logits read (the logits tail: here the output projection, the residual
// add, the output norm and the output matrix) run on the n_logit_rows rows
// the caller asks for; operands computed for every token are read from row
// n_tokens - n_logit_rows on. Everything before runs on all n_tokens.
// RUN: ingot-opt %s -split-input-file --ingot-plan-weights --ingot-plan-memory=max-batch=8 --ingot-select-kernels --ingot-lower-to-llvm | FileCheck %s

!cache = !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 16>
module {
  ingot.weight @tok : f32 [16, 32] at 0 size 2048
  ingot.weight @wq : q8_0 [32, 32] at 2048 size 1088
  ingot.weight @wk : q8_0 [32, 32] at 3136 size 1088
  ingot.weight @wv : q8_0 [32, 32] at 4224 size 1088
  ingot.weight @wo : q8_0 [32, 32] at 5312 size 1088
  ingot.weight @norm : f32 [32] at 6400 size 128
  ingot.weight @out : q8_0 [16, 32] at 6528 size 544
  func.func @forward(%tokens: tensor<?xi32>, %pos: tensor<?xi32>, %cache: !cache) -> (tensor<?x16xf32>, !cache) {
    %x = ingot.embedding %tokens, @tok : tensor<?xi32> -> tensor<?x32xf32>
    %q = ingot.matmul %x, @wq : tensor<?x32xf32> -> tensor<?x32xf32>
    %k = ingot.matmul %x, @wk : tensor<?x32xf32> -> tensor<?x32xf32>
    %v = ingot.matmul %x, @wv : tensor<?x32xf32> -> tensor<?x32xf32>
    %a, %c2 = ingot.attention %q, %k, %v, %pos, %cache {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f32} : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !cache -> tensor<?x32xf32>
    %o = ingot.matmul %a, @wo : tensor<?x32xf32> -> tensor<?x32xf32>
    %s = ingot.add %o, %x : tensor<?x32xf32>
    %n = ingot.rms_norm %s, @norm {eps = 1.0e-5 : f32} : tensor<?x32xf32>
    %l = ingot.matmul %n, @out : tensor<?x32xf32> -> tensor<?x16xf32>
    return %l, %c2 : tensor<?x16xf32>, !cache
  }
}
// CHECK-LABEL: llvm.func @ingot_model_forward
// CHECK-SAME: (%[[CTX:.*]]: !llvm.ptr, %[[N:.*]]: i64, %[[TOKENS:.*]]: !llvm.ptr, %[[POS:.*]]: !llvm.ptr, %[[STARTS:.*]]: !llvm.ptr, %[[ROWS:.*]]: i64, %[[LOGITS:.*]]: !llvm.ptr)
// CHECK: %[[SKIP:.*]] = llvm.sub %[[N]], %[[ROWS]]
// All tokens up to and through the attention.
// CHECK: llvm.call @ingot_op_embedding(%{{.*}}, %{{.*}}, %{{.*}}, %[[TOKENS]], %[[N]], %[[X:.*]]) :
// CHECK-COUNT-3: llvm.call @ingot_op_matmul(%[[CTX]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[X]], %[[N]],
// CHECK: llvm.call @ingot_op_attention(%[[CTX]], %{{.*}}, %{{.*}}, %{{.*}}, %[[POS]], %[[STARTS]], %[[N]], {{.*}}, %[[A:[0-9]+]]) :
// The output projection reads the attention's last rows (32 f32 a row).
// CHECK: %[[ASKIP:.*]] = llvm.mul %[[SKIP]], %{{.*}} : i64
// CHECK: %[[ALAST:.*]] = llvm.getelementptr %[[A]][%[[ASKIP]]]
// CHECK: llvm.call @ingot_op_matmul(%[[CTX]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ALAST]], %[[ROWS]], %[[O:[0-9]+]],
// The residual add: the projection's rows as they are, the embedding's
// last rows.
// CHECK: %[[XSKIP:.*]] = llvm.mul %[[SKIP]], %{{.*}} : i64
// CHECK: %[[XLAST:.*]] = llvm.getelementptr %[[X]][%[[XSKIP]]]
// CHECK: %[[SUM:.*]] = llvm.getelementptr
// CHECK: %[[COUNT:.*]] = llvm.mul %[[ROWS]], %{{.*}} : i64
// CHECK: llvm.call @ingot_op_add(%[[O]], %[[XLAST]], %[[COUNT]], %[[SUM]])
// CHECK: %[[NORMS:.*]] = llvm.mul %[[ROWS]], %{{.*}} : i64
// CHECK: llvm.call @ingot_op_rms_norm(%[[SUM]], %{{.*}}, %{{.*}}, %{{.*}}, %[[NORMS]], %[[NORMED:[0-9]+]])
// CHECK: llvm.call @ingot_op_matmul(%[[CTX]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NORMED]], %[[ROWS]], %[[LOGITS]],
// CHECK-NEXT: llvm.return

// -----

// An F32 output matrix is outside any tail (the op library's F32 products
// sum in another order for one token than for several): every token's
// logits are computed and the requested rows moved to the front.
module {
  ingot.weight @norm : f32 [32] at 0 size 128
  ingot.weight @out : f32 [16, 32] at 128 size 2048
  func.func @forward(%x: tensor<?x32xf32>) -> tensor<?x16xf32> {
    %n = ingot.rms_norm %x, @norm {eps = 1.0e-5 : f32} : tensor<?x32xf32>
    %l = ingot.matmul %n, @out : tensor<?x32xf32> -> tensor<?x16xf32>
    return %l : tensor<?x16xf32>
  }
}
// CHECK-LABEL: llvm.func @ingot_model_forward
// CHECK-SAME: (%[[CTX:.*]]: !llvm.ptr, %[[N:.*]]: i64, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %[[ROWS:.*]]: i64, %[[LOGITS:.*]]: !llvm.ptr)
// CHECK: %[[SKIP:.*]] = llvm.sub %[[N]], %[[ROWS]]
// CHECK: %[[NORMS:.*]] = llvm.mul %[[N]], %{{.*}} : i64
// CHECK: llvm.call @ingot_op_rms_norm(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NORMS]], %[[NORMED:[0-9]+]])
// CHECK: llvm.call @ingot_op_matmul(%[[CTX]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NORMED]], %[[N]], %[[LOGITS]],
// 16 f32 a row.
// CHECK: %[[ROW:.*]] = llvm.mlir.constant(64 : i64) : i64
// CHECK: %[[FROM_BYTES:.*]] = llvm.mul %[[SKIP]], %[[ROW]]
// CHECK: %[[FROM:.*]] = llvm.getelementptr %[[LOGITS]][%[[FROM_BYTES]]]
// CHECK: %[[BYTES:.*]] = llvm.mul %[[ROWS]], %[[ROW]]
// CHECK: "llvm.intr.memmove"(%[[LOGITS]], %[[FROM]], %[[BYTES]]) <{isVolatile = false}>
// CHECK-NEXT: llvm.return
