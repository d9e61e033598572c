//===- Main.cpp - main() of every emitted binary ---------------------------===//
//
//   PROG run -p TEXT | -f FILE [-n N] [--temp T --top-k K --top-p P --min-p P
//            --repeat-penalty F --repeat-last-n N --presence-penalty F
//            --frequency-penalty F -s SEED] [-r/--stop STRING]...
//            [--chat [-i] [--system TEXT] [--chat-template-file FILE]]
//            [--reasoning-format deepseek|none] [--verbose-prompt]
//   PROG chat [same options]            interactive chat on stdin
//   PROG run --tokens 1,403,407 -n N [--temp 0] [--logits-out PREFIX]
//   PROG bench [-p 128] [-n 64] [-r 3]
//   PROG info
//   all: [-t N] [-c N] [-b N] [--pin] [--hugepages] [--verify]
//
// Every number on the command line is range checked (a flag outside its
// range is one error line naming the flag and the range, never a wrapped
// or truncated value) and every size derived from one is bounded: the
// context by what the compiled plan allows, a prompt file and a chat line
// by the bytes that context could hold. A failed write to stdout or to a
// --logits-out file is an error (exit 1), not a silent success.
//
// Order at start: CPU features (before anything else), then the payload,
// then the one allocation (arena + KV), then the thread pool. The decode
// loop allocates nothing (the sampler's candidate arrays and the text
// buffers are sized before it starts). Text goes to stdout exactly as
// generated (only the continuation, never the prompt); reasoning, timings
// and notes go to stderr.
//
//===----------------------------------------------------------------------===//

#include "Arena.h"
#include "CpuFeatures.h"
#include "Payload.h"
#include "Sampler.h"
#include "TextStream.h"
#include "ThreadPool.h"
#include "runtime/chat/ChatTemplate.h"
#include "runtime/tokenizer/Tokenizer.h"
#include "ingot/ModelABI.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <memory>
#include <utility>
#include <string>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <vector>

using namespace ingot::rt;

namespace {

const char *gProgram = "ingot-model";

[[noreturn]] void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void fail(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  std::fflush(stdout);
  std::fprintf(stderr, "%s: error: %s\n", gProgram, buf);
  std::exit(1);
}

/// Ends the process after a failed write to stdout. Does not touch stdout
/// again (it may be closed already).
[[noreturn]] void stdoutWriteError(int err) {
  std::fprintf(stderr, "%s: error: write error: stdout: %s\n", gProgram,
               err ? std::strerror(err) : "an earlier write failed");
  std::exit(1);
}

/// Flushes stdout and fails when anything written to it so far was lost
/// (a full disk, a closed pipe with SIGPIPE ignored, ...).
void checkStdout() {
  errno = 0;
  bool flushFailed = std::fflush(stdout) != 0;
  int err = flushFailed ? errno : 0;
  if (flushFailed || std::ferror(stdout))
    stdoutWriteError(err);
}

/// The last step of every successful command: stdout is complete and
/// closed, or the exit status says it is not.
[[noreturn]] void finishAndExit(int status) {
  checkStdout();
  errno = 0;
  if (std::fclose(stdout) != 0)
    stdoutWriteError(errno);
  std::exit(status);
}

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

const char *orEmpty(const char *s) { return s ? s : ""; }

//===-- Command line ------------------------------------------------------===//

struct Options {
  std::string command;
  std::string tokens;
  bool haveTokens = false;
  int64_t nGenerate = -2; // -n; -2 = the command's default, -1 = until end of generation or a full context
  int64_t nPrompt = 128;  // -p (bench)
  int64_t reps = 3;       // -r (bench)
  int64_t threads = 0;    // -t; 0 = the plan's decode threads
  int64_t batchThreads = 0; // -tb; 0 = the plan's prefill threads
  int64_t context = 0;    // -c; 0 = derived
  int64_t batch = 0;      // -b; 0 = the model's max_batch
  std::string logitsOut;
  bool pin = false;
  bool hugepages = false;
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
  SamplerParams sampling;
  bool haveTemp = false;
  bool haveSeed = false;
  const char *tempFlag = nullptr;
  // A flag given that only some commands take, for the error message.
  const char *runOnly = nullptr, *benchOnly = nullptr, *notInfo = nullptr, *textOnly = nullptr;
  // A flag that only the chat template reads (run without --chat has none).
  const char *chatOnly = nullptr;
};

// Bounds of the command line. Threads beyond what any pool here is meant to
// run are a typo, bench repetitions beyond this a mistake (each one reruns
// the whole test), and no chat template is anywhere near this long.
constexpr int64_t kMaxThreads = 1024;
constexpr int64_t kMaxRepetitions = 1000;
constexpr uint64_t kMaxTemplateBytes = 16u << 20;
// The most prompt bytes read whatever the context (a model may claim a
// huge one): several times the text of a million-token context, while the
// tokenizer's working memory for it stays modest (about 35 bytes per input
// byte).
constexpr uint64_t kMaxPromptBytes = 16u << 20;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

void printHelp() {
  std::printf(
      "usage: %s <command> [options]\n"
      "\n"
      "A language model compiled by Ingot for %s.\n"
      "\n"
      "commands:\n"
      "  run      generate text for a prompt (-p/-f), or token ids for --tokens\n"
      "  chat     interactive chat: one user message per line on stdin, Ctrl-D ends\n"
      "  bench    measure prompt processing (pp) and generation (tg) speed\n"
      "  info     describe the model, target, kernels, memory plan and payload\n"
      "\n"
      "text (run, chat):\n"
      "  -p, --prompt TEXT    prompt text (run: special tokens are parsed, BOS as the model says)\n"
      "  -f, --file FILE      read the prompt from FILE (at most the bytes the context can hold)\n"
      "  -n, --n-predict N    tokens to generate (default: until end of generation; -1 likewise);\n"
      "                       generation also stops when the context is full\n"
      "  -r, --reverse-prompt, --stop STRING\n"
      "                       stop when the output contains STRING (not printed; repeatable)\n"
      "  --chat               render the prompt as a user message with the chat template\n"
      "  -i, --interactive    with --chat: keep chatting, one message per stdin line\n"
      "  -sys, --system TEXT  system message (--chat, chat)\n"
      "  --chat-template-file FILE  use this Jinja chat template instead of the model's (--chat, chat)\n"
      "  --reasoning-format deepseek|none\n"
      "                       deepseek: reasoning (<think>...</think>) goes to stderr, the\n"
      "                       answer to stdout (default when the model knows <think>)\n"
      "  --verbose-prompt     print the prompt's token ids to stderr\n"
      "sampling (llama.cpp order: penalties, top-k, top-p, min-p, temperature):\n"
      "  --temp T             temperature in [0, 1e9] (default 0.8 for text, 0 = greedy; --tokens: 0)\n"
      "  --top-k N            keep the N most likely tokens (default 40, 0 or at least the\n"
      "                       vocabulary size = off)\n"
      "  --top-p P            keep the smallest set with mass >= P, P in [0, 1] (default 0.95, 1 = off)\n"
      "  --min-p P            drop tokens below P x the best probability, P in [0, 1]\n"
      "                       (default 0.05, 0 = off)\n"
      "  --repeat-penalty F   penalise repeated tokens, F in [1e-6, 1e9] (default 1.0 = off)\n"
      "  --repeat-last-n N    tokens the penalties look back over (default 64, 0 = off,\n"
      "                       -1 or more than the context = the whole context)\n"
      "  --presence-penalty F, --frequency-penalty F  F in [-1e9, 1e9] (default 0 = off)\n"
      "  -s, --seed N         sampling seed (default: random, -1 likewise; the same seed gives\n"
      "                       the same text)\n"
      "token ids (run):\n"
      "  --tokens IDS         prompt token ids, comma-separated; prints generated ids\n"
      "  -n N                 ids to generate (default 16; prompt + N must fit the context)\n"
      "  --logits-out PREFIX  write PREFIX.prompt.f32 and PREFIX.gen.f32 (float32 rows)\n"
      "bench:\n"
      "  -p, --n-prompt N     prompt tokens to process (default 128; 0 skips pp; at most the context)\n"
      "  -n N                 decode steps (default 64; 0 skips tg; at most the context)\n"
      "  -r, --repetitions N  repetitions of each bench test, 1 to %" PRId64 " (default 3)\n"
      "all:\n"
      "  -t, --threads N      decode threads, 1 to %" PRId64 " (default: the target plan's, at most\n"
      "                       the CPUs this process may use)\n"
      "  -tb, --threads-batch N  prompt-processing threads, 1 to %" PRId64 " (default: the plan's\n"
      "                       prefill threads, or -t when -t is given)\n"
      "  -c, --ctx-size N     KV cache positions (default: 4096 or what the command needs,\n"
      "                       at most the model's maximum; a larger -c is an error)\n"
      "  -b, --batch-size N   most tokens per forward call, 1 to the model's maximum (default:\n"
      "                       the maximum, see info; a larger -b is an error)\n"
      "  --pin                pin thread i to the i-th available CPU\n"
      "  --hugepages          copy the weights into free 2 MiB / 1 GiB huge pages\n"
      "  --verify             checksum the weights even when they exceed 8 GiB\n"
      "  -h, --help           this text\n",
      gProgram, orEmpty(ingot_model_info.target_name), kMaxRepetitions, kMaxThreads, kMaxThreads);
}

/// An integer flag in [min, max]: anything else, including a value beyond
/// 64 bits, is an error naming the flag and the range.
int64_t parseInt(const char *flag, const char *text, int64_t min, int64_t max = kInt64Max) {
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(text, &end, 10);
  if (end == text || *end || (errno && errno != ERANGE))
    fail("%s: expected an integer, got '%s'", flag, text);
  if (errno == ERANGE || v < min || v > max) {
    if (max == kInt64Max)
      fail("%s: expected an integer of at least %" PRId64 " (and at most %" PRId64 "), got '%s'", flag, min, max,
           text);
    fail("%s: expected an integer in [%" PRId64 ", %" PRId64 "], got '%s'", flag, min, max, text);
  }
  return v;
}

/// An int32 setting whose large values all mean the same (a top-k of at
/// least the vocabulary, a penalty window of at least the context): values
/// beyond int32 clamp instead of wrapping.
int32_t clampToInt32(int64_t v) { return int32_t(std::min<int64_t>(v, std::numeric_limits<int32_t>::max())); }

float parseFloat(const char *flag, const char *text, double min, double max) {
  char *end = nullptr;
  errno = 0;
  double v = std::strtod(text, &end);
  // NaN fails both comparisons, inf the upper bound.
  if (errno || end == text || *end || !(v >= min && v <= max))
    fail("%s: expected a number in [%g, %g], got '%s'", flag, min, max, text);
  return float(v);
}

/// The contents of `path`, which must not be longer than `limit` bytes:
/// a longer file (or an endless one such as /dev/zero) is an error after
/// reading at most limit + 1 bytes. `why` says where the limit comes from.
std::string readFileBounded(const char *flag, const std::string &path, uint64_t limit, const std::string &why) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail("%s: cannot read '%s': %s", flag, path.c_str(), std::strerror(errno));
  struct stat st;
  bool known = ::fstat(fd, &st) == 0;
  if (known && S_ISDIR(st.st_mode))
    fail("%s: cannot read '%s': it is a directory", flag, path.c_str());
  if (known && S_ISREG(st.st_mode) && uint64_t(st.st_size) > limit)
    fail("%s: '%s' has %" PRIu64 " bytes, more than %" PRIu64 ": %s", flag, path.c_str(), uint64_t(st.st_size), limit,
         why.c_str());
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      fail("%s: cannot read '%s': %s", flag, path.c_str(), std::strerror(errno));
    if (n == 0)
      break;
    if (uint64_t(n) > limit - text.size())
      fail("%s: '%s' has more than %" PRIu64 " bytes: %s", flag, path.c_str(), limit, why.c_str());
    text.append(buf, size_t(n));
  }
  ::close(fd);
  return text;
}

