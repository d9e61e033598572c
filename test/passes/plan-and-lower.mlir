// The planning passes and the lowering, on a two-op model.
// RUN: ingot-opt %s --ingot-plan-weights --ingot-plan-memory=max-batch=8 | FileCheck %s --check-prefix=PLAN
// RUN: ingot-opt %s --ingot-plan-weights --ingot-plan-memory=max-batch=8 --ingot-select-kernels | FileCheck %s --check-prefix=SELECT
// RUN: ingot-opt %s --ingot-plan-weights --ingot-plan-memory=max-batch=8 --ingot-select-kernels --ingot-lower-to-llvm | FileCheck %s --check-prefix=LOWER

module {
  ingot.weight @norm : f32 [64] at 0 size 256
  ingot.weight @w : q8_0 [32, 64] at 256 size 2176
  ingot.weight @tok : q8_0 [100, 64] at 2432 size 6800
  func.func @forward(%tokens: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x32xf32> {
    %x = ingot.embedding %tokens, @tok : tensor<?xi32> -> tensor<?x64xf32>
    %h = ingot.rms_norm %x, @norm {eps = 1.0e-5 : f32} : tensor<?x64xf32>
    %y = ingot.matmul %h, @w : tensor<?x64xf32> -> tensor<?x32xf32>
    return %y : tensor<?x32xf32>
  }
}
// PLAN: ingot.max_batch = 8
// PLAN: ingot.payload_bytes =
// PLAN-DAG: ingot.weight @norm : f32 [64] at 0 size 256 layout <f32_offset = {{[0-9]+}}, f32_bytes = 256>
// PLAN-DAG: ingot.weight @w : q8_0 [32, 64] at 256 size 2176 layout <packed_offset = {{[0-9]+}}, packed_bytes = 2176, packed_stride = 2176, granule = 16, isa = avx512vnni>
// PLAN-DAG: ingot.weight @tok : q8_0 [100, 64] at 2432 size 6800 layout <raw_offset = {{[0-9]+}}, raw_bytes = 6800>
// PLAN-LABEL: func.func @forward
// PLAN: ingot.embedding {{.*}}{ingot.arena_offset = 0 : i64}
// The norm reads the embedding while writing its own buffer.
// PLAN: ingot.rms_norm {{.*}}ingot.arena_offset = 2048 : i64
// The logits go to the caller's buffer.
// PLAN: ingot.matmul {{.*}}{ingot.arena_offset = -1 : i64, ingot.scratch_offset = {{[0-9]+}} : i64}
// The kernel is chosen before lowering, from the packed layout.
// SELECT: ingot.kernels = [#ingot.kernel<matmul, q8_0, 32, 64, avx512vnni, granule = 16>]
// SELECT-LABEL: func.func @forward
// SELECT: ingot.matmul {{.*}}kernel = #ingot.kernel<matmul, q8_0, 32, 64, avx512vnni, granule = 16>
// LOWER: ingot.kernels = [#ingot.kernel<matmul, q8_0, 32, 64, avx512vnni, granule = 16>]
// LOWER-NOT: ingot.weight
// LOWER-LABEL: llvm.func @ingot_model_forward(%{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: !llvm.ptr)
// LOWER: llvm.call @ingot_op_embedding
// LOWER: llvm.call @ingot_op_rms_norm
// LOWER: llvm.mlir.addressof @ingot_k_mm_q8_0_32x64_avx512vnni
// LOWER: llvm.call @ingot_op_matmul
