// Every verifier error of the ingot dialect, one case each.
// RUN: ingot-opt %s -split-input-file -verify-diagnostics

// expected-error @below {{weight must have 1 to 4 dimensions, has 5}}
ingot.weight @w : f32 [1, 1, 1, 1, 2] at 0 size 8

// -----

// expected-error @below {{weight dimensions must be positive, got 0}}
ingot.weight @w : f32 [0, 4] at 0 size 0

// -----

// expected-error @below {{weight offset must not be negative}}
ingot.weight @w : f32 [4] at -1 size 16

// -----

// expected-error @below {{rows of 33 Q8_0 values are not whole blocks of 32}}
ingot.weight @w : q8_0 [2, 33] at 0 size 68

// -----

// expected-error @below {{size 100 does not match Q4_0 data of this shape (36 bytes)}}
ingot.weight @w : q4_0 [2, 32] at 0 size 100

// -----

// expected-error @below {{kv_cache needs at least one KV head, got 0}}
func.func private @f(!ingot.kv_cache<kv_heads = 0, key_dim = 8, value_dim = 8>)

// -----

// expected-error @below {{kv_cache key_dim must be positive, got 0}}
func.func private @f(!ingot.kv_cache<kv_heads = 1, key_dim = 0, value_dim = 8>)

// -----

// expected-error @below {{kv_cache value_dim must not be negative, got -1}}
func.func private @f(!ingot.kv_cache<kv_heads = 1, key_dim = 8, value_dim = -1>)

// -----


func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{'ingot.embedding' op table 'missing' does not name an ingot.weight}}
  %0 = ingot.embedding %t, @missing : tensor<?xi32> -> tensor<?x64xf32>
  return
}

// -----

ingot.weight @tok : f32 [512, 32] at 0 size 65536
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{'ingot.embedding' op table 'tok' has shape [512, 32], expected [?, 64]}}
  %0 = ingot.embedding %t, @tok : tensor<?xi32> -> tensor<?x64xf32>
  return
}

// -----

ingot.weight @n : f32 [64] at 0 size 256
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{eps must be positive}}
  %0 = ingot.rms_norm %x, @n {eps = 0.0 : f32} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @n : f32 [64] at 0 size 256
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{group_size must be positive, got 0}}
  %0 = ingot.rms_norm %x, @n {eps = 1.0e-5 : f32, group_size = 0 : i64} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @n : f32 [24] at 0 size 96
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{rows of 64 values do not split into groups of 24}}
  %0 = ingot.rms_norm %x, @n {eps = 1.0e-5 : f32, group_size = 24 : i64} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @n : f32 [32] at 0 size 128
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{scale 'n' has shape [32], expected [64]}}
  %0 = ingot.rms_norm %x, @n {eps = 1.0e-5 : f32} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @w : q8_0 [32, 64] at 0 size 2176
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{weight 'w' has shape [32, 64], expected [16, 64]}}
  %0 = ingot.matmul %x, @w : tensor<?x64xf32> -> tensor<?x16xf32>
  return
}

// -----

ingot.weight @w : q8_0 [32, 64] at 0 size 2176
ingot.weight @b : f32 [16] at 2176 size 64
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{bias 'b' has shape [16], expected [32]}}
  %0 = ingot.matmul %x, @w bias @b : tensor<?x64xf32> -> tensor<?x32xf32>
  return
}

// -----

func.func private @n()
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{'ingot.matmul' op weight 'n' does not name an ingot.weight}}
  %0 = ingot.matmul %x, @n : tensor<?x64xf32> -> tensor<?x32xf32>
  return
}

// -----


func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{num_heads and head_dim must be positive}}
  %0 = ingot.rope %x, %p {num_heads = 0 : i64, head_dim = 16 : i64, dims = 16 : i64, mode = #ingot<rope_mode normal>, freq_base = 10000.0 : f32} : tensor<?x64xf32>, tensor<?xi32>
  return
}

// -----