Options parseArgs(int argc, char **argv) {
  Options o;
  int i = 1;
  for (int j = 1; j < argc; ++j)
    if (!std::strcmp(argv[j], "-h") || !std::strcmp(argv[j], "--help")) {
      printHelp();
      finishAndExit(0);
    }
  if (i >= argc)
    fail("missing command (run, chat, bench or info); see --help");
  o.command = argv[i++];
  if (o.command != "run" && o.command != "chat" && o.command != "bench" && o.command != "info")
    fail("unknown command '%s' (expected run, chat, bench or info); see --help", o.command.c_str());
  const bool bench = o.command == "bench";
  auto value = [&](const char *flag) -> const char * {
    if (i + 1 >= argc)
      fail("%s: missing value", flag);
    return argv[++i];
  };
  for (; i < argc; ++i) {
    const char *a = argv[i];
    auto is = [&](const char *s1, const char *s2 = nullptr) {
      return !std::strcmp(a, s1) || (s2 && !std::strcmp(a, s2));
    };
    if (is("--tokens")) {
      o.tokens = value(a);
      o.haveTokens = true;
      o.runOnly = a;
    } else if (is("-n", "--n-predict")) {
      // Larger than the context is checked (or clamped) once the context
      // is known.
      o.nGenerate = parseInt(a, value(a), bench ? 0 : -1);
      o.notInfo = a;
    } else if (bench && is("-p", "--n-prompt")) {
      o.nPrompt = parseInt(a, value(a), 0);
    } else if (bench && is("-r", "--repetitions")) {
      o.reps = parseInt(a, value(a), 1, kMaxRepetitions);
    } else if (is("--n-prompt", "--repetitions")) {
      value(a);
      o.benchOnly = a;
    } else if (is("-p", "--prompt")) {
      o.prompt = value(a);
      o.havePrompt = true;
      o.promptTextFlag = a;
      o.textOnly = a;
    } else if (is("-f", "--file")) {
      o.promptFile = value(a);
      if (o.promptFile.empty())
        fail("%s: the file name is empty", a);
      o.havePrompt = true;
      o.promptFileFlag = a;
      o.textOnly = a;
    } else if (is("-r", "--reverse-prompt") || is("--stop")) {
      o.stops.push_back(value(a));
      if (o.stops.back().empty())
        fail("%s: the stop string is empty (it would stop before the first token)", a);
      o.textOnly = a;
    } else if (is("--chat")) {
      o.chat = true;
      o.textOnly = a;
    } else if (is("-i", "--interactive")) {
      o.interactive = true;
      o.textOnly = a;
    } else if (is("-sys", "--system")) {
      o.system = value(a);
      o.haveSystem = true;
      o.chatOnly = a;
      o.textOnly = a;
    } else if (is("--chat-template-file")) {
      o.templateFile = value(a);
      if (o.templateFile.empty())
        fail("%s: the file name is empty", a);
      o.chatOnly = a;
      o.textOnly = a;
    } else if (is("--reasoning-format")) {
      o.reasoningFormat = value(a);
      if (o.reasoningFormat != "deepseek" && o.reasoningFormat != "none" && o.reasoningFormat != "auto")
        fail("--reasoning-format: expected deepseek, none or auto, got '%s'", o.reasoningFormat.c_str());
      o.textOnly = a;
    } else if (is("--verbose-prompt")) {
      o.verbosePrompt = true;
      o.textOnly = a;
    } else if (is("--temp")) {
      o.sampling.temp = parseFloat(a, value(a), 0, 1e9);
      o.haveTemp = true;
      o.tempFlag = a;
      o.notInfo = a;
    } else if (is("--top-k")) {
      o.sampling.topK = clampToInt32(parseInt(a, value(a), 0));
      o.textOnly = a;
    } else if (is("--top-p")) {
      o.sampling.topP = parseFloat(a, value(a), 0, 1);
      o.textOnly = a;
    } else if (is("--min-p")) {
      o.sampling.minP = parseFloat(a, value(a), 0, 1);
      o.textOnly = a;
    } else if (is("--repeat-penalty")) {
      o.sampling.repeatPenalty = parseFloat(a, value(a), 1e-6, 1e9);
      o.textOnly = a;
    } else if (is("--repeat-last-n")) {
      // The sampler bounds the window by the context.
      o.sampling.repeatLastN = clampToInt32(parseInt(a, value(a), -1));
      o.textOnly = a;
    } else if (is("--presence-penalty")) {
      o.sampling.presencePenalty = parseFloat(a, value(a), -1e9, 1e9);
      o.textOnly = a;
    } else if (is("--frequency-penalty")) {
      o.sampling.frequencyPenalty = parseFloat(a, value(a), -1e9, 1e9);
      o.textOnly = a;
    } else if (is("-s", "--seed")) {
      o.sampling.seed = uint64_t(parseInt(a, value(a), -1));
      o.haveSeed = o.sampling.seed != uint64_t(-1);
      o.textOnly = a;
    } else if (is("-t", "--threads")) {
      o.threads = parseInt(a, value(a), 1, kMaxThreads);
    } else if (is("-tb", "--threads-batch")) {
      o.batchThreads = parseInt(a, value(a), 1, kMaxThreads);
    } else if (is("-c", "--ctx-size")) {
      // Checked against the compiled plan's maximum in setUp().
      o.context = parseInt(a, value(a), 1);
    } else if (is("-b", "--batch-size")) {
      // Checked against the model's maximum batch in setUp().
      o.batch = parseInt(a, value(a), 1);
    } else if (is("--logits-out")) {
      o.logitsOut = value(a);
      if (o.logitsOut.empty())
        fail("%s: the file name prefix is empty", a);
      if (o.logitsOut.back() == '/')
        fail("%s: the file name prefix '%s' ends in '/' (it would write the hidden files %s.prompt.f32 and "
             "%s.gen.f32); give a prefix such as '%sout'",
             a, o.logitsOut.c_str(), o.logitsOut.c_str(), o.logitsOut.c_str(), o.logitsOut.c_str());
      o.runOnly = a;
    } else if (is("--pin")) {
      o.pin = true;
    } else if (is("--hugepages")) {
      o.hugepages = true;
    } else if (is("--verify")) {
      o.verify = true;
    } else {
      fail("unknown option '%s' for '%s'; see --help", a, o.command.c_str());
    }
  }
  const bool text = o.command == "chat" || (o.command == "run" && !o.haveTokens);
  if (o.runOnly && o.command != "run")
    fail("%s applies to 'run' only", o.runOnly);
  if (o.benchOnly && !bench)
    fail("%s applies to 'bench' only", o.benchOnly);
  if (o.notInfo && o.command == "info")
    fail("%s does not apply to 'info'", o.notInfo);
  if (o.tempFlag && bench)
    fail("%s does not apply to 'bench' (it decodes greedily); bench takes -p, -n, -r, -t, -tb, -c, -b, --pin, "
         "--hugepages and --verify",
         o.tempFlag);
  if (o.command == "run" && o.haveTokens && o.havePrompt)
    fail("run: give either --tokens or a prompt (-p/-f), not both");
  if (o.promptTextFlag && o.promptFileFlag)
    fail("%s: give either %s or %s, not both", o.command.c_str(), o.promptTextFlag, o.promptFileFlag);
  if (!o.logitsOut.empty() && text)
    fail("--logits-out applies to 'run --tokens' only (text generation writes no logits)");
  if (o.textOnly && !text)
    fail("%s applies to text generation (run -p/-f, chat) only", o.textOnly);
  if (o.command == "run" && !o.haveTokens && !o.havePrompt && !(o.chat && o.interactive))
    fail("run: a prompt is required (-p TEXT, -f FILE, or --tokens IDS)");
  if (o.interactive && !o.chat && o.command == "run")
    fail("-i applies to --chat (or use the 'chat' command)");
  if (o.chatOnly && !o.chat && o.command == "run")
    fail("%s needs --chat (or use the 'chat' command)", o.chatOnly);
  if (!text && o.haveTemp && o.sampling.temp != 0.0f)
    fail("--temp %g: --tokens decodes greedily; use --temp 0 or a text prompt (-p)", double(o.sampling.temp));
  if (o.command == "chat") {
    o.chat = true;
    o.interactive = true;
  }
  return o;
}

