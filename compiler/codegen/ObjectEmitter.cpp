//===- ObjectEmitter.cpp - Lowered module -> object file ------------------===//
#include "compiler/codegen/ObjectEmitter.h"

#include "ingot/ModelABI.h"
#include "passes/PlanningUtils.h"
#include "targets/x86/AmxGemm.h"
#include "targets/x86/Kernels.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Linker/Linker.h"
#include "llvm/MC/MCAsmInfo.h"
#include "llvm/MC/MCContext.h"
#include "llvm/MC/MCDisassembler/MCDisassembler.h"
#include "llvm/MC/MCInst.h"
#include "llvm/MC/MCInstPrinter.h"
#include "llvm/MC/MCInstrInfo.h"
#include "llvm/MC/MCRegisterInfo.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/MCTargetOptions.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Triple.h"

#include <cstddef>

namespace ingot {
extern const unsigned char oplibBitcode[];
extern const size_t oplibBitcodeSize;
} // namespace ingot

using namespace llvm;

namespace ingot::codegen {

namespace {

Error fail(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message.str().c_str());
}

void initializeX86() {
  static bool done = [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
    LLVMInitializeX86AsmParser();
    LLVMInitializeX86Disassembler();
    return true;
  }();
  (void)done;
}

/// The kernel as assembler directives: a global function whose bytes are
/// the generated code, each instruction's bytes on one line with its
/// disassembly as a comment, so that --emit=asm shows what runs.
std::string kernelAsm(const targets::GeneratedKernel &kernel,
                      const Target &target, const Triple &triple, StringRef cpu,
                      StringRef features) {
  std::unique_ptr<MCRegisterInfo> mri(target.createMCRegInfo(triple));
  MCTargetOptions mcOptions;
  std::unique_ptr<MCAsmInfo> mai(
      target.createMCAsmInfo(*mri, triple, mcOptions));
  std::unique_ptr<MCSubtargetInfo> sti(
      target.createMCSubtargetInfo(triple, cpu, features));
  std::unique_ptr<MCInstrInfo> mii(target.createMCInstrInfo());
  MCContext context(triple, mai.get(), mri.get(), sti.get());
  std::unique_ptr<MCDisassembler> disassembler(
      target.createMCDisassembler(*sti, context));
  std::unique_ptr<MCInstPrinter> printer(target.createMCInstPrinter(
      triple, /*SyntaxVariant=*/1, *mai, *mii, *mri));

  std::string text;
  raw_string_ostream os(text);
  os << "\t.section\t.text.ingot_kernels,\"ax\",@progbits\n"
     << "\t.globl\t" << kernel.name << "\n"
     << "\t.type\t" << kernel.name << ",@function\n"
     << "\t.p2align\t6\n"
     << kernel.name << ":\n";
  ArrayRef<uint8_t> code(kernel.code);
  auto emitBytes = [&](ArrayRef<uint8_t> bytes) {
    os << "\t.byte\t";
    for (size_t i = 0; i < bytes.size(); ++i)
      os << (i ? "," : "") << format("0x%02x", bytes[i]);
  };
  uint64_t at = 0;
  while (at < kernel.textBytes) {
    MCInst inst;
    uint64_t size = 0;
    auto status =
        disassembler->getInstruction(inst, size, code.slice(at), at, nulls());
    if (status != MCDisassembler::Success || size == 0)
      size = 1;
    emitBytes(code.slice(at, size));
    if (status == MCDisassembler::Success) {
      std::string listing;
      raw_string_ostream ls(listing);
      printer->printInst(&inst, at, "", *sti, ls);
      StringRef trimmed = StringRef(listing).trim();
      os << "\t# " << trimmed;
    }
    os << "\n";
    at += size;
  }
  // Constant tables the code reads RIP-relative.
  for (; at < code.size(); at += 16)
    emitBytes(code.slice(at, std::min<uint64_t>(16, code.size() - at))),
        os << "\n";
  os << "\t.size\t" << kernel.name << ", .-" << kernel.name << "\n"
     << "\t.text\n";
  return text;
}

// addModelInfo builds IngotModelInfo as {i32 x 2, i64 x 11, ptr x 7,
// i64 x 9, double x 2, i64, ptr} (kv_bytes_per_position's array as three of
// the i64): the header's layout, checked here so that a change to it fails
// the build.
constexpr size_t kStepFieldsAt = 8 + 11 * 8 + 7 * 8;
static_assert(
    offsetof(IngotModelInfo, abi_version) == 0 &&
        offsetof(IngotModelInfo, reserved) == 4 &&
        offsetof(IngotModelInfo, vocab_size) == 8 &&
        offsetof(IngotModelInfo, kv_bytes_per_position) == 8 + 5 * 8 &&
        INGOT_KV_KEY_TYPES == 3 &&
        offsetof(IngotModelInfo, eos_token_id) == 8 + 10 * 8 &&
        offsetof(IngotModelInfo, architecture) == 8 + 11 * 8 &&
        offsetof(IngotModelInfo, memory_plan) == 8 + 11 * 8 + 6 * 8 &&
        offsetof(IngotModelInfo, step_weight_bytes) == kStepFieldsAt &&
        offsetof(IngotModelInfo, moe_experts) == kStepFieldsAt + 7 * 8 &&
        offsetof(IngotModelInfo, step_routed_expert_bytes) ==
            kStepFieldsAt + 8 * 8 &&
        offsetof(IngotModelInfo, target_read_gbps) == kStepFieldsAt + 9 * 8 &&
        offsetof(IngotModelInfo, target_int8_peak_threads) ==
            kStepFieldsAt + 11 * 8 &&
        offsetof(IngotModelInfo, target_read_points) ==
            kStepFieldsAt + 12 * 8 &&
        sizeof(IngotModelInfo) == kStepFieldsAt + 13 * 8,
    "IngotModelInfo changed: update addModelInfo and bump "
    "INGOT_MODEL_ABI_VERSION");

/// Adds `const IngotModelInfo ingot_model_info` (runtime/include/ingot/
/// ModelABI.h) to the module; its abi_version is the header's
/// INGOT_MODEL_ABI_VERSION, which the runtime checks at start.
void addModelInfo(Module &module, const ModelInfo &info) {
  LLVMContext &c = module.getContext();
  Type *i32 = Type::getInt32Ty(c), *i64 = Type::getInt64Ty(c);
  Type *ptr = PointerType::getUnqual(c), *f64 = Type::getDoubleTy(c);
  SmallVector<Type *> fields{i32, i32};
  fields.append(11, i64);
  fields.append(7, ptr);
  fields.append(9, i64);
  fields.append({f64, f64, i64, ptr});
  StructType *type = StructType::create(c, fields, "IngotModelInfo");
  auto str = [&](StringRef s, StringRef name) -> Constant * {
    Constant *data = ConstantDataArray::getString(c, s);
    auto *g = new GlobalVariable(module, data->getType(), true,
                                 GlobalValue::PrivateLinkage, data, name);
    g->setAlignment(Align(1));
    return g;
  };
  SmallVector<Constant *> values{
      ConstantInt::get(i32, INGOT_MODEL_ABI_VERSION),
      ConstantInt::get(i32, 0),
      ConstantInt::get(i64, info.vocabSize),
      ConstantInt::get(i64, info.layers),
      ConstantInt::get(i64, info.maxContext),
      ConstantInt::get(i64, info.maxBatch),
      ConstantInt::get(i64, info.arenaBytes),
      ConstantInt::get(i64, info.kvBytesPerPosition[INGOT_KV_KEY_F32]),
      ConstantInt::get(i64, info.kvBytesPerPosition[INGOT_KV_KEY_F16]),
      ConstantInt::get(i64, info.kvBytesPerPosition[INGOT_KV_KEY_Q8_0]),
      ConstantInt::get(i64, info.weightBytes),
      ConstantInt::get(i64, info.bosTokenId),
      ConstantInt::get(i64, info.eosTokenId),
      str(info.architecture, "ingot.info.architecture"),
      str(info.modelName, "ingot.info.model_name"),
      str(info.targetName, "ingot.info.target_name"),
      str(info.targetCpu, "ingot.info.target_cpu"),
      str(info.requiredFeatures, "ingot.info.required_features"),
      str(info.kernelList, "ingot.info.kernel_list"),
      str(info.memoryPlan, "ingot.info.memory_plan"),
      ConstantInt::get(i64, info.step.weightBytes),
      ConstantInt::get(i64, info.step.embeddingBytes),
      ConstantInt::get(i64, info.step.outputBytes),
      ConstantInt::get(i64, info.step.quantizedMacs),
      ConstantInt::get(i64, info.step.floatMacs),
      ConstantInt::get(i64, info.step.logitsTailQuantizedMacs),
      ConstantInt::get(i64, info.step.expertsUsed),
      ConstantInt::get(i64, info.step.experts),
      ConstantInt::get(i64, info.step.routedExpertBytes),
      ConstantFP::get(f64, info.targetReadGBps),
      ConstantFP::get(f64, info.targetInt8PeakGops),
      ConstantInt::get(i64, info.targetInt8PeakThreads),
      str(info.targetReadPoints, "ingot.info.target_read_points")};
  new GlobalVariable(module, type, /*isConstant=*/true,
                     GlobalValue::ExternalLinkage,
                     ConstantStruct::get(type, values), "ingot_model_info");

  // The tokenizer blob and the chat template the runtime's text interface
  // reads (ModelABI.h).
  Constant *blob = ConstantDataArray::get(
      c, ArrayRef<uint8_t>(
             reinterpret_cast<const uint8_t *>(info.tokenizerData.data()),
             info.tokenizerData.size()));
  auto *blobVar = new GlobalVariable(module, blob->getType(), true,
                                     GlobalValue::ExternalLinkage, blob,
                                     "ingot_tokenizer_data");
  blobVar->setAlignment(Align(8));
  new GlobalVariable(module, i64, true, GlobalValue::ExternalLinkage,
                     ConstantInt::get(i64, info.tokenizerData.size()),
                     "ingot_tokenizer_data_size");
  Constant *threads = ConstantDataArray::get(
      c, ArrayRef<int32_t>{info.decodeThreads, info.prefillThreads});
  new GlobalVariable(module, threads->getType(), true,
                     GlobalValue::ExternalLinkage, threads,
                     "ingot_planned_threads");
  Constant *machine = ConstantDataArray::getString(c, info.machinePlan);
  new GlobalVariable(module, machine->getType(), true,
                     GlobalValue::ExternalLinkage, machine,
                     "ingot_machine_plan");
  // By length: the template may hold NUL bytes.
  Constant *chat = ConstantDataArray::getString(c, info.chatTemplate);
  new GlobalVariable(module, chat->getType(), true,
                     GlobalValue::ExternalLinkage, chat, "ingot_chat_template");
  new GlobalVariable(module, i64, true, GlobalValue::ExternalLinkage,
                     ConstantInt::get(i64, info.chatTemplate.size()),
                     "ingot_chat_template_size");
}

} // namespace

