//===- CommandLine.cpp - Parsing and checking the command line ------------===//
//
// The flags are a table: each entry names its spellings, the commands that
// take it, and what it sets (a switch, or a function of its value). Matching is
// in table order, so the bench-only meanings of -p and -r come before their
// text meanings.
//
//===----------------------------------------------------------------------===//
#include "CommandLine.h"
#include "Console.h"
#include "Error.h"
#include "KVKeyType.h"
#include "ingot/ModelABI.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

namespace ingot::rt {
namespace {

void printTextHelp() {
  std::printf(
      "usage: %s <command> [options]\n"
      "\n"
      "A language model compiled by Ingot for %s.\n"
      "\n"
      "commands:\n"
      "  run      generate text for a prompt (-p/-f), or token ids for "
      "--tokens\n"
      "  chat     interactive chat: one user message per line on stdin, Ctrl-D "
      "ends\n"
      "  serve    an OpenAI-compatible HTTP server (/v1/chat/completions, "
      "/v1/completions,\n"
      "           /v1/models, /health)\n"
      "  bench    measure prompt processing (pp) and generation (tg) speed\n"
      "  info     describe the model, target, kernels, memory plan and "
      "payload\n"
      "\n"
      "text (run, chat):\n"
      "  -p, --prompt TEXT    prompt text (run: special tokens are parsed, BOS "
      "as the model says)\n"
      "  -f, --file FILE      read the prompt from FILE (at most the bytes the "
      "context can hold)\n"
      "  -n, --n-predict N    tokens to generate (default: until end of "
      "generation; -1 likewise);\n"
      "                       generation also stops when the context is full\n"
      "  -r, --reverse-prompt, --stop STRING\n"
      "                       stop when the output contains STRING (not "
      "printed; repeatable)\n"
      "  --chat               render the prompt as a user message with the "
      "chat template\n"
      "  -i, --interactive    with --chat: keep chatting, one message per "
      "stdin line\n"
      "  -sys, --system TEXT  system message (--chat, chat)\n"
      "  --chat-template-file FILE  use this Jinja chat template instead of "
      "the model's (--chat, chat)\n"
      "  --reasoning-format deepseek|none\n"
      "                       deepseek: reasoning (<think>...</think>) goes to "
      "stderr, the\n"
      "                       answer to stdout (default when the model knows "
      "<think>)\n"
      "  --verbose-prompt     print the prompt's token ids to stderr\n"
      "sampling (llama.cpp order: penalties, top-k, top-p, min-p, "
      "temperature):\n"
      "  --temp T             temperature in [0, 1e9] (default 0.8 for text, 0 "
      "= greedy; --tokens: 0)\n"
      "  --top-k N            keep the N most likely tokens (default 40, 0 or "
      "at least the\n"
      "                       vocabulary size = off)\n"
      "  --top-p P            keep the smallest set with mass >= P, P in [0, "
      "1] (default 0.95, 1 = off)\n"
      "  --min-p P            drop tokens below P x the best probability, P in "
      "[0, 1]\n"
      "                       (default 0.05, 0 = off)\n"
      "  --repeat-penalty F   penalise repeated tokens, F in [1e-6, 1e9] "
      "(default 1.0 = off)\n"
      "  --repeat-last-n N    tokens the penalties look back over (default 64, "
      "0 = off,\n"
      "                       -1 or more than the context = the whole "
      "context)\n"
      "  --presence-penalty F, --frequency-penalty F  F in [-1e9, 1e9] "
      "(default 0 = off)\n"
      "  -s, --seed N         sampling seed (default: random, -1 likewise; the "
      "same seed gives\n"
      "                       the same text)\n"
      "  --ignore-eos         never pick an end-of-generation token: generate "
      "until -n or a\n"
      "                       full context\n",
      programName(), orEmpty(ingot_model_info.target_name));
}

void printServeHelp() {
  std::printf(
      "server (serve; -n, the sampling flags, --chat-template-file and\n"
      "--reasoning-format set the defaults of every request):\n"
      "  --host ADDR          listen on this IP address (default 127.0.0.1: "
      "loopback only;\n"
      "                       0.0.0.0 or :: listen on every interface)\n"
      "  --port N             TCP port, 0 to 65535 (default 8080; 0 = any "
      "free port, printed)\n"
      "  --api-key KEY        require 'Authorization: Bearer KEY' (every "
      "endpoint but /health)\n"
      "  --api-key-file FILE  the same with the key read from FILE (its first "
      "line)\n"
      "  -np, --parallel N    requests generated at once, 1 to 256 (default "
      "4); their steps\n"
      "                       share one forward call, each has its own KV "
      "cache of -c positions\n");
}

void printRunAndCommonHelp() {
  std::printf(
      "token ids (run):\n"
      "  --tokens IDS         prompt token ids, comma-separated; prints "
      "generated ids\n"
      "                       (given again: each list its own sequence, all "
      "run as one batch;\n"
      "                       one line of ids each, --logits-out "
      "PREFIX.seqK.*)\n"
      "  -n N                 ids to generate (default 16; prompt + N must fit "
      "the context)\n"
      "  --logits-out PREFIX  write PREFIX.prompt.f32 and PREFIX.gen.f32 "
      "(float32 rows)\n"
      "  --last-prompt-logits with --logits-out: the prompt's last row only, "
      "computed as\n"
      "                       generation does (the other tokens get no "
      "logits)\n"
      "bench:\n"
      "  -p, --n-prompt N     prompt tokens to process (default 128; 0 skips "
      "pp; at most the context)\n"
      "  -n N                 decode steps (default 64; 0 skips tg; at most "
      "the context)\n"
      "  -r, --repetitions N  repetitions of each bench test, 1 to %" PRId64
      " (default 3)\n"
      "bench, serve:\n"
      "  --warmup N           forward rounds run before measuring or serving, "
      "0 to %" PRId64 "\n"
      "                       (default: the plan's, see info)\n"
      "all:\n"
      "  -t, --threads N      decode threads, 1 to %" PRId64
      " (default: the target plan's, at most\n"
      "                       the CPUs this process may use)\n"
      "  -tb, --threads-batch N  prompt-processing threads, 1 to %" PRId64
      " (default: the plan's\n"
      "                       prefill threads, or -t when -t is given)\n"
      "  -c, --ctx-size N     KV cache positions (default: 4096 or what the "
      "command needs,\n"
      "                       at most the model's maximum; a larger -c is an "
      "error)\n"
      "  -ctk, --cache-type-k f32|f16|q8_0  how the KV cache stores keys "
      "(default f32;\n"
      "                       q8_0: ggml's blocks of 32, about a quarter of "
      "the key bytes;\n"
      "                       values stay f32)\n"
      "  -b, --batch-size N   most tokens per forward call, 1 to the model's "
      "maximum (default:\n"
      "                       the maximum, see info; a larger -b is an error)\n"
      "  --pin auto|none|LIST where threads run (default auto: decode "
      "threads spread over\n"
      "                       the L3 groups and NUMA nodes, prefill on the "
      "physical cores, SMT\n"
      "                       siblings only beyond them; none: unpinned; LIST "
      "such as 0-3,8:\n"
      "                       thread i on its i-th CPU)\n"
      "  --hugepages auto|1g|2m|thp|off  where the weights live (default "
      "auto: the first of\n"
      "                       reserved 1 GiB or 2 MiB pages, a copy in "
      "transparent huge pages,\n"
      "                       the file mapping; off: the file mapping in 4 "
      "KiB pages)\n"
      "  --verify             checksum the weights even when they exceed 8 "
      "GiB\n"
      "  -h, --help           this text\n",
      kMaxRepetitions, kMaxWarmupRounds, kMaxThreads, kMaxThreads);
}

/// --pin: auto, none, or a CPU list ("0-3,8"; thread i on its i-th CPU).
bool parsePin(const char *flag, const char *text, PinRequest &pin,
              std::string &error) {
  const std::string v = text;
  pin.cpus.clear();
  if (v == "auto") {
    pin.mode = PinRequest::Mode::Auto;
    return true;
  }
  if (v == "none") {
    pin.mode = PinRequest::Mode::None;
    return true;
  }
  // In the order given: "4,0" puts thread 0 on CPU 4.
  std::string item;
  for (size_t i = 0; i <= v.size(); ++i) {
    if (i < v.size() && v[i] != ',') {
      item += v[i];
      continue;
    }
    std::vector<int> range;
    if (!parseCpuList(item, range) || range.size() > kCpuSetBits ||
        range.back() >= int(kCpuSetBits))
      return fail(error,
                  "%s: expected auto, none or a CPU list such as 0-3,8 (CPUs "
                  "below %zu), got '%s'",
                  flag, kCpuSetBits, text);
    pin.cpus.insert(pin.cpus.end(), range.begin(), range.end());
    item.clear();
  }
  pin.mode = PinRequest::Mode::List;
  return true;
}

/// An int32 setting whose large values all mean the same (a top-k of at
/// least the vocabulary, a penalty window of at least the context): values
/// beyond int32 clamp instead of wrapping.
int32_t clampToInt32(int64_t v) {
  return int32_t(std::min<int64_t>(v, std::numeric_limits<int32_t>::max()));
}

bool parseFloat(const char *flag, const char *text, double min, double max,
                float &value, std::string &error) {
  char *end = nullptr;
  errno = 0;
  double v = std::strtod(text, &end);
  // NaN fails both comparisons, inf the upper bound.
  if (errno || end == text || *end || !(v >= min && v <= max))
    return fail(error, "%s: expected a number in [%g, %g], got '%s'", flag, min,
                max, text);
  value = float(v);
  return true;
}

/// A file name flag: the name must not be empty.
bool parseFileName(const char *flag, const char *text, std::string &value,
                   std::string &error) {
  value = text;
  if (value.empty())
    return fail(error, "%s: the file name is empty", flag);
  return true;
}

bool parseLogitsPrefix(const char *a, const char *text, std::string &prefix,
                       std::string &error) {
  prefix = text;
  if (prefix.empty())
    return fail(error, "%s: the file name prefix is empty", a);
  const char *p = prefix.c_str();
  if (prefix.back() == '/')
    return fail(error,
                "%s: the file name prefix '%s' ends in '/' (it would write the "
                "hidden files %s.prompt.f32 and "
                "%s.gen.f32); give a prefix such as '%sout'",
                a, p, p, p, p);
  return true;
}

/// An int32 setting from a flag that takes [min, int64 max] (see
/// clampToInt32).
bool parseClampedInt32(const char *flag, const char *text, int64_t min,
                       int32_t &value, std::string &error) {
  int64_t v;
  if (!parseInt(flag, text, min, kInt64Max, v, error))
    return false;
  value = clampToInt32(v);
  return true;
}

/// When a flag spelling applies: some mean one thing to bench, another to
/// the text commands.
enum class Applies { Always, InBench, OutsideBench };

/// Which commands take a flag; checked once the whole line is read.
enum class Scope {
  All,
  Run,
  Bench,
  NotInfo,
  Text,
  Chat,
  Generate,     ///< text generation and serve
  ChatTemplate, ///< chat and serve
  Serve,
  Warm, ///< bench and serve
};

struct Flag {
  const char *names[3];
  Applies applies;
  Scope scope;
  /// A switch sets this member; null for a flag that takes a value.
  bool Options::*onOff;
  /// Sets the option from the flag's value.
  bool (*apply)(Options &o, const char *a, const char *v, std::string &error);
};

using E = std::string;
constexpr Applies kAlways = Applies::Always;

const Flag kFlags[] = {
    {{"--tokens"},
     kAlways,
     Scope::Run,
     nullptr,
     [](Options &o, const char *, const char *v, E &) {
       if (o.haveTokens)
         o.moreTokens.push_back(v);
       else
         o.tokens = v;
       return o.haveTokens = true;
     }},
    // Larger than the context is checked (or clamped) once the context is
    // known.
    {{"-n", "--n-predict"},
     kAlways,
     Scope::NotInfo,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseInt(a, v, o.command == "bench" ? 0 : -1, kInt64Max,
                       o.nGenerate, e);
     }},
    {{"-p", "--n-prompt"},
     Applies::InBench,
     Scope::All,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseInt(a, v, 0, kInt64Max, o.nPrompt, e);
     }},
    {{"-r", "--repetitions"},
     Applies::InBench,
     Scope::All,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseInt(a, v, 1, kMaxRepetitions, o.reps, e);
     }},
    {{"--n-prompt", "--repetitions"},
     Applies::OutsideBench,
     Scope::Bench,
     nullptr,
     [](Options &, const char *, const char *, E &) { return true; }},
    {{"-p", "--prompt"},
     kAlways,
     Scope::Text,
     nullptr,
     [](Options &o, const char *a, const char *v, E &) {
       o.prompt = v;
       o.promptTextFlag = a;
       return o.havePrompt = true;
     }},
    {{"-f", "--file"},
     kAlways,
     Scope::Text,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       o.havePrompt = true;
       o.promptFileFlag = a;
       return parseFileName(a, v, o.promptFile, e);
     }},
    {{"-r", "--reverse-prompt", "--stop"},
     kAlways,
     Scope::Text,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       o.stops.push_back(v);
       if (o.stops.back().empty())
         return fail(e,
                     "%s: the stop string is empty (it would stop before the "
                     "first token)",
                     a);
       return true;
     }},
    {{"--chat"}, kAlways, Scope::Text, &Options::chat, nullptr},
    {{"-i", "--interactive"},
     kAlways,
     Scope::Text,
     &Options::interactive,
     nullptr},
    {{"-sys", "--system"},
     kAlways,
     Scope::Chat,
     nullptr,
     [](Options &o, const char *, const char *v, E &) {
       o.system = v;
       return o.haveSystem = true;
     }},
    {{"--chat-template-file"},
     kAlways,
     Scope::ChatTemplate,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseFileName(a, v, o.templateFile, e);
     }},
    {{"--reasoning-format"},
     kAlways,
     Scope::Generate,
     nullptr,
     [](Options &o, const char *, const char *v, E &e) {
       o.reasoningFormat = v;
       if (o.reasoningFormat != "deepseek" && o.reasoningFormat != "none" &&
           o.reasoningFormat != "auto")
         return fail(
             e, "--reasoning-format: expected deepseek, none or auto, got '%s'",
             v);
       return true;
     }},
    {{"--ignore-eos"}, kAlways, Scope::Generate, &Options::ignoreEos, nullptr},
    {{"--verbose-prompt"},
     kAlways,
     Scope::Text,
     &Options::verbosePrompt,
     nullptr},
    {{"--temp"},
     kAlways,
     Scope::NotInfo,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       o.haveTemp = true;
       o.tempFlag = a;
       return parseFloat(a, v, 0, 1e9, o.sampling.temp, e);
     }},
    {{"--top-k"},
     kAlways,
     Scope::Generate,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseClampedInt32(a, v, 0, o.sampling.topK, e);
     }},
    {{"--top-p"},
     kAlways,
     Scope::Generate,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseFloat(a, v, 0, 1, o.sampling.topP, e);
     }},
    {{"--min-p"},
     kAlways,
     Scope::Generate,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseFloat(a, v, 0, 1, o.sampling.minP, e);
     }},
    {{"--repeat-penalty"},
     kAlways,
     Scope::Generate,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseFloat(a, v, 1e-6, 1e9, o.sampling.repeatPenalty, e);
     }},
    // The sampler bounds the window by the context.
    {{"--repeat-last-n"},
     kAlways,
     Scope::Generate,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseClampedInt32(a, v, -1, o.sampling.repeatLastN, e);
     }},
    {{"--presence-penalty"},
     kAlways,
     Scope::Generate,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseFloat(a, v, -1e9, 1e9, o.sampling.presencePenalty, e);
     }},
    {{"--frequency-penalty"},
     kAlways,
     Scope::Generate,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseFloat(a, v, -1e9, 1e9, o.sampling.frequencyPenalty, e);
     }},
    {{"-s", "--seed"},
     kAlways,
     Scope::Generate,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       int64_t seed;
       if (!parseInt(a, v, -1, kInt64Max, seed, e))
         return false;
       o.sampling.seed = uint64_t(seed);
       o.haveSeed = o.sampling.seed != uint64_t(-1);
       return true;
     }},
    {{"-t", "--threads"},
     kAlways,
     Scope::All,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseInt(a, v, 1, kMaxThreads, o.threads, e);
     }},
    {{"-tb", "--threads-batch"},
     kAlways,
     Scope::All,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseInt(a, v, 1, kMaxThreads, o.batchThreads, e);
     }},
    // Checked against the compiled plan's maximum in setUpSession().
    {{"-c", "--ctx-size"},
     kAlways,
     Scope::All,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseInt(a, v, 1, kInt64Max, o.context, e);
     }},
    // Checked against the model's maximum batch in setUpSession().
    {{"-b", "--batch-size"},
     kAlways,
     Scope::All,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseInt(a, v, 1, kInt64Max, o.batch, e);
     }},
    {{"--logits-out"},
     kAlways,
     Scope::Run,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseLogitsPrefix(a, v, o.logitsOut, e);
     }},
    {{"--last-prompt-logits"},
     kAlways,
     Scope::Run,
     &Options::lastPromptLogits,
     nullptr},
    {{"--host"},
     kAlways,
     Scope::Serve,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       o.host = v;
       if (o.host.empty())
         return fail(e, "%s: the address is empty", a);
       return true;
     }},
    {{"--port"},
     kAlways,
     Scope::Serve,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseInt(a, v, 0, 65535, o.port, e);
     }},
    {{"-np", "--parallel"},
     kAlways,
     Scope::Serve,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseInt(a, v, 1, kMaxParallel, o.parallel, e);
     }},
    {{"--api-key"},
     kAlways,
     Scope::Serve,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       o.apiKey = v;
       o.apiKeyFlag = a;
       if (o.apiKey.empty())
         return fail(e, "%s: the key is empty", a);
       return true;
     }},
    {{"--api-key-file"},
     kAlways,
     Scope::Serve,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       o.apiKeyFileFlag = a;
       return parseFileName(a, v, o.apiKeyFile, e);
     }},
    {{"--pin"},
     kAlways,
     Scope::All,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parsePin(a, v, o.pin, e);
     }},
    {{"--hugepages"},
     kAlways,
     Scope::All,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       if (!parseHugePageMode(v, o.hugepages))
         return fail(e, "%s: expected auto, 1g, 2m, thp or off, got '%s'", a,
                     v);
       return true;
     }},
    // Checked against the model's key heads in setUpSession().
    {{"-ctk", "--cache-type-k"},
     kAlways,
     Scope::All,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       if (!parseKVKeyType(v, o.cacheTypeK))
         return fail(e, "%s: expected f32, f16 or q8_0, got '%s'", a, v);
       return true;
     }},
    {{"--warmup"},
     kAlways,
     Scope::Warm,
     nullptr,
     [](Options &o, const char *a, const char *v, E &e) {
       return parseInt(a, v, 0, kMaxWarmupRounds, o.warmup, e);
     }},
    {{"--verify"}, kAlways, Scope::All, &Options::verify, nullptr},
};