std::vector<int32_t> parseTokens(const std::string &text, int64_t vocab) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos)
      end = text.size();
    std::string item = text.substr(start, end - start);
    char *stop = nullptr;
    errno = 0;
    long long v = std::strtoll(item.c_str(), &stop, 10);
    if (item.empty() || (errno && errno != ERANGE) || *stop || stop == item.c_str())
      fail("--tokens: '%s' is not a token id (expected comma-separated integers)", item.c_str());
    if (errno == ERANGE)
      fail("--tokens: token id %s is out of range (vocabulary has %" PRId64 " tokens)", item.c_str(), vocab);
    if (v < 0 || v >= vocab)
      fail("--tokens: token id %lld is out of range (vocabulary has %" PRId64 " tokens)", v, vocab);
    ids.push_back(int32_t(v));
    start = end + 1;
  }
  return ids;
}

//===-- The model session -------------------------------------------------===//

/// Everything one run needs, set up once: payload, arena, pool, context.
struct Session {
  Payload payload;
  Arena arena;
  ThreadPool pool;
  IngotContext ctx{};
  int64_t vocab = 0;
  int64_t maxBatch = 1;
  int64_t contextLength = 0;
  /// The largest context this binary can run: the model's (the compiled
  /// plan's) maximum, within 32-bit positions.
  int64_t maxContext = 0;
  /// -c as given (0: derived), for the messages.
  int64_t requestedContext = 0;
  int decodeThreads = 1, prefillThreads = 1;

  /// One forward call: n <= maxBatch tokens (already in arena.tokens())
  /// at positions pos0.. < contextLength; logits land in arena.logits().
  void forward(int64_t n, int64_t pos0) {
    if (n < 1 || n > maxBatch || pos0 < 0 || pos0 > contextLength - n)
      fail("internal error: forward call of %" PRId64 " tokens at position %" PRId64 " outside a context of %" PRId64
           " positions (batch %" PRId64 ")",
           n, pos0, contextLength, maxBatch);
    int32_t *pos = arena.positions();
    for (int64_t i = 0; i < n; ++i)
      pos[i] = int32_t(pos0 + i);
    ctx.n_threads = n > 1 ? prefillThreads : decodeThreads;
    ingot_model_forward(&ctx, n, arena.tokens(), pos, arena.logits());
  }

