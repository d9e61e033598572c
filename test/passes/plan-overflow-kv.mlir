// The KV cache row size the memory planner computes is exact or refused.
// RUN: ingot-opt %s "--ingot-plan-memory=max-batch=1" -verify-diagnostics

// A KV cache row of 4 x (2^31 - 1) heads x (2^30 + 1) values: over 2^63.
!cache = !ingot.kv_cache<kv_heads = 2147483647, key_dim = 1073741824, value_dim = 1>
func.func @forward(%q: tensor<?x2305843008139952128xf32>, %k: tensor<?x2305843008139952128xf32>, %v: tensor<?x2147483647xf32>, %pos: tensor<?xi32>, %c: !cache) -> (tensor<?x2147483647xf32>, !cache) {
  // expected-error @below {{the KV cache row does not fit in 64 bits}}
  %r, %c2 = ingot.attention %q, %k, %v, %pos, %c {num_heads = 2147483647 : i64, num_kv_heads = 2147483647 : i64, head_dim = 1073741824 : i64, scale = 1.0 : f32} : tensor<?x2305843008139952128xf32>, tensor<?x2305843008139952128xf32>, tensor<?x2147483647xf32>, tensor<?xi32>, !cache -> tensor<?x2147483647xf32>
  return %r, %c2 : tensor<?x2147483647xf32>, !cache
}
