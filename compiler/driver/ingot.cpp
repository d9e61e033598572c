//===- ingot.cpp - The ingot compiler driver ------------------------------===//
//
// `ingot SUBCOMMAND ...`: dispatches to the subcommand the command line
// names. Each subcommand is in its own file (InspectCommand.cpp, ...).
//
//===----------------------------------------------------------------------===//
#include "compiler/driver/Command.h"

#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace ingot::driver {

std::vector<Command> &registeredCommands() {
  static std::vector<Command> commands;
  return commands;
}

int reportError(const Twine &message) {
  std::string text = message.str();
  // Keep the promise of one line per error.
  for (char &c : text)
    if (c == '\n')
      c = ' ';
  errs() << "ingot: error: " << text << "\n";
  return 1;
}

int reportError(Error error) { return reportError(toString(std::move(error))); }

} // namespace ingot::driver

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  cl::ParseCommandLineOptions(
      argc, argv,
      "Ingot: compiles a GGUF model for one CPU into one static executable\n");
  for (const auto &command : ingot::driver::registeredCommands())
    if (*command.subCommand)
      return command.run();
  errs() << "ingot: error: no subcommand given; see `ingot --help`\n";
  return 1;
}
