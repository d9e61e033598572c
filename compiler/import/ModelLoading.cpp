//===- ModelLoading.cpp - Import a GGUF file or read ingot IR -------------===//
#include "compiler/import/ModelLoading.h"

#include "compiler/import/ModelImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

namespace ingot {

llvm::Expected<OwningOpRef<ModuleOp>> loadModule(MLIRContext &context,
                                                 const gguf::GGUFFile &file,
                                                 llvm::StringRef irPath) {
  registerImportDialects(context);
  OwningOpRef<ModuleOp> module;
  std::string diagnostics;
  {
    // Collect diagnostics into one line for the error message.
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      if (diagnostics.empty()) {
        llvm::raw_string_ostream os(diagnostics);
        diag.getLocation().print(os);
        os << ": " << diag.str();
      }
      return success();
    });
    if (irPath.empty()) {
      auto imported = importModel(context, file);
      if (!imported)
        return imported.takeError();
      module = std::move(*imported);
    } else {
      module = parseSourceFile<ModuleOp>(irPath, &context);
      if (!module)
        return llvm::createStringError(
            llvm::inconvertibleErrorCode(), "%s",
            diagnostics.empty() ? ("cannot read " + irPath).str().c_str()
                                : diagnostics.c_str());
    }
    if (failed(verify(*module)))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "invalid module: %s", diagnostics.c_str());
  }
  return std::move(module);
}

} // namespace ingot