  /// Why the context is no larger, for the messages: the ceiling itself, or
  /// -c below it.
  std::string contextLimit() const {
    char buf[160];
    if (contextLength >= maxContext)
      std::snprintf(buf, sizeof(buf), "%" PRId64 " positions, the model's maximum", contextLength);
    else if (requestedContext)
      std::snprintf(buf, sizeof(buf), "%" PRId64 " positions as set by -c; the model allows up to %" PRId64,
                    contextLength, maxContext);
    else
      std::snprintf(buf, sizeof(buf), "%" PRId64 " positions; -c allows up to %" PRId64, contextLength, maxContext);
    return buf;
  }
};

int64_t argmax(const float *row, int64_t n) {
  int64_t best = 0;
  float bestValue = row[0];
  for (int64_t i = 1; i < n; ++i)
    if (row[i] > bestValue || (std::isnan(bestValue) && !std::isnan(row[i]))) {
      bestValue = row[i];
      best = i;
    }
  return best;
}

/// Ends the run when the logits of the token at `position` are not all
/// finite: no token can be picked from them (argmax would always say 0,
/// the sampler would draw garbage), and the cause is in the weights.
void checkLogits(const float *row, int64_t vocab, int64_t position) {
  int64_t bad = firstNonFinite(row, vocab);
  if (bad >= 0)
    fail("the model produced %s logits at position %" PRId64 " (corrupt or overflowing weights)",
         std::isnan(row[bad]) ? "NaN" : "infinite", position);
}

/// a + b for counts that are each at most int64 max, saturating instead of
/// overflowing (a huge -n plus the prompt).
int64_t saturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? kInt64Max : r;
}

/// The largest context the model description allows: its maximum, within
/// the int32 positions of the model ABI.
int64_t modelMaxContext() {
  return std::min<int64_t>(ingot_model_info.max_context_length, std::numeric_limits<int32_t>::max());
}

/// Sets up the session with -c, or a context of `wantedContext` positions
/// (at least 4096, at most the maximum) when -c is not given. Each command
/// checks its own needs against s.contextLength afterwards.
void setUp(Session &s, const Options &o, int64_t wantedContext) {
  const IngotModelInfo &info = ingot_model_info;
  if (info.abi_version != INGOT_MODEL_ABI_VERSION)
    fail("model code has ABI version %u, this runtime expects %u", info.abi_version, INGOT_MODEL_ABI_VERSION);
  if (info.vocab_size < 1 || info.vocab_size > std::numeric_limits<int32_t>::max() || info.max_batch < 1 ||
      info.max_context_length < 1 || info.arena_bytes < 0 || info.kv_bytes_per_position < 0 || info.weight_bytes < 0)
    fail("model description is inconsistent (vocab %" PRId64 ", max batch %" PRId64 ", max context %" PRId64 ")",
         info.vocab_size, info.max_batch, info.max_context_length);

  PayloadOptions po;
  po.hugepages = o.hugepages;
  po.verify = o.verify;
  po.minDataBytes = uint64_t(info.weight_bytes);
  std::string error;
  std::vector<std::string> notes;
  bool ok = s.payload.open("/proc/self/exe", po, error, notes);
  for (const std::string &n : notes)
    std::fprintf(stderr, "%s: %s\n", gProgram, n.c_str());
  if (!ok)
    fail("%s", error.c_str());
  if (s.payload.dataBytes() < uint64_t(info.weight_bytes))
    fail("the payload holds %" PRIu64 " bytes of weights, the model code needs %" PRId64,
         s.payload.dataBytes(), info.weight_bytes);

  s.vocab = info.vocab_size;
  // As for -c, a batch beyond what the compiled plan allows is an error,
  // not a silent clamp.
  if (o.batch > info.max_batch)
    fail("-b: expected an integer in [1, %" PRId64 "] (the model's maximum batch), got %" PRId64, info.max_batch,
         o.batch);
  s.maxBatch = o.batch ? o.batch : info.max_batch;
  // The KV cache is laid out for contextLength positions per layer and the
  // model indexes it by position: a context beyond what the compiled plan
  // was made for, or one whose size wraps, would write past it.
  s.maxContext = modelMaxContext();
  s.requestedContext = o.context;
  int64_t ctxLen = o.context;
  if (ctxLen > info.max_context_length)
    fail("-c %" PRId64 ": the model was compiled for at most %" PRId64 " positions", ctxLen, info.max_context_length);
  if (ctxLen > s.maxContext)
    fail("-c %" PRId64 ": at most %" PRId64 " positions (positions are 32-bit integers)", ctxLen, s.maxContext);
  if (!ctxLen)
    ctxLen = std::min(std::max<int64_t>(wantedContext, 4096), s.maxContext);
  s.contextLength = ctxLen;

  ArenaPlan plan;
  plan.arenaBytes = uint64_t(info.arena_bytes);
  if (__builtin_mul_overflow(uint64_t(info.kv_bytes_per_position), uint64_t(ctxLen), &plan.kvBytes))
    fail("%s%" PRId64 " positions: the KV cache (%" PRId64 " bytes per position) would need more than 2^64 bytes",
         o.context ? "-c " : "a context of ", ctxLen, info.kv_bytes_per_position);
  plan.maxBatch = uint64_t(info.max_batch);
  plan.vocabSize = uint64_t(info.vocab_size);
  plan.historyTokens = uint64_t(ctxLen);
  if (!s.arena.allocate(plan, error))
    fail("%s", error.c_str());

  // Decode and prefill may use different thread counts (the target plan's
  // by default, e.g. one per core for bandwidth-bound decode and every
  // hardware thread for compute-bound prefill), never more than the CPUs
  // this process may use unless asked explicitly (-t and -tb are at most
  // kMaxThreads).
  int cpus = availableCpus();
  auto planned = [&](int32_t n) { return n > 0 && n < cpus ? int(n) : cpus; };
  s.decodeThreads = o.threads ? int(o.threads) : planned(ingot_planned_threads[0]);
  s.prefillThreads = o.batchThreads ? int(o.batchThreads)
                     : o.threads   ? int(o.threads)
                                   : planned(ingot_planned_threads[1]);
  int threads = std::max(s.decodeThreads, s.prefillThreads);
  if (!s.pool.start(threads, o.pin, error))
    fail("%s", error.c_str());

  s.ctx.weights = s.payload.data();
  s.ctx.arena = s.arena.arena();
  s.ctx.kv = s.arena.kv();
  s.ctx.context_length = ctxLen;
  s.ctx.n_threads = s.pool.size();
  s.ctx.pool = &s.pool;
}

int openOut(const std::string &path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    fail("cannot write '%s': %s", path.c_str(), std::strerror(errno));
  return fd;
}

void writeAll(int fd, const void *data, size_t n, const std::string &path) {
  const char *p = static_cast<const char *>(data);
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      fail("cannot write '%s': %s", path.c_str(), w < 0 ? std::strerror(errno) : "nothing written");
    p += w;
    n -= size_t(w);
  }
}

