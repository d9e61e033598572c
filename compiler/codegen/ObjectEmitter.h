//===- ObjectEmitter.h - Lowered module -> object file ----------*- C++ -*-===//
//
// The last stages before linking: the lowered module (LLVM dialect) becomes
// LLVM IR, the op library bitcode is linked in, `ingot_model_info` is added,
// everything is optimized for the target's CPU and features, the generated
// kernels are added as functions (their bytes, with a disassembly listing in
// comments), and the result is printed as LLVM IR or assembly, or written as
// an ELF object, all in-process with LLVM's TargetMachine.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_CODEGEN_OBJECTEMITTER_H
#define INGOT_CODEGEN_OBJECTEMITTER_H

#include "compiler/codegen/StepTraffic.h"
#include "ingot/ModelABI.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <array>
#include <string>
#include <vector>

namespace ingot::codegen {

enum class EmitKind { LLVM, Assembly, Object };

/// What `ingot_model_info` says about the model (ModelABI.h).
struct ModelInfo {
  std::string architecture, modelName, targetName, targetCpu;
  std::string requiredFeatures; ///< runtime spelling, comma-separated
  std::string kernelList, memoryPlan;
  int64_t vocabSize = 0, layers = 0, maxContext = 0, maxBatch = 0;
  int64_t arenaBytes = 0, weightBytes = 0;
  /// KV cache bytes per position for each key type (IngotKVKeyType order;
  /// 0: not storable).
  std::array<int64_t, INGOT_KV_KEY_TYPES> kvBytesPerPosition{};
  int64_t bosTokenId = -1, eosTokenId = -1;
  /// Serialized runtime tokenizer (empty: the model has none) and the chat
  /// template text (empty: none).
  std::string tokenizerData, chatTemplate;
  /// The target's decode and prefill thread counts (0: all CPUs).
  int32_t decodeThreads = 0, prefillThreads = 0;
  /// The target's topology and warm-up rounds (MachinePlan.h).
  std::string machinePlan;
  /// One token's bytes and multiply-adds from the plan.
  StepTraffic step;
  /// The target's measured figures (0 / "": not measured); ModelABI.h.
  double targetReadGBps = 0, targetInt8PeakGops = 0;
  int64_t targetInt8PeakThreads = 0;
  std::string targetReadPoints;
};

struct TargetOptions {
  std::string cpu;                       ///< LLVM cpu name
  std::vector<std::string> llvmFeatures; ///< "+avx512vnni", ...
  /// L1 data cache per core in bytes (0: unknown, the generators' default);
  /// sizes the kernels' software prefetch distance.
  int64_t l1dBytes = 0;
};

struct KernelStats {
  std::string name;
  uint64_t bytes;
};

/// Emits `lowered` (after ingot-lower-to-llvm). The #ingot.kernel
/// attributes in the module's `ingot.kernels` are generated here. `kernels`
/// receives their names and sizes.
llvm::Error emitModel(mlir::ModuleOp lowered, const TargetOptions &target,
                      const ModelInfo &info, EmitKind kind,
                      llvm::raw_pwrite_stream &os,
                      std::vector<KernelStats> *kernels = nullptr);

} // namespace ingot::codegen

#endif // INGOT_CODEGEN_OBJECTEMITTER_H
