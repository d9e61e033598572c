//===- GGUFRequantize.cpp - A model requantized into a type mix -----------===//
#include "compiler/gguf/GGUFRequantize.h"

#include "compiler/ggml/GGMLQuantize.h"
#include "compiler/gguf/GGUFWriter.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace ingot::gguf {

namespace {

bool isQuantized(ggml::Type type) {
  return ggml::getTypeInfo(type).blockElements > 1;
}

} // namespace

uint32_t fileTypeOf(ggml::QuantMix mix) {
  using ggml::QuantMix;
  switch (mix) {
  case QuantMix::Q4_0:
    return 2;
  case QuantMix::Q4_1:
    return 3;
  case QuantMix::Q8_0:
    return 7;
  case QuantMix::Q5_0:
    return 8;
  case QuantMix::Q5_1:
    return 9;
  case QuantMix::Q4_K_S:
    return 14;
  case QuantMix::Q4_K_M:
    return 15;
  case QuantMix::Q5_K_S:
    return 16;
  case QuantMix::Q5_K_M:
    return 17;
  case QuantMix::Q6_K:
    return 18;
  }
  return 0;
}

ggml::MixModel mixModelOf(const GGUFFile &file) {
  ggml::MixModel model;
  model.architecture = file.getArchitecture().str();
  model.layers = file.getArchUnsigned("block_count").value_or(0);
  model.experts = file.getArchUnsigned("expert_count").value_or(0);
  return model;
}

std::vector<ggml::MixTensor> mixTensorsOf(const GGUFFile &file) {
  std::vector<ggml::MixTensor> tensors;
  for (const TensorInfo &t : file.tensors())
    tensors.push_back({t.name, t.type, {t.shape.begin(), t.shape.end()}});
  return tensors;
}

Expected<RequantizedModel> requantizeModel(const GGUFFile &source,
                                           ggml::QuantMix mix) {
  std::vector<ggml::Type> types =
      ggml::chooseMixTypes(mix, mixModelOf(source), mixTensorsOf(source));
  GGUFWriter writer;
  writer.setAlignment(source.getAlignment());
  for (const MetadataEntry &entry : source.metadata())
    if (entry.key != "general.alignment")
      writer.setValue(entry.key, entry.value);
  writer.setUInt32("general.file_type", fileTypeOf(mix));
  writer.setUInt32("general.quantization_version", 2);

  RequantizeSummary summary;
  summary.mix = mix;
  std::vector<uint8_t> bytes;
  for (auto [tensor, type] : llvm::zip_equal(source.tensors(), types)) {
    summary.sourceBytes += tensor.bytes;
    summary.elements += tensor.elements;
    ArrayRef<uint8_t> data = source.tensorData(tensor);
    if (type == tensor.type) {
      summary.bytes += data.size();
      if (Error err = writer.addTensor(tensor.name, type, tensor.shape, data))
        return std::move(err);
      continue;
    }
    auto values = source.readTensorF32(tensor);
    if (!values)
      return values.takeError();
    auto size = ggml::rowBytes(type, tensor.elements);
    bytes.assign(size.value_or(0), 0);
    if (!size || !ggml::quantizeValues(type, values->data(), bytes.data(),
                                       tensor.elements))
      return createStringError(inconvertibleErrorCode(),
                               "%s: tensor '%s': cannot quantize to %s",
                               source.getPath().str().c_str(),
                               tensor.name.c_str(), ggml::typeName(type));
    summary.bytes += bytes.size();
    ++summary.requantized;
    ++summary.requantizedTo[type];
    summary.sourceTypes.emplace_back(tensor.name, tensor.type);
    if (isQuantized(tensor.type))
      summary.fromQuantized.push_back(tensor.name);
    if (Error err = writer.addTensor(tensor.name, type, tensor.shape, bytes))
      return std::move(err);
  }

  SmallVector<char, 0> encoded;
  raw_svector_ostream out(encoded);
  writer.write(out);
  auto buffer = MemoryBuffer::getMemBufferCopy(
      StringRef(encoded.data(), encoded.size()), source.getPath());
  encoded = {};
  auto file = GGUFFile::parse(std::move(buffer), source.getPath());
  if (!file)
    return file.takeError();
  return RequantizedModel{std::move(*file), std::move(summary)};
}

} // namespace ingot::gguf
