//===- CompileCommand.cpp - `ingot compile` -------------------------------===//
//
// `ingot compile MODEL.gguf --emit=ir` prints the imported module, which
// round-trips through ingot-opt unchanged.
//
//===----------------------------------------------------------------------===//
#include "compiler/driver/Command.h"
#include "compiler/driver/ModelLoading.h"

#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace llvm;

namespace {

cl::SubCommand compileCommand("compile",
                              "Compile a GGUF model for a target machine");
cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                               cl::desc("<model.gguf>"),
                               cl::sub(compileCommand));
enum class EmitKind { IR };
cl::opt<EmitKind> emit("emit", cl::desc("What to produce"),
                       cl::values(clEnumValN(EmitKind::IR, "ir",
                                             "the imported ingot module")),
                       cl::Required, cl::sub(compileCommand));
cl::opt<std::string> outputPath("o", cl::desc("Output file (default stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::sub(compileCommand));

int runCompile() {
  auto file = ingot::gguf::GGUFFile::open(modelPath);
  if (!file)
    return ingot::driver::reportError(file.takeError());
  mlir::MLIRContext context;
  auto module = ingot::driver::loadModule(context, **file, "");
  if (!module)
    return ingot::driver::reportError(module.takeError());
  std::error_code ec;
  ToolOutputFile out(outputPath, ec, sys::fs::OF_Text);
  if (ec)
    return ingot::driver::reportError(outputPath + ": " + ec.message());
  (**module)->print(out.os());
  out.os() << "\n";
  out.keep();
  return 0;
}

ingot::driver::RegisterCommand registration(compileCommand, runCompile);

} // namespace
