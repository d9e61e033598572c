// The op library's fixed bounds (targets/oplib/OpLibLimits.h) and the
// 32-bit model dimensions, enforced by the verifiers: one case each, and
// each bound itself accepted.
// RUN: ingot-opt %s -split-input-file -verify-diagnostics

// Rope: at most 1024 rotated pairs per head.
func.func @f(%x: tensor<?x2052xf32>, %p: tensor<?xi32>) {
  // expected-error @below {{dims (2050) exceeds the 2048 rotated values per head the op library supports}}
  %0 = ingot.rope %x, %p {num_heads = 1 : i64, head_dim = 2052 : i64, dims = 2050 : i64, mode = #ingot<rope_mode normal>, freq_base = 10000.0 : f32} : tensor<?x2052xf32>, tensor<?xi32>
  return
}

// -----

func.func @f(%x: tensor<?x2048xf32>, %p: tensor<?xi32>) {
  %0 = ingot.rope %x, %p {num_heads = 1 : i64, head_dim = 2048 : i64, dims = 2048 : i64, mode = #ingot<rope_mode normal>, freq_base = 10000.0 : f32} : tensor<?x2048xf32>, tensor<?xi32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %p: tensor<?xi32>) {
  // expected-error @below {{num_heads (4294967296) must be between 1 and 2147483647}}
  %0 = ingot.rope %x, %p {num_heads = 4294967296 : i64, head_dim = 4294967296 : i64, dims = 16 : i64, mode = #ingot<rope_mode normal>, freq_base = 10000.0 : f32} : tensor<?x64xf32>, tensor<?xi32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %p: tensor<?xi32>) {
  // expected-error @below {{offset (9223372036854775800) must be between 0 and 2147483647}}
  %0 = ingot.rope %x, %p {num_heads = 4 : i64, head_dim = 16 : i64, offset = 9223372036854775800 : i64, dims = 16 : i64, mode = #ingot<rope_mode normal>, freq_base = 10000.0 : f32} : tensor<?x64xf32>, tensor<?xi32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %p: tensor<?xi32>) {
  // expected-error @below {{freq_base must be positive and finite}}
  %0 = ingot.rope %x, %p {num_heads = 4 : i64, head_dim = 16 : i64, dims = 16 : i64, mode = #ingot<rope_mode normal>, freq_base = 0x7FC00000 : f32} : tensor<?x64xf32>, tensor<?xi32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %p: tensor<?xi32>) {
  // expected-error @below {{freq_scale must be positive and finite}}
  %0 = ingot.rope %x, %p {num_heads = 4 : i64, head_dim = 16 : i64, dims = 16 : i64, mode = #ingot<rope_mode normal>, freq_base = 10000.0 : f32, freq_scale = 0x7F800000 : f32} : tensor<?x64xf32>, tensor<?xi32>
  return
}

// -----

ingot.weight @n : f32 [64] at 0 size 256
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{eps must be positive and finite}}
  %0 = ingot.rms_norm %x, @n {eps = 0x7FC00000 : f32} : tensor<?x64xf32>
  return
}

// -----

// Attention: 32-bit head counts and sizes.
!big = !ingot.kv_cache<kv_heads = 1, key_dim = 16, value_dim = 16>
func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %p: tensor<?xi32>, %c: !big) {
  // expected-error @below {{num_heads (2147483648) must be between 1 and 2147483647}}
  %a, %c2 = ingot.attention %q, %k, %k, %p, %c {num_heads = 2147483648 : i64, num_kv_heads = 1 : i64, head_dim = 16 : i64, scale = 0.25 : f32} : tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?xi32>, !big -> tensor<?x64xf32>
  return
}

// -----

// expected-error @below {{kv_cache dimensions must be at most 2147483647}}
func.func private @f(!ingot.kv_cache<kv_heads = 1, key_dim = 4294967296, value_dim = 8>)

// -----

// MoE: at most 1024 experts.
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{num_experts (1025) exceeds the 1024 experts the op library supports}}
  %e = ingot.moe %x router @router experts(@gate, @up, @down) {num_experts = 1025 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = true} : tensor<?x64xf32>
  return
}

// -----

ingot.weight @router : f32 [1024, 64] at 0 size 262144
ingot.weight @gate : f32 [1024, 32, 64] at 0 size 8388608
ingot.weight @up : f32 [1024, 32, 64] at 0 size 8388608
ingot.weight @down : f32 [1024, 64, 32] at 0 size 8388608
func.func @f(%x: tensor<?x64xf32>) {
  %e = ingot.moe %x router @router experts(@gate, @up, @down) {num_experts = 1024 : i64, experts_used = 2 : i64, gating = #ingot<gating softmax>, normalize = true} : tensor<?x64xf32>
  return
}

// -----

// MLA: at most 1024 heads, a latent rank of 4096, 2048 rope values.
!mla = !ingot.kv_cache<kv_heads = 1, key_dim = 24, value_dim = 0>
func.func @f(%p: tensor<?xi32>, %q: tensor<?x16400xf32>, %l: tensor<?x16xf32>, %r: tensor<?x8xf32>, %c: !mla) {
  // expected-error @below {{num_heads (1025) must be between 1 and 1024}}
  %a, %c2 = ingot.mla_attention %q, %l, %r, %p, %c absorb(@kb, @vb) {num_heads = 1025 : i64, nope_dim = 8 : i64, rope_dim = 8 : i64, kv_lora_rank = 16 : i64, v_head_dim = 8 : i64, scale = 0.1 : f32} : tensor<?x16400xf32>, tensor<?x16xf32>, tensor<?x8xf32>, tensor<?xi32>, !mla -> tensor<?x8200xf32>
  return
}

// -----

!mla = !ingot.kv_cache<kv_heads = 1, key_dim = 4105, value_dim = 0>
func.func @f(%p: tensor<?xi32>, %q: tensor<?x16xf32>, %l: tensor<?x4097xf32>, %r: tensor<?x8xf32>, %c: !mla) {
  // expected-error @below {{kv_lora_rank (4097) must be between 1 and 4096}}
  %a, %c2 = ingot.mla_attention %q, %l, %r, %p, %c absorb(@kb, @vb) {num_heads = 1 : i64, nope_dim = 8 : i64, rope_dim = 8 : i64, kv_lora_rank = 4097 : i64, v_head_dim = 8 : i64, scale = 0.1 : f32} : tensor<?x16xf32>, tensor<?x4097xf32>, tensor<?x8xf32>, tensor<?xi32>, !mla -> tensor<?x8xf32>
  return
}

// -----

!mla = !ingot.kv_cache<kv_heads = 1, key_dim = 2066, value_dim = 0>
func.func @f(%p: tensor<?xi32>, %q: tensor<?x2058xf32>, %l: tensor<?x16xf32>, %r: tensor<?x2050xf32>, %c: !mla) {
  // expected-error @below {{rope_dim (2050) must be between 1 and 2048}}
  %a, %c2 = ingot.mla_attention %q, %l, %r, %p, %c absorb(@kb, @vb) {num_heads = 1 : i64, nope_dim = 8 : i64, rope_dim = 2050 : i64, kv_lora_rank = 16 : i64, v_head_dim = 8 : i64, scale = 0.1 : f32} : tensor<?x2058xf32>, tensor<?x16xf32>, tensor<?x2050xf32>, tensor<?xi32>, !mla -> tensor<?x8xf32>
  return
}

// -----

ingot.weight @kb : f32 [1024, 16, 8] at 0 size 524288
ingot.weight @vb : f32 [1024, 8, 16] at 0 size 524288
!mla = !ingot.kv_cache<kv_heads = 1, key_dim = 24, value_dim = 0>
func.func @f(%p: tensor<?xi32>, %q: tensor<?x16384xf32>, %l: tensor<?x16xf32>, %r: tensor<?x8xf32>, %c: !mla) {
  %a, %c2 = ingot.mla_attention %q, %l, %r, %p, %c absorb(@kb, @vb) {num_heads = 1024 : i64, nope_dim = 8 : i64, rope_dim = 8 : i64, kv_lora_rank = 16 : i64, v_head_dim = 8 : i64, scale = 0.1 : f32} : tensor<?x16384xf32>, tensor<?x16xf32>, tensor<?x8xf32>, tensor<?xi32>, !mla -> tensor<?x8192xf32>
  return
}

// -----

// Weights and slices: no size arithmetic may wrap.
// expected-error @below {{weight element count overflows 64 bits}}
ingot.weight @w : f32 [4294967296, 4294967296, 4] at 0 size 0

// -----

func.func @f(%x: tensor<?x8xf32>) {
  // expected-error @below {{range [9223372036854775807, 9223372036854775811) exceeds rows of 8}}
  %0 = ingot.slice %x[9223372036854775807] : tensor<?x8xf32> -> tensor<?x4xf32>
  return
}