/// Closes a written file; a failure there can still lose data.
void closeOut(int fd, const std::string &path) {
  if (fd >= 0 && ::close(fd) != 0 && errno != EINTR)
    fail("cannot write '%s': %s", path.c_str(), std::strerror(errno));
}

//===-- run ---------------------------------------------------------------===//

int cmdRunTokens(const Options &o) {
  std::vector<int32_t> prompt = parseTokens(o.tokens, ingot_model_info.vocab_size);
  int64_t nGen = o.nGenerate < 0 ? 16 : o.nGenerate;
  int64_t nPrompt = int64_t(prompt.size());
  Session s;
  setUp(s, o, saturatingAdd(nPrompt, nGen));
  // The ids are the output: rather than fewer than asked for, an error.
  if (nPrompt > s.contextLength)
    fail("--tokens: the prompt has %" PRId64 " tokens, the context holds %s", nPrompt, s.contextLimit().c_str());
  if (nGen > s.contextLength - nPrompt)
    fail("-n %" PRId64 ": at most %" PRId64 " tokens fit after the %" PRId64 "-token prompt (the context holds %s)",
         nGen, s.contextLength - nPrompt, nPrompt, s.contextLimit().c_str());
  const bool writeLogits = !o.logitsOut.empty();
  std::string promptPath = o.logitsOut + ".prompt.f32", genPath = o.logitsOut + ".gen.f32";
  int promptFd = -1, genFd = -1;
  if (writeLogits) {
    promptFd = openOut(promptPath);
    if (nGen > 0)
      genFd = openOut(genPath);
  }
  int32_t *generated = s.arena.history(); // one per position: nGen fit
  const size_t rowBytes = size_t(s.vocab) * sizeof(float);

  // Prompt, in chunks of at most maxBatch tokens.
  double t0 = now();
  int64_t next = 0;
  for (int64_t done = 0; done < nPrompt;) {
    int64_t n = nPrompt - done < s.maxBatch ? nPrompt - done : s.maxBatch;
    std::memcpy(s.arena.tokens(), prompt.data() + done, size_t(n) * sizeof(int32_t));
    s.forward(n, done);
    if (writeLogits)
      writeAll(promptFd, s.arena.logits(), size_t(n) * rowBytes, promptPath);
    done += n;
    if (done == nPrompt) {
      const float *last = s.arena.logits() + (n - 1) * s.vocab;
      checkLogits(last, s.vocab, nPrompt - 1);
      next = argmax(last, s.vocab);
    }
  }
  double t1 = now();

  // Greedy decoding: g[k] is fed back at position nPrompt + k. Without
  // --logits-out the last step's logits are not needed, so it is skipped.
  for (int64_t k = 0; k < nGen; ++k) {
    generated[k] = int32_t(next);
    if (k + 1 == nGen && !writeLogits)
      break;
    s.arena.tokens()[0] = int32_t(next);
    s.forward(1, nPrompt + k);
    if (writeLogits)
      writeAll(genFd, s.arena.logits(), rowBytes, genPath);
    checkLogits(s.arena.logits(), s.vocab, nPrompt + k);
    next = argmax(s.arena.logits(), s.vocab);
  }
  double t2 = now();
  closeOut(promptFd, promptPath);
  closeOut(genFd, genPath);

  for (int64_t k = 0; k < nGen; ++k)
    std::printf(k ? ",%d" : "%d", generated[k]);
  std::printf("\n");
  checkStdout();
  int64_t steps = nGen - (writeLogits ? 0 : (nGen > 0 ? 1 : 0));
  auto rate = [](double n, double seconds) { return seconds > 0 ? n / seconds : 0.0; };
  std::fprintf(stderr,
               "%s: timings: prompt %" PRId64 " tokens in %.2f ms (%.2f tok/s, TTFT %.2f ms), generation %" PRId64
               " steps in %.2f ms (%.2f tok/s), threads %d prefill / %d decode\n",
               gProgram, nPrompt, (t1 - t0) * 1e3, rate(double(nPrompt), t1 - t0), (t1 - t0) * 1e3, steps,
               (t2 - t1) * 1e3, rate(double(steps), t2 - t1), s.prefillThreads, s.decodeThreads);
  return 0;
}

//===-- Text generation ---------------------------------------------------===//

using ingot::tokenizer::Tokenizer;
using ingot::tokenizer::TokenizerData;

std::unique_ptr<Tokenizer> loadTokenizer() {
  if (ingot_tokenizer_data_size == 0)
    fail("this binary carries no tokenizer; use run --tokens IDS");
  TokenizerData data;
  std::string error;
  if (!TokenizerData::deserialize(ingot_tokenizer_data, size_t(ingot_tokenizer_data_size), data, error))
    fail("%s", error.c_str());
  std::unique_ptr<Tokenizer> tok = Tokenizer::create(data, error);
  if (!tok)
    fail("tokenizer: %s", error.c_str());
  if (int64_t(tok->vocabSize()) > ingot_model_info.vocab_size)
    fail("the tokenizer has %zu tokens, the model only %" PRId64, tok->vocabSize(), ingot_model_info.vocab_size);
  return tok;
}

uint64_t randomSeed() {
  uint64_t seed = 0;
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (::read(fd, &seed, sizeof(seed)) != ssize_t(sizeof(seed)))
      seed = 0;
    ::close(fd);
  }
  if (!seed)
    seed = uint64_t(now() * 1e9) ^ uint64_t(getpid());
  return seed & 0x7fffffffffffffffull;
}

/// True when `text` leaves a `<think>` block open (R1 generation prompts).
bool endsInsideReasoning(const std::string &text) {
  size_t open = text.rfind("<think>");
  if (open == std::string::npos)
    return false;
  size_t close = text.rfind("</think>");
  return close == std::string::npos || close < open;
}

/// Where generated text goes: stop strings, then the reasoning split, then
/// stdout (answer) and stderr (reasoning).
struct TextSink {
  StopFilter stop;
  ReasoningParser reasoning;
  bool splitReasoning = false;
  bool reasoningOpen = false; // the stderr block is open
  bool dim = false;
  std::string stopped, thought, answer; // scratch buffers, reserved

  TextSink(std::vector<std::string> stops, bool split, bool insideReasoning)
      : stop(std::move(stops)), splitReasoning(split) {
    stopped.reserve(4096);
    thought.reserve(4096);
    answer.reserve(4096);
    reasoning.reset(insideReasoning);
    dim = isatty(STDERR_FILENO);
  }

  void emit() {
    if (!thought.empty()) {
      if (!reasoningOpen) {
        checkStdout();
        std::fputs(dim ? "\033[2m" : "[reasoning]\n", stderr);
        reasoningOpen = true;
      }
      std::fwrite(thought.data(), 1, thought.size(), stderr);
      std::fflush(stderr);
      thought.clear();
    }
    if (!answer.empty()) {
      closeReasoning();
      std::fwrite(answer.data(), 1, answer.size(), stdout);
      checkStdout(); // a lost answer ends the run now, not after generating it all
      answer.clear();
    }
  }
  void closeReasoning() {
    if (reasoningOpen) {
      std::fputs(dim ? "\033[0m\n" : "\n[/reasoning]\n", stderr);
      std::fflush(stderr);
      reasoningOpen = false;
    }
  }
  void route() {
    if (splitReasoning)
      reasoning.push(stopped, thought, answer);
    else
      answer.append(stopped);
    stopped.clear();
    emit();
  }
  void push(std::string_view text) {
    stop.push(text, stopped);
    route();
  }
  void finish() {
    stop.finish(stopped);
    route();
    if (splitReasoning)
      reasoning.finish(thought, answer);
    emit();
    closeReasoning();
  }
};