func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{dims must be positive and even, got 7}}
  %0 = ingot.rope %x, %p {num_heads = 4 : i64, head_dim = 16 : i64, dims = 7 : i64, mode = #ingot<rope_mode normal>, freq_base = 10000.0 : f32} : tensor<?x64xf32>, tensor<?xi32>
  return
}

// -----


func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{rotated range [12, 20) does not fit in a head of 16}}
  %0 = ingot.rope %x, %p {num_heads = 4 : i64, head_dim = 16 : i64, dims = 8 : i64, offset = 12 : i64, mode = #ingot<rope_mode normal>, freq_base = 10000.0 : f32} : tensor<?x64xf32>, tensor<?xi32>
  return
}

// -----


func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{freq_base must be positive}}
  %0 = ingot.rope %x, %p {num_heads = 4 : i64, head_dim = 16 : i64, dims = 16 : i64, mode = #ingot<rope_mode neox>, freq_base = 0.0 : f32} : tensor<?x64xf32>, tensor<?xi32>
  return
}

// -----


func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{YaRN (ext_factor != 0) needs orig_context}}
  %0 = ingot.rope %x, %p {num_heads = 4 : i64, head_dim = 16 : i64, dims = 16 : i64, ext_factor = 1.0 : f32, mode = #ingot<rope_mode normal>, freq_base = 10000.0 : f32} : tensor<?x64xf32>, tensor<?xi32>
  return
}

// -----


func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{input rows have 64 values, expected 32}}
  %0 = ingot.rope %x, %p {num_heads = 2 : i64, head_dim = 16 : i64, dims = 16 : i64, mode = #ingot<rope_mode normal>, freq_base = 10000.0 : f32} : tensor<?x64xf32>, tensor<?xi32>
  return
}

// -----


func.func @f(%p: tensor<?xi32>, %q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %c: !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 16>) {
  // expected-error @below {{num_heads, num_kv_heads and head_dim must be positive}}
  %a, %c2 = ingot.attention %q, %k, %v, %p, %c {num_heads = 4 : i64, num_kv_heads = 0 : i64, head_dim = 16 : i64, scale = 0.25 : f32} : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 16> -> tensor<?x64xf32>
  return
}

// -----


func.func @f(%p: tensor<?xi32>, %q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %c: !ingot.kv_cache<kv_heads = 3, key_dim = 16, value_dim = 16>) {
  // expected-error @below {{num_heads (4) must be a multiple of num_kv_heads (3)}}
  %a, %c2 = ingot.attention %q, %k, %v, %p, %c {num_heads = 4 : i64, num_kv_heads = 3 : i64, head_dim = 16 : i64, scale = 0.25 : f32} : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 3, key_dim = 16, value_dim = 16> -> tensor<?x64xf32>
  return
}

// -----


func.func @f(%p: tensor<?xi32>, %q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %c: !ingot.kv_cache<kv_heads = 2, key_dim = 8, value_dim = 16>) {
  // expected-error @below {{cache holds 2 heads of 8 key values, expected 2 of 16}}
  %a, %c2 = ingot.attention %q, %k, %v, %p, %c {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f32} : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 2, key_dim = 8, value_dim = 16> -> tensor<?x64xf32>
  return
}

// -----


func.func @f(%p: tensor<?xi32>, %q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %c: !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 0>) {
  // expected-error @below {{cache must hold values (value_dim > 0)}}
  %a, %c2 = ingot.attention %q, %k, %v, %p, %c {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f32} : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 0> -> tensor<?x64xf32>
  return
}

// -----


func.func @f(%p: tensor<?xi32>, %q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %c: !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 16>) {
  // expected-error @below {{softcap must be positive}}
  %a, %c2 = ingot.attention %q, %k, %v, %p, %c {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f32, softcap = 0.0 : f32} : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 16> -> tensor<?x64xf32>
  return
}

// -----


func.func @f(%p: tensor<?xi32>, %q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %v: tensor<?x32xf32>, %c: !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 16>) {
  // expected-error @below {{key rows have 16 values, expected 32}}
  %a, %c2 = ingot.attention %q, %k, %v, %p, %c {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f32} : tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x32xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 16> -> tensor<?x64xf32>
  return
}

