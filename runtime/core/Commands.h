//===- Commands.h - The emitted binary's commands ----------------*- C++
//-*-===//
//
// One function per command; each returns false with one error sentence
// when the command fails (main prints it and exits 1).
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_COMMANDS_H
#define INGOT_RUNTIME_CORE_COMMANDS_H

#include <string>

namespace ingot::rt {

struct Options;

/// run --tokens: greedy token ids in, token ids (and logits) out.
bool runTokens(const Options &o, std::string &error);
/// run -p/-f (optionally --chat -i) and chat: text in, text out.
bool runText(const Options &o, std::string &error);
/// bench: prompt processing and generation speed.
bool runBench(const Options &o, std::string &error);
/// info: the model, target, kernels, memory plan and payload.
bool runInfo(const Options &o, std::string &error);

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_COMMANDS_H