struct TextTimings {
  int64_t promptTokens = 0, genTokens = 0;
  double promptSeconds = 0, firstTokenSeconds = 0, genSeconds = 0;
};

/// The text of token `id` for display: normal pieces, and the reasoning
/// tags even when they are control tokens.
std::string_view displayPiece(const Tokenizer &tok, int32_t id, std::string &scratch, int32_t thinkOpen,
                              int32_t thinkClose) {
  if (tok.isControl(id))
    return id == thinkOpen || id == thinkClose ? std::string_view(tok.tokenText(id)) : std::string_view();
  scratch = tok.tokenToPiece(id, false);
  return scratch;
}

/// The tokens the KV cache holds, position by position (storage: the
/// arena's history, one id per context position).
struct KvTokens {
  int32_t *ids = nullptr;
  int64_t size = 0;
};

/// Feeds prompt[from..] at positions from.. (the KV cache already holds
/// prompt[0..from)), then samples up to nGen tokens (-1: until end of
/// generation) into `sink`; generation also ends when the context is full.
/// `cache` tracks the tokens in the KV cache.
void generateText(Session &s, Sampler &sampler, const Tokenizer &tok, const std::vector<int32_t> &prompt,
                  int64_t from, KvTokens &cache, int64_t nGen, TextSink &sink, TextTimings &t) {
  const int32_t thinkOpen = tok.lookup("<think>"), thinkClose = tok.lookup("</think>");
  double t0 = now();
  cache.size = from;
  const int64_t nPrompt = int64_t(prompt.size());
  if (nPrompt > s.contextLength)
    fail("the prompt has %" PRId64 " tokens, the context holds %s", nPrompt, s.contextLimit().c_str());
  const float *logits = nullptr;
  for (int64_t done = from; done < nPrompt;) {
    int64_t n = nPrompt - done < s.maxBatch ? nPrompt - done : s.maxBatch;
    std::memcpy(s.arena.tokens(), prompt.data() + done, size_t(n) * sizeof(int32_t));
    s.forward(n, done);
    std::memcpy(cache.ids + done, prompt.data() + done, size_t(n) * sizeof(int32_t));
    cache.size = done + n;
    done += n;
    logits = s.arena.logits() + (n - 1) * s.vocab;
  }
  t.promptTokens = nPrompt - from;
  double t1 = now();
  t.promptSeconds = t1 - t0;
  Utf8Holdback utf8;
  std::string piece, ready;
  piece.reserve(256);
  ready.reserve(256);
  int64_t k = 0;
  double tFirst = t1;
  for (; nGen < 0 || k < nGen; ++k) {
    // The logits are those of the last token in the cache.
    checkLogits(logits, s.vocab, cache.size - 1);
    int32_t next = sampler.sample(logits);
    if (k == 0) {
      tFirst = now();
      t.firstTokenSeconds = tFirst - t0;
    }
    sampler.accept(next);
    if (tok.isEndOfGeneration(next))
      break;
    ready.clear();
    utf8.push(displayPiece(tok, next, piece, thinkOpen, thinkClose), ready);
    sink.push(ready);
    if (sink.stop.stopped()) {
      ++k;
      break;
    }
    if ((nGen >= 0 && k + 1 == nGen) || cache.size >= s.contextLength) {
      ++k;
      if (cache.size >= s.contextLength && (nGen < 0 || k < nGen))
        std::fprintf(stderr, "\n%s: the context is full (%s)\n", gProgram, s.contextLimit().c_str());
      break;
    }
    s.arena.tokens()[0] = next;
    s.forward(1, cache.size);
    cache.ids[cache.size++] = next;
    logits = s.arena.logits();
  }
  ready.clear();
  utf8.finish(ready);
  sink.push(ready);
  sink.finish();
  t.genTokens = k;
  t.genSeconds = now() - tFirst;
}

void printTextTimings(const Session &s, const TextTimings &t, uint64_t seed) {
  // Generation speed counts the tokens after the first (whose time is in TTFT).
  int64_t steps = t.genTokens > 1 ? t.genTokens - 1 : 0;
  // On a terminal the text and the timings share the screen: start the
  // timings on their own line (stdout itself stays exactly the text).
  checkStdout();
  if (isatty(STDOUT_FILENO))
    std::fputc('\n', stderr);
  std::fprintf(stderr,
               "%s: timings: prompt %" PRId64 " tokens in %.2f ms (%.2f tok/s), time to first token %.2f ms, "
               "generation %" PRId64 " tokens in %.2f ms (%.2f tok/s), threads %d prefill / %d decode, "
               "seed %" PRIu64 "\n",
               gProgram, t.promptTokens, t.promptSeconds * 1e3,
               t.promptSeconds > 0 ? double(t.promptTokens) / t.promptSeconds : 0.0, t.firstTokenSeconds * 1e3,
               t.genTokens, t.genSeconds * 1e3, steps > 0 && t.genSeconds > 0 ? double(steps) / t.genSeconds : 0.0,
               s.prefillThreads, s.decodeThreads, seed);
}

bool useReasoning(const Options &o, const Tokenizer &tok, const std::string &templ) {
  if (o.reasoningFormat == "deepseek")
    return true;
  if (o.reasoningFormat == "none")
    return false;
  return tok.lookup("<think>") >= 0 || templ.find("<think>") != std::string::npos;
}

struct Chat {
  ingot::chat::ChatTemplate templ;
  std::string source;
  std::vector<ingot::chat::ChatMessage> messages;
};

void loadTemplate(const Options &o, const Tokenizer &tok, Chat &chat) {
  chat.source = o.templateFile.empty()
                    ? std::string(ingot_chat_template, size_t(ingot_chat_template_size))
                    : readFileBounded("--chat-template-file", o.templateFile, kMaxTemplateBytes,
                                      "the most a chat template may have");
  if (chat.source.empty() && !o.templateFile.empty())
    fail("--chat-template-file: '%s' is empty", o.templateFile.c_str());
  if (chat.source.empty())
    fail("the model has no chat template; give one with --chat-template-file FILE");
  std::string error;
  if (!chat.templ.load(chat.source, error))
    fail("chat template: %s", error.c_str());
  chat.templ.setSpecialTokens(tok.bos() >= 0 ? tok.tokenText(tok.bos()) : std::string(),
                              tok.eos() >= 0 ? tok.tokenText(tok.eos()) : std::string());
}

std::string renderChat(const Chat &chat) {
  ingot::chat::RenderResult r = chat.templ.render(chat.messages, true);
  if (!r.ok)
    fail("chat template: %s", r.error.c_str());
  return r.text;
}

std::vector<int32_t> tokenizePrompt(const Tokenizer &tok, const std::string &text, bool fromTemplate) {
  // A template that writes the BOS itself gets no second one.
  bool addSpecial = true;
  if (fromTemplate && tok.bos() >= 0) {
    const std::string &bos = tok.tokenText(tok.bos());
    if (!bos.empty() && text.compare(0, bos.size(), bos) == 0)
      addSpecial = false;
  }
  return tok.tokenize(text, addSpecial, true);
}

void printPromptIds(const std::vector<int32_t> &ids) {
  std::fprintf(stderr, "%s: prompt tokens (%zu):", gProgram, ids.size());
  for (size_t i = 0; i < ids.size(); ++i)
    std::fprintf(stderr, "%s%d", i ? "," : " ", ids[i]);
  std::fprintf(stderr, "\n");
}

