// Every verifier error of ingot.fused_matmul, one case each.
// RUN: ingot-opt %s -split-input-file -verify-diagnostics

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{needs at least one weight}}
  %y = ingot.fused_matmul %x [] : (tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
ingot.weight @b : f32 [32] at 2176 size 128
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{has 1 biases for 2 weights}}
  %y, %z = ingot.fused_matmul %x [@a, @a] bias [@b] : (tensor<?x64xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>)
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{swiglu needs two weights (gate, up), has 1}}
  %y = ingot.fused_matmul %x [@a] swiglu : (tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{has 2 results, expected 1}}
  %y, %z = ingot.fused_matmul %x [@a, @a] swiglu : (tensor<?x64xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>)
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{has 1 results, expected 2}}
  %y = ingot.fused_matmul %x [@a, @a] : (tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
func.func @f(%x: tensor<?x64xf32>, %r: tensor<?x32xf32>) {
  // expected-error @below {{a residual needs a single result}}
  %y, %z = ingot.fused_matmul %x [@a, @a] residual %r : (tensor<?x64xf32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>)
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
func.func @f(%x: tensor<?x64xf32>, %r: tensor<?x64xf32>) {
  // expected-error @below {{residual type 'tensor<?x64xf32>' differs from the result type 'tensor<?x32xf32>'}}
  %y = ingot.fused_matmul %x [@a] residual %r : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
ingot.weight @n : f32 [64] at 2176 size 256
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{norm and norm_eps come together}}
  %y = ingot.fused_matmul %x [@a] norm @n : (tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
ingot.weight @n : f32 [64] at 2176 size 256
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{norm_eps must be positive and finite}}
  %y = ingot.fused_matmul %x [@a] norm @n {norm_eps = 0.0 : f32} : (tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{has 1 kernels for 2 weights}}
  %y, %z = ingot.fused_matmul %x [@a, @a] {kernels = [#ingot.kernel<matmul, q8_0, 32, 64, avx512vnni, granule = 16>]} : (tensor<?x64xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>)
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{kernels must be matmul kernels of one type, ISA and granule}}
  %y, %z = ingot.fused_matmul %x [@a, @a] {kernels = [#ingot.kernel<matmul, q8_0, 32, 64, avx512vnni, granule = 16>, #ingot.kernel<matmul, q8_0, 32, 64, avx2, granule = 8>]} : (tensor<?x64xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>)
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{weight 'a' has shape [32, 64], expected [16, 64]}}
  %y = ingot.fused_matmul %x [@a] : (tensor<?x64xf32>) -> tensor<?x16xf32>
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{weight 'missing' does not name an ingot.weight}}
  %y = ingot.fused_matmul %x [@missing] : (tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
ingot.weight @b : q4_0 [32, 64] at 2176 size 1152
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{weights must share one kernel type, 'b' is read as q4_0, not q8_0}}
  %y, %z = ingot.fused_matmul %x [@a, @b] : (tensor<?x64xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>)
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
ingot.weight @b : f32 [16] at 2176 size 64
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{bias 'b' has shape [16], expected [32]}}
  %y = ingot.fused_matmul %x [@a] bias [@b] : (tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @a : q8_0 [32, 64] at 0 size 2176
ingot.weight @n : f32 [32] at 2176 size 128
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{norm 'n' has shape [32], expected [64]}}
  %y = ingot.fused_matmul %x [@a] norm @n {norm_eps = 1.0e-5 : f32} : (tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

ingot.weight @a : f32 [32, 64] at 0 size 8192
ingot.weight @n : f32 [64] at 8192 size 256
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{a norm prologue needs weights read as q8_0, q4_0, q4_k or q6_k, not f32}}
  %y = ingot.fused_matmul %x [@a] norm @n {norm_eps = 1.0e-5 : f32} : (tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

// bf16 weights are read as themselves (float activations): no prologue.
ingot.weight @a : bf16 [32, 64] at 0 size 4096
ingot.weight @n : f32 [64] at 4096 size 256
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @below {{a norm prologue needs weights read as q8_0, q4_0, q4_k or q6_k, not bf16}}
  %y = ingot.fused_matmul %x [@a] norm @n {norm_eps = 1.0e-5 : f32} : (tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

// q5_k is read as q8_0, q4_0 as itself.
ingot.weight @a : q5_k [32, 256] at 0 size 5632
ingot.weight @b : q4_0 [32, 256] at 5632 size 4608
func.func @f(%x: tensor<?x256xf32>) {
  // expected-error @below {{weights must share one kernel type, 'b' is read as q4_0, not q8_0}}
  %y, %z = ingot.fused_matmul %x [@a, @b] : (tensor<?x256xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>)
  return
}
