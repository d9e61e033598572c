// The plan attributes print as they parse, and nonsense is refused.
// RUN: ingot-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: module @layouts
module @layouts {
  // CHECK: ingot.weight @w : q8_0 [32, 64] at 0 size 2176 layout <packed_offset = 0, packed_bytes = 2176, packed_stride = 2176, granule = 16, isa = avx512vnni>
  ingot.weight @w : q8_0 [32, 64] at 0 size 2176 layout <packed_offset = 0, packed_bytes = 2176, packed_stride = 2176, granule = 16, isa = avx512vnni>
  // CHECK: ingot.weight @t : q8_0 [100, 64] at 2176 size 6800 layout <raw_offset = 2176, raw_bytes = 6800>
  ingot.weight @t : q8_0 [100, 64] at 2176 size 6800 layout <raw_offset = 2176, raw_bytes = 6800>
  // CHECK: ingot.weight @n : f32 [64] at 8976 size 256 layout <f32_offset = 9024, f32_bytes = 256>
  ingot.weight @n : f32 [64] at 8976 size 256 layout <f32_offset = 9024, f32_bytes = 256>
  // The GGUF rows, for the op library's ggml dot path.
  // CHECK: ingot.weight @k : q4_k [32, 256] at 9280 size 4608 layout <packed_offset = 9280, packed_bytes = 4608, packed_stride = 4608, granule = 1, isa = none>
  ingot.weight @k : q4_k [32, 256] at 9280 size 4608 layout <packed_offset = 9280, packed_bytes = 4608, packed_stride = 4608, granule = 1, isa = none>
}

// -----

// CHECK-LABEL: module @kernels
// CHECK-SAME: ingot.kernels = [#ingot.kernel<matmul, q4_0, 32, 64, avx2, granule = 8>, #ingot.kernel<expert, q8_0, 64, 32, avx512vnni, granule = 16>]
module @kernels attributes {ingot.kernels = [#ingot.kernel<matmul, q4_0, 32, 64, avx2, granule = 8>, #ingot.kernel<expert, q8_0, 64, 32, avx512vnni, granule = 16>]} {
  ingot.weight @w : f32 [32, 64] at 0 size 8192
  func.func @forward(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
    // CHECK: ingot.matmul {{.*}}{kernel = #ingot.kernel<matmul, f32, 32, 64, none, granule = 16>}
    %y = ingot.matmul %x, @w {kernel = #ingot.kernel<matmul, f32, 32, 64, none, granule = 16>} : tensor<?x64xf32> -> tensor<?x32xf32>
    return %y : tensor<?x32xf32>
  }
}

// -----

// expected-error @below {{layout offsets and sizes must not be negative}}
ingot.weight @w : q8_0 [32, 64] at 0 size 2176 layout <raw_offset = -64, raw_bytes = 2176>

// -----

// expected-error @below {{layout granule must be positive}}
ingot.weight @w : q8_0 [32, 64] at 0 size 2176 layout <packed_offset = 0, packed_bytes = 2176, packed_stride = 2176, granule = 0, isa = avx2>

// -----

// expected-error @below {{a packed form needs packed_offset, packed_bytes, packed_stride, granule and isa}}
ingot.weight @w : q8_0 [32, 64] at 0 size 2176 layout <packed_offset = 0, packed_bytes = 2176>

// -----

// Q8_0 runs generated kernels even where a module keeps ggml's order.
// expected-error @below {{a packed form of isa none holds, in granule 1, a type of the ggml dot path, not Q8_0}}
ingot.weight @w : q8_0 [32, 64] at 0 size 2176 layout <packed_offset = 0, packed_bytes = 2176, packed_stride = 2176, granule = 1, isa = none>

// -----

// expected-error @below {{a packed form of isa none holds, in granule 1, a type of the ggml dot path, not Q4_K}}
ingot.weight @w : q4_k [32, 256] at 0 size 4608 layout <packed_offset = 0, packed_bytes = 4608, packed_stride = 4608, granule = 8, isa = none>

// -----

// expected-error @below {{a packed form is packed for a vector ISA or none, not amx}}
ingot.weight @w : q8_0 [32, 64] at 0 size 2176 layout <packed_offset = 0, packed_bytes = 2176, packed_stride = 2176, granule = 16, isa = amx>

// -----

// expected-error @below {{packed_bytes must be a whole number of packed_stride matrices}}
ingot.weight @w : q8_0 [2, 32, 64] at 0 size 4352 layout <packed_offset = 0, packed_bytes = 3000, packed_stride = 2176, granule = 16, isa = avx2>

// -----

// expected-error @below {{an f32 form needs f32_offset and f32_bytes}}
ingot.weight @n : f32 [64] at 0 size 256 layout <f32_offset = 0>

// -----

// expected-error @below {{kernel rows and cols must be positive, got -32x64}}
module attributes {ingot.kernels = [#ingot.kernel<matmul, q8_0, -32, 64, avx2, granule = 8>]} {}

// -----

// expected-error @below {{kernel granule must be positive, got 0}}
module attributes {ingot.kernels = [#ingot.kernel<matmul, q8_0, 32, 64, avx2, granule = 0>]} {}

// -----

// A q5_k weight is read as q8_0: its kernel says so.
// expected-error @below {{no kernel reads q5_k: a kernel names the type its weight is read as}}
module attributes {ingot.kernels = [#ingot.kernel<matmul, q5_k, 32, 256, avx2, granule = 8>]} {}

// -----

// expected-error @below {{only f32, f16, bf16 and the types of the ggml dot path take the plain path (isa none), not q8_0}}
module attributes {ingot.kernels = [#ingot.kernel<matmul, q8_0, 32, 64, none, granule = 8>]} {}

// -----

// The ggml dot path reads a q5_k weight as it is.
// CHECK-LABEL: module @ggml_dot
// CHECK-SAME: #ingot.kernel<expert, q5_k, 32, 256, none, granule = 1>
module @ggml_dot attributes {ingot.kernels = [#ingot.kernel<expert, q5_k, 32, 256, none, granule = 1>]} {}

// -----

// expected-error @below {{f32 weights take the plain path (isa none)}}
module attributes {ingot.kernels = [#ingot.kernel<matmul, f32, 32, 64, avx2, granule = 8>]} {}

// -----

// F16 and BF16 matrices have generated kernels too.
// CHECK-LABEL: module @half_kernels
// CHECK-SAME: #ingot.kernel<matmul, f16, 32, 64, avx2, granule = 8>
// CHECK-SAME: #ingot.kernel<matmul, bf16, 32, 64, avx512vnni, granule = 16>
module @half_kernels attributes {ingot.kernels = [#ingot.kernel<matmul, f16, 32, 64, avx2, granule = 8>, #ingot.kernel<matmul, bf16, 32, 64, avx512vnni, granule = 16>]} {}

// -----

// expected-error @below {{expected ::ingot::KernelISA to be one of: none, avx2, avx512vnni}}
// expected-error @below {{failed to parse Ingot_KernelAttr parameter 'isa'}}
module attributes {ingot.kernels = [#ingot.kernel<matmul, q8_0, 32, 64, sse4, granule = 8>]} {}