/// The most input bytes one token can stand for: its text (special token
/// text included; SentencePiece's "\u2581" and byte-level BPE's code points
/// are never shorter than the bytes they encode).
uint64_t longestTokenBytes(const Tokenizer &tok) {
  uint64_t longest = 1;
  for (size_t id = 0; id < tok.vocabSize(); ++id)
    longest = std::max<uint64_t>(longest, tok.tokenText(int32_t(id)).size());
  return longest;
}

/// Text longer than this cannot fit `context` positions: it would need more
/// tokens than there are positions.
uint64_t textByteLimit(int64_t context, uint64_t tokenBytes) {
  uint64_t bytes;
  if (__builtin_mul_overflow(uint64_t(context), tokenBytes, &bytes) || bytes > kMaxPromptBytes)
    return kMaxPromptBytes;
  return bytes;
}

std::string textLimitReason(int64_t context, uint64_t tokenBytes) {
  char buf[200];
  if (textByteLimit(context, tokenBytes) == kMaxPromptBytes)
    std::snprintf(buf, sizeof(buf), "the most prompt text this binary reads");
  else
    std::snprintf(buf, sizeof(buf),
                  "the most text a context of %" PRId64 " positions can hold (the longest token has %" PRIu64
                  " bytes)",
                  context, tokenBytes);
  return buf;
}

int cmdText(const Options &o) {
  std::unique_ptr<Tokenizer> tok = loadTokenizer();
  const uint64_t tokenBytes = longestTokenBytes(*tok);
  std::string promptText = o.prompt;
  if (!o.promptFile.empty()) {
    // Bounded by the largest context this run can have, before the file is
    // read whole (-f /dev/zero ends here).
    int64_t context = o.context ? std::min(o.context, modelMaxContext()) : modelMaxContext();
    promptText = readFileBounded("-f", o.promptFile, textByteLimit(context, tokenBytes),
                                 textLimitReason(context, tokenBytes));
  }
  Chat chat;
  if (o.chat) {
    loadTemplate(o, *tok, chat);
    if (o.haveSystem)
      chat.messages.push_back({"system", o.system});
    if (o.havePrompt) {
      chat.messages.push_back({"user", promptText});
      promptText = renderChat(chat);
    }
  }
  const bool split = useReasoning(o, *tok, chat.source);
  std::vector<int32_t> prompt;
  if (!o.chat || o.havePrompt)
    prompt = tokenizePrompt(*tok, promptText, o.chat);
  if (!o.chat && prompt.empty())
    fail("run: the prompt has no tokens");

  SamplerParams sp = o.sampling;
  if (!o.haveSeed)
    sp.seed = randomSeed();
  int64_t nGen = o.nGenerate < -1 ? -1 : o.nGenerate;
  Session s;
  // -n larger than the context left is not an error: generation stops when
  // the context is full, as in llama.cpp.
  int64_t wanted = o.interactive ? int64_t(prompt.size()) + 1
                                 : saturatingAdd(int64_t(prompt.size()), nGen > 0 ? nGen : 1);
  setUp(s, o, wanted);
  Sampler sampler;
  std::string error;
  if (!sampler.init(s.vocab, s.contextLength, sp, error))
    fail("%s", error.c_str());
  KvTokens cache;
  cache.ids = s.arena.history();

  auto turn = [&](const std::vector<int32_t> &ids, const std::string &text) {
    if (o.verbosePrompt)
      printPromptIds(ids);
    // Reuse the KV cache for the common prefix; at least one token is fed.
    size_t common = 0;
    while (int64_t(common) < cache.size && common < ids.size() && cache.ids[common] == ids[common])
      ++common;
    if (common == ids.size() && common > 0)
      --common;
    sampler.resetHistory();
    for (int32_t id : ids)
      sampler.accept(id);
    TextSink sink(o.stops, split, split && endsInsideReasoning(text));
    TextTimings t;
    generateText(s, sampler, *tok, ids, int64_t(common), cache, nGen, sink, t);
    return std::make_pair(sink.stop.text(), t);
  };

  if (!o.interactive) {
    auto [raw, t] = turn(prompt, promptText);
    if (o.chat)
      std::fputc('\n', stdout);
    checkStdout();
    printTextTimings(s, t, sp.seed);
    return 0;
  }

  // Interactive chat: the whole conversation is re-rendered every turn and
  // only the tokens after the common prefix with the KV cache are fed.
  const bool tty = isatty(STDIN_FILENO);
  auto reply = [&]() {
    std::string text = renderChat(chat);
    std::vector<int32_t> ids = tokenizePrompt(*tok, text, true);
    auto [raw, t] = turn(ids, text);
    std::fputc('\n', stdout);
    checkStdout();
    printTextTimings(s, t, sp.seed);
    chat.messages.push_back({"assistant", raw});
  };
  if (o.havePrompt)
    reply();
  // A line longer than the context could hold is an error once that many
  // bytes are read, not an ever-growing buffer (chat < /dev/zero).
  const uint64_t lineLimit = textByteLimit(s.contextLength, tokenBytes);
  std::string line;
  for (;;) {
    if (tty) {
      std::fputs("> ", stdout);
      checkStdout();
    }
    line.clear();
    int c;
    bool any = false;
    while ((c = std::fgetc(stdin)) != EOF) {
      any = true;
      if (c == '\n')
        break;
      if (line.size() >= lineLimit)
        fail("chat: a message line has more than %" PRIu64 " bytes: %s", lineLimit,
             textLimitReason(s.contextLength, tokenBytes).c_str());
      line.push_back(char(c));
    }
    if (std::ferror(stdin))
      fail("chat: cannot read stdin: %s", std::strerror(errno));
    if (!any)
      break;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty())
      continue;
    chat.messages.push_back({"user", line});
    reply();
  }
  if (tty)
    std::fputc('\n', stdout);
  return 0;
}

int cmdRun(const Options &o) {
  if (o.haveTokens)
    return cmdRunTokens(o);
  return cmdText(o);
}

//===-- bench -------------------------------------------------------------===//

std::string humanBytes(double b) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), u ? "%.2f %s" : "%.0f %s", b, units[u]);
  return buf;
}

