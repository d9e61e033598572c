//===- GGMLTypeAgreement.cpp - The ODS type enum matches ggml's table ----===//
//
// MLIR needs the ggml types as an ODS enum (Ingot_GGMLType in
// IngotBase.td) to print and parse them; the facts live in
// compiler/ggml/GGMLTypes.h. The compiler checks here that each ODS case
// has the table's id, so the two cannot drift apart; test/unit checks the
// names and that neither lists a type the other lacks.
//
//===----------------------------------------------------------------------===//
#include "compiler/dialect/IngotDialect.h"
#include "compiler/ggml/GGMLTypes.h"

namespace {

#define INGOT_SAME_ID(name)                                                    \
  static_assert(static_cast<uint32_t>(::ingot::GGMLType::name) ==              \
                    static_cast<uint32_t>(::ingot::ggml::Type::name),          \
                "Ingot_GGMLType case " #name " differs from ggml::Type");
INGOT_SAME_ID(F32)
INGOT_SAME_ID(F16)
INGOT_SAME_ID(Q4_0)
INGOT_SAME_ID(Q4_1)
INGOT_SAME_ID(Q5_0)
INGOT_SAME_ID(Q5_1)
INGOT_SAME_ID(Q8_0)
INGOT_SAME_ID(Q8_1)
INGOT_SAME_ID(Q2_K)
INGOT_SAME_ID(Q3_K)
INGOT_SAME_ID(Q4_K)
INGOT_SAME_ID(Q5_K)
INGOT_SAME_ID(Q6_K)
INGOT_SAME_ID(Q8_K)
INGOT_SAME_ID(IQ2_XXS)
INGOT_SAME_ID(IQ2_XS)
INGOT_SAME_ID(IQ3_XXS)
INGOT_SAME_ID(IQ1_S)
INGOT_SAME_ID(IQ4_NL)
INGOT_SAME_ID(IQ3_S)
INGOT_SAME_ID(IQ2_S)
INGOT_SAME_ID(IQ4_XS)
INGOT_SAME_ID(I8)
INGOT_SAME_ID(I16)
INGOT_SAME_ID(I32)
INGOT_SAME_ID(I64)
INGOT_SAME_ID(F64)
INGOT_SAME_ID(IQ1_M)
INGOT_SAME_ID(BF16)
INGOT_SAME_ID(TQ1_0)
INGOT_SAME_ID(TQ2_0)
INGOT_SAME_ID(MXFP4)
#undef INGOT_SAME_ID

constexpr uint32_t largestTableId() {
  uint32_t largest = 0;
  for (const ingot::ggml::TypeInfo &info : ingot::ggml::kTypeTable)
    if (static_cast<uint32_t>(info.type) > largest)
      largest = static_cast<uint32_t>(info.type);
  return largest;
}
static_assert(::ingot::getMaxEnumValForGGMLType() == largestTableId(),
              "Ingot_GGMLType and ggml::Type end at different ids");

} // namespace
