//===- IngotDialect.cpp - The ingot dialect -------------------------------===//
#include "compiler/dialect/IngotDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace ingot;

#include "compiler/dialect/IngotDialect.cpp.inc"
#include "compiler/dialect/IngotEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "compiler/dialect/IngotAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "compiler/dialect/IngotTypes.cpp.inc"

void IngotDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "compiler/dialect/IngotOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "compiler/dialect/IngotAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "compiler/dialect/IngotTypes.cpp.inc"
      >();
}

LogicalResult KVCacheType::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t kvHeads, int64_t keyDim,
                                  int64_t valueDim) {
  if (kvHeads <= 0)
    return emitError() << "kv_cache needs at least one KV head, got "
                       << kvHeads;
  if (keyDim <= 0)
    return emitError() << "kv_cache key_dim must be positive, got " << keyDim;
  if (valueDim < 0)
    return emitError() << "kv_cache value_dim must not be negative, got "
                       << valueDim;
  // 32-bit quantities, as the attention ops' (the planner multiplies them).
  if (kvHeads > INT32_MAX || keyDim > INT32_MAX || valueDim > INT32_MAX)
    return emitError() << "kv_cache dimensions must be at most " << INT32_MAX;
  return success();
}
