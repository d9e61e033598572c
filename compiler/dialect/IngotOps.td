//===- IngotOps.td - ingot dialect operations --------------*- tablegen -*-===//
#ifndef INGOT_DIALECT_OPS
#define INGOT_DIALECT_OPS

include "compiler/dialect/IngotBase.td"
include "compiler/dialect/IngotAttrs.td"
include "compiler/dialect/IngotTypes.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Activations: one row per token of the step.
def Ingot_Activation : 2DTensorOf<[F32]>;
def Ingot_TokenIds : 1DTensorOf<[I32]>;

class Ingot_WeightUser<string mnemonic, list<Trait> traits = []>
    : Ingot_Op<mnemonic, !listconcat(traits,
          [DeclareOpInterfaceMethods<SymbolUserOpInterface>])>;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def Ingot_WeightOp : Ingot_Op<"weight", [Symbol]> {
  let summary = "A tensor of the model file, by reference";
  let description = [{
    Names one tensor of the GGUF file: its ggml element type, its shape
    (slowest dimension first) and where its bytes are (`offset` from the
    start of the file, `size` in bytes). Ops refer to it by symbol; the data
    is never copied into the IR. ingot-plan-weights records where its forms
    lie in the payload in `layout` (#ingot.layout).

    The kernels read a weight as its *kernel type* (`getKernelType()`, the
    type table's read-as column, compiler/ggml/GGMLTypes.h): the ggml type
    itself for f32, f16, bf16, q8_0, q4_0 and q4_k, q8_0 for the other
    quantized types (converted when the payload is written). In modules
    that keep ggml's order, ingot-plan-weights gives the weights of the
    ggml dot path's types (ggml::takesGgmlDotPath) a packed form of isa
    none, the GGUF rows as they are; their kernel type is then their ggml
    type, which the op library multiplies as ggml does. Kernel choices
    (#ingot.kernel), activation formats and the packed form follow the
    kernel type; the raw and f32 forms and the interpreter read the ggml
    type's bytes. `read_as_q8_0` (set by ingot-plan-weights on MoE gate and
    up stacks whose types the table reads differently: one expert kernel
    reads both) makes the kernel type q8_0 whatever the table says.

    ```mlir
    ingot.weight @"blk.0.attn_q.weight" : q8_0 [256, 256] at 14176 size 69632
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, Ingot_GGMLType:$ggml_type,
                       DenseI64ArrayAttr:$shape, I64Attr:$offset,
                       I64Attr:$size, OptionalAttr<Ingot_LayoutAttr>:$layout,
                       UnitAttr:$read_as_q8_0);
  let assemblyFormat = [{
    $sym_name `:` $ggml_type $shape `at` $offset `size` $size
    (`read_as_q8_0` $read_as_q8_0^)? (`layout` $layout^)? attr-dict
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getNumElements();
    /// The type the kernels read this weight as (ggml::kernelReadType); its
    /// own type when Ingot cannot decode it (ingot-plan-weights refuses it).
    ::ingot::GGMLType getKernelType();
    /// Whether the op library's ggml dot path reads this weight: its packed
    /// form (ingot-plan-weights) is the GGUF rows as they are, for no
    /// kernel ISA, and its kernel type its ggml type.
    bool readsGgmlDot();
  }];
}

//===----------------------------------------------------------------------===//
// Embedding, norms, projections
//===----------------------------------------------------------------------===//

def Ingot_EmbeddingOp : Ingot_WeightUser<"embedding", [Pure]> {
  let summary = "Token embedding lookup";
  let description = [{
    Row `tokens[t]` of the [vocab, dim] table for each token t.
  }];
  let arguments = (ins Ingot_TokenIds:$tokens, FlatSymbolRefAttr:$table);
  let results = (outs Ingot_Activation:$result);
  let assemblyFormat = [{
    $tokens `,` $table attr-dict `:` type($tokens) `->` type($result)
  }];
}

def Ingot_RMSNormOp : Ingot_WeightUser<"rms_norm", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "RMS normalisation with a learned scale";
  let description = [{
    Normalises each group of `group_size` consecutive values of every row
    (the whole row by default; one head for per-head q/k norms) to unit root
    mean square, `x / sqrt(mean(x^2) + eps)`, then multiplies by the
    `group_size`-element `scale` weight.
  }];
  let arguments = (ins Ingot_Activation:$input, FlatSymbolRefAttr:$scale,
                       F32Attr:$eps, OptionalAttr<I64Attr>:$group_size);
  let results = (outs Ingot_Activation:$result);
  let assemblyFormat = [{
    $input `,` $scale attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getGroupSizeOrRow();
  }];
}

def Ingot_MatmulOp : Ingot_WeightUser<"matmul", [Pure]> {
  let summary = "Product with a (quantized) weight matrix";
  let description = [{
    `result[t, o] = sum_i weight[o, i] * input[t, i] (+ bias[o])`. The
    weight is [out, in] in any ggml type; quantized weights multiply
    activations rounded to Q8_0 blocks, as ggml does.
  }];
  let arguments = (ins Ingot_Activation:$input, FlatSymbolRefAttr:$weight,
                       OptionalAttr<FlatSymbolRefAttr>:$bias,
                       // Chosen by ingot-select-kernels.
                       OptionalAttr<Ingot_KernelAttr>:$kernel);
  let results = (outs Ingot_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? attr-dict `:` type($input) `->`
    type($result)
  }];
}

def Ingot_KernelArrayAttr
    : TypedArrayAttrBase<Ingot_KernelAttr, "array of #ingot.kernel">;

def Ingot_FusedMatmulOp : Ingot_WeightUser<"fused_matmul", [Pure]> {
  let summary = "Matmuls of one input, with a fused prologue and epilogue";
  let description = [{
    Products of one input with each of `weights` (segments), as the fusion
    passes form them from ingot.matmul and its neighbours; each segment
    computes exactly what its ingot.matmul did, with the same kernel per
    output row, so fusing changes no result bit:

    - segments: `result_i[t, o] = sum_k weights_i[o, k] * in[t, k]
      (+ biases_i[o])`. All weights have one ggml type and are packed for
      one kernel ISA and granule (ingot-fuse-sibling-matmuls checks it), so
      the input is prepared for the kernels once (one Q8_0 rounding per
      token for quantized weights) and one parallel dispatch covers the
      concatenated rows of all segments. `biases`, when present, has one
      bias per weight.
    - prologue `norm`: `in` is `rms_norm(input, norm, norm_eps)` over the
      whole row, computed per token while quantizing, never stored
      (ingot-fuse-norm-prologue; quantized weights only).
    - epilogue `residual`: the single result is the segment's product plus
      `residual` (ingot-fuse-epilogues, from ingot.add).
    - epilogue `swiglu`: two segments of the same shape (gate, up); the
      single result is `silu(gate) * up`, computed per chunk of rows right
      after both kernels ran over it (ingot-fuse-epilogues, from
      ingot.swiglu).

    `kernels` (one per weight, chosen by ingot-select-kernels) name the
    code of each segment.

    ```mlir
    %q, %k, %v = ingot.fused_matmul %x [@wq, @wk, @wv] norm @attn_norm
        {norm_eps = 1.0e-5 : f32}
        : (tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>)
    %h = ingot.fused_matmul %x [@gate, @up] swiglu
        : (tensor<?x64xf32>) -> tensor<?x128xf32>
    %y = ingot.fused_matmul %a [@wo] residual %x
        : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Ingot_Activation:$input,
                       Optional<Ingot_Activation>:$residual,
                       FlatSymbolRefArrayAttr:$weights,
                       OptionalAttr<FlatSymbolRefArrayAttr>:$biases,
                       OptionalAttr<FlatSymbolRefAttr>:$norm,
                       OptionalAttr<F32Attr>:$norm_eps,
                       UnitAttr:$swiglu,
                       // Chosen by ingot-select-kernels, one per weight.
                       OptionalAttr<Ingot_KernelArrayAttr>:$kernels);
  let results = (outs Variadic<Ingot_Activation>:$results);
  let assemblyFormat = [{
    $input $weights (`bias` $biases^)? (`norm` $norm^)?
    (`residual` $residual^)? (`swiglu` $swiglu^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Rotary position embedding
//===----------------------------------------------------------------------===//

def Ingot_RopeOp : Ingot_WeightUser<"rope", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "Rotary position embedding, with optional YaRN scaling";
  let description = [{
    Rows hold `num_heads` heads of `head_dim` values. In each head, the
    `dims` values starting at `offset` are rotated by angles
    `position * freq_base^(-2i/dims)` in `mode` ordering (ggml_rope_ext).
    With `ext_factor` != 0 this is YaRN: frequencies blend interpolation by
    `freq_scale` and extrapolation over the correction range given by
    `beta_fast`, `beta_slow` and `orig_context`, and the rotation is scaled
    by `attn_factor * (1 + 0.1 ln(1 / freq_scale))`. With `factors` (a
    weight of dims/2 values, Llama 3.1's rope_freqs) pair i's angle is
    divided by factor i, as ggml_rope_ext's freq_factors.
  }];
  let arguments = (ins Ingot_Activation:$input, Ingot_TokenIds:$positions,
                       I64Attr:$num_heads, I64Attr:$head_dim,
                       DefaultValuedAttr<I64Attr, "0">:$offset,
                       I64Attr:$dims, Ingot_RopeModeAttr:$mode,
                       F32Attr:$freq_base,
                       DefaultValuedAttr<F32Attr, "1.0f">:$freq_scale,
                       DefaultValuedAttr<F32Attr, "0.0f">:$ext_factor,
                       DefaultValuedAttr<F32Attr, "1.0f">:$attn_factor,
                       DefaultValuedAttr<F32Attr, "32.0f">:$beta_fast,
                       DefaultValuedAttr<F32Attr, "1.0f">:$beta_slow,
                       DefaultValuedAttr<I64Attr, "0">:$orig_context,
                       OptionalAttr<FlatSymbolRefAttr>:$freq_factors);
  let results = (outs Ingot_Activation:$result);
  let assemblyFormat = [{
    $input `,` $positions (`factors` $freq_factors^)? attr-dict `:`
    type($input) `,` type($positions)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Ingot_AttentionOp : Ingot_Op<"attention", [
    AllTypesMatch<["cache", "new_cache"]>]> {
  let summary = "Causal multi-head attention with grouped KV heads";
  let description = [{
    Stores the keys and values of this step's tokens at their positions in
    the cache, then lets each query attend to every cached position up to
    its own: softmax(scale * q.k) (with `softcap`, scores become
    `softcap * tanh(score / softcap)` first) weighted sum of values. Query
    head h reads KV head `h / (num_heads / num_kv_heads)`.

    With `ggml_order` (set by ingot-select-kernels in models that route to
    experts) the compiled code sums and exponentiates exactly as ggml does,
    as the reference interpreter always does; without it, in a faster order
    within float rounding of that.
  }];
  let arguments = (ins Ingot_Activation:$query, Ingot_Activation:$key,
                       Ingot_Activation:$value, Ingot_TokenIds:$positions,
                       Ingot_KVCacheType:$cache,
                       I64Attr:$num_heads, I64Attr:$num_kv_heads,
                       I64Attr:$head_dim, F32Attr:$scale,
                       OptionalAttr<F32Attr>:$softcap,
                       // Chosen by ingot-select-kernels.
                       UnitAttr:$ggml_order);
  let results = (outs Ingot_Activation:$result,
                      Ingot_KVCacheType:$new_cache);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $positions `,` $cache attr-dict `:`
    type($query) `,` type($key) `,` type($value) `,` type($positions) `,`
    type($cache) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Ingot_MLAAttentionOp : Ingot_WeightUser<"mla_attention", [
    AllTypesMatch<["cache", "new_cache"]>]> {
  let summary = "Multi-head latent attention (DeepSeek-V2/V3/R1)";
  let description = [{
    Attention over a compressed cache, with the key and value up-projections
    absorbed into the query and the output (as llama.cpp and DeepSeek's
    inference code run it). Inputs per token: `query` with `num_heads` heads
    of [nope_dim | rope_dim] values (rope part already rotated), `latent`
    (the normalised kv_lora_rank-wide compressed KV) and `rope_key` (the
    rotated rope_dim-wide shared key). The cache keeps [latent | rope_key]
    per position. For each head: q_abs = k_b[h] . q_nope, scores
    `scale * ([q_abs | q_rope] . cache_key)`, ctx = softmax-weighted sum of
    cached latents, result = v_b[h] . ctx (v_head_dim values).
    `k_b` is [heads, kv_lora_rank, nope_dim], `v_b` [heads, v_head_dim,
    kv_lora_rank].
  }];
  let arguments = (ins Ingot_Activation:$query, Ingot_Activation:$latent,
                       Ingot_Activation:$rope_key, Ingot_TokenIds:$positions,
                       Ingot_KVCacheType:$cache,
                       FlatSymbolRefAttr:$k_b, FlatSymbolRefAttr:$v_b,
                       I64Attr:$num_heads, I64Attr:$nope_dim,
                       I64Attr:$rope_dim, I64Attr:$kv_lora_rank,
                       I64Attr:$v_head_dim, F32Attr:$scale,
                       // Chosen by ingot-select-kernels.
                       OptionalAttr<Ingot_KernelAttr>:$k_b_kernel,
                       OptionalAttr<Ingot_KernelAttr>:$v_b_kernel,
                       // The matmul kernels of one head's matrix, for
                       // batches (absent: the batch runs token by token).
                       OptionalAttr<Ingot_KernelAttr>:$k_b_batch_kernel,
                       OptionalAttr<Ingot_KernelAttr>:$v_b_batch_kernel);
  let results = (outs Ingot_Activation:$result,
                      Ingot_KVCacheType:$new_cache);
  let assemblyFormat = [{
    $query `,` $latent `,` $rope_key `,` $positions `,` $cache
    `absorb` `(` $k_b `,` $v_b `)` attr-dict `:` type($query) `,`
    type($latent) `,` type($rope_key) `,` type($positions) `,`
    type($cache) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

def Ingot_MoEOp : Ingot_WeightUser<"moe", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "Routed mixture of SwiGLU experts, with shared experts";
  let description = [{
    Router: probabilities = `gating`(logits), the logits being input . router
    (`router`, the fused form ingot-fuse-router makes and the lowering
    needs) or the `logits` operand (as imported: the router product is an
    ingot.matmul of its own); selection scores add
    `selection_bias` (DeepSeek-V3's e_score_correction_bias) when given.
    With `num_groups` > 1 the experts form groups, a group scores the sum of
    its two best selection scores and only the best `groups_used` groups
    compete. The best `experts_used` experts are chosen; their weights are
    the unbiased probabilities, divided by their sum when `normalize`, times
    `routed_scale`. Result: weighted sum over chosen experts e of
    down_e(silu(gate_e x) * up_e x), plus the shared expert's
    down_s(silu(gate_s x) * up_s x) when `shared_gate` is given.
    Expert stacks are [experts, out, in].
  }];
  let arguments = (ins Ingot_Activation:$input,
                       Optional<Ingot_Activation>:$logits,
                       OptionalAttr<FlatSymbolRefAttr>:$router,
                       FlatSymbolRefAttr:$gate, FlatSymbolRefAttr:$up,
                       FlatSymbolRefAttr:$down,
                       OptionalAttr<FlatSymbolRefAttr>:$selection_bias,
                       OptionalAttr<FlatSymbolRefAttr>:$shared_gate,
                       OptionalAttr<FlatSymbolRefAttr>:$shared_up,
                       OptionalAttr<FlatSymbolRefAttr>:$shared_down,
                       I64Attr:$num_experts, I64Attr:$experts_used,
                       Ingot_GatingAttr:$gating, BoolAttr:$normalize,
                       DefaultValuedAttr<F32Attr, "1.0f">:$routed_scale,
                       DefaultValuedAttr<I64Attr, "1">:$num_groups,
                       DefaultValuedAttr<I64Attr, "1">:$groups_used,
                       // Chosen by ingot-select-kernels; gate and up
                       // experts share one kernel.
                       OptionalAttr<Ingot_KernelAttr>:$router_kernel,
                       OptionalAttr<Ingot_KernelAttr>:$gate_up_kernel,
                       OptionalAttr<Ingot_KernelAttr>:$down_kernel,
                       OptionalAttr<Ingot_KernelAttr>:$shared_gate_kernel,
                       OptionalAttr<Ingot_KernelAttr>:$shared_up_kernel,
                       OptionalAttr<Ingot_KernelAttr>:$shared_down_kernel,
                       // The matmul kernels of one expert's matrices that
                       // run a batch bucketed by expert (absent: the batch
                       // runs token by token).
                       OptionalAttr<Ingot_KernelAttr>:$gate_up_batch_kernel,
                       OptionalAttr<Ingot_KernelAttr>:$down_batch_kernel);
  let results = (outs Ingot_Activation:$result);
  let assemblyFormat = [{
    $input (`logits` $logits^)? (`router` $router^)?
    (`bias` $selection_bias^)?
    `experts` `(` $gate `,` $up `,` $down `)`
    (`shared` `(` $shared_gate^ `,` $shared_up `,` $shared_down `)`)?
    attr-dict `:` type($input) (`,` type($logits)^)?
  }];
  let hasVerifier = 1;
}

def Ingot_SliceOp : Ingot_Op<"slice", [Pure]> {
  let summary = "A contiguous range of every row";
  let description = [{
    `result[t, i] = input[t, offset + i]` for i < the result's width: splits
    a fused projection, e.g. DeepSeek's [latent | rope key] output of
    attn_kv_a_mqa.
  }];
  let arguments = (ins Ingot_Activation:$input, I64Attr:$offset);
  let results = (outs Ingot_Activation:$result);
  let assemblyFormat = [{
    $input `[` $offset `]` attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Element-wise
//===----------------------------------------------------------------------===//

class Ingot_UnaryOp<string mnemonic> : Ingot_Op<mnemonic, [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let arguments = (ins Ingot_Activation:$input);
  let results = (outs Ingot_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Ingot_SiluOp : Ingot_UnaryOp<"silu"> {
  let summary = "x * sigmoid(x)";
}

def Ingot_GeluOp : Ingot_UnaryOp<"gelu"> {
  let summary = "GELU, tanh approximation (as ggml_gelu)";
}

class Ingot_BinaryOp<string mnemonic> : Ingot_Op<mnemonic, [Pure,
    AllTypesMatch<["lhs", "rhs", "result"]>]> {
  let arguments = (ins Ingot_Activation:$lhs, Ingot_Activation:$rhs);
  let results = (outs Ingot_Activation:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs)";
}

def Ingot_SwigluOp : Ingot_BinaryOp<"swiglu"> {
  let summary = "silu(lhs) * rhs: the gated activation of SwiGLU FFNs";
}

def Ingot_AddOp : Ingot_BinaryOp<"add"> {
  let summary = "Element-wise sum (residual connections)";
}

#endif // INGOT_DIALECT_OPS
