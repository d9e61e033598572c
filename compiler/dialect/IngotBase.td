//===- IngotBase.td - The ingot dialect and its enums ------*- tablegen -*-===//
#ifndef INGOT_DIALECT_BASE
#define INGOT_DIALECT_BASE

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Ingot_Dialect : Dialect {
  let name = "ingot";
  let cppNamespace = "::ingot";
  let summary = "Model-level operations of transformer language models";
  let description = [{
    One op per model-level operation of a transformer (embedding, rms_norm,
    matmul with a quantized weight, rope, attention, mla_attention, moe,
    swiglu, ...). Weights are symbols (`ingot.weight`) naming a tensor of the
    GGUF file with its ggml type, shape, offset and size; the IR never holds
    weight data. Activations are `tensor<?xDxf32>` values: one row per token
    of the step, so the same function serves prefill and decode. Each
    attention layer's key/value cache is an SSA value of type
    `!ingot.kv_cache`, threaded through the forward function.

    Weight shapes are written slowest dimension first, as MLIR tensors are:
    a matmul weight is [out_features, in_features], a stack of expert
    matrices [experts, out_features, in_features]. (GGUF lists the same
    dimensions fastest first.)
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  // The plan facts other than the weight layouts and kernels, declared once:
  // the passes and the driver read and write them through the generated
  // helpers (IngotDialect::getArenaOffsetAttrHelper(), ...), never by name.
  let discardableAttrs = (ins
    // On an op: its result's offset in the arena (-1: the caller's logits).
    "::mlir::IntegerAttr":$arena_offset,
    // On an op with several results (ingot.fused_matmul): each result's
    // offset in the arena, in result order (-1: the caller's logits).
    "::mlir::DenseI64ArrayAttr":$arena_offsets,
    // On an op: the offset of its scratch buffers in the arena.
    "::mlir::IntegerAttr":$scratch_offset,
    // On an attention op: its layer's offset in one position of KV cache,
    // for each key type (IngotKVKeyType order; -1: not storable in it).
    "::mlir::DenseI64ArrayAttr":$kv_offsets,
    // On the module: the payload (weights) size.
    "::mlir::IntegerAttr":$payload_bytes,
    // On the module: the arena size, for max_batch tokens per step.
    "::mlir::IntegerAttr":$arena_bytes,
    "::mlir::IntegerAttr":$max_batch,
    // On the module: KV cache bytes per position over all layers, for each
    // key type (IngotKVKeyType order; 0: some layer cannot store it).
    "::mlir::DenseI64ArrayAttr":$kv_bytes_per_position,
    // On the lowered module: every #ingot.kernel that is generated.
    "::mlir::ArrayAttr":$kernels
  );
}

class Ingot_Op<string mnemonic, list<Trait> traits = []>
    : Op<Ingot_Dialect, mnemonic, traits>;

// ggml's tensor element types (ggml_type ids). The integer types are spelled
// int8..int64 because i8..i64 are integer-type tokens in MLIR's syntax.
def Ingot_GGMLType : I32EnumAttr<"GGMLType", "ggml tensor element type", [
  I32EnumAttrCase<"F32", 0, "f32">,
  I32EnumAttrCase<"F16", 1, "f16">,
  I32EnumAttrCase<"Q4_0", 2, "q4_0">,
  I32EnumAttrCase<"Q4_1", 3, "q4_1">,
  I32EnumAttrCase<"Q5_0", 6, "q5_0">,
  I32EnumAttrCase<"Q5_1", 7, "q5_1">,
  I32EnumAttrCase<"Q8_0", 8, "q8_0">,
  I32EnumAttrCase<"Q8_1", 9, "q8_1">,
  I32EnumAttrCase<"Q2_K", 10, "q2_k">,
  I32EnumAttrCase<"Q3_K", 11, "q3_k">,
  I32EnumAttrCase<"Q4_K", 12, "q4_k">,
  I32EnumAttrCase<"Q5_K", 13, "q5_k">,
  I32EnumAttrCase<"Q6_K", 14, "q6_k">,
  I32EnumAttrCase<"Q8_K", 15, "q8_k">,
  I32EnumAttrCase<"IQ2_XXS", 16, "iq2_xxs">,
  I32EnumAttrCase<"IQ2_XS", 17, "iq2_xs">,
  I32EnumAttrCase<"IQ3_XXS", 18, "iq3_xxs">,
  I32EnumAttrCase<"IQ1_S", 19, "iq1_s">,
  I32EnumAttrCase<"IQ4_NL", 20, "iq4_nl">,
  I32EnumAttrCase<"IQ3_S", 21, "iq3_s">,
  I32EnumAttrCase<"IQ2_S", 22, "iq2_s">,
  I32EnumAttrCase<"IQ4_XS", 23, "iq4_xs">,
  I32EnumAttrCase<"I8", 24, "int8">,
  I32EnumAttrCase<"I16", 25, "int16">,
  I32EnumAttrCase<"I32", 26, "int32">,
  I32EnumAttrCase<"I64", 27, "int64">,
  I32EnumAttrCase<"F64", 28, "f64">,
  I32EnumAttrCase<"IQ1_M", 29, "iq1_m">,
  I32EnumAttrCase<"BF16", 30, "bf16">,
  I32EnumAttrCase<"TQ1_0", 34, "tq1_0">,
  I32EnumAttrCase<"TQ2_0", 35, "tq2_0">,
  I32EnumAttrCase<"MXFP4", 39, "mxfp4">
]> {
  let cppNamespace = "::ingot";
}

def Ingot_RopeMode : I32EnumAttr<"RopeMode", "rope pair ordering", [
  // Rotates adjacent pairs (x[2i], x[2i+1]): llama, deepseek2.
  I32EnumAttrCase<"Normal", 0, "normal">,
  // Rotates x[i] with x[i + dims/2]: qwen2, qwen3moe.
  I32EnumAttrCase<"NeoX", 2, "neox">
]> {
  let cppNamespace = "::ingot";
  let genSpecializedAttr = 0;
}

// Printed as #ingot<rope_mode neox> in attribute dictionaries.
def Ingot_RopeModeAttr : EnumAttr<Ingot_Dialect, Ingot_RopeMode, "rope_mode">;

def Ingot_Gating : I32EnumAttr<"Gating", "expert gating function", [
  I32EnumAttrCase<"Softmax", 1, "softmax">,
  I32EnumAttrCase<"Sigmoid", 2, "sigmoid">
]> {
  let cppNamespace = "::ingot";
  let genSpecializedAttr = 0;
}

def Ingot_GatingAttr : EnumAttr<Ingot_Dialect, Ingot_Gating, "gating">;

#endif // INGOT_DIALECT_BASE
