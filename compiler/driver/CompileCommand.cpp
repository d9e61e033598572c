//===- CompileCommand.cpp - `ingot compile` -------------------------------===//
//
// ingot compile MODEL.gguf --target FILE.yaml|host -o OUT
//   [--emit=ir|llvm|asm|obj|exe] [--max-batch N] [--amx=false]
//   [--quant Q4_K_M|...]
//
// Parses the options, runs ingot::codegen::compileModel (import, plan,
// lower, emit, link, append the weights) and prints its report.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/CompileModel.h"
#include "compiler/codegen/MachinePlan.h"
#include "compiler/driver/Command.h"
#include "compiler/driver/InputFiles.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

#include <algorithm>
#include <chrono>
#include <optional>

using namespace llvm;

namespace {

cl::SubCommand compileCommand("compile",
                              "Compile a GGUF model for a target machine");
cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                               cl::desc("<model.gguf>"),
                               cl::sub(compileCommand));
using ingot::codegen::CompileOutput;
cl::opt<CompileOutput> emit(
    "emit", cl::desc("What to produce (default: the executable)"),
    cl::values(clEnumValN(CompileOutput::IR, "ir", "the imported ingot module"),
               clEnumValN(CompileOutput::LLVM, "llvm", "optimized LLVM IR"),
               clEnumValN(CompileOutput::Asm, "asm", "target assembly"),
               clEnumValN(CompileOutput::Obj, "obj", "the model object file"),
               clEnumValN(CompileOutput::Exe, "exe", "the static executable")),
    cl::init(CompileOutput::Exe), cl::sub(compileCommand));
cl::opt<std::string> targetPath("target",
                                cl::desc("Target description (YAML) or `host`"),
                                cl::init("host"), cl::sub(compileCommand));
cl::opt<std::string> outputPath("o", cl::desc("Output file"),
                                cl::value_desc("file"),
                                cl::sub(compileCommand));
cl::opt<std::string>
    chatTemplateFile("chat-template-file",
                     cl::desc("Chat template to embed instead of the model's"),
                     cl::value_desc("file.jinja"), cl::sub(compileCommand));
cl::opt<int64_t> maxBatch("max-batch",
                          cl::desc("Most tokens per forward call (prefill "
                                   "chunk)"),
                          cl::init(64), cl::sub(compileCommand));
cl::opt<bool>
    amx("amx",
        cl::desc("Q8_0 / Q4_0 prefill matmuls on AMX tiles when the target "
                 "has amx_int8 (--amx=false: AVX-512 VNNI only)"),
        cl::init(true), cl::sub(compileCommand));

cl::opt<std::string> quant(
    "quant",
    cl::desc("Requantize the weights as llama-quantize's mix NAME does "
             "(Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, "
             "Q6_K)"),
    cl::value_desc("NAME"), cl::sub(compileCommand));
