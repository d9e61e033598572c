//===- KVKeyType.h - --cache-type-k spellings -------------------*- C++ -*-===//
//
// The key types of the KV cache (IngotKVKeyType, ModelABI.h) as llama.cpp's
// --cache-type-k spells them, so a llama-server command line carries over.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_KVKEYTYPE_H
#define INGOT_RUNTIME_CORE_KVKEYTYPE_H

#include "ingot/ModelABI.h"

#include <cstdint>
#include <cstring>

namespace ingot::rt {

inline const char *kvKeyTypeName(int32_t type) {
  switch (type) {
  case INGOT_KV_KEY_F32:
    return "f32";
  case INGOT_KV_KEY_F16:
    return "f16";
  case INGOT_KV_KEY_Q8_0:
    return "q8_0";
  default:
    return "unknown";
  }
}

/// False (and `type` unchanged) for anything but f32, f16 and q8_0.
inline bool parseKVKeyType(const char *text, int32_t &type) {
  for (int32_t t = 0; t < INGOT_KV_KEY_TYPES; ++t)
    if (std::strcmp(text, kvKeyTypeName(t)) == 0) {
      type = t;
      return true;
    }
  return false;
}

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_KVKEYTYPE_H
