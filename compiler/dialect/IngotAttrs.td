//===- IngotAttrs.td - The plan, as typed attributes -------*- tablegen -*-===//
//
// What the planning passes decide and the lowering and payload writer
// follow: where each form of a weight lies in the payload (#ingot.layout)
// and which kernel multiplies by it (#ingot.kernel).
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_DIALECT_ATTRS
#define INGOT_DIALECT_ATTRS

include "compiler/dialect/IngotBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

// The instruction set a kernel is generated for. A target description names
// its architecture (x86_64); this is the kernel ISA chosen from its features.
// `none` is the op library's plain F32 path: no generated kernel. `amx` is
// a kernel choice, never a packing: a Q8_0 matmul kernel that reads the
// avx512vnni layout, runs the AVX-512 VNNI code for small batches and the
// AMX-INT8 tile code for prefill (targets/x86/AmxGemm.h). `avxvnni` (AVX2
// plus VEX-encoded AVX-VNNI, for CPUs without AVX-512) reads the avx2
// layout: same granule and bytes, another kernel.
def Ingot_KernelISA : I32EnumAttr<"KernelISA", "kernel instruction set", [
  I32EnumAttrCase<"None", 0, "none">,
  I32EnumAttrCase<"AVX2", 1, "avx2">,
  I32EnumAttrCase<"AVX512VNNI", 2, "avx512vnni">,
  I32EnumAttrCase<"AMX", 3, "amx">,
  I32EnumAttrCase<"AVXVNNI", 4, "avxvnni">
]> {
  let cppNamespace = "::ingot";
  let genSpecializedAttr = 0;
}

def Ingot_KernelKind : I32EnumAttr<"KernelKind", "kernel kind", [
  // One weight matrix [rows, cols].
  I32EnumAttrCase<"Matmul", 0, "matmul">,
  // A stack of matrices (experts, or MLA heads), one chosen per call.
  I32EnumAttrCase<"Expert", 1, "expert">
]> {
  let cppNamespace = "::ingot";
  let genSpecializedAttr = 0;
}

class Ingot_Attr<string name, string attrMnemonic>
    : AttrDef<Ingot_Dialect, name> {
  let mnemonic = attrMnemonic;
}

def Ingot_LayoutAttr : Ingot_Attr<"Layout", "layout"> {
  let summary = "Where each form of a weight lies in the payload";
  let description = [{
    Every form is optional and present when some op reads it:
    `packed` (repacked for the kernels of `isa`, `packed_stride` bytes per
    matrix of a stack, rows in groups of `granule`; with `isa = none`, the
    GGUF rows as they are, for the op library's ggml dot path, granule 1),
    `raw` (the ggml bytes)
    and `f32` (dequantized). Offsets are from the start of the payload.

    ```mlir
    #ingot.layout<packed_offset = 0, packed_bytes = 2176, packed_stride = 2176, granule = 16, isa = avx512vnni>
    #ingot.layout<raw_offset = 2176, raw_bytes = 6800>
    ```
  }];
  let parameters = (ins
    OptionalParameter<"std::optional<int64_t>">:$packed_offset,
    OptionalParameter<"std::optional<int64_t>">:$packed_bytes,
    OptionalParameter<"std::optional<int64_t>">:$packed_stride,
    OptionalParameter<"std::optional<int64_t>">:$granule,
    OptionalParameter<"std::optional<::ingot::KernelISA>">:$isa,
    OptionalParameter<"std::optional<int64_t>">:$raw_offset,
    OptionalParameter<"std::optional<int64_t>">:$raw_bytes,
    OptionalParameter<"std::optional<int64_t>">:$f32_offset,
    OptionalParameter<"std::optional<int64_t>">:$f32_bytes
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// One form's place in the payload.
    struct Form {
      int64_t offset, bytes;
    };
    std::optional<Form> getPacked() const;
    std::optional<Form> getRaw() const;
    std::optional<Form> getF32() const;
  }];
}

def Ingot_KernelAttr : Ingot_Attr<"Kernel", "kernel"> {
  let summary = "The kernel chosen for one weight";
  let description = [{
    Which code multiplies activations by a weight read as `type` with
    `rows` output rows and `cols` input columns (per matrix of a stack for
    `expert`): the kernel generated for `isa`, reading weights packed in row
    groups of `granule`, or, with `isa = none`, the op library's plain path
    (F32 weights, and F16 / BF16 ones in modules that keep ggml's order or
    as experts: it follows ggml's summation order exactly; and the weights
    of its ggml dot path, multiplied as ggml's CPU backend does:
    compiler/ggml/GGMLDot.h).
    `type` is the weight's kernel type (ingot.weight's getKernelType: f16,
    bf16 (matmuls only), q8_0, q4_0, q4_k or q6_k for generated kernels), not
    necessarily its ggml type: a q5_k weight has a q8_0 kernel, its payload
    converted to Q8_0
    when it is written.
    `getSymbol()` is the generated kernel's name.

    ```mlir
    #ingot.kernel<matmul, q8_0, 32, 64, avx512vnni, granule = 16>
    #ingot.kernel<matmul, f32, 8, 64, none, granule = 1>
    ```
  }];
  let parameters = (ins
    EnumParameter<Ingot_KernelKind>:$kind,
    EnumParameter<Ingot_GGMLType>:$type,
    "int64_t":$rows,
    "int64_t":$cols,
    EnumParameter<Ingot_KernelISA>:$isa,
    "int64_t":$granule
  );
  let assemblyFormat =
      "`<` $kind `,` $type `,` $rows `,` $cols `,` $isa `,` `granule` `=` $granule `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// True when a generated kernel runs (not the op library's plain path).
    bool isGenerated() const { return getIsa() != ::ingot::KernelISA::None; }
    /// The generated kernel's symbol, e.g. ingot_k_mm_q8_0_768x256_avx512vnni;
    /// empty for the plain path.
    std::string getSymbol() const;
  }];
}

#endif // INGOT_DIALECT_ATTRS
