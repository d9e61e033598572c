//===- IngotTypes.td - ingot dialect types -----------------*- tablegen -*-===//
#ifndef INGOT_DIALECT_TYPES
#define INGOT_DIALECT_TYPES

include "compiler/dialect/IngotBase.td"
include "mlir/IR/AttrTypeBase.td"

class Ingot_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Ingot_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def Ingot_KVCacheType : Ingot_Type<"KVCache", "kv_cache"> {
  let summary = "Key/value cache of one attention layer";
  let description = [{
    The F32 cache of one layer: for every position, `kv_heads` keys of
    `key_dim` floats and as many values of `value_dim` floats. MLA layers
    cache the compressed latent and the rotated rope key as one key of
    kv_lora_rank + rope_dim floats per position and no value
    (`kv_heads = 1, value_dim = 0`): attention reads its values from the
    latent part of the key. The capacity (context length) is a run-time
    choice, not part of the type.
  }];
  let parameters = (ins "int64_t":$kv_heads, "int64_t":$key_dim,
                        "int64_t":$value_dim);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // INGOT_DIALECT_TYPES
