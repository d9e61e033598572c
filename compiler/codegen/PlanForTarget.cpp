//===- PlanForTarget.cpp - Plan an imported model for a target ------------===//
#include "compiler/codegen/PlanForTarget.h"

#include "compiler/codegen/EmittedMachinePlan.h"
#include "compiler/import/TokenizerImport.h"
#include "passes/Passes.h"
#include "runtime/core/HumanBytes.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <algorithm>

using namespace llvm;
using ingot::gguf::GGUFFile;
using ingot::rt::humanBytes;
using ingot::target::TargetDescription;

namespace ingot::codegen {
namespace {

/// The target's measured read bandwidth and int8 peak, for `bench` to
/// compare against; left 0 when the description has none (an example SKU
/// file, or `--target host`, which does not measure).
void describeMeasurements(const TargetDescription &target, ModelInfo &info) {
  info.targetReadGBps = target.memory.measuredReadGBps.value_or(0);
  for (const target::BandwidthPoint &p : target.memory.measured)
    info.targetReadPoints +=
        formatv("{0}{1}:{2:f1}", info.targetReadPoints.empty() ? "" : ",",
                p.threads, p.readGBps);
  if (target.probe && target.probe->int8PeakGops) {
    info.targetInt8PeakGops = *target.probe->int8PeakGops;
    info.targetInt8PeakThreads = target.probe->int8Threads.value_or(0);
  }
}

} // namespace

Expected<TargetDescription> readTarget(StringRef targetPath) {
  auto target = targetPath == "host"
                    ? target::detectHost(/*measureMemory=*/false)
                    : target::readTargetDescriptionFile(targetPath);
  if (!target)
    return target.takeError();
  if (Error e = target::validateTargetDescription(*target))
    return std::move(e);
  return target;
}

Expected<KernelISA> chooseIsa(const TargetDescription &t) {
  if (t.hasFeature("avx512_vnni") && t.hasFeature("avx512bw") &&
      t.hasFeature("avx512vl") && t.hasFeature("avx512f"))
    return KernelISA::AVX512VNNI;
  if (t.hasFeature("avx2") && t.hasFeature("fma") && t.hasFeature("f16c"))
    return t.hasFeature("avx_vnni") ? KernelISA::AVXVNNI : KernelISA::AVX2;
  return createStringError(inconvertibleErrorCode(),
                           "target '%s' has neither AVX-512 VNNI nor "
                           "AVX2+FMA+F16C: no kernel generator for it",
                           t.name.c_str());
}

bool useAmx(bool requested, KernelISA isa, const TargetDescription &t,
            mlir::ModuleOp module) {
  // The runtime requests the tile data state at start: the target's
  // features, which amx_int8 is one of, are the binary's required features.
  // The AMX kernel sums by block, so a module that keeps ggml's order
  // (keepsGgmlOrder) does without it.
  return requested && isa == KernelISA::AVX512VNNI &&
         t.hasFeature("amx_int8") && t.hasFeature("amx_tile") &&
         !keepsGgmlOrder(module);
}

Error runPlanPasses(mlir::ModuleOp module, KernelISA isa, bool amx,
                    int64_t maxBatch, const FirstDiagnostic &diagnostics) {
  mlir::PassManager plan(module.getContext());
  plan.addPass(createIngotPlanWeights({stringifyKernelISA(isa).str()}));
  // Fusion groups matmuls by the ISA and granule their weights are packed
  // for, so it follows weight planning; memory is planned for the fused ops.
  plan.addPass(createIngotFuseRouter());
  plan.addPass(createIngotFuseSiblingMatmuls());
  plan.addPass(createIngotFuseEpilogues());
  plan.addPass(createIngotFuseNormPrologue());
  plan.addPass(createIngotPlanMemory({maxBatch}));
  plan.addPass(createIngotSelectKernels({amx}));
  if (mlir::failed(plan.run(module)))
    return createStringError("planning failed: " + diagnostics.str());
  return Error::success();
}

ModelInfo describeModel(mlir::ModuleOp module, mlir::ModuleOp planned,
                        const GGUFFile &file, const TargetDescription &target,
                        StringRef modelPath) {
  ModelInfo info;
  IngotDialect &dialect =
      *module.getContext()->getOrLoadDialect<IngotDialect>();
  auto moduleInt = [&](mlir::IntegerAttr a) -> int64_t {
    return a ? a.getInt() : 0;
  };
  auto modelDict = module->getAttrOfType<mlir::DictionaryAttr>("ingot.model");
  auto modelInt = [&](StringRef key) -> int64_t {
    auto a = modelDict ? modelDict.getAs<mlir::IntegerAttr>(key) : nullptr;
    return a ? a.getInt() : 0;
  };
  info.architecture = file.getArchitecture().str();
  info.modelName =
      file.getString("general.name").value_or(sys::path::stem(modelPath)).str();
  info.targetName = target.name;
  info.targetCpu = target.cpu;
  info.decodeThreads = static_cast<int32_t>(target.decodeThreads());
  info.prefillThreads = static_cast<int32_t>(target.prefillThreads());
  for (const std::string &f : target.llvmFeatureList())
    if (StringRef(f).starts_with("+"))
      info.requiredFeatures +=
          (info.requiredFeatures.empty() ? "" : ",") + f.substr(1);
  info.vocabSize = modelInt("vocab_size");
  info.layers = modelInt("block_count");
  info.maxContext = modelInt("context_length");
  info.maxBatch = moduleInt(dialect.getMaxBatchAttrHelper().getAttr(module));
  info.arenaBytes =
      moduleInt(dialect.getArenaBytesAttrHelper().getAttr(module));
  if (auto kvBytes = dialect.getKvBytesPerPositionAttrHelper().getAttr(module);
      kvBytes && kvBytes.size() == INGOT_KV_KEY_TYPES)
    llvm::copy(kvBytes.asArrayRef(), info.kvBytesPerPosition.begin());
  info.weightBytes =
      moduleInt(dialect.getPayloadBytesAttrHelper().getAttr(module));
  info.bosTokenId =
      specialTokenId(file, "tokenizer.ggml.bos_token_id").value_or(-1);
  info.eosTokenId =
      specialTokenId(file, "tokenizer.ggml.eos_token_id").value_or(-1);
  info.memoryPlan =
      formatv("arena {0} bytes for {1} tokens per step; KV cache {2} bytes per "
              "position over {3} layers (F32 keys; F16 keys {4}, Q8_0 keys "
              "{5}); weights {6} bytes",
              info.arenaBytes, info.maxBatch,
              info.kvBytesPerPosition[INGOT_KV_KEY_F32], info.layers,
              info.kvBytesPerPosition[INGOT_KV_KEY_F16],
              info.kvBytesPerPosition[INGOT_KV_KEY_Q8_0]
                  ? std::to_string(info.kvBytesPerPosition[INGOT_KV_KEY_Q8_0])
                  : std::string("not storable"),
              info.weightBytes)
          .str();
  if (auto chosen = dialect.getKernelsAttrHelper().getAttr(module))
    for (auto k : chosen.getAsRange<KernelAttr>())
      info.kernelList += k.getSymbol() + "\n";
  info.step = computeStepTraffic(planned, info.vocabSize);
  describeMeasurements(target, info);
  info.machinePlan =
      machinePlanText(target, plannedWarmupRounds(info.step, info.maxBatch));
  return info;
}

/// The weights, the arena and the KV cache must fit the target's RAM
/// (leaving a tenth for the system); says how much context does.
Expected<MemoryFit> checkMemoryFits(const ModelInfo &info,
                                    const TargetDescription &target,
                                    StringRef modelPath) {
  MemoryFit fit;
  fit.ramBytes = target.memory.capacityGiB * double(1ull << 30);
  double fixedBytes = double(info.weightBytes) + double(info.arenaBytes);
  double usable = kUsableRamFraction * fit.ramBytes - fixedBytes;
  if (fit.ramBytes > 0 && usable <= 0)
    return createStringError(formatv(
        "{0} does not fit {1}: {2} of weights and {3} of activations, {4} of "
        "RAM (90% usable)",
        sys::path::filename(modelPath), target.name,
        humanBytes(info.weightBytes), humanBytes(info.arenaBytes),
        humanBytes(fit.ramBytes)));
  // In double (sizes are exact int64 values from the plan, their sum may
  // not be), and clamped before converting back: no overflow can make a
  // model look as if it fits.
  fit.contextFits = info.maxContext;
  // Planned with F32 keys, the runtime's default.
  const int64_t kvBytes = info.kvBytesPerPosition[INGOT_KV_KEY_F32];
  if (kvBytes > 0)
    fit.contextFits = static_cast<int64_t>(
        std::clamp(usable / double(kvBytes), 0.0, double(info.maxContext)));
  if (fit.ramBytes > 0 && fit.contextFits < 1)
    return createStringError(formatv(
        "{0} does not fit {1}: after {2} of weights and {3} of activations, "
        "not one position of KV cache ({4} bytes) fits in {5} of RAM (90% "
        "usable)",
        sys::path::filename(modelPath), target.name,
        humanBytes(info.weightBytes), humanBytes(info.arenaBytes), kvBytes,
        humanBytes(fit.ramBytes)));
  return fit;
}

} // namespace ingot::codegen
