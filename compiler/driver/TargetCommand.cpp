//===- TargetCommand.cpp - `ingot target check|detect|probe` --------------===//
//
//   ingot target check FILE.yaml [--emit-yaml] [-o OUT.yaml]
//       validates a target description and prints its summary; --emit-yaml
//       prints the normalized YAML instead, -o writes it to a file.
//   ingot target detect [-o FILE] [--no-measure]
//       describes this machine (YAML on stdout without -o).
//   ingot target probe [--input FILE.yaml] [-o FILE] [--bytes-mib N]
//                      [--max-seconds S] [--max-threads N]
//       measures read bandwidth per thread count and the int8 peak, prints a
//       table and the description (detected or --input) with them filled in.
//
//===----------------------------------------------------------------------===//
#include "compiler/driver/Command.h"
#include "compiler/target/TargetDescription.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>

using namespace llvm;
using namespace ingot::target;
using ingot::driver::reportError;

namespace {

cl::SubCommand targetCmd("target",
                         "Check, detect or probe a CPU target description");
cl::list<std::string> targetArgs(cl::Positional, cl::sub(targetCmd),
                                 cl::desc("check FILE.yaml | detect | probe"));
cl::opt<std::string>
    outputPath("o", cl::sub(targetCmd), cl::value_desc("file"),
               cl::desc("Write the YAML description to this file"));
cl::opt<bool>
    emitYaml("emit-yaml", cl::sub(targetCmd),
             cl::desc("check: print the normalized YAML, not the summary"));
cl::opt<std::string>
    probeInput("input", cl::sub(targetCmd), cl::value_desc("file"),
               cl::desc("probe: fill in this description instead of "
                        "the detected one"));
cl::opt<unsigned>
    bytesMiB("bytes-mib", cl::sub(targetCmd), cl::init(0),
             cl::desc("probe: bandwidth buffer size in MiB (default: "
                      "max(1024, 8 x L3))"));
cl::opt<double> maxSeconds("max-seconds", cl::sub(targetCmd), cl::init(15),
                           cl::desc("probe: time budget in seconds"));
cl::opt<unsigned>
    maxThreads("max-threads", cl::sub(targetCmd), cl::init(0),
               cl::desc("probe: most threads to measure with (default: "
                        "all physical cores)"));
cl::opt<bool> noMeasure("no-measure", cl::sub(targetCmd),
                        cl::desc("detect: do not measure bandwidth to estimate "
                                 "the memory channels"));

/// Writes YAML to -o or stdout.
int emit(const TargetDescription &target, StringRef header) {
  std::string text = header.str() + writeTargetDescription(target);
  if (outputPath.empty() || outputPath == "-") {
    outs() << text;
    return 0;
  }
  std::error_code ec;
  ToolOutputFile out(outputPath, ec, sys::fs::OF_Text);
  if (ec)
    return reportError("cannot write '" + outputPath + "': " + ec.message());
  out.os() << text;
  out.keep();
  return 0;
}

int runCheck(ArrayRef<std::string> args) {
  if (args.size() != 1)
    return reportError("usage: ingot target check FILE.yaml");
  auto target = readTargetDescriptionFile(args[0]);
  if (!target)
    return reportError(target.takeError());
  if (emitYaml) {
    outs() << writeTargetDescription(*target);
    return 0;
  }
  printTargetSummary(*target, outs());
  if (!outputPath.empty())
    return emit(*target, "");
  return 0;
}

int runDetect(ArrayRef<std::string> args) {
  if (!args.empty())
    return reportError("usage: ingot target detect [-o FILE]");
  auto target = detectHost(!noMeasure);
  if (!target)
    return reportError(target.takeError());
  return emit(*target,
              "# Written by `ingot target detect`; the memory section is "
              "estimated (see examples/targets/README.md).\n");
}

int runProbeCommand(ArrayRef<std::string> args) {
  if (!args.empty())
    return reportError(
        "usage: ingot target probe [--input FILE.yaml] [-o FILE]");
  if (!(maxSeconds > 0))
    return reportError("--max-seconds must be positive");
  auto topology = detectHostTopology();
  if (!topology)
    return reportError(topology.takeError());
  Expected<TargetDescription> target =
      probeInput.empty() ? detectHost(/*measureMemory=*/false)
                         : readTargetDescriptionFile(probeInput);
  if (!target)
    return reportError(target.takeError());

  ProbeOptions options;
  options.bufferBytes = uint64_t(bytesMiB) << 20;
  options.maxSeconds = maxSeconds;
  options.maxThreads = maxThreads;
  auto report = runProbe(options, *topology, *target);
  if (!report)
    return reportError(report.takeError());

  // The table goes to stdout when the YAML goes to a file.
  raw_ostream &table = outputPath.empty() ? errs() : outs();
  table << "read bandwidth (GB/s):\n";
  table << "  threads  read_gbps\n";
  for (const BandwidthPoint &p : report->read)
    table << format("  %7u  %9.1f\n", p.threads, p.readGBps);
  if (report->int8PeakGops)
    table << "int8 peak: " << format("%.1f", *report->int8PeakGops) << " GOPS ("
          << report->int8Kernel << ", " << report->int8Threads << " threads)\n";
  else
    table << "int8 peak: not measured (no AVX2)\n";

  TargetDescription &t = *target;
  // Thread counts beyond the described machine (probing a smaller host
  // with --input) are dropped.
  t.memory.measured.clear();
  double best = 0;
  for (const BandwidthPoint &p : report->read) {
    if (p.threads > t.hardwareThreads() || !(p.readGBps > 0))
      continue;
    t.memory.measured.push_back(p);
    best = std::max(best, p.readGBps);
  }
  if (best > 0)
    t.memory.measuredReadGBps = best;
  if (report->int8PeakGops) {
    ProbeResults probe;
    probe.int8PeakGops = report->int8PeakGops;
    probe.int8Kernel = report->int8Kernel;
    probe.int8Threads = report->int8Threads;
    t.probe = probe;
  }
  if (probeInput.empty() && best > 0) {
    // Re-estimate the channels from the better measurement.
    double perChannel = t.memory.mts * 8.0 / 1000.0 * t.sockets;
    t.memory.channels = std::max(1u, unsigned(std::ceil(best / perChannel)));
  }
  if (Error err = validateTargetDescription(t))
    return reportError(std::move(err));
  return emit(t, "# Written by `ingot target probe`.\n");
}

int runTargetCommand() {
  if (targetArgs.empty())
    return reportError("usage: ingot target check FILE.yaml | detect | probe");
  // An empty -o would otherwise mean stdout (the default), hiding a bad
  // script variable; "-" says stdout explicitly.
  if (outputPath.getNumOccurrences() && outputPath.empty())
    return reportError("-o: empty path (use '-' for stdout)");
  StringRef action = targetArgs.front();
  ArrayRef<std::string> rest = ArrayRef<std::string>(targetArgs).drop_front();
  if (action == "check")
    return runCheck(rest);
  if (action == "detect")
    return runDetect(rest);
  if (action == "probe")
    return runProbeCommand(rest);
  return reportError("unknown target action '" + action +
                     "' (check, detect or probe)");
}

ingot::driver::RegisterCommand reg(targetCmd, runTargetCommand);

} // namespace