/// Remembers flag `a` as one that only some commands take.
void noteScope(Options &o, Scope scope, const char *a) {
  switch (scope) {
  case Scope::All:
    break;
  case Scope::Run:
    o.runOnly = a;
    break;
  case Scope::Bench:
    o.benchOnly = a;
    break;
  case Scope::NotInfo:
    o.notInfo = a;
    break;
  case Scope::Chat:
    o.chatOnly = a;
    [[fallthrough]];
  case Scope::Text:
    o.textOnly = a;
    break;
  case Scope::ChatTemplate:
    o.chatOnly = a;
    [[fallthrough]];
  case Scope::Generate:
    o.generateOnly = a;
    break;
  case Scope::Serve:
    o.serveOnly = a;
    break;
  case Scope::Warm:
    o.warmOnly = a;
    break;
  }
}

/// The first table entry `arg` means for `command`, or null.
const Flag *findFlag(const char *arg, const std::string &command) {
  const bool bench = command == "bench";
  for (const Flag &f : kFlags) {
    if ((f.applies == Applies::InBench && !bench) ||
        (f.applies == Applies::OutsideBench && bench))
      continue;
    for (const char *name : f.names)
      if (name && !std::strcmp(arg, name))
        return &f;
  }
  return nullptr;
}

bool parseCommand(int argc, char **argv, Options &o, std::string &error) {
  if (argc < 2)
    return fail(
        error, "missing command (run, chat, serve, bench or info); see --help");
  o.command = argv[1];
  if (o.command != "run" && o.command != "chat" && o.command != "serve" &&
      o.command != "bench" && o.command != "info")
    return fail(error,
                "unknown command '%s' (expected run, chat, serve, bench or "
                "info); see --help",
                o.command.c_str());
  return true;
}