int cmdBench(const Options &o) {
  int64_t nGen = o.nGenerate < 0 ? 64 : o.nGenerate;
  int64_t nPrompt = o.nPrompt;
  Session s;
  // pp fills positions 0..nPrompt, tg 0..nGen (each test starts over).
  setUp(s, o, nPrompt > nGen ? nPrompt : nGen);
  if (nPrompt > s.contextLength)
    fail("-p %" PRId64 ": more prompt tokens than the context holds (%s)", nPrompt, s.contextLimit().c_str());
  if (nGen > s.contextLength)
    fail("-n %" PRId64 ": more decode steps than the context holds (%s)", nGen, s.contextLimit().c_str());
  const int64_t vocab = s.vocab;
  auto tokenAt = [&](int64_t i) { return int32_t((i * 7919 + 1) % vocab); };

  auto pp = [&]() {
    int64_t n = 0;
    for (int64_t done = 0; done < nPrompt; done += n) {
      n = nPrompt - done < s.maxBatch ? nPrompt - done : s.maxBatch;
      for (int64_t i = 0; i < n; ++i)
        s.arena.tokens()[i] = tokenAt(done + i);
      s.forward(n, done);
    }
    // The row a generation would start from (nPrompt > 0 here).
    checkLogits(s.arena.logits() + (n - 1) * vocab, vocab, nPrompt - 1);
  };
  auto tg = [&]() {
    int32_t tok = tokenAt(0);
    for (int64_t k = 0; k < nGen; ++k) {
      s.arena.tokens()[0] = tok;
      s.forward(1, k);
      checkLogits(s.arena.logits(), vocab, k);
      tok = int32_t(argmax(s.arena.logits(), vocab));
    }
  };

  struct Row {
    std::string test;
    double mean, sd;
  };
  std::vector<Row> rows;
  auto measure = [&](const char *name, int64_t tokens, auto &&fn) {
    if (tokens <= 0)
      return;
    fn(); // warm-up: faults in weights, arena and KV pages
    std::vector<double> rates; // o.reps <= kMaxRepetitions
    for (int64_t r = 0; r < o.reps; ++r) {
      double t0 = now();
      fn();
      double dt = now() - t0;
      rates.push_back(double(tokens) / (dt > 0 ? dt : 1e-9));
    }
    double mean = 0, var = 0;
    for (double v : rates)
      mean += v;
    mean /= double(rates.size());
    for (double v : rates)
      var += (v - mean) * (v - mean);
    double sd = rates.size() > 1 ? std::sqrt(var / double(rates.size() - 1)) : 0.0;
    rows.push_back({std::string(name) + std::to_string(tokens), mean, sd});
  };
  measure("pp", nPrompt, pp);
  measure("tg", nGen, tg);

  const IngotModelInfo &info = ingot_model_info;
  std::string model = std::string(orEmpty(info.model_name)) + " (" + orEmpty(info.architecture) + ")";
  std::string size = humanBytes(double(s.payload.dataBytes()));
  std::printf("| model | size | threads | test | t/s |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: |\n");
  for (const Row &r : rows)
    std::printf("| %s | %s | %d | %s | %.2f ± %.2f |\n", model.c_str(), size.c_str(),
                r.test.rfind("pp", 0) == 0 ? s.prefillThreads : s.decodeThreads, r.test.c_str(), r.mean,
                r.sd);
  std::printf("\ntarget: %s, %d repetitions, context %" PRId64 ", batch %" PRId64 "\n",
              orEmpty(info.target_name), int(o.reps), s.contextLength, s.maxBatch);
  return 0;
}

//===-- info --------------------------------------------------------------===//

void printIndented(const char *text) {
  if (!text || !*text) {
    std::printf("  (none)\n");
    return;
  }
  const char *p = text;
  while (*p) {
    const char *nl = std::strchr(p, '\n');
    size_t len = nl ? size_t(nl - p) : std::strlen(p);
    if (len)
      std::printf("  %.*s\n", int(len), p);
    p += len + (nl ? 1 : 0);
  }
}

int cmdInfo(const Options &o) {
  Session s;
  setUp(s, o, 1);
  const IngotModelInfo &info = ingot_model_info;
  const Payload &pl = s.payload;
  std::printf("model:\n");
  std::printf("  architecture: %s\n", orEmpty(info.architecture));
  std::printf("  name: %s\n", orEmpty(info.model_name));
  std::printf("  vocabulary: %" PRId64 " tokens (bos %" PRId64 ", eos %" PRId64 ")\n", info.vocab_size,
              info.bos_token_id, info.eos_token_id);
  std::printf("  layers: %" PRId64 "\n", info.n_layers);
  std::printf("  max context: %" PRId64 " positions\n", info.max_context_length);
  std::printf("  max batch: %" PRId64 " tokens per forward call\n", info.max_batch);
  std::printf("  model abi: %u\n", info.abi_version);
  std::printf("target:\n");
  std::printf("  name: %s\n", orEmpty(info.target_name));
  std::printf("  cpu: %s\n", orEmpty(info.target_cpu));
  std::printf("  required features: %s\n", orEmpty(info.required_features));
  auto plannedText = [](int32_t n) { return n > 0 ? std::to_string(n) : std::string("all CPUs"); };
  std::printf("  planned threads: decode %s, prefill %s\n", plannedText(ingot_planned_threads[0]).c_str(),
              plannedText(ingot_planned_threads[1]).c_str());
  std::printf("  host: %s (all required features present)\n", cpuBrand().c_str());
  std::printf("generated kernels:\n");
  printIndented(info.kernel_list);
  std::printf("memory plan:\n");
  std::printf("  activation arena: %" PRId64 " bytes (%s)\n", info.arena_bytes, humanBytes(double(info.arena_bytes)).c_str());
  std::printf("  kv cache: %" PRId64 " bytes per position, %" PRIu64 " bytes for %" PRId64 " positions (%s)\n",
              info.kv_bytes_per_position, uint64_t(info.kv_bytes_per_position) * uint64_t(s.contextLength),
              s.contextLength,
              humanBytes(double(info.kv_bytes_per_position) * double(s.contextLength)).c_str());
  std::printf("  weights: %" PRId64 " bytes (%s), %s\n", info.weight_bytes,
              humanBytes(double(info.weight_bytes)).c_str(), pl.placement());
  std::printf("  one allocation at start: %" PRIu64 " bytes\n", s.arena.totalBytes());
  if (info.memory_plan && *info.memory_plan)
    printIndented(info.memory_plan);
  std::printf("payload:\n");
  std::printf("  format version: %u\n", pl.header().format_version);
  std::printf("  model sha256: ");
  for (uint8_t b : pl.header().model_sha256)
    std::printf("%02x", b);
  std::printf("\n");
  std::printf("  model file: %s\n", pl.string(pl.header().model_file));
  std::printf("  target: %s\n", pl.string(pl.header().target_name));
  std::printf("  compiler version: %s\n", pl.string(pl.header().compiler_version));
  std::printf("  data: offset %" PRIu64 ", %" PRIu64 " bytes, checksum %016" PRIx64 " (%s)\n",
              pl.trailer().data_offset, pl.dataBytes(), pl.header().data_checksum,
              pl.checksumVerified() ? "verified" : "not verified, use --verify");
  std::printf("  header: offset %" PRIu64 ", %" PRIu64 " bytes\n", pl.trailer().header_offset,
              pl.trailer().header_bytes);
  std::printf("  tensors: %zu\n", pl.tensors().size());
  size_t w = 4;
  for (const PayloadTensor &t : pl.tensors())
    w = std::strlen(t.name) > w ? std::strlen(t.name) : w;
  for (const PayloadTensor &t : pl.tensors())
    std::printf("    %-*s  %-24s  offset %10" PRIu64 "  %10" PRIu64 " bytes\n", int(w), t.name, t.layout,
                t.offset, t.bytes);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc > 0 && argv[0] && *argv[0]) {
    const char *slash = std::strrchr(argv[0], '/');
    gProgram = slash ? slash + 1 : argv[0];
  }
  // Before anything else: can this CPU run the compiled code at all?
  std::string error;
  if (!checkCpuFeatures(ingot_model_info.required_features, ingot_model_info.target_name, error))
    fail("%s", error.c_str());
  Options o = parseArgs(argc, argv);
  int status;
  if (o.command == "run" || o.command == "chat")
    status = cmdRun(o);
  else if (o.command == "bench")
    status = cmdBench(o);
  else
    status = cmdInfo(o);
  // Nothing the command printed may be lost silently (info > /dev/full).
  finishAndExit(status);
}
