// Weight and memory planning and kernel selection for the ops that read
// several weights: ingot.moe (router, routed experts, shared experts, group
// routing) and ingot.mla_attention (absorbed k_b and v_b stacks).
// RUN: ingot-opt %s -split-input-file --ingot-plan-weights --ingot-plan-memory=max-batch=4 --ingot-select-kernels | FileCheck %s
// The shared experts' gate and up run as one fused call with the SwiGLU
// epilogue (their input prepared once), then down and the add.
// RUN: ingot-opt %s -split-input-file --ingot-plan-weights --ingot-plan-memory=max-batch=4 --ingot-select-kernels --ingot-lower-to-llvm | FileCheck %s --check-prefix=LOWER
// One token per call never runs bucketed: no batch kernels.
// RUN: ingot-opt %s -split-input-file --ingot-plan-weights --ingot-plan-memory=max-batch=1 --ingot-select-kernels | FileCheck %s --check-prefix=ONE
// ONE-LABEL: module @moe
// ONE-NOT: batch_kernel
// ONE: ingot.moe
// ONE-NOT: batch_kernel
// ONE-LABEL: module @mla
// ONE-NOT: batch_kernel
// The router product and the expert choice are one call (no matmul of its
// own), given one expert's gate, up and down bytes (3 x 2176) to count.
// LOWER-LABEL: llvm.func @ingot_model_forward
// LOWER-NOT: llvm.call @ingot_op_matmul
// LOWER: llvm.mlir.constant(6528 : i64)
// LOWER-NOT: llvm.call @ingot_op_matmul
// LOWER: llvm.call @ingot_op_moe_route
// LOWER: llvm.mlir.addressof @ingot_k_mm_q8_0_32x64_avx512vnni
// LOWER: llvm.mlir.addressof @ingot_k_mm_q8_0_64x32_avx512vnni
// LOWER: llvm.call @ingot_op_moe_experts
// LOWER: llvm.mlir.addressof @ingot_k_mm_q4_0_32x64_avx512vnni
// LOWER: llvm.call @ingot_op_fused_matmul
// LOWER-NOT: llvm.call @ingot_op_swiglu
// LOWER: llvm.mlir.addressof @ingot_k_mm_q4_0_64x32_avx512vnni
// LOWER: llvm.call @ingot_op_matmul
// LOWER: llvm.call @ingot_op_add
// LOWER: llvm.return

