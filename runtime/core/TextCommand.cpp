//===- TextCommand.cpp - run -p/-f and chat: text in, text out ------------===//
//
// Reads the prompt (bounded by what the largest context could hold),
// renders it with the chat template under --chat, generates one answer,
// or hands over to the chat loop for `chat` and `run --chat -i`.
//
//===----------------------------------------------------------------------===//
#include "CommandLine.h"
#include "Commands.h"
#include "Error.h"
#include "FileIO.h"
#include "TextGeneration.h"

#include <algorithm>

namespace ingot::rt {
namespace {

/// The prompt as given: -p, or the -f file bounded by the largest context
/// this run can have (-f /dev/zero ends here, before it is read whole).
bool readPromptText(const TextRun &run, std::string &text, std::string &error) {
  const Options &o = run.o;
  text = o.prompt;
  if (o.promptFile.empty())
    return true;
  int64_t context =
      o.context ? std::min(o.context, modelMaxContext()) : modelMaxContext();
  return readFileBounded("-f", o.promptFile,
                         textByteLimit(context, run.tokenBytes),
                         textLimitReason(context, run.tokenBytes), text, error);
}

/// The first prompt's text and tokens: as given, or rendered as the first
/// user message under --chat (none when chatting starts on stdin).
bool preparePrompt(TextRun &run, std::string &text, std::vector<int32_t> &ids,
                   std::string &error) {
  const Options &o = run.o;
  if (!readPromptText(run, text, error))
    return false;
  if (o.chat) {
    if (!run.chat.load(o, *run.tok, error))
      return false;
    if (o.haveSystem)
      run.chat.add("system", o.system);
    if (o.havePrompt) {
      run.chat.add("user", text);
      if (!run.chat.render(text, error))
        return false;
    }
  }
  run.splitReasoning = splitsReasoning(o, *run.tok, run.chat.source());
  if (!o.chat || o.havePrompt)
    ids = tokenizePrompt(*run.tok, text, o.chat);
  if (!o.chat && ids.empty())
    return fail(error, "run: the prompt has no tokens");
  return true;
}

} // namespace

bool runText(const Options &o, std::string &error) {
  TextRun run(o);
  run.tok = loadTokenizer(error);
  if (!run.tok)
    return false;
  run.tokenBytes = longestTokenBytes(*run.tok);
  std::string text;
  std::vector<int32_t> ids;
  if (!preparePrompt(run, text, ids, error))
    return false;
  run.sampling = o.sampling;
  if (!o.haveSeed)
    run.sampling.seed = randomSeed();
  run.nGen = o.nGenerate < -1 ? -1 : o.nGenerate;
  run.stops = o.stops;
  if (!run.start(int64_t(ids.size()), error))
    return false;
  if (o.interactive)
    return runChatLoop(run, error);
  std::string raw;
  TextTimings t;
  ConsoleOutput console;
  return run.turn(ids, text, console, raw, t, error) &&
         run.finishTurn(o.chat, t, error);
}

} // namespace ingot::rt