// -----


func.func @f(%p: tensor<?xi32>, %q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %c: !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 16>) {
  // expected-error @below {{result rows have 32 values, expected 64}}
  %a, %c2 = ingot.attention %q, %k, %v, %p, %c {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f32} : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 2, key_dim = 16, value_dim = 16> -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @kb : f32 [4, 16, 8] at 0 size 2048
ingot.weight @vb : f32 [4, 8, 16] at 0 size 2048
func.func @f(%p: tensor<?xi32>, %q: tensor<?x64xf32>, %l: tensor<?x16xf32>, %r: tensor<?x8xf32>, %c: !ingot.kv_cache<kv_heads = 1, key_dim = 24, value_dim = 0>) {
  // expected-error @below {{num_heads, nope_dim, rope_dim, kv_lora_rank and v_head_dim must be positive}}
  %a, %c2 = ingot.mla_attention %q, %l, %r, %p, %c absorb(@kb, @vb) {num_heads = 4 : i64, nope_dim = 0 : i64, rope_dim = 8 : i64, kv_lora_rank = 16 : i64, v_head_dim = 8 : i64, scale = 0.1 : f32} : tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x8xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 1, key_dim = 24, value_dim = 0> -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @kb : f32 [4, 16, 8] at 0 size 2048
ingot.weight @vb : f32 [4, 8, 16] at 0 size 2048
func.func @f(%p: tensor<?xi32>, %q: tensor<?x64xf32>, %l: tensor<?x16xf32>, %r: tensor<?x8xf32>, %c: !ingot.kv_cache<kv_heads = 1, key_dim = 16, value_dim = 0>) {
  // expected-error @below {{MLA cache must be kv_heads = 1, key_dim = 24 (kv_lora_rank + rope_dim), value_dim = 0}}
  %a, %c2 = ingot.mla_attention %q, %l, %r, %p, %c absorb(@kb, @vb) {num_heads = 4 : i64, nope_dim = 8 : i64, rope_dim = 8 : i64, kv_lora_rank = 16 : i64, v_head_dim = 8 : i64, scale = 0.1 : f32} : tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x8xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 1, key_dim = 16, value_dim = 0> -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @kb : f32 [4, 16, 8] at 0 size 2048
ingot.weight @vb : f32 [4, 8, 16] at 0 size 2048
func.func @f(%p: tensor<?xi32>, %q: tensor<?x64xf32>, %l: tensor<?x8xf32>, %r: tensor<?x8xf32>, %c: !ingot.kv_cache<kv_heads = 1, key_dim = 24, value_dim = 0>) {
  // expected-error @below {{latent rows have 8 values, expected 16}}
  %a, %c2 = ingot.mla_attention %q, %l, %r, %p, %c absorb(@kb, @vb) {num_heads = 4 : i64, nope_dim = 8 : i64, rope_dim = 8 : i64, kv_lora_rank = 16 : i64, v_head_dim = 8 : i64, scale = 0.1 : f32} : tensor<?x64xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 1, key_dim = 24, value_dim = 0> -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @kb : f32 [4, 8, 16] at 0 size 2048
ingot.weight @vb : f32 [4, 8, 16] at 0 size 2048
func.func @f(%p: tensor<?xi32>, %q: tensor<?x64xf32>, %l: tensor<?x16xf32>, %r: tensor<?x8xf32>, %c: !ingot.kv_cache<kv_heads = 1, key_dim = 24, value_dim = 0>) {
  // expected-error @below {{k_b 'kb' has shape [4, 8, 16], expected [4, 16, 8]}}
  %a, %c2 = ingot.mla_attention %q, %l, %r, %p, %c absorb(@kb, @vb) {num_heads = 4 : i64, nope_dim = 8 : i64, rope_dim = 8 : i64, kv_lora_rank = 16 : i64, v_head_dim = 8 : i64, scale = 0.1 : f32} : tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x8xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 1, key_dim = 24, value_dim = 0> -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @kb : f32 [4, 16, 8] at 0 size 2048
ingot.weight @vb : f32 [4, 16, 8] at 0 size 2048
func.func @f(%p: tensor<?xi32>, %q: tensor<?x64xf32>, %l: tensor<?x16xf32>, %r: tensor<?x8xf32>, %c: !ingot.kv_cache<kv_heads = 1, key_dim = 24, value_dim = 0>) {
  // expected-error @below {{v_b 'vb' has shape [4, 16, 8], expected [4, 8, 16]}}
  %a, %c2 = ingot.mla_attention %q, %l, %r, %p, %c absorb(@kb, @vb) {num_heads = 4 : i64, nope_dim = 8 : i64, rope_dim = 8 : i64, kv_lora_rank = 16 : i64, v_head_dim = 8 : i64, scale = 0.1 : f32} : tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x8xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 1, key_dim = 24, value_dim = 0> -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @router : f32 [8, 64] at 0 size 2048
ingot.weight @gate : f32 [8, 32, 64] at 0 size 65536
ingot.weight @up : f32 [8, 32, 64] at 0 size 65536
ingot.weight @down : f32 [8, 64, 32] at 0 size 65536
ingot.weight @bias : f32 [8] at 0 size 32
ingot.weight @bad_up : f32 [8, 16, 64] at 0 size 32768
ingot.weight @sg : f32 [32, 64] at 0 size 8192
ingot.weight @sd : f32 [64, 16] at 0 size 4096
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{experts_used (9) must be between 1 and num_experts (8)}}
  %0 = ingot.moe %x router @router experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 9 : i64, gating = #ingot<gating softmax>, normalize = true} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @router : f32 [8, 64] at 0 size 2048
ingot.weight @gate : f32 [8, 32, 64] at 0 size 65536
ingot.weight @up : f32 [8, 32, 64] at 0 size 65536
ingot.weight @down : f32 [8, 64, 32] at 0 size 65536
ingot.weight @bias : f32 [8] at 0 size 32
ingot.weight @bad_up : f32 [8, 16, 64] at 0 size 32768
ingot.weight @sg : f32 [32, 64] at 0 size 8192
ingot.weight @sd : f32 [64, 16] at 0 size 4096
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{num_experts (8) must split into num_groups (3)}}
  %0 = ingot.moe %x router @router experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 2 : i64, num_groups = 3 : i64, gating = #ingot<gating softmax>, normalize = true} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @router : f32 [8, 64] at 0 size 2048
ingot.weight @gate : f32 [8, 32, 64] at 0 size 65536
ingot.weight @up : f32 [8, 32, 64] at 0 size 65536
ingot.weight @down : f32 [8, 64, 32] at 0 size 65536
ingot.weight @bias : f32 [8] at 0 size 32
ingot.weight @bad_up : f32 [8, 16, 64] at 0 size 32768
ingot.weight @sg : f32 [32, 64] at 0 size 8192
ingot.weight @sd : f32 [64, 16] at 0 size 4096
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{groups_used (5) must be between 1 and num_groups (4)}}
  %0 = ingot.moe %x router @router experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 2 : i64, num_groups = 4 : i64, groups_used = 5 : i64, gating = #ingot<gating softmax>, normalize = true} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @router : f32 [8, 64] at 0 size 2048
ingot.weight @gate : f32 [8, 32, 64] at 0 size 65536
ingot.weight @up : f32 [8, 32, 64] at 0 size 65536
ingot.weight @down : f32 [8, 64, 32] at 0 size 65536
ingot.weight @bias : f32 [8] at 0 size 32
ingot.weight @bad_up : f32 [8, 16, 64] at 0 size 32768
ingot.weight @sg : f32 [32, 64] at 0 size 8192
ingot.weight @sd : f32 [64, 16] at 0 size 4096
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{experts_used (5) exceeds the experts of the groups_used groups (4)}}
  %0 = ingot.moe %x router @router experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 5 : i64, num_groups = 4 : i64, groups_used = 2 : i64, gating = #ingot<gating softmax>, normalize = true} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @router : f32 [8, 64] at 0 size 2048
ingot.weight @gate : f32 [8, 32, 64] at 0 size 65536
ingot.weight @up : f32 [8, 32, 64] at 0 size 65536
ingot.weight @down : f32 [8, 64, 32] at 0 size 65536
ingot.weight @bias : f32 [8] at 0 size 32
ingot.weight @bad_up : f32 [8, 16, 64] at 0 size 32768
ingot.weight @sg : f32 [32, 64] at 0 size 8192
ingot.weight @sd : f32 [64, 16] at 0 size 4096
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{grouped selection needs at least 2 experts per group}}
  %0 = ingot.moe %x router @router experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 1 : i64, num_groups = 8 : i64, groups_used = 2 : i64, gating = #ingot<gating softmax>, normalize = true} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @router : f32 [8, 64] at 0 size 2048
ingot.weight @gate : f32 [8, 32, 64] at 0 size 65536
ingot.weight @up : f32 [8, 32, 64] at 0 size 65536
ingot.weight @down : f32 [8, 64, 32] at 0 size 65536
ingot.weight @bias : f32 [8] at 0 size 32
ingot.weight @bad_up : f32 [8, 16, 64] at 0 size 32768
ingot.weight @sg : f32 [32, 64] at 0 size 8192
ingot.weight @sd : f32 [64, 16] at 0 size 4096
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{shared_down 'sd' has shape [64, 16], expected [64, 32]}}
  %0 = ingot.moe %x router @router experts(@gate, @up, @down) shared(@sg, @sg, @sd) {num_experts = 8 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = true} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @router : f32 [8, 64] at 0 size 2048
