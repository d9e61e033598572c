//===- CompileCommand.cpp - `ingot compile` -------------------------------===//
//
// ingot compile MODEL.gguf --target FILE.yaml|host -o OUT
//   [--emit=ir|llvm|asm|obj|exe] [--max-batch N]
//
// Import, plan weights and memory for the target, lower, generate kernels,
// emit the object, link it with the runtime into one static executable and
// append the repacked weights.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/Executable.h"
#include "compiler/codegen/ObjectEmitter.h"
#include "compiler/codegen/OutputFile.h"
#include "compiler/driver/Command.h"
#include "compiler/driver/InputFiles.h"
#include "compiler/dialect/IngotDialect.h"
#include "compiler/driver/ModelLoading.h"
#include "compiler/import/TokenizerImport.h"
#include "runtime/chat/ChatTemplate.h"
#include "runtime/tokenizer/Tokenizer.h"
#include "compiler/target/TargetDescription.h"
#include "passes/Passes.h"

#include "mlir/IR/OperationSupport.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

#include <algorithm>
#include <chrono>

using namespace llvm;

namespace {

cl::SubCommand compileCommand("compile",
                              "Compile a GGUF model for a target machine");
cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                               cl::desc("<model.gguf>"),
                               cl::sub(compileCommand));
enum class EmitKind { IR, LLVM, Asm, Obj, Exe };
cl::opt<EmitKind> emit(
    "emit", cl::desc("What to produce (default: the executable)"),
    cl::values(clEnumValN(EmitKind::IR, "ir", "the imported ingot module"),
               clEnumValN(EmitKind::LLVM, "llvm", "optimized LLVM IR"),
               clEnumValN(EmitKind::Asm, "asm", "target assembly"),
               clEnumValN(EmitKind::Obj, "obj", "the model object file"),
               clEnumValN(EmitKind::Exe, "exe", "the static executable")),
    cl::init(EmitKind::Exe), cl::sub(compileCommand));
cl::opt<std::string> targetPath(
    "target", cl::desc("Target description (YAML) or `host`"),
    cl::init("host"), cl::sub(compileCommand));
cl::opt<std::string> outputPath("o", cl::desc("Output file"),
                                cl::value_desc("file"),
                                cl::sub(compileCommand));
cl::opt<std::string> chatTemplateFile(
    "chat-template-file",
    cl::desc("Chat template to embed instead of the model's"),
    cl::value_desc("file.jinja"), cl::sub(compileCommand));
cl::opt<int64_t> maxBatch("max-batch",
                          cl::desc("Most tokens per forward call (prefill "
                                   "chunk)"),
                          cl::init(64), cl::sub(compileCommand));

/// A one-line progress bar on stderr, shown only on a terminal.
class Progress {
public:
  explicit Progress(StringRef label)
      : label(label.str()), start(std::chrono::steady_clock::now()),
        enabled(sys::Process::StandardErrIsDisplayed()) {}
  void update(uint64_t done, uint64_t total) {
    if (!enabled || total == 0)
      return;
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    double fraction = double(done) / double(total);
    double eta = fraction > 0 ? seconds * (1 - fraction) / fraction : 0;
    int filled = int(fraction * 30);
    errs() << "\r" << label << " [" << std::string(filled, '#')
           << std::string(30 - filled, '.') << "] "
           << format("%.1f/%.1f MB, ETA %.0f s  ", done / 1e6, total / 1e6,
                     eta);
    if (done == total)
      errs() << "\n";
  }

private:
  std::string label;
  std::chrono::steady_clock::time_point start;
  bool enabled;
};

/// The kernel ISA the target supports best (its YAML `isa` names the
/// architecture, x86_64; this is chosen from its features).
Expected<ingot::KernelISA>
chooseIsa(const ingot::target::TargetDescription &t) {
  if (t.hasFeature("avx512_vnni") && t.hasFeature("avx512bw") &&
      t.hasFeature("avx512vl") && t.hasFeature("avx512f"))
    return ingot::KernelISA::AVX512VNNI;
  if (t.hasFeature("avx2") && t.hasFeature("fma") && t.hasFeature("f16c"))
    return ingot::KernelISA::AVX2;
  return createStringError(inconvertibleErrorCode(),
                           "target '%s' has neither AVX-512 VNNI nor "
                           "AVX2+FMA+F16C: no kernel generator for it",
                           t.name.c_str());
}

