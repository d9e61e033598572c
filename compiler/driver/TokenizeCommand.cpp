//===- TokenizeCommand.cpp - `ingot tokenize MODEL.gguf -p TEXT` ----------===//
//
// Builds the runtime tokenizer from a GGUF file's `tokenizer.*` metadata and
// prints the token ids of a text, space-separated on one line, with the BOS
// the model adds (`--no-bos`: without) and special-token text parsed
// (`--no-parse-special`: as plain text). `--vectors FILE` tokenizes every
// string of a llama.cpp vocab test file (strings each followed by
// "\n__ggml_vocab_test__\n") without BOS and without parsing special text,
// one line per string, each id preceded by a space: the `.out` format.
// `--decode "ID ..."` prints the text of token ids instead.
//
//===----------------------------------------------------------------------===//
#include "compiler/driver/Command.h"
#include "compiler/driver/InputFiles.h"
#include "compiler/gguf/GGUFFile.h"
#include "compiler/import/TokenizerImport.h"
#include "runtime/tokenizer/Tokenizer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace llvm;
using namespace ingot::gguf;
using ingot::tokenizer::TokenizerData;

namespace {

cl::SubCommand tokenizeCommand("tokenize", "Print the token ids of a text");
cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                               cl::desc("<model.gguf>"),
                               cl::sub(tokenizeCommand));
cl::opt<std::string> promptText("p", cl::desc("Text to tokenize"),
                                cl::value_desc("text"),
                                cl::sub(tokenizeCommand));
cl::opt<std::string> promptFile("f",
                                cl::desc("File whose contents to tokenize"),
                                cl::value_desc("file"),
                                cl::sub(tokenizeCommand));
cl::opt<std::string> vectorsFile(
    "vectors",
    cl::desc(
        "llama.cpp vocab test strings (.inp): print one .out line per string"),
    cl::value_desc("file"), cl::sub(tokenizeCommand));
cl::opt<std::string> decodeIds("decode",
                               cl::desc("Print the text of these token ids"),
                               cl::value_desc("ids"), cl::sub(tokenizeCommand));
cl::opt<bool>
    noBos("no-bos",
          cl::desc("Do not add the BOS/EOS tokens the model asks for"),
          cl::sub(tokenizeCommand));
cl::opt<bool> noParseSpecial("no-parse-special",
                             cl::desc("Treat special-token text as plain text"),
                             cl::sub(tokenizeCommand));

} // namespace

namespace {

void printIds(raw_ostream &os, const std::vector<int32_t> &ids,
              bool leadingSpace) {
  for (size_t i = 0; i < ids.size(); ++i)
    os << (leadingSpace || i ? " " : "") << ids[i];
  os << "\n";
}

int runTokenize() {
  int inputs = (promptText.getNumOccurrences() > 0) +
               (promptFile.getNumOccurrences() > 0) +
               (vectorsFile.getNumOccurrences() > 0) +
               (decodeIds.getNumOccurrences() > 0);
  if (inputs != 1)
    return ingot::driver::reportError("tokenize needs exactly one of -p TEXT, "
                                      "-f FILE, --vectors FILE, --decode IDS");

  auto file = GGUFFile::open(modelPath);
  if (!file)
    return ingot::driver::reportError(file.takeError());
  auto data = ingot::readTokenizerData(**file);
  if (!data)
    return ingot::driver::reportError(data.takeError());

  // Round-trip through the embedded form, as an emitted binary does.
  std::string blob = data->serialize();
  TokenizerData loaded;
  std::string error;
  if (!TokenizerData::deserialize(blob.data(), blob.size(), loaded, error))
    return ingot::driver::reportError(error);
  auto tokenizer = ingot::tokenizer::Tokenizer::create(loaded, error);
  if (!tokenizer)
    return ingot::driver::reportError(Twine(modelPath) + ": " + error);

  if (decodeIds.getNumOccurrences()) {
    std::vector<int32_t> ids;
    SmallVector<StringRef> fields;
    SplitString(decodeIds, fields, " ,\t\n");
    for (StringRef f : fields) {
      int64_t id;
      if (f.getAsInteger(10, id) || id < 0 ||
          static_cast<uint64_t>(id) >= tokenizer->vocabSize())
        return ingot::driver::reportError("--decode: '" + f +
                                          "' is not a token id of this model");
      ids.push_back(static_cast<int32_t>(id));
    }
    outs() << tokenizer->detokenize(ids, /*special=*/true) << "\n";
    return 0;
  }

  if (vectorsFile.getNumOccurrences()) {
    auto text = ingot::driver::readBoundedFile(
        vectorsFile, ingot::driver::kMaxTextFileBytes, "test-vector file");
    if (!text)
      return ingot::driver::reportError(text.takeError());
    static constexpr StringLiteral separator("\n__ggml_vocab_test__\n");
    StringRef rest = *text;
    while (!rest.empty()) {
      size_t at = rest.find(separator);
      StringRef item = rest.substr(0, at);
      printIds(outs(),
               tokenizer->tokenize(item, /*addSpecial=*/false,
                                   /*parseSpecial=*/false),
               /*leadingSpace=*/true);
      if (at == StringRef::npos)
        break;
      rest = rest.substr(at + separator.size());
    }
    return 0;
  }

  std::string text = promptText;
  if (promptFile.getNumOccurrences()) {
    auto contents = ingot::driver::readBoundedFile(
        promptFile, ingot::driver::kMaxTextFileBytes, "prompt file");
    if (!contents)
      return ingot::driver::reportError(contents.takeError());
    text = std::move(*contents);
  }
  printIds(outs(), tokenizer->tokenize(text, !noBos, !noParseSpecial),
           /*leadingSpace=*/false);
  return 0;
}

ingot::driver::RegisterCommand registration(tokenizeCommand, runTokenize);

} // namespace
