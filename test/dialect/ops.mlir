// Every ingot op parses, verifies and prints back to the same text.
// RUN: ingot-opt %s | ingot-opt | FileCheck %s

module {
  ingot.weight @tok : q8_0 [512, 64] at 0 size 34816
  ingot.weight @norm : f32 [64] at 34816 size 256
  ingot.weight @head_norm : f32 [16] at 35072 size 64
  ingot.weight @wq : q4_0 [64, 64] at 35328 size 2304
  ingot.weight @bq : f32 [64] at 37632 size 256
  ingot.weight @wkv : f32 [32, 64] at 37888 size 8192
  ingot.weight @router : f32 [8, 64] at 46080 size 2048
  ingot.weight @gate : q8_0 [8, 32, 64] at 48128 size 17408
  ingot.weight @up : q8_0 [8, 32, 64] at 65536 size 17408
  ingot.weight @down : q8_0 [8, 64, 32] at 82944 size 17408
  ingot.weight @bias : f32 [8] at 100352 size 32
  ingot.weight @sgate : f32 [32, 64] at 100384 size 8192
  ingot.weight @sup : f32 [32, 64] at 108576 size 8192
  ingot.weight @sdown : f32 [64, 32] at 116768 size 8192
  ingot.weight @kb : f32 [4, 16, 8] at 124960 size 2048
  ingot.weight @vb : f32 [4, 8, 16] at 127008 size 2048

  // CHECK-LABEL: func.func @all_ops
  func.func @all_ops(%tokens: tensor<?xi32>, %pos: tensor<?xi32>,
                     %cache: !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 16>,
                     %mla: !ingot.kv_cache<kv_heads = 1, key_dim = 24, value_dim = 0>)
      -> (tensor<?x64xf32>, !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 16>) {
    // CHECK: ingot.embedding %{{.*}}, @tok : tensor<?xi32> -> tensor<?x64xf32>
    %x = ingot.embedding %tokens, @tok : tensor<?xi32> -> tensor<?x64xf32>
    // CHECK: ingot.rms_norm %{{.*}}, @norm {eps = 9.99999974E-6 : f32} : tensor<?x64xf32>
    %h = ingot.rms_norm %x, @norm {eps = 1.0e-5 : f32} : tensor<?x64xf32>
    // CHECK: ingot.rms_norm %{{.*}}, @head_norm {eps = 9.99999997E-7 : f32, group_size = 16 : i64}
    %hn = ingot.rms_norm %h, @head_norm {eps = 1.0e-6 : f32, group_size = 16 : i64} : tensor<?x64xf32>
    // CHECK: ingot.matmul %{{.*}}, @wq bias @bq : tensor<?x64xf32> -> tensor<?x64xf32>
    %q = ingot.matmul %hn, @wq bias @bq : tensor<?x64xf32> -> tensor<?x64xf32>
    %kv = ingot.matmul %h, @wkv : tensor<?x64xf32> -> tensor<?x32xf32>
    // CHECK: ingot.slice %{{.*}}[16] : tensor<?x32xf32> -> tensor<?x16xf32>
    %k = ingot.slice %kv[0] : tensor<?x32xf32> -> tensor<?x16xf32>
    %v = ingot.slice %kv[16] : tensor<?x32xf32> -> tensor<?x16xf32>
    %k2 = ingot.slice %kv[0] : tensor<?x32xf32> -> tensor<?x32xf32>
    // CHECK: ingot.rope %{{.*}}, %{{.*}} {dims = 16 : i64, freq_base = 1.000000e+04 : f32, head_dim = 16 : i64, mode = #ingot<rope_mode neox>, num_heads = 4 : i64}
    %qr = ingot.rope %q, %pos {num_heads = 4 : i64, head_dim = 16 : i64, dims = 16 : i64, mode = #ingot<rope_mode neox>, freq_base = 10000.0 : f32} : tensor<?x64xf32>, tensor<?xi32>
    %kr = ingot.rope %k2, %pos {num_heads = 2 : i64, head_dim = 16 : i64, dims = 8 : i64, offset = 8 : i64, mode = #ingot<rope_mode normal>, freq_base = 10000.0 : f32, freq_scale = 0.25 : f32, ext_factor = 1.0 : f32, orig_context = 4096 : i64} : tensor<?x32xf32>, tensor<?xi32>
    // CHECK: %{{.*}}, %{{.*}} = ingot.attention
    // CHECK-SAME: num_kv_heads = 2
    %a, %c2 = ingot.attention %qr, %kr, %kv, %pos, %cache {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f32, softcap = 50.0 : f32} : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 16> -> tensor<?x64xf32>
    // CHECK: ingot.mla_attention {{.*}} absorb(@kb, @vb)
    %lat = ingot.slice %kv[0] : tensor<?x32xf32> -> tensor<?x16xf32>
    %rk = ingot.slice %kv[16] : tensor<?x32xf32> -> tensor<?x8xf32>
    %m, %mc = ingot.mla_attention %q, %lat, %rk, %pos, %mla absorb(@kb, @vb) {num_heads = 4 : i64, nope_dim = 8 : i64, rope_dim = 8 : i64, kv_lora_rank = 16 : i64, v_head_dim = 8 : i64, scale = 0.1 : f32} : tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x8xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 1, key_dim = 24, value_dim = 0> -> tensor<?x32xf32>
    // CHECK: ingot.moe %{{.*}} router @router bias @bias experts(@gate, @up, @down) shared(@sgate, @sup, @sdown)
    // CHECK-SAME: gating = #ingot<gating sigmoid>
    %e = ingot.moe %h router @router bias @bias experts(@gate, @up, @down) shared(@sgate, @sup, @sdown) {num_experts = 8 : i64, experts_used = 2 : i64, gating = #ingot<gating sigmoid>, normalize = true, routed_scale = 2.5 : f32, num_groups = 4 : i64, groups_used = 2 : i64} : tensor<?x64xf32>
    // CHECK: ingot.moe %{{.*}} router @router experts(@gate, @up, @down) {
    %e2 = ingot.moe %h router @router experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = false} : tensor<?x64xf32>
    // As imported: routed by the logits of a router matmul.
    // CHECK: ingot.moe %{{.*}} logits %{{.*}} experts(@gate, @up, @down) {{.*}} : tensor<?x64xf32>, tensor<?x8xf32>
    %lg = ingot.matmul %h, @router : tensor<?x64xf32> -> tensor<?x8xf32>
    %e3 = ingot.moe %h logits %lg experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = false} : tensor<?x64xf32>, tensor<?x8xf32>
    // CHECK: ingot.silu
    %s = ingot.silu %e : tensor<?x64xf32>
    // CHECK: ingot.gelu
    %g = ingot.gelu %s : tensor<?x64xf32>
    // CHECK: ingot.swiglu
    %sw = ingot.swiglu %g, %e2 : tensor<?x64xf32>
    // CHECK: ingot.add
    %sum = ingot.add %sw, %a : tensor<?x64xf32>
    return %sum, %c2 : tensor<?x64xf32>, !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 16>
  }
}