ingot.weight @gate : f32 [8, 32, 64] at 0 size 65536
ingot.weight @up : f32 [8, 32, 64] at 0 size 65536
ingot.weight @down : f32 [8, 64, 32] at 0 size 65536
ingot.weight @bias : f32 [8] at 0 size 32
ingot.weight @bad_up : f32 [8, 16, 64] at 0 size 32768
ingot.weight @sg : f32 [32, 64] at 0 size 8192
ingot.weight @sd : f32 [64, 16] at 0 size 4096
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{up 'bad_up' has shape [8, 16, 64], expected [8, 32, 64]}}
  %0 = ingot.moe %x router @router experts(@gate, @bad_up, @down) {num_experts = 8 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = true} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @router : f32 [8, 64] at 0 size 2048
ingot.weight @gate : f32 [8, 32, 64] at 0 size 65536
ingot.weight @up : f32 [8, 32, 64] at 0 size 65536
ingot.weight @down : f32 [8, 64, 32] at 0 size 65536
ingot.weight @bias : f32 [8] at 0 size 32
ingot.weight @bad_up : f32 [8, 16, 64] at 0 size 32768
ingot.weight @sg : f32 [32, 64] at 0 size 8192
ingot.weight @sd : f32 [64, 16] at 0 size 4096
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{selection_bias 'router' has shape [8, 64], expected [8]}}
  %0 = ingot.moe %x router @router bias @router experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = true} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @router : f32 [8, 64] at 0 size 2048
