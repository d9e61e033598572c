//===- PlanCommand.cpp - `ingot plan MODEL.gguf --target T.yaml` ----------===//
//
// Plans a model for a machine without compiling it and without its weights:
// only the metadata and tensor infos are read (a header-only GGUF from
// `ingot synth --header-only` plans as the whole file does). Prints the
// thread placement, the memory per NUMA node, the weight and KV cache bytes,
// the largest context that fits and the predicted decode and prefill rates
// (codegen::planMachine).
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/MachinePlan.h"
#include "compiler/codegen/PlanForTarget.h"
#include "compiler/driver/Command.h"
#include "compiler/import/ModelLoading.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace llvm;
using namespace ingot::codegen;

namespace {

cl::SubCommand planCommand("plan", "Plan a model for a target machine from its "
                                   "metadata alone (no weights read)");
cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                               cl::desc("<model.gguf>"), cl::sub(planCommand));
cl::opt<std::string> targetPath("target",
                                cl::desc("Target description (YAML) or `host`"),
                                cl::init("host"), cl::sub(planCommand));
cl::opt<int64_t> context("context",
                         cl::desc("Positions of KV cache to plan for "
                                  "(default: the largest that fits)"),
                         cl::init(0), cl::sub(planCommand));
cl::opt<int64_t> maxBatch("max-batch",
                          cl::desc("Most tokens per forward call (prefill "
                                   "chunk)"),
                          cl::init(64), cl::sub(planCommand));
cl::opt<double>
    readGBps("read-gbps",
             cl::desc("Read bandwidth to predict decode from, GB/s "
                      "(default: the target's measured, else theoretical)"),
             cl::sub(planCommand));
cl::opt<double>
    int8Gops("int8-gops",
             cl::desc("int8 peak to predict prefill from, GOPS (a "
                      "multiply-add is 2; default: the target's probe)"),
             cl::sub(planCommand));
cl::opt<bool> amx("amx",
                  cl::desc("Plan AMX prefill kernels where the target has "
                           "them (as `ingot compile --amx`)"),
                  cl::init(true), cl::sub(planCommand));

/// A positive finite figure given on the command line, or an error.
Error checkPositive(const cl::opt<double> &option, StringRef name) {
  if (option.getNumOccurrences() &&
      !(std::isfinite(option.getValue()) && option.getValue() > 0))
    return createStringError(formatv("--{0}: must be a positive number", name));
  return Error::success();
}

Error checkOptions() {
  if (context < 0 || context > INT32_MAX)
    return createStringError(formatv("--context {0}: must be between 0 and {1}",
                                     int64_t(context), INT32_MAX));
  if (maxBatch < 1 || maxBatch > INT32_MAX)
    return createStringError(
        formatv("--max-batch {0}: must be between 1 and {1}", int64_t(maxBatch),
                INT32_MAX));
  if (Error e = checkPositive(readGBps, "read-gbps"))
    return e;
  return checkPositive(int8Gops, "int8-gops");
}

std::string gib(double bytes) { return ingot::rt::humanBytes(bytes); }
std::string gb(double bytes) { return ingot::rt::decimalBytes(bytes); }

void printThreads(const ingot::target::TargetDescription &t,
                  const MachinePlan &plan) {
  auto describe = [&](StringRef what,
                      const std::vector<ingot::target::PlacedThread> &threads) {
    unsigned siblings = 0;
    for (const auto &p : threads)
      siblings += p.smtIndex > 0;
    outs() << formatv("  {0}: {1} thread{2} on {3} of {4} physical cores, "
                      "{5}\n",
                      what, threads.size(), threads.size() == 1 ? "" : "s",
                      threads.size() - siblings, t.physicalCores(),
                      siblings ? formatv("{0} on SMT siblings", siblings).str()
                               : std::string("no SMT siblings"));
    for (const std::string &line : ingot::target::describePlacement(t, threads))
      outs() << "    " << line << "\n";
  };
  outs() << "threads:\n";
  describe("decode", plan.decodeThreads);
  describe("prefill", plan.prefillThreads);
}