/// A one-line progress bar on stderr, shown only on a terminal. Its clock
/// starts at the first update, when the step it measures starts.
class Progress {
public:
  explicit Progress(StringRef label)
      : label(label.str()), enabled(sys::Process::StandardErrIsDisplayed()) {}
  void update(uint64_t done, uint64_t total) {
    if (!enabled || total == 0)
      return;
    auto now = std::chrono::steady_clock::now();
    if (!start)
      start = now;
    double seconds = std::chrono::duration<double>(now - *start).count();
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
  std::optional<std::chrono::steady_clock::time_point> start;
  bool enabled;
};

/// The compile the command line asks for; an error names a --quant that is
/// no mix.
Expected<ingot::codegen::CompileOptions> compileOptions(Progress &progress) {
  ingot::codegen::CompileOptions options;
  if (quant.getNumOccurrences()) {
    options.quant = ingot::ggml::parseQuantMix(quant);
    if (!options.quant)
      return createStringError("--quant: unknown type mix '%s' (supported: "
                               "%s)",
                               quant.c_str(),
                               ingot::ggml::quantMixNames().c_str());
  }
  options.modelPath = modelPath;
  options.targetPath = targetPath;
  if (outputPath.getNumOccurrences())
    options.outputPath = outputPath.getValue();
  options.chatTemplateFile = chatTemplateFile;
  options.output = emit;
  options.maxBatch = maxBatch;
  options.amx = amx;
  options.readChatTemplate = [](StringRef path) {
    return ingot::driver::readBoundedFile(
        path, ingot::driver::kMaxTemplateFileBytes, "chat template");
  };
  options.progress = [&progress](uint64_t done, uint64_t total) {
    progress.update(done, total);
  };
  return options;
}

/// The weights the payload holds converted to the type their kernels read,
/// grouped by conversion, with the error each group's conversion measured
/// (ggml::RepackError) and the largest over the model.
void printRepacked(ArrayRef<ingot::codegen::RepackedWeight> repacked) {
  if (repacked.empty())
    return;
  using ingot::ggml::RepackError;
  using ingot::ggml::Type;
  using ingot::ggml::typeName;
  auto describe = [](const RepackError &e) {
    if (e.isExact())
      return std::string("exact");
    return formatv("max abs error {0:e2}, max {1:e2} of the block amax",
                   e.maxAbs, e.maxRelativeToBlockAmax)
        .str();
  };
  struct Group {
    std::vector<StringRef> names;
    RepackError error;
  };
  MapVector<std::pair<Type, Type>, Group> groups;
  RepackError total;
  for (const auto &w : repacked) {
    Group &g = groups[{w.from, w.to}];
    g.names.push_back(w.name);
    g.error.merge(w.error);
    total.merge(w.error);
  }
  outs() << formatv("  repacked: {0} weight{1} to the type the kernels read "
                    "({2})\n",
                    repacked.size(), repacked.size() == 1 ? "" : "s",
                    describe(total));
  for (const auto &[types, g] : groups) {
    outs() << formatv("    {0} -> {1}: {2} weight{3} ({4}",
                      typeName(types.first), typeName(types.second),
                      g.names.size(), g.names.size() == 1 ? "" : "s",
                      describe(g.error));
    if (!g.error.isExact() && g.error.exactBlocks)
      outs() << formatv("; {0} of {1} blocks exact", g.error.exactBlocks,
                        g.error.blocks);
    outs() << "): " << g.names.front();
    for (size_t i = 1; i < std::min<size_t>(3, g.names.size()); ++i)
      outs() << ", " << g.names[i];
    if (g.names.size() > 3)
      outs() << formatv(" and {0} more", g.names.size() - 3);
    outs() << "\n";
  }
}

/// What --quant wrote: the mix, its types, bits per weight and size.
void printRequantized(const ingot::gguf::RequantizeSummary &summary) {
  using ingot::driver::humanBytes;
  outs() << formatv("  quant:    {0}: {1} tensor{2} requantized (",
                    ingot::ggml::quantMixName(summary.mix), summary.requantized,
                    summary.requantized == 1 ? "" : "s");
  bool first = true;
  for (const auto &[type, count] : summary.requantizedTo) {
    outs() << (first ? "" : ", ") << ingot::ggml::typeName(type) << ": "
           << count;
    first = false;
  }
  outs() << formatv("), {0:f2} bits per weight, {1} (from {2})\n",
                    summary.bitsPerWeight(), humanBytes(summary.bytes),
                    humanBytes(summary.sourceBytes));
  if (!summary.fromQuantized.empty())
    outs() << formatv("    requantized from already quantized values "
                      "(precision lost there stays lost): {0} tensor{1}, "
                      "first {2}\n",
                      summary.fromQuantized.size(),
                      summary.fromQuantized.size() == 1 ? "" : "s",
                      summary.fromQuantized.front());
}
/// The summary of a compiled executable and its predicted memory and speed.
void printReport(const ingot::codegen::CompileReport &report) {
  using ingot::driver::humanBytes;
  outs() << formatv("compiled {0} for {1} ({2}, {3} kernels)\n",
                    sys::path::filename(modelPath), report.targetName,
                    report.isa, report.kernelCount);
  outs() << formatv("  binary:   {0} ({1:f1} MB, payload {2:f1} MB at offset "
                    "{3})\n",
                    report.outputPath, report.payload.fileBytes / 1e6,
                    report.payload.dataBytes / 1e6, report.payload.dataOffset);
  outs() << formatv("  kernels:  {0} generated, {1} bytes of code\n",
                    report.kernelCount, report.kernelBytes);
  if (report.requantized)
    printRequantized(*report.requantized);
  printRepacked(report.payload.repacked);
  outs() << formatv(
      "  memory:   arena {0:f2} MB for {1} tokens per step, KV "
      "{2} bytes per position ({3})\n",
      report.arenaBytes / 1e6, report.maxBatch, report.kvBytesPerPosition,
      report.kvBytesPerPositionQ8
          ? formatv("{0} with --cache-type-k q8_0", report.kvBytesPerPositionQ8)
                .str()
          : std::string("keys cannot be q8_0: heads not a "
                        "multiple of 32 wide"));
  if (report.ramBytes > 0)
    outs() << formatv("  context:  up to {0} positions fit in {1} of RAM "
                      "(the model allows {2})\n",
                      std::min(report.contextFits, report.maxContext),
                      humanBytes(report.ramBytes), report.maxContext);
  if (report.bandwidthGBps > 0 && report.streamedBytes > 0)
    outs() << formatv("  predicted decode: {0:f1} tokens/s ({1:f1} GB/s / "
                      "{2:f1} MB of weights streamed per token)\n",
                      ingot::codegen::bandwidthBoundRate(report.bandwidthGBps,
                                                         report.streamedBytes),
                      report.bandwidthGBps, report.streamedBytes / 1e6);
}

int runCompile() {
  Progress progress("repacking weights");
  auto options = compileOptions(progress);
  if (!options)
    return ingot::driver::reportError(options.takeError());
  auto report = ingot::codegen::compileModel(*options);
  if (!report)
    return ingot::driver::reportError(report.takeError());
  // Text and object outputs may be on stdout: nothing else goes there.
  if (report->output == CompileOutput::Exe)
    printReport(*report);
  return 0;
}

ingot::driver::RegisterCommand registration(compileCommand, runCompile);

} // namespace