bool parseFlags(int argc, char **argv, Options &o, std::string &error) {
  for (int i = 2; i < argc; ++i) {
    const char *a = argv[i];
    const Flag *flag = findFlag(a, o.command);
    if (!flag)
      return fail(error, "unknown option '%s' for '%s'; see --help", a,
                  o.command.c_str());
    noteScope(o, flag->scope, a);
    if (flag->onOff) {
      o.*flag->onOff = true;
      continue;
    }
    if (i + 1 >= argc)
      return fail(error, "%s: missing value", a);
    if (!flag->apply(o, a, argv[++i], error))
      return false;
  }
  return true;
}

/// The checks that need the whole command line: flags given to a command
/// that does not take them, and sources given twice.
bool checkFlagsFitCommand(const Options &o, std::string &error) {
  const bool bench = o.command == "bench";
  const bool text =
      o.command == "chat" || (o.command == "run" && !o.haveTokens);
  if (o.runOnly && o.command != "run")
    return fail(error, "%s applies to 'run' only", o.runOnly);
  if (o.benchOnly && !bench)
    return fail(error, "%s applies to 'bench' only", o.benchOnly);
  if (o.notInfo && o.command == "info")
    return fail(error, "%s does not apply to 'info'", o.notInfo);
  if (o.tempFlag && bench)
    return fail(error,
                "%s does not apply to 'bench' (it decodes greedily); bench "
                "takes -p, -n, -r, -t, -tb, -c, -b, --warmup, "
                "--pin, --hugepages and --verify",
                o.tempFlag);
  if (o.command == "run" && o.haveTokens && o.havePrompt)
    return fail(error,
                "run: give either --tokens or a prompt (-p/-f), not both");
  if (o.promptTextFlag && o.promptFileFlag)
    return fail(error, "%s: give either %s or %s, not both", o.command.c_str(),
                o.promptTextFlag, o.promptFileFlag);
  if (!o.logitsOut.empty() && text)
    return fail(error, "--logits-out applies to 'run --tokens' only (text "
                       "generation writes no logits)");
  if (o.lastPromptLogits && o.logitsOut.empty())
    return fail(error, "--last-prompt-logits applies with --logits-out only");
  if (o.textOnly && !text)
    return fail(error, "%s applies to text generation (run -p/-f, chat) only",
                o.textOnly);
  if (o.generateOnly && !text && o.command != "serve")
    return fail(error,
                "%s applies to text generation (run -p/-f, chat) and serve "
                "only",
                o.generateOnly);
  if (o.serveOnly && o.command != "serve")
    return fail(error, "%s applies to 'serve' only", o.serveOnly);
  if (o.warmOnly && !bench && o.command != "serve")
    return fail(error, "%s applies to 'bench' and 'serve' only", o.warmOnly);
  if (o.apiKeyFlag && o.apiKeyFileFlag)
    return fail(error, "serve: give either %s or %s, not both", o.apiKeyFlag,
                o.apiKeyFileFlag);
  return true;
}