module @moe {
  ingot.weight @router : f32 [4, 64] at 0 size 1024
  ingot.weight @bias : f32 [4] at 1024 size 16
  ingot.weight @gate : q8_0 [4, 32, 64] at 1040 size 8704
  ingot.weight @up : q8_0 [4, 32, 64] at 9744 size 8704
  ingot.weight @down : q8_0 [4, 64, 32] at 18448 size 8704
  ingot.weight @sgate : q4_0 [32, 64] at 27152 size 1152
  ingot.weight @sup : q4_0 [32, 64] at 28304 size 1152
  ingot.weight @sdown : q4_0 [64, 32] at 29456 size 1152
  func.func @forward(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
    %h = ingot.add %x, %x : tensor<?x64xf32>
    %e = ingot.moe %h router @router bias @bias experts(@gate, @up, @down) shared(@sgate, @sup, @sdown) {num_experts = 4 : i64, experts_used = 2 : i64, gating = #ingot<gating sigmoid>, normalize = true, num_groups = 2 : i64, groups_used = 1 : i64} : tensor<?x64xf32>
    return %e : tensor<?x64xf32>
  }
}

// -----

module @mla {
  ingot.weight @kb : q8_0 [2, 32, 32] at 0 size 2176
  ingot.weight @vb : q8_0 [2, 32, 32] at 2176 size 2176
  func.func @forward(%q: tensor<?x128xf32>, %lat: tensor<?x32xf32>, %rk: tensor<?x32xf32>, %pos: tensor<?xi32>, %c: !ingot.kv_cache<kv_heads = 1, key_dim = 64, value_dim = 0>) -> tensor<?x64xf32> {
    %m, %mc = ingot.mla_attention %q, %lat, %rk, %pos, %c absorb(@kb, @vb) {num_heads = 2 : i64, nope_dim = 32 : i64, rope_dim = 32 : i64, kv_lora_rank = 32 : i64, v_head_dim = 32 : i64, scale = 0.125 : f32} : tensor<?x128xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !ingot.kv_cache<kv_heads = 1, key_dim = 64, value_dim = 0> -> tensor<?x64xf32>
    return %m : tensor<?x64xf32>
  }
}

// The F32 router takes the op library's plain path (isa none); the routed
// experts (a stack per weight, gate and up sharing one kernel; for batches
// bucketed by expert, the matmul kernels of one expert's matrices) and the
// quantized shared experts get generated kernels, listed once each. The
// scratch holds the bucketed batch's buffers (MoEBatchLayout).
// CHECK-LABEL: module @moe attributes {ingot.arena_bytes = 12288 : i64, ingot.kernels = [#ingot.kernel<expert, q8_0, 32, 64, avx512vnni, granule = 16>, #ingot.kernel<expert, q8_0, 64, 32, avx512vnni, granule = 16>, #ingot.kernel<matmul, q8_0, 32, 64, avx512vnni, granule = 16>, #ingot.kernel<matmul, q8_0, 64, 32, avx512vnni, granule = 16>, #ingot.kernel<matmul, q4_0, 32, 64, avx512vnni, granule = 16>, #ingot.kernel<matmul, q4_0, 64, 32, avx512vnni, granule = 16>], ingot.kv_bytes_per_position = array<i64: 0, 0, 0>, ingot.max_batch = 4 : i64, ingot.payload_bytes = 33728 : i64}
// Every form 64-byte aligned, one after another in first-use order; a stack
// of experts is packed matrix by matrix (stride).
// CHECK: ingot.weight @router : f32 [4, 64] {{.*}} layout <packed_offset = 0, packed_bytes = 4096, packed_stride = 4096, granule = 16, isa = avx512vnni>
// CHECK: ingot.weight @bias : f32 [4] {{.*}} layout <f32_offset = 4096, f32_bytes = 16>
// CHECK: ingot.weight @gate : q8_0 [4, 32, 64] {{.*}} layout <packed_offset = 4160, packed_bytes = 8704, packed_stride = 2176, granule = 16, isa = avx512vnni>
// CHECK: ingot.weight @up : q8_0 [4, 32, 64] {{.*}} layout <packed_offset = 12864, packed_bytes = 8704, packed_stride = 2176, granule = 16, isa = avx512vnni>
// CHECK: ingot.weight @down : q8_0 [4, 64, 32] {{.*}} layout <packed_offset = 21568, packed_bytes = 8704, packed_stride = 2176, granule = 16, isa = avx512vnni>
// CHECK: ingot.weight @sgate : q4_0 [32, 64] {{.*}} layout <packed_offset = 30272, packed_bytes = 1152, packed_stride = 1152, granule = 16, isa = avx512vnni>
// CHECK: ingot.weight @sup : q4_0 [32, 64] {{.*}} layout <packed_offset = 31424, packed_bytes = 1152, packed_stride = 1152, granule = 16, isa = avx512vnni>
// CHECK: ingot.weight @sdown : q4_0 [64, 32] {{.*}} layout <packed_offset = 32576, packed_bytes = 1152, packed_stride = 1152, granule = 16, isa = avx512vnni>
// CHECK: ingot.add {{.*}}{ingot.arena_offset = 0 : i64}
// The MoE scratch (router logits, routing, expert and shared-expert
// buffers for 4 tokens) lies after the live input; the result is the
// caller's logits buffer.
// CHECK: ingot.moe
// CHECK-SAME: down_batch_kernel = #ingot.kernel<matmul, q8_0, 64, 32, avx512vnni, granule = 16>
// CHECK-SAME: down_kernel = #ingot.kernel<expert, q8_0, 64, 32, avx512vnni, granule = 16>
// CHECK-SAME: gate_up_batch_kernel = #ingot.kernel<matmul, q8_0, 32, 64, avx512vnni, granule = 16>
// CHECK-SAME: gate_up_kernel = #ingot.kernel<expert, q8_0, 32, 64, avx512vnni, granule = 16>
// CHECK-SAME: ingot.arena_offset = -1 : i64, ingot.scratch_offset = 1024 : i64
// CHECK-SAME: num_groups = 2 : i64
// CHECK-SAME: router_kernel = #ingot.kernel<matmul, f32, 4, 64, none, granule = 16>
// CHECK-SAME: shared_down_kernel = #ingot.kernel<matmul, q4_0, 64, 32, avx512vnni, granule = 16>
// CHECK-SAME: shared_gate_kernel = #ingot.kernel<matmul, q4_0, 32, 64, avx512vnni, granule = 16>
// CHECK-SAME: shared_up_kernel = #ingot.kernel<matmul, q4_0, 32, 64, avx512vnni, granule = 16>

// Both absorbed stacks share one expert kernel; the layer takes the first
// 256 bytes (one 64-float key) of each KV cache position.
// CHECK-LABEL: module @mla attributes {ingot.arena_bytes = 4096 : i64, ingot.kernels = [#ingot.kernel<expert, q8_0, 32, 32, avx512vnni, granule = 16>, #ingot.kernel<matmul, q8_0, 32, 32, avx512vnni, granule = 16>], ingot.kv_bytes_per_position = array<i64: 256, 128, 68>, ingot.max_batch = 4 : i64, ingot.payload_bytes = 4352 : i64}
// CHECK: ingot.weight @kb : q8_0 [2, 32, 32] {{.*}} layout <packed_offset = 0, packed_bytes = 2176, packed_stride = 1088, granule = 16, isa = avx512vnni>
// CHECK: ingot.weight @vb : q8_0 [2, 32, 32] {{.*}} layout <packed_offset = 2176, packed_bytes = 2176, packed_stride = 1088, granule = 16, isa = avx512vnni>
// CHECK: ingot.mla_attention
// CHECK-SAME: ingot.arena_offset = -1 : i64, ingot.kv_offsets = array<i64: 0, 0, 0>, ingot.scratch_offset = 0 : i64, k_b_batch_kernel = #ingot.kernel<matmul, q8_0, 32, 32, avx512vnni, granule = 16>, k_b_kernel = #ingot.kernel<expert, q8_0, 32, 32, avx512vnni, granule = 16>
// CHECK-SAME: v_b_batch_kernel = #ingot.kernel<matmul, q8_0, 32, 32, avx512vnni, granule = 16>, v_b_kernel = #ingot.kernel<expert, q8_0, 32, 32, avx512vnni, granule = 16>
