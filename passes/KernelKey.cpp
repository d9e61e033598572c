//===- KernelKey.cpp - Names of generated kernels -------------------------===//
//
// A kernel's symbol encodes what it computes, e.g.
// ingot_k_mm_q8_0_768x256_avx512vnni: a matmul of a Q8_0 weight with 768
// output rows and 256 input columns for AVX-512 VNNI. The lowering emits
// calls by name and the kernel emitter parses the names back.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

using namespace ingot;

static const char *typeToken(int32_t t) {
  switch (t) {
  case 0: return "f32";
  case 1: return "f16";
  case 2: return "q4_0";
  case 8: return "q8_0";
  default: return "unknown";
  }
}

std::string KernelKey::symbol() const {
  return llvm::formatv("ingot_k_{0}_{1}_{2}x{3}_{4}",
                       kind == Matmul ? "mm" : "ex", typeToken(ggmlType), rows,
                       cols, isa)
      .str();
}

std::optional<KernelKey> KernelKey::parse(llvm::StringRef symbol) {
  llvm::SmallVector<llvm::StringRef> parts;
  symbol.split(parts, '_');
  // ingot k KIND TYPE... RxC ISA; the type may contain one '_' (q8_0).
  if (parts.size() < 6 || parts[0] != "ingot" || parts[1] != "k")
    return std::nullopt;
  KernelKey key;
  key.kind = parts[2] == "mm" ? Matmul : Expert;
  std::string type = parts[3].str();
  size_t next = 4;
  if (type == "q8" || type == "q4")
    type += "_" + parts[next++].str();
  if (type == "f32") key.ggmlType = 0;
  else if (type == "f16") key.ggmlType = 1;
  else if (type == "q4_0") key.ggmlType = 2;
  else if (type == "q8_0") key.ggmlType = 8;
  else return std::nullopt;
  if (next + 2 != parts.size())
    return std::nullopt;
  auto [r, c] = parts[next].split('x');
  if (!llvm::to_integer(r, key.rows) || !llvm::to_integer(c, key.cols))
    return std::nullopt;
  key.isa = parts[next + 1].str();
  return key;
}
