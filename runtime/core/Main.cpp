//===- Main.cpp - main() of every emitted binary ---------------------------===//
//
//   PROG run --tokens 1,403,407 -n N [--temp 0] [--logits-out PREFIX]
//            [-t N] [-c N] [-b N] [--pin] [--hugepages] [--verify]
//   PROG bench [-p 128] [-n 64] [-r 3] [-t N] [-c N] [-b N] ...
//   PROG info [...]
//
// Order at start: CPU features (before anything else), then the payload,
// then the one allocation (arena + KV), then the thread pool. The decode
// loop allocates nothing.
//
//===----------------------------------------------------------------------===//

#include "Arena.h"
#include "CpuFeatures.h"
#include "Payload.h"
#include "ThreadPool.h"
#include "ingot/ModelABI.h"

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
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
  int64_t nGenerate = -1; // -n; default depends on the command
  int64_t nPrompt = 128;  // -p (bench)
  int64_t reps = 3;       // -r (bench)
  int64_t threads = 0;    // -t; 0 = all available CPUs
  int64_t context = 0;    // -c; 0 = derived
  int64_t batch = 0;      // -b; 0 = the model's max_batch
  double temp = 0.0;
  std::string logitsOut;
  bool pin = false;
  bool hugepages = false;
  bool verify = false;
  // A flag given that only some commands take, for the error message.
  const char *runOnly = nullptr, *benchOnly = nullptr, *notInfo = nullptr;
};

void printHelp() {
  std::printf(
      "usage: %s <command> [options]\n"
      "\n"
      "A language model compiled by Ingot for %s.\n"
      "\n"
      "commands:\n"
      "  run      feed a prompt of token ids and decode greedily\n"
      "  bench    measure prompt processing (pp) and generation (tg) speed\n"
      "  info     describe the model, target, kernels, memory plan and payload\n"
      "\n"
      "options:\n"
      "  --tokens IDS         prompt token ids, comma-separated (run)\n"
      "  -n, --n-predict N    tokens to generate (run, default 16) / decode steps (bench, default 64)\n"
      "  -p, --n-prompt N     prompt tokens to process (bench, default 128; 0 skips pp)\n"
      "  -r, --repetitions N  repetitions of each bench test (default 3)\n"
      "  --temp T             sampling temperature; only 0 (greedy) is supported\n"
      "  --logits-out PREFIX  write PREFIX.prompt.f32 and PREFIX.gen.f32 (float32 rows)\n"
      "  -t, --threads N      threads (default: all CPUs this process may use)\n"
      "  -c, --ctx-size N     KV cache positions (default: 4096 or what the command needs,\n"
      "                       at most the model's maximum)\n"
      "  -b, --batch-size N   most tokens per forward call (default: the model's maximum)\n"
      "  --pin                pin thread i to the i-th available CPU\n"
      "  --hugepages          copy the weights into free 2 MiB / 1 GiB huge pages\n"
      "  --verify             checksum the weights even when they exceed 8 GiB\n"
      "  -h, --help           this text\n",
      gProgram, orEmpty(ingot_model_info.target_name));
}

int64_t parseInt(const char *flag, const char *text, int64_t min) {
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(text, &end, 10);
  if (errno || end == text || *end)
    fail("%s: expected an integer, got '%s'", flag, text);
  if (v < min)
    fail("%s: must be at least %" PRId64 ", got %lld", flag, min, v);
  return v;
}

