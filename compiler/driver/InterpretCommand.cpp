//===- InterpretCommand.cpp - `ingot interpret` ---------------------------===//
//
// Runs a model with the reference interpreter: the prompt as one batch, then
// greedy decoding one token at a time. Prints the generated ids on one line
// and writes the logits in the layout of ../shared/models/ref:
// PREFIX.prompt.f32 (one row per prompt position) and PREFIX.gen.f32 (one row
// per generated token fed back).
//
//===----------------------------------------------------------------------===//
#include "compiler/driver/Command.h"
#include "compiler/import/ModelLoading.h"
#include "compiler/interp/Interpreter.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace {

cl::SubCommand interpretCommand(
    "interpret", "Run a model with the reference interpreter (slow, exact)");
cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                               cl::desc("<model.gguf>"),
                               cl::sub(interpretCommand));
cl::list<int32_t> promptTokens("tokens", cl::CommaSeparated, cl::Required,
                               cl::desc("Prompt token ids, comma-separated"),
                               cl::sub(interpretCommand));
cl::opt<unsigned> generate("gen", cl::init(0),
                           cl::desc("Greedy tokens to generate"),
                           cl::sub(interpretCommand));
cl::opt<std::string>
    logitsPrefix("logits-out",
                 cl::desc("Write PREFIX.prompt.f32 and PREFIX.gen.f32"),
                 cl::value_desc("prefix"), cl::sub(interpretCommand));
cl::opt<std::string>
    irPath("ir",
           cl::desc("Run this ingot module instead of importing the model"),
           cl::value_desc("file.mlir"), cl::sub(interpretCommand));

cl::opt<std::string>
    cacheTypeK("cache-type-k", cl::init("f32"),
               cl::desc("How the KV cache stores keys: f32, f16 or q8_0 (as "
                        "the compiled binary's --cache-type-k)"),
               cl::value_desc("type"), cl::sub(interpretCommand));

/// Index of the largest logit; ties go to the lowest id, as in the
/// reference files.
int32_t argmax(const float *row, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (row[i] > row[best])
      best = i;
  return static_cast<int32_t>(best);
}

class RowWriter {
public:
  Error open(const std::string &path) {
    std::error_code ec;
    file = std::make_unique<ToolOutputFile>(path, ec, sys::fs::OF_None);
    if (ec)
      return createStringError(ec, "%s: %s", path.c_str(),
                               ec.message().c_str());
    return Error::success();
  }
  void write(const float *row, int64_t n) {
    if (file)
      file->os().write(reinterpret_cast<const char *>(row), n * sizeof(float));
  }
  void keep() {
    if (file)
      file->keep();
  }

private:
  std::unique_ptr<ToolOutputFile> file;
};

int runInterpret() {
  // The files are PREFIX.prompt.f32 and PREFIX.gen.f32: an empty prefix or a
  // directory would write hidden files named ".prompt.f32".
  if (logitsPrefix.getNumOccurrences() &&
      (logitsPrefix.empty() || StringRef(logitsPrefix).ends_with("/")))
    return ingot::driver::reportError(
        "--logits-out: '" + logitsPrefix +
        "' is not a file name prefix (PREFIX.prompt.f32 is written)");
  std::optional<ingot::ggml::Type> keyType;
  if (cacheTypeK == "f32")
    keyType = ingot::ggml::Type::F32;
  else if (cacheTypeK == "f16")
    keyType = ingot::ggml::Type::F16;
  else if (cacheTypeK == "q8_0")
    keyType = ingot::ggml::Type::Q8_0;
  else
    return ingot::driver::reportError("--cache-type-k: expected f32, f16 or "
                                      "q8_0, got '" +
                                      cacheTypeK + "'");
  auto file = ingot::gguf::GGUFFile::open(modelPath);
  if (!file)
    return ingot::driver::reportError(file.takeError());
  mlir::MLIRContext context;
  auto module = ingot::loadModule(context, **file, irPath);
  if (!module)
    return ingot::driver::reportError(module.takeError());
  // Every prompt token and every generated token (each is fed back) takes
  // one position; the model was trained for context_length of them, and
  // the compiled binary refuses more, so the reference does too.
  int64_t needed = static_cast<int64_t>(promptTokens.size()) + generate;
  if (auto info =
          (**module)->getAttrOfType<mlir::DictionaryAttr>("ingot.model"))
    if (auto limit = info.getAs<mlir::IntegerAttr>("context_length")) {
      int64_t positions = limit.getInt();
      if (static_cast<int64_t>(promptTokens.size()) > positions)
        return ingot::driver::reportError(
            "--tokens: the prompt has " + Twine(promptTokens.size()) +
            " tokens, the context holds " + Twine(positions) + " positions");
      if (needed > positions)
        return ingot::driver::reportError(
            "--gen " + Twine(generate.getValue()) + ": at most " +
            Twine(positions - static_cast<int64_t>(promptTokens.size())) +
            " tokens fit after the " + Twine(promptTokens.size()) +
            "-token prompt (the context holds " + Twine(positions) +
            " positions)");
    }
  int64_t context_length = needed + 1;
  auto interp = ingot::interp::ModelInterpreter::create(
      **module, **file, context_length, *keyType);
  if (!interp)
    return ingot::driver::reportError(interp.takeError());
  int64_t vocab = (*interp)->vocabSize();

  RowWriter promptOut, genOut;
  if (!logitsPrefix.empty()) {
    if (Error e = promptOut.open(logitsPrefix + ".prompt.f32"))
      return ingot::driver::reportError(std::move(e));
    if (generate > 0)
      if (Error e = genOut.open(logitsPrefix + ".gen.f32"))
        return ingot::driver::reportError(std::move(e));
  }

  std::vector<int32_t> tokens(promptTokens.begin(), promptTokens.end());
  std::vector<int32_t> positions(tokens.size());
  for (size_t i = 0; i < positions.size(); ++i)
    positions[i] = static_cast<int32_t>(i);
  auto logits = (*interp)->step(tokens, positions);
  if (!logits)
    return ingot::driver::reportError(logits.takeError());
  for (size_t t = 0; t < tokens.size(); ++t)
    promptOut.write(logits->data() + t * vocab, vocab);

  std::vector<int32_t> generated;
  int32_t next = argmax(logits->data() + (tokens.size() - 1) * vocab, vocab);
  for (unsigned k = 0; k < generate; ++k) {
    generated.push_back(next);
    int32_t position = static_cast<int32_t>(tokens.size() + k);
    auto row = (*interp)->step({next}, {position});
    if (!row)
      return ingot::driver::reportError(row.takeError());
    genOut.write(row->data(), vocab);
    next = argmax(row->data(), vocab);
  }
  for (size_t i = 0; i < generated.size(); ++i)
    outs() << (i ? "," : "") << generated[i];
  outs() << "\n";
  promptOut.keep();
  genOut.keep();
  return 0;
}

ingot::driver::RegisterCommand registration(interpretCommand, runInterpret);

} // namespace