int runCompile() {
  using ingot::driver::reportError;
  // An empty -o would otherwise silently mean the default name.
  if (outputPath.getNumOccurrences() && outputPath.empty())
    return reportError("-o: empty path");
  // Tokens of one step take distinct 32-bit positions.
  if (maxBatch < 1 || maxBatch > INT32_MAX)
    return reportError(formatv("--max-batch {0}: must be between 1 and {1}",
                               maxBatch.getValue(), INT32_MAX)
                           .str());
  auto file = ingot::gguf::GGUFFile::open(modelPath);
  if (!file)
    return reportError(file.takeError());
  mlir::MLIRContext context;
  auto loaded = ingot::driver::loadModule(context, **file, "");
  if (!loaded)
    return reportError(loaded.takeError());
  mlir::ModuleOp module = **loaded;
  std::string out = outputPath;
  if (out.empty())
    out = emit == EmitKind::Exe ? sys::path::stem(modelPath).str() : "-";
  // Writing over an input would destroy it (the model while it is still
  // being read from its mapping).
  std::vector<std::string> inputs{modelPath, chatTemplateFile};
  if (targetPath != "host")
    inputs.push_back(targetPath);
  if (Error e = ingot::codegen::checkOutputIsNotInput(out, inputs))
    return reportError(std::move(e));
  if (Error e = ingot::codegen::checkOutputPath(out))
    return reportError(std::move(e));

  // Text and object outputs: written whole into a temporary next to `out`,
  // renamed over it only on success ("-": stdout).
  auto writeOutput = [&](function_ref<Error(raw_pwrite_stream &)> write,
                         bool text) -> Error {
    if (out == "-") {
      std::error_code ec;
      raw_fd_ostream os("-", ec, text ? sys::fs::OF_Text : sys::fs::OF_None);
      if (ec)
        return createStringError(ec, "-: %s", ec.message().c_str());
      ingot::codegen::StreamErrorGuard guard(os);
      if (Error e = write(os))
        return e;
      os.flush();
      if (os.has_error())
        return createStringError(os.error(), "-: write failed: %s",
                                 os.error().message().c_str());
      return Error::success();
    }
    auto temporary = ingot::codegen::createOutputTemporary(out);
    if (!temporary)
      return temporary.takeError();
    {
      std::error_code ec;
      raw_fd_ostream os(temporary->path(), ec,
                        text ? sys::fs::OF_Text : sys::fs::OF_None);
      if (ec)
        return createStringError(ec, "%s: %s", out.c_str(),
                                 ec.message().c_str());
      ingot::codegen::StreamErrorGuard guard(os);
      if (Error e = write(os))
        return e;
      if (Error e = guard.close(out))
        return e;
    }
    return temporary->commit(ingot::codegen::resolveOutputPath(out));
  };

  if (emit == EmitKind::IR) {
    if (Error e = writeOutput(
            [&](raw_pwrite_stream &os) {
              module->print(os);
              os << "\n";
              return Error::success();
            },
            /*text=*/true))
      return reportError(std::move(e));
    return 0;
  }

  // The target machine.
  auto target = targetPath == "host"
                    ? ingot::target::detectHost(/*measureMemory=*/false)
                    : ingot::target::readTargetDescriptionFile(targetPath);
  if (!target)
    return reportError(target.takeError());
  if (Error e = ingot::target::validateTargetDescription(*target))
    return reportError(std::move(e));
  auto isa = chooseIsa(*target);
  if (!isa)
    return reportError(isa.takeError());

  // Plan and lower.
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    if (diagnostics.empty())
      diagnostics = d.str();
    return mlir::success();
  });
  {
    mlir::PassManager pm(&context);
    pm.addPass(ingot::createIngotPlanWeights(
        {ingot::stringifyKernelISA(*isa).str()}));
    pm.addPass(ingot::createIngotPlanMemory({maxBatch}));
    pm.addPass(ingot::createIngotSelectKernels());
    if (mlir::failed(pm.run(module)))
      return reportError("planning failed: " + diagnostics);
  }
  mlir::OwningOpRef<mlir::ModuleOp> planned(module.clone());
  {
    mlir::PassManager pm(&context);
    pm.addPass(ingot::createIngotLowerToLLVM());
    if (mlir::failed(pm.run(module)))
      return reportError("lowering failed: " + diagnostics);
  }

  // What ingot_model_info says.
  ingot::codegen::ModelInfo info;
  ingot::IngotDialect &dialect =
      *context.getOrLoadDialect<ingot::IngotDialect>();
  auto intAttr = [&](mlir::IntegerAttr a) -> int64_t {
    return a ? a.getInt() : 0;
  };
  auto modelDict = module->getAttrOfType<mlir::DictionaryAttr>("ingot.model");
  auto dictInt = [&](StringRef key) -> int64_t {
    auto a = modelDict ? modelDict.getAs<mlir::IntegerAttr>(key) : nullptr;
    return a ? a.getInt() : 0;
  };
  info.architecture = (*file)->getArchitecture().str();
  info.modelName = (*file)->getString("general.name").value_or(
      sys::path::stem(modelPath)).str();
  info.targetName = target->name;
  info.targetCpu = target->cpu;
  info.decodeThreads = static_cast<int32_t>(target->decodeThreads());
  info.prefillThreads = static_cast<int32_t>(target->prefillThreads());
  std::vector<std::string> llvmFeatures = target->llvmFeatureList();
  for (const std::string &f : llvmFeatures)
    if (StringRef(f).starts_with("+"))
      info.requiredFeatures +=
          (info.requiredFeatures.empty() ? "" : ",") + f.substr(1);
  info.vocabSize = dictInt("vocab_size");
  info.layers = dictInt("block_count");
  info.maxContext = dictInt("context_length");
  info.maxBatch = intAttr(dialect.getMaxBatchAttrHelper().getAttr(module));
  info.arenaBytes = intAttr(dialect.getArenaBytesAttrHelper().getAttr(module));
  info.kvBytesPerPosition =
      intAttr(dialect.getKvBytesPerPositionAttrHelper().getAttr(module));
  info.weightBytes =
      intAttr(dialect.getPayloadBytesAttrHelper().getAttr(module));
  info.bosTokenId =
      ingot::specialTokenId(**file, "tokenizer.ggml.bos_token_id").value_or(-1);
  info.eosTokenId =
      ingot::specialTokenId(**file, "tokenizer.ggml.eos_token_id").value_or(-1);
  // The tokenizer and chat template the binary's text interface uses.
  if ((*file)->lookup("tokenizer.ggml.model")) {
    auto tokenizerData = ingot::readTokenizerData(**file);
    if (!tokenizerData)
      return reportError(tokenizerData.takeError());
    info.tokenizerData = tokenizerData->serialize();
    // A tokenizer the runtime cannot build fails every text prompt: build
    // it now from the embedded form, as the binary and `ingot tokenize` do.
    ingot::tokenizer::TokenizerData loaded;
    std::string error;
    if (!ingot::tokenizer::TokenizerData::deserialize(
            info.tokenizerData.data(), info.tokenizerData.size(), loaded,
            error))
      return reportError(modelPath + ": " + error);
    if (!ingot::tokenizer::Tokenizer::create(loaded, error))
      return reportError(modelPath + ": " + error);
  }
  if (!chatTemplateFile.empty()) {
    auto text = ingot::driver::readBoundedFile(
        chatTemplateFile, ingot::driver::kMaxTemplateFileBytes,
        "chat template");
    if (!text)
      return reportError(text.takeError());
    info.chatTemplate = std::move(*text);
  } else if (auto text = (*file)->getString("tokenizer.chat_template")) {
    info.chatTemplate = text->str();
  }
  // A template feature the runtime's interpreter lacks is an error now, not
  // wrong text later: parse it and render a short conversation.
  if (!info.chatTemplate.empty()) {
    // Errors name where the template came from.
    std::string source =
        chatTemplateFile.empty()
            ? "chat template (tokenizer.chat_template in " + modelPath + ")"
            : "chat template " + chatTemplateFile;
    ingot::chat::ChatTemplate chatTemplate;
    std::string error;
    if (!chatTemplate.load(info.chatTemplate, error))
      return reportError(source + ": " + error);
    auto token = [&](StringRef key) -> std::string {
      auto id = ingot::specialTokenId(**file, key);
      const ingot::gguf::Value *tokens = (*file)->lookup("tokenizer.ggml.tokens");
      if (!id || !tokens ||
          static_cast<uint64_t>(*id) >= tokens->strings().size())
        return "";
      return tokens->strings()[*id].str();
    };
    chatTemplate.setSpecialTokens(token("tokenizer.ggml.bos_token_id"),
                                  token("tokenizer.ggml.eos_token_id"));
    auto trial = chatTemplate.render(
        {{"user", "Hello"}, {"assistant", "Hi."}, {"user", "Why?"}},
        /*addGenerationPrompt=*/true);
    if (!trial.ok)
      return reportError(source + ": cannot render a plain conversation: " +
                         trial.error);
  }
  info.memoryPlan =
      formatv("arena {0} bytes for {1} tokens per step; KV cache {2} bytes per "
              "position over {3} layers; weights {4} bytes",
              info.arenaBytes, info.maxBatch, info.kvBytesPerPosition,
              info.layers, info.weightBytes)
          .str();
  if (auto chosen = dialect.getKernelsAttrHelper().getAttr(module))
    for (auto k : chosen.getAsRange<ingot::KernelAttr>())
      info.kernelList += k.getSymbol() + "\n";

  // Memory: the weights, the arena and the KV cache must fit the target's
  // RAM (leaving a tenth for the system); say how much context does.
  double ramBytes = target->memory.capacityGiB * double(1ull << 30);
  double fixedBytes = double(info.weightBytes) + double(info.arenaBytes);
  double usable = 0.9 * ramBytes - fixedBytes;
  if (ramBytes > 0 && usable <= 0)
    return reportError(formatv(
        "{0} does not fit {1}: {2} of weights and {3} of activations, {4} of "
        "RAM (90% usable)",
        sys::path::filename(modelPath), target->name,
        ingot::driver::humanBytes(info.weightBytes), ingot::driver::humanBytes(info.arenaBytes),
        ingot::driver::humanBytes(ramBytes)));
  // In double (sizes are exact int64 values from the plan, their sum may
  // not be), and clamped before converting back: no overflow can make a
  // model look as if it fits.
  int64_t contextFits = info.maxContext;
  if (info.kvBytesPerPosition > 0)
    contextFits = static_cast<int64_t>(std::clamp(
        usable / double(info.kvBytesPerPosition), 0.0,
        double(info.maxContext)));
  if (ramBytes > 0 && contextFits < 1)
    return reportError(formatv(
        "{0} does not fit {1}: after {2} of weights and {3} of activations, "
        "not one position of KV cache ({4} bytes) fits in {5} of RAM (90% "
        "usable)",
        sys::path::filename(modelPath), target->name,
        ingot::driver::humanBytes(info.weightBytes), ingot::driver::humanBytes(info.arenaBytes),
        info.kvBytesPerPosition, ingot::driver::humanBytes(ramBytes)));
  ingot::codegen::TargetOptions codegenTarget{target->cpu, llvmFeatures};
  std::vector<ingot::codegen::KernelStats> kernels;
  auto emitTo = [&](raw_pwrite_stream &os, ingot::codegen::EmitKind kind) {
    return ingot::codegen::emitModel(module, codegenTarget, info, kind, os,
                                     &kernels);
  };
  if (emit != EmitKind::Exe) {
    auto kind = emit == EmitKind::LLVM  ? ingot::codegen::EmitKind::LLVM
                : emit == EmitKind::Asm ? ingot::codegen::EmitKind::Assembly
                                        : ingot::codegen::EmitKind::Object;
    if (Error e = writeOutput(
            [&](raw_pwrite_stream &os) { return emitTo(os, kind); },
            /*text=*/emit != EmitKind::Obj))
      return reportError(std::move(e));
    return 0;
  }

  // The executable: object -> link -> payload, all into a temporary next
  // to `out` that replaces it only when complete. Both temporaries go away
  // on every error path and on a fatal signal.
  if (out == "-")
    return reportError("-o -: the executable cannot be written to stdout");
  auto objectFile = ingot::codegen::TemporaryFile::create("", "ingot-model", "o");
  if (!objectFile)
    return reportError(objectFile.takeError());
  {
    std::error_code ec;
    raw_fd_ostream os(objectFile->path(), ec, sys::fs::OF_None);
    if (ec)
      return reportError(objectFile->path() + ": " + ec.message());
    ingot::codegen::StreamErrorGuard guard(os);
    if (Error e = emitTo(os, ingot::codegen::EmitKind::Object))
      return reportError(std::move(e));
    if (Error e = guard.close(objectFile->path()))
      return reportError(std::move(e));
  }
  auto exeFile = ingot::codegen::createOutputTemporary(out);
  if (!exeFile)
    return reportError(exeFile.takeError());
  if (Error e = ingot::codegen::linkExecutable(objectFile->path(),
                                               exeFile->path()))
    return reportError(std::move(e));
  objectFile->discard();
  ingot::codegen::PayloadInfo payload;
  payload.targetName = target->name;
  Progress progress("repacking weights");
  if (Error e = ingot::codegen::appendPayload(
          exeFile->path(), planned.get(), **file, payload,
          [&](uint64_t done, uint64_t total) { progress.update(done, total); }))
    return reportError(std::move(e));
  if (Error e = exeFile->makeExecutable())
    return reportError(std::move(e));
  if (Error e = exeFile->commit(ingot::codegen::resolveOutputPath(out)))
    return reportError(std::move(e));

  // Decode streams every weight once per token, except the experts a token
  // does not choose.
  double streamed = double(payload.dataBytes);
  planned->walk([&](ingot::MoEOp moe) {
    double idle = 1.0 - double(moe.getExpertsUsed()) / moe.getNumExperts();
    for (auto ref : {moe.getGateAttr(), moe.getUpAttr(), moe.getDownAttr()})
      if (auto w = planned->lookupSymbol<ingot::WeightOp>(ref.getAttr()))
        if (ingot::LayoutAttr layout = w.getLayoutAttr())
          if (auto packed = layout.getPacked())
            streamed -= idle * packed->bytes;
  });
  uint64_t kernelBytes = 0;
  for (const auto &k : kernels)
    kernelBytes += k.bytes;
  double bandwidth = target->memory.measuredReadGBps.value_or(
      target->theoreticalBandwidthGBps());
  outs() << formatv("compiled {0} for {1} ({2}, {3} kernels)\n",
                    sys::path::filename(modelPath), target->name,
                    ingot::stringifyKernelISA(*isa),
                    kernels.size());
  outs() << formatv("  binary:   {0} ({1:f1} MB, payload {2:f1} MB at offset "
                    "{3})\n",
                    out, payload.fileBytes / 1e6, payload.dataBytes / 1e6,
                    payload.dataOffset);
  outs() << formatv("  kernels:  {0} generated, {1} bytes of code\n",
                    kernels.size(), kernelBytes);
  outs() << formatv("  memory:   arena {0:f2} MB for {1} tokens per step, KV "
                    "{2} bytes per position\n",
                    info.arenaBytes / 1e6, info.maxBatch,
                    info.kvBytesPerPosition);
  if (ramBytes > 0)
    outs() << formatv("  context:  up to {0} positions fit in {1} of RAM "
                      "(the model allows {2})\n",
                      std::min(contextFits, info.maxContext),
                      ingot::driver::humanBytes(ramBytes), info.maxContext);
  if (bandwidth > 0 && streamed > 0)
    outs() << formatv("  predicted decode: {0:f1} tokens/s ({1:f1} GB/s / "
                      "{2:f1} MB of weights streamed per token)\n",
                      bandwidth * 1e9 / streamed, bandwidth, streamed / 1e6);
  return 0;
}

ingot::driver::RegisterCommand registration(compileCommand, runCompile);

} // namespace
