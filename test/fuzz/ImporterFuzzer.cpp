//===- ImporterFuzzer.cpp - libFuzzer entry for the model importer --------===//
//
// Parses arbitrary bytes as a GGUF header and, when they parse, imports them as
// a model: every metadata check of the importer and the tokenizer import runs,
// and a module that imports is verified (the op verifiers, with the op
// library's bounds). No tensor data is read, so a run stays cheap; any
// crash, sanitizer report, unbounded allocation or module the importer
// accepts but the verifiers reject is a bug.
//
//===----------------------------------------------------------------------===//
#include "compiler/gguf/GGUFFile.h"
#include "compiler/import/ModelImporter.h"
#include "compiler/import/TokenizerImport.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz");
  // Seeds are model headers without their tensor data: the importer reads
  // only metadata and tensor infos.
  auto file = ingot::gguf::GGUFFile::parse(
      std::move(buffer), "fuzz.gguf",
      ingot::gguf::GGUFFile::DataCheck::HeaderOnly);
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  if (llvm::Error e = ingot::checkTokenizerMetadata(**file))
    llvm::consumeError(std::move(e));

  // A context per input keeps one input's types and diagnostics from the
  // next; threading is off so that a run stays on the fuzzer's thread.
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  std::string diagnostic;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    if (diagnostic.empty())
      diagnostic = d.str();
    return mlir::success();
  });
  auto module = ingot::importModel(context, **file);
  if (!module) {
    llvm::consumeError(module.takeError());
    return 0;
  }
  // The importer checked the hyper-parameters; whatever it builds from
  // them must verify. Anything else would reach the planner unchecked.
  if (mlir::failed(mlir::verify(**module))) {
    llvm::errs() << "imported module fails verification: " << diagnostic
                 << "\n";
    std::abort();
  }
  return 0;
}