/// What `run` needs besides its flags fitting it.
bool checkRunInputs(const Options &o, std::string &error) {
  const bool text =
      o.command == "chat" || (o.command == "run" && !o.haveTokens);
  if (o.command == "run" && !o.haveTokens && !o.havePrompt &&
      !(o.chat && o.interactive))
    return fail(
        error, "run: a prompt is required (-p TEXT, -f FILE, or --tokens IDS)");
  if (o.interactive && !o.chat && o.command == "run")
    return fail(error, "-i applies to --chat (or use the 'chat' command)");
  if (o.chatOnly && !o.chat && o.command == "run")
    return fail(error, "%s needs --chat (or use the 'chat' command)",
                o.chatOnly);
  if (o.command == "run" && !text && o.haveTemp && o.sampling.temp != 0.0f)
    return fail(error,
                "--temp %g: --tokens decodes greedily; use --temp 0 or a text "
                "prompt (-p)",
                double(o.sampling.temp));
  return true;
}

} // namespace

bool parseInt(const char *flag, const char *text, int64_t min, int64_t max,
              int64_t &value, std::string &error) {
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(text, &end, 10);
  if (end == text || *end || (errno && errno != ERANGE))
    return fail(error, "%s: expected an integer, got '%s'", flag, text);
  if (errno == ERANGE || v < min || v > max) {
    if (max == kInt64Max)
      return fail(error,
                  "%s: expected an integer of at least %" PRId64
                  " (and at most %" PRId64 "), got '%s'",
                  flag, min, max, text);
    return fail(error,
                "%s: expected an integer in [%" PRId64 ", %" PRId64
                "], got '%s'",
                flag, min, max, text);
  }
  value = v;
  return true;
}

bool parseCommandLine(int argc, char **argv, Options &o, std::string &error) {
  for (int j = 1; j < argc; ++j)
    if (!std::strcmp(argv[j], "-h") || !std::strcmp(argv[j], "--help")) {
      o.help = true;
      return true;
    }
  if (!parseCommand(argc, argv, o, error) ||
      !parseFlags(argc, argv, o, error) || !checkFlagsFitCommand(o, error) ||
      !checkRunInputs(o, error))
    return false;
  o.sampling.ignoreEos = o.ignoreEos;
  if (o.command == "chat") {
    o.chat = true;
    o.interactive = true;
  }
  return true;
}

bool printHelp(std::string &error) {
  // Each part fits stdout's buffer, so the first failed write is caught
  // with its reason (help > /dev/full: no space left on device).
  printTextHelp();
  if (!checkStdout(error))
    return false;
  printServeHelp();
  if (!checkStdout(error))
    return false;
  printRunAndCommonHelp();
  return true;
}

} // namespace ingot::rt