ingot.weight @gate : f32 [8, 32, 64] at 0 size 65536
ingot.weight @up : f32 [8, 32, 64] at 0 size 65536
ingot.weight @down : f32 [8, 64, 32] at 0 size 65536
ingot.weight @bias : f32 [8] at 0 size 32
ingot.weight @bad_up : f32 [8, 16, 64] at 0 size 32768
ingot.weight @sg : f32 [32, 64] at 0 size 8192
ingot.weight @sd : f32 [64, 16] at 0 size 4096
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{router 'router' has shape [8, 64], expected [4, 64]}}
  %0 = ingot.moe %x router @router experts(@gate, @up, @down) {num_experts = 4 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = true} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @router : f32 [8, 64] at 0 size 2048
ingot.weight @gate : f32 [8, 32, 64] at 0 size 65536
ingot.weight @up : f32 [8, 32, 64] at 0 size 65536
ingot.weight @down : f32 [8, 64, 32] at 0 size 65536
ingot.weight @bias : f32 [8] at 0 size 32
ingot.weight @bad_up : f32 [8, 16, 64] at 0 size 32768
ingot.weight @sg : f32 [32, 64] at 0 size 8192
ingot.weight @sd : f32 [64, 16] at 0 size 4096
func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{'ingot.moe' op shared experts need gate, up and down weights}}
  %0 = "ingot.moe"(%x) <{router = @router, gate = @gate, up = @up, down = @down, shared_gate = @sg, num_experts = 8 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = true}> : (tensor<?x64xf32>) -> tensor<?x64xf32>
  return
}

