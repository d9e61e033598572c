//===- PlanForTarget.h - Plan an imported model for a target ----*- C++ -*-===//
//
// The steps `ingot compile` and `ingot plan` share: read the target, choose
// its kernel ISA, run the planning passes (weights, fusion, memory, kernel
// selection), describe the planned model and check that it fits the
// target's RAM. None of them reads tensor data: a header-only GGUF plans as
// the whole model does.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_CODEGEN_PLANFORTARGET_H
#define INGOT_CODEGEN_PLANFORTARGET_H

#include "compiler/codegen/ObjectEmitter.h"
#include "compiler/dialect/IngotDialect.h"
#include "compiler/gguf/GGUFFile.h"
#include "compiler/target/TargetDescription.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace ingot::codegen {

/// The share of the target's RAM the weights, activations and KV cache may
/// take; the rest is left to the system (page tables, the page cache, the
/// program itself, other processes).
constexpr double kUsableRamFraction = 0.9;

/// The target description file, or the detected host ("host"); validated.
llvm::Expected<target::TargetDescription> readTarget(llvm::StringRef path);

/// The kernel ISA the target supports best (its YAML `isa` names the
/// architecture, x86_64; this is chosen from its features): AVX-512 VNNI,
/// else AVX-VNNI (Alder Lake and later client cores, Sierra Forest: VEX
/// vpdpbusd on ymm), else AVX2.
llvm::Expected<KernelISA> chooseIsa(const target::TargetDescription &t);

/// Whether Q8_0 / Q4_0 matmuls may take the AMX prefill kernel: asked for,
/// the target has AMX-int8 and the module does not keep ggml's order.
bool useAmx(bool requested, KernelISA isa, const target::TargetDescription &t,
            mlir::ModuleOp module);

/// Keeps the first diagnostic the passes and the emitter report, for the
/// one-line error message.
class FirstDiagnostic {
public:
  explicit FirstDiagnostic(mlir::MLIRContext &context)
      : handler(&context, [this](mlir::Diagnostic &d) {
          if (text.empty())
            text = d.str();
          return mlir::success();
        }) {}
  const std::string &str() const { return text; }

private:
  std::string text;
  mlir::ScopedDiagnosticHandler handler;
};

/// The planning passes: plans weights, fuses matmuls with their neighbours,
/// plans memory, selects the kernels. Every decision lands in `module` as
/// attributes.
llvm::Error runPlanPasses(mlir::ModuleOp module, KernelISA isa, bool amx,
                          int64_t maxBatch, const FirstDiagnostic &diagnostics);

/// What ingot_model_info says, from the file, the target and the module's
/// plan attributes (`module`: lowered or only planned; `planned`: after
/// planning). The tokenizer and chat template are added by the compile.
ModelInfo describeModel(mlir::ModuleOp module, mlir::ModuleOp planned,
                        const gguf::GGUFFile &file,
                        const target::TargetDescription &target,
                        llvm::StringRef modelPath);

/// The target's RAM and how many positions of KV cache fit in it.
struct MemoryFit {
  double ramBytes = 0; ///< 0: unknown, nothing checked
  int64_t contextFits = 0;
};

/// The weights, the arena and the KV cache must fit kUsableRamFraction of
/// the target's RAM; says how much context does (at most the model's).
llvm::Expected<MemoryFit> checkMemoryFits(const ModelInfo &info,
                                          const target::TargetDescription &t,
                                          llvm::StringRef modelPath);

} // namespace ingot::codegen

#endif // INGOT_CODEGEN_PLANFORTARGET_H
