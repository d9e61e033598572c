// The KV cache row size the memory planner computes is exact or refused.
// RUN: ingot-opt %s "--ingot-plan-memory=max-batch=1" -verify-diagnostics

// A KV cache row of (2^31 - 1) heads x 4 x (2^31 - 1) values: over 2^63
// bytes of values alone (the keys, 4096 wide, fit).
!cache = !ingot.kv_cache<kv_heads = 2147483647, key_dim = 4096, value_dim = 2147483647>
func.func @forward(%q: tensor<?x8796093018112xf32>, %k: tensor<?x8796093018112xf32>, %v: tensor<?x4611686014132420609xf32>, %pos: tensor<?xi32>, %c: !cache) -> (tensor<?x4611686014132420609xf32>, !cache) {
  // expected-error @below {{the KV cache row does not fit in 64 bits}}
  %r, %c2 = ingot.attention %q, %k, %v, %pos, %c {num_heads = 2147483647 : i64, num_kv_heads = 2147483647 : i64, head_dim = 4096 : i64, scale = 1.0 : f32} : tensor<?x8796093018112xf32>, tensor<?x8796093018112xf32>, tensor<?x4611686014132420609xf32>, tensor<?xi32>, !cache -> tensor<?x4611686014132420609xf32>
  return %r, %c2 : tensor<?x4611686014132420609xf32>, !cache
}