namespace {

/// The x86-64 machine code is generated for. The target's feature list is
/// the contract the binary checks at start: code may use exactly those
/// instructions. An LLVM cpu name brings its own (znver5 has AVX-512 even
/// when the list says AVX2 only), so code is generated for the x86-64
/// baseline plus the listed features, and the cpu name only tunes
/// (scheduling model, preferred vector width, ...).
struct CodeGenTarget {
  Triple triple{"x86_64-pc-linux-gnu"};
  const char *isaCpu = "x86-64";
  std::string features;
  const Target *llvmTarget = nullptr;
  std::unique_ptr<TargetMachine> machine;
};

Expected<CodeGenTarget> createCodeGenTarget(const TargetOptions &target) {
  CodeGenTarget t;
  std::string error;
  t.llvmTarget = TargetRegistry::lookupTarget(t.triple, error);
  if (!t.llvmTarget)
    return fail("no x86-64 code generator: " + error);
  t.features = join(target.llvmFeatures, ",");
  llvm::TargetOptions options;
  t.machine.reset(t.llvmTarget->createTargetMachine(
      t.triple, t.isaCpu, t.features, options, Reloc::Static, CodeModel::Small,
      CodeGenOptLevel::Aggressive));
  if (!t.machine)
    return fail("LLVM cannot generate code for the x86-64 baseline with "
                "features '" +
                t.features + "'");
  return std::move(t);
}

/// Translates the lowered module (LLVM dialect) to LLVM IR for `t`.
Expected<std::unique_ptr<Module>> translateToLLVMIR(mlir::ModuleOp lowered,
                                                    LLVMContext &context,
                                                    const CodeGenTarget &t) {
  mlir::DialectRegistry registry;
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  lowered.getContext()->appendDialectRegistry(registry);
  std::unique_ptr<Module> module =
      mlir::translateModuleToLLVMIR(lowered, context, "ingot_model");
  if (!module)
    return fail("cannot translate the lowered module to LLVM IR");
  module->setTargetTriple(t.triple);
  module->setDataLayout(t.machine->createDataLayout());
  return std::move(module);
}

/// Links the op library's bitcode into `module`, so that it is optimized
/// together with the model.
Error linkOpLibrary(Module &module, const CodeGenTarget &t) {
  auto oplib = parseBitcodeFile(
      MemoryBufferRef(StringRef(reinterpret_cast<const char *>(oplibBitcode),
                                oplibBitcodeSize),
                      "oplib.bc"),
      module.getContext());
  if (!oplib)
    return oplib.takeError();
  (*oplib)->setTargetTriple(t.triple);
  (*oplib)->setDataLayout(module.getDataLayout());
  if (Linker::linkModules(module, std::move(*oplib)))
    return fail("cannot link the op library into the model");
  return Error::success();
}

/// Every defined function is compiled for the target's features and tuned
/// for its cpu; all but the entry point become internal, so the optimizer
/// may inline and drop them.
void setFunctionAttributes(Module &module, const CodeGenTarget &t,
                           StringRef tuneCpu) {
  for (Function &fn : module) {
    if (fn.isDeclaration())
      continue;
    fn.addFnAttr("target-cpu", t.isaCpu);
    fn.addFnAttr("target-features", t.features);
    fn.addFnAttr("tune-cpu", tuneCpu);
    fn.removeFnAttr(Attribute::OptimizeNone);
    fn.removeFnAttr(Attribute::NoInline);
    if (fn.getName() != "ingot_model_forward")
      fn.setLinkage(GlobalValue::InternalLinkage);
  }
}

/// LLVM's -O2 module pipeline.
void optimize(Module &module, const CodeGenTarget &t) {
  LoopAnalysisManager lam;
  FunctionAnalysisManager fam;
  CGSCCAnalysisManager cgam;
  ModuleAnalysisManager mam;
  PassBuilder builder(t.machine.get());
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  builder.buildPerModuleDefaultPipeline(OptimizationLevel::O2).run(module, mam);
}

/// Generates the kernels the module's #ingot.kernel list names and adds
/// them to `module` as module-level assembly.
Error addKernels(Module &module, mlir::ModuleOp lowered, const CodeGenTarget &t,
                 const TargetOptions &target,
                 std::vector<KernelStats> *kernels) {
  auto chosen = lowered.getContext()
                    ->getOrLoadDialect<IngotDialect>()
                    ->getKernelsAttrHelper()
                    .getAttr(lowered);
  if (!chosen)
    return Error::success();
  // A model that routes tokens to experts keeps ggml's order (why:
  // keepsGgmlOrder in passes/Passes.h); here, lowered, its routing call
  // marks it. Other models get the faster block order (Kernels.h).
  const targets::KernelNumerics numerics =
      lowered.lookupSymbol("ingot_op_moe_route")
          ? targets::KernelNumerics::GgmlOrder
          : targets::KernelNumerics::BlockOrder;
  targets::KernelTargetFacts facts;
  if (target.l1dBytes > 0)
    facts.l1dBytes = target.l1dBytes;
  facts.avx512Bf16 =
      llvm::is_contained(target.llvmFeatures, std::string("+avx512bf16"));
  for (auto kernelAttr : chosen.getAsRange<KernelAttr>()) {
    std::string name = kernelAttr.getSymbol();
    auto type = targetWeightType(kernelAttr.getType());
    if (!kernelAttr.isGenerated() || !type)
      return fail("no kernel generator for " + name);
    targets::MatmulShape shape{kernelAttr.getRows(), kernelAttr.getCols()};
    targets::ISA isa = targetISA(kernelAttr.getIsa());
    targets::GenerateResult generated =
        kernelAttr.getKind() == KernelKind::Matmul
            ? targets::generateMatmul(*type, shape, isa, name, numerics, facts)
            : targets::generateExpertMatmul(*type, shape, isa, name, numerics,
                                            facts);
    if (generated && kernelAttr.getIsa() == KernelISA::AMX) {
      // The vector kernel stays for small batches, behind the AMX entry.
      targets::GeneratedKernel smallBatch = std::move(generated.kernel);
      generated = targets::generateAmxMatmul(*type, shape, name, &smallBatch);
    }
    if (!generated)
      return fail("kernel generator: " + generated.error);
    const targets::GeneratedKernel &kernel = generated.kernel;
    module.appendModuleInlineAsm(
        kernelAsm(kernel, *t.llvmTarget, t.triple, t.isaCpu, t.features));
    if (kernels)
      kernels->push_back({kernel.name, kernel.code.size()});
  }
  return Error::success();
}

/// Writes `module` as LLVM IR text, assembly or an object file.
Error writeModule(Module &module, const CodeGenTarget &t, EmitKind kind,
                  raw_pwrite_stream &os) {
  if (kind == EmitKind::LLVM) {
    module.print(os, nullptr);
    return Error::success();
  }
  legacy::PassManager codegen;
  if (t.machine->addPassesToEmitFile(codegen, os, nullptr,
                                     kind == EmitKind::Object
                                         ? CodeGenFileType::ObjectFile
                                         : CodeGenFileType::AssemblyFile))
    return fail("LLVM cannot emit this file type for the target");
  codegen.run(module);
  return Error::success();
}

} // namespace

Error emitModel(mlir::ModuleOp lowered, const TargetOptions &target,
                const ModelInfo &info, EmitKind kind, raw_pwrite_stream &os,
                std::vector<KernelStats> *kernels) {
  initializeX86();
  auto codeGenTarget = createCodeGenTarget(target);
  if (!codeGenTarget)
    return codeGenTarget.takeError();
  LLVMContext context;
  auto module = translateToLLVMIR(lowered, context, *codeGenTarget);
  if (!module)
    return module.takeError();
  if (Error e = linkOpLibrary(**module, *codeGenTarget))
    return e;
  addModelInfo(**module, info);
  setFunctionAttributes(**module, *codeGenTarget, target.cpu);
  optimize(**module, *codeGenTarget);
  if (Error e = addKernels(**module, lowered, *codeGenTarget, target, kernels))
    return e;
  return writeModule(**module, *codeGenTarget, kind, os);
}

} // namespace ingot::codegen
