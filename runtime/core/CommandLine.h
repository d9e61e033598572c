//===- CommandLine.h - The emitted binary's command line ---------*- C++
//-*-===//
//
//   PROG run -p TEXT | -f FILE [-n N] [--temp T --top-k K --top-p P --min-p P
//            --repeat-penalty F --repeat-last-n N --presence-penalty F
//            --frequency-penalty F -s SEED] [-r/--stop STRING]...
//            [--chat [-i] [--system TEXT] [--chat-template-file FILE]]
//            [--reasoning-format deepseek|none] [--verbose-prompt]
//   PROG chat [same options]            interactive chat on stdin
//   PROG run --tokens 1,403,407 -n N [--temp 0] [--logits-out PREFIX
//                                             [--last-prompt-logits]]
//   PROG serve [--host 127.0.0.1] [--port 8080] [--api-key KEY |
//              --api-key-file FILE] [-np/--parallel N] [-n N]
//              [sampling defaults]
//              [--chat-template-file FILE] [--reasoning-format ...]
//   PROG bench [-p 128] [-n 64] [-r 3]
//   PROG info
//   bench, serve: [--warmup N]
//   all: [-t N] [-c N] [-b N] [--pin auto|none|LIST]
//        [--hugepages auto|1g|2m|thp|off] [--verify]
//
// Every number on the command line is range checked: a flag outside its
// range is one error naming the flag and the range, never a wrapped or
// truncated value. Flags that only some commands take are rejected for the
// others.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_COMMANDLINE_H
#define INGOT_RUNTIME_CORE_COMMANDLINE_H

#include "HugePages.h"
#include "Placement.h"
#include "Sampler.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ingot/ModelABI.h"

namespace ingot::rt {

struct Options {
  std::string command;
  bool help = false; // -h/--help anywhere: print the usage, nothing else
  std::string tokens;
  /// Further --tokens lists: each its own sequence of one batched run.
  std::vector<std::string> moreTokens;
  bool haveTokens = false;
  int64_t nGenerate = -2;   // -n; -2 = the command's default, -1 = until end of
                            // generation or a full context
  int64_t nPrompt = 128;    // -p (bench)
  int64_t reps = 3;         // -r (bench)
  int64_t threads = 0;      // -t; 0 = the plan's decode threads
  int64_t batchThreads = 0; // -tb; 0 = the plan's prefill threads
  int64_t context = 0;      // -c; 0 = derived
  int64_t batch = 0;        // -b; 0 = the model's max_batch
  /// --cache-type-k: how the KV cache stores keys (IngotKVKeyType).
  int32_t cacheTypeK = INGOT_KV_KEY_F32;
  std::string logitsOut;
  bool lastPromptLogits = false; // --logits-out gets the prompt's last row
  PinRequest pin;
  HugePageMode hugepages = HugePageMode::Auto;
  int64_t warmup = -1; // --warmup; -1 = the plan's rounds
  bool verify = false;
  // Text interface.
  std::string prompt;
  std::string promptFile; // -f: read (bounded) once the tokenizer is known
  bool havePrompt = false;
  // The flags given: -p and -f are two sources of one prompt, and which
  // one wins is not guessed.
  const char *promptTextFlag = nullptr, *promptFileFlag = nullptr;
  std::vector<std::string> stops;
  bool chat = false;
  bool interactive = false;
  std::string system;
  bool haveSystem = false;
  std::string templateFile;
  std::string reasoningFormat = "auto";
  bool verbosePrompt = false;
  /// --ignore-eos (copied into sampling.ignoreEos).
  bool ignoreEos = false;
  SamplerParams sampling;
  bool haveTemp = false;
  bool haveSeed = false;
  const char *tempFlag = nullptr;
  // Server (serve).
  std::string host = "127.0.0.1";
  int64_t port = 8080;
  /// Requests generated at once (slots), each with its own KV cache region
  /// of -c positions; their decode steps share one forward call.
  int64_t parallel = 4;
  std::string apiKey;
  std::string apiKeyFile;
  const char *apiKeyFlag = nullptr, *apiKeyFileFlag = nullptr;
  // A flag given that only some commands take, for the error message.
  const char *runOnly = nullptr, *benchOnly = nullptr, *notInfo = nullptr,
             *textOnly = nullptr, *serveOnly = nullptr, *warmOnly = nullptr;
  // A flag of text generation that serve takes too (its request defaults).
  const char *generateOnly = nullptr;
  // A flag that only the chat template reads (run without --chat has none).
  const char *chatOnly = nullptr;
};

// Bounds of the command line. Threads beyond what any pool here is meant to
// run are a typo, bench repetitions beyond this a mistake (each one reruns
// the whole test), and no chat template is anywhere near this long.
constexpr int64_t kMaxThreads = 1024;
constexpr int64_t kMaxRepetitions = 1000;
/// serve's slots: each is a KV cache region and a sampler.
constexpr int64_t kMaxParallel = 256;
// Warm-up rounds beyond this only delay the start.
constexpr int64_t kMaxWarmupRounds = 1000;
constexpr uint64_t kMaxTemplateBytes = 16u << 20;
// The most prompt bytes read whatever the context (a model may claim a
// huge one): several times the text of a million-token context, while the
// tokenizer's working memory for it stays modest (about 35 bytes per input
// byte).
constexpr uint64_t kMaxPromptBytes = 16u << 20;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

/// Parses argv into `o`; false and `error` for a command line that is not
/// valid. With -h/--help anywhere only `o.help` is set.
bool parseCommandLine(int argc, char **argv, Options &o, std::string &error);

/// The usage text, to stdout; false and `error` when stdout fails.
bool printHelp(std::string &error);

/// An integer flag in [min, max]: anything else, including a value beyond
/// 64 bits, is an error naming the flag and the range.
bool parseInt(const char *flag, const char *text, int64_t min, int64_t max,
              int64_t &value, std::string &error);

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_COMMANDLINE_H
