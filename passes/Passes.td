//===- Passes.td - ingot passes ----------------------------*- tablegen -*-===//
#ifndef INGOT_PASSES
#define INGOT_PASSES

include "mlir/Pass/PassBase.td"

def IngotPlanWeights : Pass<"ingot-plan-weights", "mlir::ModuleOp"> {
  let summary = "Choose each weight's payload layout and place it in the payload";
  let description = [{
    Every weight gets the forms its users read, recorded in its `layout`
    attribute (#ingot.layout): `packed` (repacked for the kernels of
    `kernel-isa`: read by matmul, moe and mla_attention), `raw` (ggml bytes:
    embedding lookups) and `f32` (dequantized: norm scales, biases, the
    expert selection bias). Each form has an offset and a size in the
    payload; the module gets `ingot.payload_bytes`. A weight type without a
    kernel for the ISA is an error naming the weight.
  }];
  let options = [
    // The kernel instruction set, not the architecture a target description
    // names (`isa: x86_64`): the driver chooses it from the target's features.
    Option<"kernelIsa", "kernel-isa", "std::string",
           /*default=*/"\"avx512vnni\"",
           "Kernel ISA the weights are packed for: avx512vnni, avxvnni "
           "or avx2">,
  ];
}

def IngotFuseRouter : Pass<"ingot-fuse-router", "mlir::ModuleOp"> {
  let summary = "Fold the router product into the ingot.moe that routes by it";
  let description = [{
    An ingot.matmul without bias whose only user is an ingot.moe reading
    it as `logits`, and whose input is that moe's input, is removed: the
    moe gets its weight as `router` (and its kernel as `router_kernel`,
    when chosen) and computes the router product, softmax or sigmoid,
    selection bias, group and expert top-k, normalisation and routed scale
    in one call for the batch. Runs before the other fusions, so that none
    takes the router's matmul first.
  }];
}

def IngotFuseSiblingMatmuls
    : Pass<"ingot-fuse-sibling-matmuls", "mlir::ModuleOp"> {
  let summary = "Fuse matmuls of one input (Q/K/V, gate/up) into one ingot.fused_matmul";
  let description = [{
    Matmuls that read the same value with weights of one ggml type, packed
    for one kernel ISA and granule (their #ingot.layout; runs after
    ingot-plan-weights), and that all have a bias or none, become one
    ingot.fused_matmul at the first one's place, its segments in program
    order: the input is prepared once and one parallel dispatch covers all
    their rows. Each output row keeps its kernel, so results do not change.
  }];
}

def IngotFuseEpilogues : Pass<"ingot-fuse-epilogues", "mlir::ModuleOp"> {
  let summary = "Fold swiglu and residual adds into the matmul that feeds them";
  let description = [{
    `ingot.swiglu(g, u)` where g and u are the two results of one
    ingot.fused_matmul (gate, up) read by nothing else becomes that op's
    `swiglu` epilogue: silu(g) * u per chunk of rows, no separate op or
    buffer. `ingot.add(m, r)` where m is a single matmul result read only
    by the add becomes an ingot.fused_matmul with the `residual` r (at the
    add's place). Runs after ingot-fuse-sibling-matmuls.
  }];
}

def IngotFuseNormPrologue
    : Pass<"ingot-fuse-norm-prologue", "mlir::ModuleOp"> {
  let summary = "Normalise and quantize in the prologue of the matmuls an rms_norm feeds";
  let description = [{
    An ingot.rms_norm over whole rows whose every user reads it as the input
    of an ingot.matmul or ingot.fused_matmul with Q8_0 or Q4_0 weights is
    removed: each user gets the `norm` prologue and reads the norm's input,
    normalising and rounding each token row to Q8_0 block by block with the
    rms_norm op's own arithmetic (no normalised tensor is stored).
  }];
}

def IngotPlanMemory : Pass<"ingot-plan-memory", "mlir::ModuleOp"> {
  let summary = "Give every activation, scratch buffer and KV cache a static offset";
  let description = [{
    Plans @forward for `max-batch` tokens: each activation value gets an
    offset in one arena (first-fit over value lifetimes, 64-byte aligned),
    each op that needs scratch (activation quantization, MoE routing, MLA)
    gets a scratch offset, and each attention layer its offset in the KV
    cache per position. Records `ingot.arena_offset`, `ingot.scratch_offset`
    and `ingot.kv_offset` on the ops and `ingot.arena_bytes`,
    `ingot.max_batch` and `ingot.kv_bytes_per_position` on the module. The
    logits are written to the caller's buffer, not the arena.
  }];
  let options = [
    Option<"maxBatch", "max-batch", "int64_t", /*default=*/"64",
           "Most tokens one forward call processes">,
  ];
}

def IngotSelectKernels : Pass<"ingot-select-kernels", "mlir::ModuleOp"> {
  let summary = "Record on every matmul, moe and mla_attention the kernels it calls";
  let description = [{
    Runs after ingot-plan-weights. Each weight an op multiplies by gets an
    #ingot.kernel: a generated kernel for the ISA its packed layout was
    planned for (quantized types), or the op library's plain path
    (`isa = none`: F32 and F16 weights, which it sums in ggml's order). The
    attributes are `kernel` on ingot.matmul, `kernels` (one per weight) on
    ingot.fused_matmul, `router_kernel`,
    `gate_up_kernel`, `down_kernel` and `shared_{gate,up,down}_kernel` on
    ingot.moe, `k_b_kernel` and `v_b_kernel` on ingot.mla_attention. The
    module's `ingot.kernels` lists the generated ones, in first-use order:
    the kernel emitter generates exactly those. With `amx` (the target has
    AMX-INT8), q8_0 and q4_0 matmuls packed for avx512vnni get `isa = amx`:
    the same layout and small-batch code, AMX tiles from 8 tokens per call.
    In a module with an ingot.moe, every ingot.attention gets `ggml_order`:
    its scores and weighted sums follow ggml's order, so that the routers'
    near-tied choices are llama.cpp's.
  }];
  let options = [
    Option<"amx", "amx", "bool", /*default=*/"false",
           "Choose the AMX prefill kernel for q8_0 and q4_0 matmuls "
           "(avx512vnni layout)">,
  ];
}

def IngotLowerToLLVM : Pass<"ingot-lower-to-llvm", "mlir::ModuleOp"> {
  let summary = "Lower the planned @forward to LLVM dialect calls of kernels and the op library";
  let description = [{
    Replaces @forward by `llvm.func @ingot_model_forward(ctx, n_tokens,
    tokens, positions, n_logit_rows, logits)`: every ingot op becomes a call
    of an op library function (targets/oplib) with pointers into the
    weights, the arena and the KV cache, matmuls and experts pass the
    address of their generated kernel (`ingot_k_...`, declared here, defined
    by the kernel emitter) as ingot-select-kernels chose it; it decides
    nothing itself. The row-wise ops after the last attention that only the
    logits need (the logits tail) run on the last n_logit_rows tokens.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

#endif // INGOT_PASSES
