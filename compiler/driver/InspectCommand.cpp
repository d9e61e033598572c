//===- InspectCommand.cpp - `ingot inspect FILE.gguf` ---------------------===//
//
// Prints what a GGUF file holds: architecture, hyper-parameters, tokenizer,
// the tensor table and totals; `--json` prints one object for scripts.
//
//===----------------------------------------------------------------------===//
#include "compiler/driver/Command.h"
#include "compiler/gguf/GGUFFile.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

using namespace llvm;
using namespace ingot::gguf;

namespace {

cl::SubCommand inspectCommand("inspect", "Describe a GGUF model file");
cl::opt<std::string> inputPath(cl::Positional, cl::Required,
                               cl::desc("<model.gguf>"),
                               cl::sub(inspectCommand));
cl::opt<bool> emitJson("json", cl::desc("Print one JSON object"),
                       cl::sub(inspectCommand));
cl::opt<unsigned> arrayLimit(
    "array-limit",
    cl::desc("Arrays longer than this are summarised by their length"),
    cl::init(64), cl::sub(inspectCommand));

// Lossless JSON for one metadata value; long arrays become
// {"type": "array", "element_type": T, "length": N}.
json::Value toJson(const Value &v) {
  switch (v.getType()) {
  case ValueType::String:
    return json::Value(v.getString()->str());
  case ValueType::Bool:
    return *v.getBool();
  case ValueType::Float32:
  case ValueType::Float64:
    return *v.getDouble();
  case ValueType::Array: {
    if (v.size() > arrayLimit)
      return json::Object{{"type", "array"},
                          {"element_type", valueTypeName(v.getElementType())},
                          {"length", static_cast<int64_t>(v.size())}};
    json::Array items;
    for (uint64_t i = 0; i < v.size(); ++i)
      items.push_back(toJson(v.element(i)));
    return items;
  }
  default:
    if (auto s = v.getSigned())
      return *s;
    return *v.getUnsigned();
  }
}

std::string toText(const Value &v) {
  switch (v.getType()) {
  case ValueType::String: {
    std::string s = v.getString()->str();
    if (s.size() > 60)
      s = s.substr(0, 57) + "...";
    std::string escaped;
    raw_string_ostream os(escaped);
    os << '"';
    printEscapedString(s, os);
    os << '"';
    return escaped;
  }
  case ValueType::Bool:
    return *v.getBool() ? "true" : "false";
  case ValueType::Float32:
  case ValueType::Float64:
    return formatv("{0}", format("%.9g", *v.getDouble())).str();
  case ValueType::Array: {
    std::string s =
        formatv("[{0} x {1}]", v.size(), valueTypeName(v.getElementType()));
    if (v.size() <= 8 && v.getElementType() != ValueType::Array) {
      s += " {";
      for (uint64_t i = 0; i < v.size(); ++i)
        s += (i ? ", " : "") + toText(v.element(i));
      s += "}";
    }
    return s;
  }
  default:
    if (auto s = v.getSigned())
      return std::to_string(*s);
    return std::to_string(*v.getUnsigned());
  }
}

std::string shapeText(const TensorInfo &t) {
  std::string s;
  for (size_t i = 0; i < t.shape.size(); ++i)
    s += (i ? " x " : "") + std::to_string(t.shape[i]);
  return s;
}

void printJson(const GGUFFile &file) {
  json::Object metadata;
  for (const MetadataEntry &e : file.metadata())
    metadata[e.key] = toJson(e.value);
  json::Array tensors;
  for (const TensorInfo &t : file.tensors()) {
    json::Array shape;
    for (uint64_t d : t.shape)
      shape.push_back(static_cast<int64_t>(d));
    tensors.push_back(json::Object{
        {"name", t.name},
        {"type", typeName(t.type)},
        {"shape", std::move(shape)},
        {"offset", static_cast<int64_t>(t.fileOffset)},
        {"relative_offset", static_cast<int64_t>(t.relativeOffset)},
        {"bytes", static_cast<int64_t>(t.bytes)},
    });
  }
  json::Object root{
      {"file", file.getPath()},
      {"gguf_version", file.getVersion()},
      {"file_size", static_cast<int64_t>(file.getFileSize())},
      {"alignment", file.getAlignment()},
      {"data_section_offset", static_cast<int64_t>(file.getDataOffset())},
      {"architecture", file.getArchitecture()},
      {"kv_count", static_cast<int64_t>(file.metadata().size())},
      {"tensor_count", static_cast<int64_t>(file.tensors().size())},
      {"tensor_data_bytes", static_cast<int64_t>(file.getTensorDataBytes())},
      {"metadata", std::move(metadata)},
      {"tensors", std::move(tensors)},
  };
  outs() << formatv("{0:2}", json::Value(std::move(root))) << "\n";
}

/// One "label: value" line, the values aligned.
void printLine(StringRef label, const Twine &value) {
  outs() << left_justify(label, 22) << value << "\n";
}

/// One metadata key and its value, aligned.
void printEntry(const MetadataEntry &e) {
  outs() << "  " << left_justify(e.key, 44) << " " << toText(e.value) << "\n";
}

/// The hyper-parameters users look for first, then every `<arch>.*` key.
void printHyperParams(const GGUFFile &file, StringRef arch) {
  struct Named {
    const char *label, *key;
  };
  const Named named[] = {
      {"layers:", "block_count"},
      {"embedding dim:", "embedding_length"},
      {"feed-forward dim:", "feed_forward_length"},
      {"heads:", "attention.head_count"},
      {"kv heads:", "attention.head_count_kv"},
      {"context length:", "context_length"},
      {"rope dims:", "rope.dimension_count"},
      {"rope base:", "rope.freq_base"},
      {"rope scaling:", "rope.scaling.type"},
      {"rope scale factor:", "rope.scaling.factor"},
      {"experts:", "expert_count"},
      {"experts used:", "expert_used_count"},
      {"shared experts:", "expert_shared_count"},
  };
  outs() << "\nhyper-parameters:\n";
  for (const Named &n : named)
    if (const Value *v = file.lookup((arch + "." + n.key).str()))
      printLine((Twine("  ") + n.label).str(), toText(*v));
  std::string prefix = (arch + ".").str();
  for (const MetadataEntry &e : file.metadata())
    if (!arch.empty() && StringRef(e.key).starts_with(prefix))
      printEntry(e);
}

void printTokenizer(const GGUFFile &file) {
  outs() << "\ntokenizer:\n";
  if (auto model = file.getString("tokenizer.ggml.model"))
    printLine("  model:", *model);
  if (auto pre = file.getString("tokenizer.ggml.pre"))
    printLine("  pre-tokenizer:", *pre);
  if (const Value *tokens = file.lookup("tokenizer.ggml.tokens"))
    printLine("  vocabulary size:", Twine(tokens->size()));
  if (const Value *merges = file.lookup("tokenizer.ggml.merges"))
    printLine("  merges:", Twine(merges->size()));
  if (auto bos = file.getUnsigned("tokenizer.ggml.bos_token_id"))
    printLine("  bos id:", Twine(*bos));
  if (auto eos = file.getUnsigned("tokenizer.ggml.eos_token_id"))
    printLine("  eos id:", Twine(*eos));
  if (file.lookup("tokenizer.chat_template"))
    printLine("  chat template:", "yes");
}

/// Every tensor, then the counts and bytes per type and the totals.
void printTensors(const GGUFFile &file) {
  raw_ostream &os = outs();
  os << "\ntensors: " << file.tensors().size() << "\n";
  os << formatv("  {0,-40} {1,-8} {2,-24} {3,12} {4,12}\n", "name", "type",
                "shape", "bytes", "offset");
  std::map<std::string, std::pair<uint64_t, uint64_t>> byType;
  for (const TensorInfo &t : file.tensors()) {
    os << formatv("  {0,-40} {1,-8} {2,-24} {3,12} {4,12}\n", t.name,
                  typeName(t.type), shapeText(t), t.bytes, t.fileOffset);
    auto &entry = byType[typeName(t.type)];
    entry.first += 1;
    entry.second += t.bytes;
  }
  uint64_t elements = 0;
  for (const TensorInfo &t : file.tensors())
    elements += t.elements;
  os << "\ntotals:\n";
  for (const auto &[type, counts] : byType)
    os << formatv("  {0,-8} {1,6} tensors {2,16} bytes\n", type, counts.first,
                  counts.second);
  using ingot::driver::humanBytes;
  printLine("  parameters:", Twine(elements));
  printLine("  tensor data bytes:", Twine(file.getTensorDataBytes()) + " (" +
                                        humanBytes(file.getTensorDataBytes()) +
                                        ")");
  printLine("  file size:", Twine(file.getFileSize()) + " (" +
                                humanBytes(file.getFileSize()) + ")");
}

void printText(const GGUFFile &file) {
  StringRef arch = file.getArchitecture();
  printLine("file:", file.getPath());
  printLine("gguf version:", Twine(file.getVersion()));
  printLine("architecture:", arch.empty() ? "(none)" : arch);
  if (auto name = file.getString("general.name"))
    printLine("name:", *name);
  printHyperParams(file, arch);
  printTokenizer(file);
  outs() << "\nmetadata: " << file.metadata().size() << " keys\n";
  std::string prefix = (arch + ".").str();
  for (const MetadataEntry &e : file.metadata())
    if (arch.empty() || !StringRef(e.key).starts_with(prefix))
      printEntry(e);
  printTensors(file);
}

int runInspect() {
  auto file = GGUFFile::open(inputPath);
  if (!file)
    return ingot::driver::reportError(file.takeError());
  if (emitJson)
    printJson(**file);
  else
    printText(**file);
  return 0;
}

ingot::driver::RegisterCommand registration(inspectCommand, runInspect);

} // namespace