Options parseArgs(int argc, char **argv) {
  Options o;
  int i = 1;
  for (int j = 1; j < argc; ++j)
    if (!std::strcmp(argv[j], "-h") || !std::strcmp(argv[j], "--help")) {
      printHelp();
      std::exit(0);
    }
  if (i >= argc)
    fail("missing command (run, bench or info); see --help");
  o.command = argv[i++];
  if (o.command != "run" && o.command != "bench" && o.command != "info")
    fail("unknown command '%s' (expected run, bench or info); see --help", o.command.c_str());
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
      o.nGenerate = parseInt(a, value(a), 0);
      o.notInfo = a;
    } else if (is("-p", "--n-prompt")) {
      o.nPrompt = parseInt(a, value(a), 0);
      o.benchOnly = a;
    } else if (is("-r", "--repetitions")) {
      o.reps = parseInt(a, value(a), 1);
      o.benchOnly = a;
    } else if (is("-t", "--threads")) {
      o.threads = parseInt(a, value(a), 1);
    } else if (is("-c", "--ctx-size")) {
      o.context = parseInt(a, value(a), 1);
    } else if (is("-b", "--batch-size")) {
      o.batch = parseInt(a, value(a), 1);
    } else if (is("--temp")) {
      const char *t = value(a);
      char *end = nullptr;
      o.temp = std::strtod(t, &end);
      if (end == t || *end || !(o.temp >= 0))
        fail("--temp: expected a non-negative number, got '%s'", t);
    } else if (is("--logits-out")) {
      o.logitsOut = value(a);
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
  if (o.runOnly && o.command != "run")
    fail("%s applies to 'run' only", o.runOnly);
  if (o.benchOnly && o.command != "bench")
    fail("%s applies to 'bench' only", o.benchOnly);
  if (o.notInfo && o.command == "info")
    fail("%s does not apply to 'info'", o.notInfo);
  if (o.temp != 0.0)
    fail("--temp %g: sampling is not implemented yet; use --temp 0 (greedy decoding)", o.temp);
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
    if (item.empty() || errno || *stop)
      fail("--tokens: '%s' is not a token id (expected comma-separated integers)", item.c_str());
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

  /// One forward call: n <= maxBatch tokens (already in arena.tokens())
  /// at positions pos0.. ; logits land in arena.logits().
  void forward(int64_t n, int64_t pos0) {
    int32_t *pos = arena.positions();
    for (int64_t i = 0; i < n; ++i)
      pos[i] = int32_t(pos0 + i);
    ingot_model_forward(&ctx, n, arena.tokens(), pos, arena.logits());
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

void setUp(Session &s, const Options &o, int64_t neededContext) {
  const IngotModelInfo &info = ingot_model_info;
  if (info.abi_version != INGOT_MODEL_ABI_VERSION)
    fail("model code has ABI version %u, this runtime expects %u", info.abi_version, INGOT_MODEL_ABI_VERSION);
  if (info.vocab_size < 1 || info.max_batch < 1 || info.max_context_length < 1 || info.arena_bytes < 0 ||
      info.kv_bytes_per_position < 0 || info.weight_bytes < 0)
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
  s.maxBatch = info.max_batch;
  if (o.batch)
    s.maxBatch = o.batch < s.maxBatch ? o.batch : s.maxBatch;
  int64_t ctxLen = o.context;
  if (!ctxLen) {
    ctxLen = neededContext > 4096 ? neededContext : 4096;
    if (ctxLen > info.max_context_length)
      ctxLen = info.max_context_length;
  }
  if (ctxLen > info.max_context_length)
    fail("-c %" PRId64 ": the model supports at most %" PRId64 " positions", ctxLen, info.max_context_length);
  if (neededContext > ctxLen)
    fail("this needs %" PRId64 " positions but the context holds %" PRId64 "%s", neededContext, ctxLen,
         o.context ? " (raise -c)" : " (the model's maximum)");
  s.contextLength = ctxLen;

  ArenaPlan plan;
  plan.arenaBytes = uint64_t(info.arena_bytes);
  plan.kvBytes = uint64_t(info.kv_bytes_per_position) * uint64_t(ctxLen);
  plan.maxBatch = uint64_t(info.max_batch);
  plan.vocabSize = uint64_t(info.vocab_size);
  if (!s.arena.allocate(plan, error))
    fail("%s", error.c_str());

  int threads = o.threads ? int(o.threads) : availableCpus();
  if (threads > 1024)
    fail("-t %d: at most 1024 threads", threads);
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
      fail("cannot write '%s': %s", path.c_str(), std::strerror(errno));
    p += w;
    n -= size_t(w);
  }
}

//===-- run ---------------------------------------------------------------===//

int cmdRun(const Options &o) {
  if (!o.haveTokens)
    fail("run: --tokens is required (comma-separated prompt token ids)");
  std::vector<int32_t> prompt = parseTokens(o.tokens, ingot_model_info.vocab_size);
  int64_t nGen = o.nGenerate < 0 ? 16 : o.nGenerate;
  int64_t nPrompt = int64_t(prompt.size());
  Session s;
  setUp(s, o, nPrompt + nGen);
  const bool writeLogits = !o.logitsOut.empty();
  std::string promptPath = o.logitsOut + ".prompt.f32", genPath = o.logitsOut + ".gen.f32";
  int promptFd = -1, genFd = -1;
  if (writeLogits) {
    promptFd = openOut(promptPath);
    if (nGen > 0)
      genFd = openOut(genPath);
  }
  std::vector<int32_t> generated(static_cast<size_t>(nGen)); // before the loop: no allocation inside
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
    if (done == nPrompt)
      next = argmax(s.arena.logits() + (n - 1) * s.vocab, s.vocab);
  }
  double t1 = now();

  // Greedy decoding: g[k] is fed back at position nPrompt + k. Without
  // --logits-out the last step's logits are not needed, so it is skipped.
  for (int64_t k = 0; k < nGen; ++k) {
    generated[size_t(k)] = int32_t(next);
    if (k + 1 == nGen && !writeLogits)
      break;
    s.arena.tokens()[0] = int32_t(next);
    s.forward(1, nPrompt + k);
    if (writeLogits)
      writeAll(genFd, s.arena.logits(), rowBytes, genPath);
    next = argmax(s.arena.logits(), s.vocab);
  }
  double t2 = now();
  if (promptFd >= 0)
    ::close(promptFd);
  if (genFd >= 0)
    ::close(genFd);

  for (int64_t k = 0; k < nGen; ++k)
    std::printf(k ? ",%d" : "%d", generated[size_t(k)]);
  std::printf("\n");
  std::fflush(stdout);
  int64_t steps = nGen - (writeLogits ? 0 : (nGen > 0 ? 1 : 0));
  std::fprintf(stderr,
               "%s: timings: prompt %" PRId64 " tokens in %.2f ms (%.2f tok/s, TTFT %.2f ms), generation %" PRId64
               " steps in %.2f ms (%.2f tok/s), %d threads\n",
               gProgram, nPrompt, (t1 - t0) * 1e3, nPrompt / (t1 - t0), (t1 - t0) * 1e3, steps,
               (t2 - t1) * 1e3, steps > 0 ? steps / (t2 - t1) : 0.0, s.ctx.n_threads);
  return 0;
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
  setUp(s, o, nPrompt > nGen ? nPrompt : nGen);
  const int64_t vocab = s.vocab;
  auto tokenAt = [&](int64_t i) { return int32_t((i * 7919 + 1) % vocab); };

  auto pp = [&]() {
    for (int64_t done = 0; done < nPrompt;) {
      int64_t n = nPrompt - done < s.maxBatch ? nPrompt - done : s.maxBatch;
      for (int64_t i = 0; i < n; ++i)
        s.arena.tokens()[i] = tokenAt(done + i);
      s.forward(n, done);
      done += n;
    }
  };
  auto tg = [&]() {
    int32_t tok = tokenAt(0);
    for (int64_t k = 0; k < nGen; ++k) {
      s.arena.tokens()[0] = tok;
      s.forward(1, k);
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
    std::vector<double> rates;
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
    std::printf("| %s | %s | %d | %s | %.2f ± %.2f |\n", model.c_str(), size.c_str(), s.ctx.n_threads,
                r.test.c_str(), r.mean, r.sd);
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
  if (o.command == "run")
    return cmdRun(o);
  if (o.command == "bench")
    return cmdBench(o);
  return cmdInfo(o);
}