// -----


func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{offset must not be negative}}
  %0 = ingot.slice %x[-1] : tensor<?x64xf32> -> tensor<?x16xf32>
  return
}

// -----


func.func @f(%t: tensor<?xi32>, %p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{range [56, 72) exceeds rows of 64}}
  %0 = ingot.slice %x[56] : tensor<?x64xf32> -> tensor<?x16xf32>
  return
}

// -----

ingot.weight @ff : f32 [4] at 0 size 16
func.func @f(%p: tensor<?xi32>, %x: tensor<?x64xf32>) {
  // expected-error @below {{factors 'ff' has shape [4], expected [8]}}
  %0 = ingot.rope %x, %p factors @ff {num_heads = 4 : i64, head_dim = 16 : i64, dims = 16 : i64, mode = #ingot<rope_mode normal>, freq_base = 10000.0 : f32} : tensor<?x64xf32>, tensor<?xi32>
  return
}

// -----

ingot.weight @router : f32 [8, 64] at 0 size 2048
ingot.weight @gate : f32 [8, 32, 64] at 0 size 65536
ingot.weight @up : f32 [8, 32, 64] at 0 size 65536
ingot.weight @down : f32 [8, 64, 32] at 0 size 65536
func.func @f(%x: tensor<?x64xf32>, %l: tensor<?x8xf32>) {
  // expected-error @below {{routes by its router weight or by the router's logits: exactly one of them}}
  %0 = ingot.moe %x logits %l router @router experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = true} : tensor<?x64xf32>, tensor<?x8xf32>
  return
}

// -----

ingot.weight @router : f32 [8, 64] at 0 size 2048
ingot.weight @gate : f32 [8, 32, 64] at 0 size 65536
ingot.weight @up : f32 [8, 32, 64] at 0 size 65536
ingot.weight @down : f32 [8, 64, 32] at 0 size 65536
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{routes by its router weight or by the router's logits: exactly one of them}}
  %0 = ingot.moe %x experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = true} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @router : f32 [8, 64] at 0 size 2048
ingot.weight @gate : f32 [8, 32, 64] at 0 size 65536
ingot.weight @up : f32 [8, 32, 64] at 0 size 65536
ingot.weight @down : f32 [8, 64, 32] at 0 size 65536
func.func @f(%x: tensor<?x64xf32>, %l: tensor<?x6xf32>) {
  // expected-error @below {{logits have 6 columns, not num_experts (8)}}
  %0 = ingot.moe %x logits %l experts(@gate, @up, @down) {num_experts = 8 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = true} : tensor<?x64xf32>, tensor<?x6xf32>
  return
}

// -----

// A kernel reads its weight's kernel type: a q5_k weight is read as q8_0.
ingot.weight @w : q5_k [32, 256] at 0 size 5632
func.func @f(%x: tensor<?x256xf32>) -> tensor<?x32xf32> {
  // expected-error @below {{weight 'w' (q5_k) is read as q8_0, but its kernel reads q4_0}}
  %y = ingot.matmul %x, @w {kernel = #ingot.kernel<matmul, q4_0, 32, 256, avx2, granule = 8>} : tensor<?x256xf32> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

ingot.weight @w : q5_k [32, 256] at 0 size 5632
func.func @f(%x: tensor<?x256xf32>) -> tensor<?x32xf32> {
  %y = ingot.matmul %x, @w {kernel = #ingot.kernel<matmul, q8_0, 32, 256, avx2, granule = 8>} : tensor<?x256xf32> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