void printMemory(const MachinePlan &plan, uint64_t ggufBytes) {
  outs() << "memory:\n";
  outs() << formatv("  weights: {0} bytes ({1}) in the payload, one copy (the "
                    "GGUF's tensors: {2} bytes)\n",
                    plan.weightBytes, gib(plan.weightBytes), ggufBytes);
  outs() << formatv("  kv cache: {0} bytes per position; {1} at {2} "
                    "positions",
                    plan.kvBytesPerPosition,
                    gib(double(plan.kvBytesPerPosition) * plan.context),
                    plan.context);
  if (plan.kvBytesPerPositionQ8)
    outs() << formatv(" (with --cache-type-k q8_0: {0} bytes per position, "
                      "{1})",
                      plan.kvBytesPerPositionQ8,
                      gib(double(plan.kvBytesPerPositionQ8) * plan.context));
  outs() << "\n";
  outs() << formatv("  activations: {0} for {1} tokens per step\n",
                    gib(plan.arenaBytes), plan.maxBatch);
  outs() << formatv("  reserve: {0:f0}% of {1} of RAM ({2}) left to the "
                    "system\n",
                    100 * (1 - kUsableRamFraction), gib(plan.ramBytes),
                    gib(plan.reserveBytes));
  if (plan.contextFits < 0)
    outs() << "  context: does not fit: the weights and activations alone "
              "exceed the usable RAM\n";
  else
    outs() << formatv("  context: up to {0} positions fit (the model allows "
                      "{1}); planned for {2}\n",
                      plan.contextFits, plan.maxContext, plan.context);
  if (plan.contextFits >= 0 && plan.context > plan.contextFits)
    outs() << formatv("  warning: --context {0} does not fit\n", plan.context);
  int64_t placed = 0;
  for (const NodePlan &n : plan.nodes) {
    double total = double(n.weightBytes) + double(n.arenaBytes) +
                   n.kvBytesPerPosition * double(plan.context);
    outs() << formatv("  node {0}: {1} cores, {2} of memory: weights {3}, kv "
                      "cache {4}, activations {5}; total {6} ({7:f1}%)\n",
                      n.id, n.cores, gib(n.memoryBytes), gib(n.weightBytes),
                      gib(n.kvBytesPerPosition * double(plan.context)),
                      gib(n.arenaBytes), gib(total),
                      n.memoryBytes > 0 ? 100 * total / n.memoryBytes : 0.0);
    placed += n.weightBytes;
  }
  if (plan.nodes.size() > 1)
    outs() << formatv("  split: each matrix's rows and each stack's matrices "
                      "(experts) on the node whose decode threads compute "
                      "them, the kv cache by position; {0} weight bytes "
                      "placed over {1} nodes, {2}\n",
                      placed, plan.nodes.size(),
                      placed == plan.weightBytes ? "each byte once"
                                                 : "MISMATCH");
}

void printRates(const MachinePlan &plan) {
  outs() << formatv("predicted decode{0}: {1:f2} tokens/s at position 0, "
                    "{2:f2} at position {3}\n",
                    plan.contextFits < 0 ? " (were it to fit)" : "",
                    plan.decodeEmpty.tokensPerSecond,
                    plan.decodeFull.tokensPerSecond, plan.context);
  // Decode reads each node's weights from that node's memory: the
  // bandwidth that counts is that of the nodes holding weights.
  double used = 0;
  unsigned holding = 0;
  for (const NodePlan &n : plan.nodes)
    if (n.weightBytes > 0) {
      used += n.readGBps;
      ++holding;
    }
  if (plan.nodes.size() > 1)
    outs() << formatv("  bandwidth: {0:f1} GB/s of the {1} node{2} holding "
                      "weights, of {3:f1} GB/s ({4})\n",
                      used, holding, holding == 1 ? "" : "s", plan.readGBps,
                      plan.bandwidthSource);
  else
    outs() << formatv("  bandwidth: {0:f1} GB/s ({1})\n", plan.readGBps,
                      plan.bandwidthSource);
  outs() << formatv("  per token: {0} of weights streamed",
                    gb(plan.streamedBytes));
  if (plan.experts > 0)
    outs() << formatv(" ({0} of {1} experts: {2} of them)", plan.expertsUsed,
                      plan.experts, gb(plan.routedExpertBytes));
  outs() << formatv("; {0} at position {1} with the kv cache\n",
                    plan.decodeFull.basis, plan.context);
  if (plan.prefill.tokensPerSecond > 0)
    outs() << formatv("predicted prefill: {0:f1} tokens/s ({1})\n",
                      plan.prefill.tokensPerSecond, plan.prefill.basis);
  else
    outs() << "predicted prefill: " << plan.prefill.basis << "\n";
}

int runPlan() {
  if (Error e = checkOptions())
    return ingot::driver::reportError(std::move(e));
  // Only the metadata and tensor infos are read: the data may be absent.
  auto file = ingot::gguf::GGUFFile::open(
      modelPath, ingot::gguf::GGUFFile::DataCheck::HeaderOnly);
  if (!file)
    return ingot::driver::reportError(file.takeError());
  auto target = readTarget(targetPath);
  if (!target)
    return ingot::driver::reportError(target.takeError());
  auto isa = chooseIsa(*target);
  if (!isa)
    return ingot::driver::reportError(isa.takeError());
  mlir::MLIRContext mlirContext;
  auto loaded = ingot::loadModule(mlirContext, **file, "");
  if (!loaded)
    return ingot::driver::reportError(loaded.takeError());
  mlir::ModuleOp module = **loaded;
  FirstDiagnostic diagnostics(mlirContext);
  if (Error e = runPlanPasses(module, *isa, useAmx(amx, *isa, *target, module),
                              maxBatch, diagnostics))
    return ingot::driver::reportError(std::move(e));
  ModelInfo info = describeModel(module, module, **file, *target, modelPath);
  MachinePlanOptions options;
  options.context = context;
  if (readGBps.getNumOccurrences())
    options.readGBps = readGBps;
  if (int8Gops.getNumOccurrences())
    options.int8PeakGops = int8Gops;
  MachinePlan plan = planMachine(module, info, *target, options);

  outs() << formatv("plan for {0} ({1}, {2} layers) on {3} ({4}, {5} "
                    "kernels)\n",
                    info.modelName, info.architecture, info.layers,
                    target->name, target->cpu, stringifyKernelISA(*isa));
  outs() << formatv("  model: {0}{1}\n", sys::path::filename(modelPath),
                    (*file)->hasTensorData()
                        ? ""
                        : " (header only: no tensor data in the file)");
  printThreads(*target, plan);
  printMemory(plan, (*file)->getTensorDataBytes());
  printRates(plan);
  return 0;
}

ingot::driver::RegisterCommand registration(planCommand, runPlan);

} // namespace
