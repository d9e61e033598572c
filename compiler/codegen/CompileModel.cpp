//===- CompileModel.cpp - GGUF model to output, as a library call ---------===//
//
// Import, plan weights and memory for the target, lower, generate kernels,
// emit the object, link it with the runtime into one static executable and
// append the repacked weights. Each step is one function below; compileModel
// runs them in order and stops at the first error.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/CompileModel.h"

#include "compiler/codegen/ObjectEmitter.h"
#include "compiler/codegen/OutputFile.h"
#include "compiler/codegen/PlanForTarget.h"
#include "compiler/dialect/IngotDialect.h"
#include "compiler/import/ModelLoading.h"
#include "compiler/import/TokenizerImport.h"
#include "compiler/target/TargetDescription.h"
#include "passes/Passes.h"
#include "runtime/chat/ChatTemplate.h"
#include "runtime/tokenizer/Tokenizer.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <algorithm>

using namespace llvm;
using ingot::gguf::GGUFFile;
using ingot::target::TargetDescription;

namespace ingot::codegen {
namespace {

/// The option values no compile can use.
Error checkOptions(const CompileOptions &options) {
  // An empty -o would otherwise silently mean the default name.
  if (options.outputPath && options.outputPath->empty())
    return createStringError("-o: empty path");
  // Tokens of one step take distinct 32-bit positions.
  if (options.maxBatch < 1 || options.maxBatch > INT32_MAX)
    return createStringError(
        formatv("--max-batch {0}: must be between 1 and {1}", options.maxBatch,
                INT32_MAX));
  return Error::success();
}

/// Where the output goes: -o, or stdout for text and objects and the
/// model's stem for the executable.
std::string outputPathFor(const CompileOptions &options) {
  if (options.outputPath)
    return *options.outputPath;
  return options.output == CompileOutput::Exe
             ? sys::path::stem(options.modelPath).str()
             : "-";
}

/// Refuses an output that would overwrite an input (the model while it is
/// still being read from its mapping) or that cannot be written.
Error checkOutput(const CompileOptions &options, StringRef out) {
  std::vector<std::string> inputs{options.modelPath, options.chatTemplateFile};
  if (options.targetPath != "host")
    inputs.push_back(options.targetPath);
  if (Error e = checkOutputIsNotInput(out, inputs))
    return e;
  return checkOutputPath(out);
}

/// Writes a text or object output to stdout ("-").
Error writeToStdout(function_ref<Error(raw_pwrite_stream &)> write, bool text) {
  std::error_code ec;
  raw_fd_ostream os("-", ec, text ? sys::fs::OF_Text : sys::fs::OF_None);
  if (ec)
    return createStringError(ec, "-: %s", ec.message().c_str());
  StreamErrorGuard guard(os);
  if (Error e = write(os))
    return e;
  os.flush();
  if (os.has_error())
    return createStringError(os.error(), "-: write failed: %s",
                             os.error().message().c_str());
  return Error::success();
}

/// Writes a text or object output whole into a temporary next to `out`,
/// renamed over it only on success ("-": stdout).
Error writeOutput(StringRef out, function_ref<Error(raw_pwrite_stream &)> write,
                  bool text) {
  if (out == "-")
    return writeToStdout(write, text);
  auto temporary = createOutputTemporary(out);
  if (!temporary)
    return temporary.takeError();
  {
    std::error_code ec;
    raw_fd_ostream os(temporary->path(), ec,
                      text ? sys::fs::OF_Text : sys::fs::OF_None);
    if (ec)
      return createStringError(ec, "%s: %s", out.str().c_str(),
                               ec.message().c_str());
    StreamErrorGuard guard(os);
    if (Error e = write(os))
      return e;
    if (Error e = guard.close(out))
      return e;
  }
  return temporary->commit(resolveOutputPath(out));
}

/// Plans `module` for the target (runPlanPasses), keeps a copy of the
/// planned module in `planned` (the payload is written from its weight
/// layouts), then lowers `module` to the LLVM dialect.
Error runPipeline(mlir::ModuleOp module, KernelISA isa, bool amx,
                  int64_t maxBatch, const FirstDiagnostic &diagnostics,
                  mlir::OwningOpRef<mlir::ModuleOp> &planned) {
  if (Error e = runPlanPasses(module, isa, amx, maxBatch, diagnostics))
    return e;
  planned = module.clone();
  mlir::PassManager lower(module.getContext());
  lower.addPass(createIngotLowerToLLVM());
  if (mlir::failed(lower.run(module)))
    return createStringError("lowering failed: " + diagnostics.str());
  return Error::success();
}

/// The serialized tokenizer the binary's text interface uses (empty: the
/// model has none). A tokenizer the runtime cannot build fails every text
/// prompt: build it now from the embedded form, as the binary and
/// `ingot tokenize` do.
Expected<std::string> embeddedTokenizer(const GGUFFile &file,
                                        StringRef modelPath) {
  if (!file.lookup("tokenizer.ggml.model"))
    return std::string();
  auto tokenizerData = readTokenizerData(file);
  if (!tokenizerData)
    return tokenizerData.takeError();
  std::string serialized = tokenizerData->serialize();
  tokenizer::TokenizerData loaded;
  std::string error;
  if (!tokenizer::TokenizerData::deserialize(serialized.data(),
                                             serialized.size(), loaded, error))
    return createStringError(modelPath + ": " + error);
  if (!tokenizer::Tokenizer::create(loaded, error))
    return createStringError(modelPath + ": " + error);
  return serialized;
}

/// The text of the special token `key` names, or "" when there is none.
std::string specialTokenText(const GGUFFile &file, StringRef key) {
  auto id = specialTokenId(file, key);
  const gguf::Value *tokens = file.lookup("tokenizer.ggml.tokens");
  if (!id || !tokens || static_cast<uint64_t>(*id) >= tokens->strings().size())
    return "";
  return tokens->strings()[*id].str();
}

/// A template feature the runtime's interpreter lacks is an error now, not
/// wrong text later: parse `text` and render a short conversation. Errors
/// name `source`, where the template came from.
Error checkChatTemplateRenders(const std::string &text, const GGUFFile &file,
                               const std::string &source) {
  chat::ChatTemplate chatTemplate;
  std::string error;
  if (!chatTemplate.load(text, error))
    return createStringError(source + ": " + error);
  chatTemplate.setSpecialTokens(
      specialTokenText(file, "tokenizer.ggml.bos_token_id"),
      specialTokenText(file, "tokenizer.ggml.eos_token_id"));
  auto trial = chatTemplate.render(
      {{"user", "Hello"}, {"assistant", "Hi."}, {"user", "Why?"}},
      /*addGenerationPrompt=*/true);
  if (!trial.ok)
    return createStringError(
        source + ": cannot render a plain conversation: " + trial.error);
  return Error::success();
}

/// The chat template to embed: the options' file, else the model's (empty:
/// none); checked to render.
Expected<std::string> embeddedChatTemplate(const CompileOptions &options,
                                           const GGUFFile &file) {
  std::string text;
  if (!options.chatTemplateFile.empty()) {
    auto read = options.readChatTemplate(options.chatTemplateFile);
    if (!read)
      return read.takeError();
    text = std::move(*read);
  } else if (auto model = file.getString("tokenizer.chat_template")) {
    text = model->str();
  }
  if (text.empty())
    return text;
  std::string source = options.chatTemplateFile.empty()
                           ? "chat template (tokenizer.chat_template in " +
                                 options.modelPath + ")"
                           : "chat template " + options.chatTemplateFile;
  if (Error e = checkChatTemplateRenders(text, file, source))
    return std::move(e);
  return text;
}

/// The emitter's kind for a text or object output.
EmitKind emitKindFor(CompileOutput output) {
  switch (output) {
  case CompileOutput::LLVM:
    return EmitKind::LLVM;
  case CompileOutput::Asm:
    return EmitKind::Assembly;
  default:
    return EmitKind::Object;
  }
}

/// Everything the executable is built from.
struct ExecutableInputs {
  mlir::ModuleOp lowered, planned;
  const GGUFFile &file;
  const TargetOptions &target;
  const ModelInfo &info;
  PayloadInfo &payload;
  std::vector<KernelStats> &kernels;
  const ProgressFn &progress;
};

/// The model object, emitted into a temporary file.
Expected<TemporaryFile> emitObjectFile(const ExecutableInputs &in) {
  auto objectFile = TemporaryFile::create("", "ingot-model", "o");
  if (!objectFile)
    return objectFile.takeError();
  std::error_code ec;
  raw_fd_ostream os(objectFile->path(), ec, sys::fs::OF_None);
  if (ec)
    return createStringError(objectFile->path() + ": " + ec.message());
  StreamErrorGuard guard(os);
  if (Error e = emitModel(in.lowered, in.target, in.info, EmitKind::Object, os,
                          &in.kernels))
    return std::move(e);
  if (Error e = guard.close(objectFile->path()))
    return std::move(e);
  return objectFile;
}

/// The executable: object -> link -> payload, all into a temporary next to
/// `out` that replaces it only when complete. Both temporaries go away on
/// every error path and on a fatal signal.
Error writeExecutable(StringRef out, const ExecutableInputs &in) {
  if (out == "-")
    return createStringError("-o -: the executable cannot be written to "
                             "stdout");
  auto objectFile = emitObjectFile(in);
  if (!objectFile)
    return objectFile.takeError();
  auto exeFile = createOutputTemporary(out);
  if (!exeFile)
    return exeFile.takeError();
  if (Error e = linkExecutable(objectFile->path(), exeFile->path()))
    return e;
  objectFile->discard();
  if (Error e = appendPayload(exeFile->path(), in.planned, in.file, in.payload,
                              in.progress))
    return e;
  if (Error e = exeFile->makeExecutable())
    return e;
  return exeFile->commit(resolveOutputPath(out));
}

/// The imported module as text: what `--emit=ir` writes.
Error writeImportedModule(StringRef out, mlir::ModuleOp module) {
  return writeOutput(
      out,
      [&](raw_pwrite_stream &os) {
        module->print(os);
        os << "\n";
        return Error::success();
      },
      /*text=*/true);
}

/// The tokenizer and chat template the binary's text interface uses.
Error addTextInterface(ModelInfo &info, const CompileOptions &options,
                       const GGUFFile &file) {
  auto tokenizerData = embeddedTokenizer(file, options.modelPath);
  if (!tokenizerData)
    return tokenizerData.takeError();
  info.tokenizerData = std::move(*tokenizerData);
  auto chatTemplate = embeddedChatTemplate(options, file);
  if (!chatTemplate)
    return chatTemplate.takeError();
  info.chatTemplate = std::move(*chatTemplate);
  return Error::success();
}

/// What the report says of a written executable besides its payload.
void describeExecutable(CompileReport &report, const TargetDescription &target,
                        const ModelInfo &info, ArrayRef<KernelStats> kernels,
                        const MemoryFit &fit) {
  report.targetName = target.name;
  report.kernelCount = kernels.size();
  for (const KernelStats &k : kernels)
    report.kernelBytes += k.bytes;
  report.arenaBytes = info.arenaBytes;
  report.maxBatch = info.maxBatch;
  report.kvBytesPerPosition = info.kvBytesPerPosition[INGOT_KV_KEY_F32];
  report.kvBytesPerPositionQ8 = info.kvBytesPerPosition[INGOT_KV_KEY_Q8_0];
  report.maxContext = info.maxContext;
  report.ramBytes = fit.ramBytes;
  report.contextFits = fit.contextFits;
  report.bandwidthGBps = target.memory.measuredReadGBps.value_or(
      target.theoreticalBandwidthGBps());
  report.streamedBytes = double(info.step.weightBytes);
}

/// Marks each weight --quant wrote in a new type with the type the model
/// file had (`requantized_from = "f32"`): the weight's ggml_type is the type
/// its payload bytes are in, the mark says where they came from.
void recordSourceTypes(mlir::ModuleOp module,
                       const gguf::RequantizeSummary &summary) {
  llvm::StringMap<ggml::Type> sources;
  for (const auto &[name, type] : summary.sourceTypes)
    sources[name] = type;
  mlir::Builder builder(module.getContext());
  module.walk([&](WeightOp weight) {
    auto it = sources.find(weight.getSymName());
    if (it != sources.end())
      weight->setAttr("requantized_from",
                      builder.getStringAttr(
                          llvm::StringRef(ggml::typeName(it->second)).lower()));
  });
}

} // namespace

Expected<CompileReport> compileModel(const CompileOptions &options) {
  if (Error e = checkOptions(options))
    return std::move(e);
  auto file = GGUFFile::open(options.modelPath);
  if (!file)
    return file.takeError();
  std::optional<gguf::RequantizeSummary> requantized;
  if (options.quant) {
    auto model = gguf::requantizeModel(**file, *options.quant);
    if (!model)
      return model.takeError();
    *file = std::move(model->file);
    requantized = std::move(model->summary);
  }
  mlir::MLIRContext context;
  auto loaded = loadModule(context, **file, "");
  if (!loaded)
    return loaded.takeError();
  mlir::ModuleOp module = **loaded;
  if (requantized)
    recordSourceTypes(module, *requantized);
  CompileReport report;
  report.output = options.output;
  report.requantized = std::move(requantized);
  report.outputPath = outputPathFor(options);
  const std::string &out = report.outputPath;
  if (Error e = checkOutput(options, out))
    return std::move(e);

  if (options.output == CompileOutput::IR) {
    if (Error e = writeImportedModule(out, module))
      return std::move(e);
    return report;
  }

  auto target = readTarget(options.targetPath);
  if (!target)
    return target.takeError();
  auto isa = chooseIsa(*target);
  if (!isa)
    return isa.takeError();
  FirstDiagnostic diagnostics(context);
  mlir::OwningOpRef<mlir::ModuleOp> planned;
  const bool amx = useAmx(options.amx, *isa, *target, module);
  if (Error e = runPipeline(module, *isa, amx, options.maxBatch, diagnostics,
                            planned))
    return std::move(e);

  ModelInfo info =
      describeModel(module, planned.get(), **file, *target, options.modelPath);
  if (Error e = addTextInterface(info, options, **file))
    return std::move(e);
  auto fit = checkMemoryFits(info, *target, options.modelPath);
  if (!fit)
    return fit.takeError();

  report.isa = stringifyKernelISA(*isa).str();
  TargetOptions codegenTarget{target->cpu, target->llvmFeatureList(),
                              int64_t(target->caches.l1dKiB) * 1024};
  std::vector<KernelStats> kernels;
  if (options.output != CompileOutput::Exe) {
    if (Error e = writeOutput(
            out,
            [&](raw_pwrite_stream &os) {
              return emitModel(module, codegenTarget, info,
                               emitKindFor(options.output), os, &kernels);
            },
            /*text=*/options.output != CompileOutput::Obj))
      return std::move(e);
    return report;
  }

  report.payload.targetName = target->name;
  if (Error e = writeExecutable(out, {module, planned.get(), **file,
                                      codegenTarget, info, report.payload,
                                      kernels, options.progress}))
    return std::move(e);

  describeExecutable(report, *target, info, kernels, *fit);
  return report;
}

} // namespace ingot::codegen
