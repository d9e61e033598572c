//===- Main.cpp - main() of every emitted binary
//---------------------------===//
//
// Order at start: CPU features (before anything else: can this CPU run the
// compiled code at all?), then the command line, then the command, which
// sets up its session (Session.h). Every failure comes back here as one
// sentence: main prints it after the program name and exits 1. A
// successful command ends with stdout flushed and closed, so nothing it
// printed is lost silently (info > /dev/full exits 1).
//
//===----------------------------------------------------------------------===//
#include "ingot/ModelABI.h"
#include "runtime/core/CommandLine.h"
#include "runtime/core/Commands.h"
#include "runtime/core/Console.h"
#include "runtime/core/CpuFeatures.h"
#include "runtime/server/ServeCommand.h"

#include <string>

using namespace ingot::rt;
using ingot::rt::server::runServe;

namespace {

bool runCommand(const Options &o, std::string &error) {
  if (o.command == "run" && o.haveTokens)
    return runTokens(o, error);
  if (o.command == "run" || o.command == "chat")
    return runText(o, error);
  if (o.command == "serve")
    return runServe(o, error);
  if (o.command == "bench")
    return runBench(o, error);
  return runInfo(o, error);
}

bool runProgram(int argc, char **argv, std::string &error) {
  if (!checkCpuFeatures(ingot_model_info.required_features,
                        ingot_model_info.target_name, error))
    return false;
  Options o;
  if (!parseCommandLine(argc, argv, o, error))
    return false;
  if (o.help ? !printHelp(error) : !runCommand(o, error))
    return false;
  return closeStdout(error);
}

} // namespace

int main(int argc, char **argv) {
  if (argc > 0)
    setProgramName(argv[0]);
  std::string error;
  if (!runProgram(argc, argv, error)) {
    printError(error);
    return 1;
  }
  return 0;
}
