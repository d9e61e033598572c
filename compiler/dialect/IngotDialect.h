//===- IngotDialect.h - The ingot dialect -----------------------*- C++ -*-===//
#ifndef INGOT_DIALECT_INGOTDIALECT_H
#define INGOT_DIALECT_INGOTDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "compiler/dialect/IngotDialect.h.inc"
#include "compiler/dialect/IngotEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "compiler/dialect/IngotAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "compiler/dialect/IngotTypes.h.inc"

#define GET_OP_CLASSES
#include "compiler/dialect/IngotOps.h.inc"

#endif // INGOT_DIALECT_INGOTDIALECT_H
