//===- Command.h - `ingot` subcommand registry ------------------*- C++ -*-===//
//
// Each subcommand (inspect, target, compile, ...) lives in its own file with
// its own llvm::cl::SubCommand and options, and registers a run function
// here; main() runs the one the command line selected.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_DRIVER_COMMAND_H
#define INGOT_DRIVER_COMMAND_H

#include "compiler/codegen/CompileModel.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace ingot::driver {

struct Command {
  llvm::cl::SubCommand *subCommand;
  int (*run)();
};

std::vector<Command> &registeredCommands();

struct RegisterCommand {
  RegisterCommand(llvm::cl::SubCommand &sub, int (*run)()) {
    registeredCommands().push_back({&sub, run});
  }
};

/// Prints "ingot: error: MESSAGE" on one line to stderr and returns 1.
int reportError(llvm::Error error);
int reportError(const llvm::Twine &message);

/// Sizes print as the compile's own messages print them.
using codegen::humanBytes;

} // namespace ingot::driver

#endif // INGOT_DRIVER_COMMAND_H
