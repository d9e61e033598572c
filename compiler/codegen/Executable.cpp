//===- Executable.cpp - Link the model and append its payload -------------===//
#include "compiler/codegen/Executable.h"

#include "compiler/dialect/IngotDialect.h"
#include "passes/PlanningUtils.h"
#include "compiler/gguf/GGUFFile.h"
#include "targets/x86/Kernels.h"
#include "ingot/PayloadFormat.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <fcntl.h>
#include <unistd.h>

using namespace llvm;

namespace ingot::codegen {

namespace {

Error fail(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message.str().c_str());
}

/// The static libraries of the runtime, in link order.
const char *const runtimeLibraries[] = {"libIngotRuntime.a",
                                        "libIngotTokenizer.a",
                                        "libIngotChat.a"};

std::string runtimeLibDir() {
  if (const char *dir = std::getenv("INGOT_RUNTIME_LIB_DIR"))
    return dir;
  return INGOT_RUNTIME_LIB_DIR;
}

struct PayloadEntry {
  WeightOp weight;
  std::string form; // packed, raw or f32
  uint64_t offset, bytes;
};

} // namespace

Error linkExecutable(StringRef objectPath, StringRef outputPath) {
  auto clang = sys::findProgramByName("clang++-22");
  if (!clang)
    clang = sys::findProgramByName("clang++-22", {"/usr/lib/llvm-22/bin"});
  if (!clang)
    return fail("cannot link: clang++-22 (package clang-22) is not installed");
  auto lld = sys::findProgramByName("ld.lld-22");
  if (!lld)
    lld = sys::findProgramByName("ld.lld", {"/usr/lib/llvm-22/bin"});
  if (!lld)
    return fail("cannot link: ld.lld (package lld-22) is not installed");
  std::vector<std::string> args{*clang,         "-static",
                                "-fuse-ld=lld", "-o",
                                outputPath.str(), objectPath.str()};
  std::string dir = runtimeLibDir();
  for (const char *lib : runtimeLibraries) {
    SmallString<256> path(dir);
    sys::path::append(path, lib);
    if (!sys::fs::exists(path))
      return fail("cannot link: the runtime library " + path +
                  " is missing (build the `IngotRuntime` target, or set "
                  "INGOT_RUNTIME_LIB_DIR)");
    args.push_back(path.str().str());
  }
  args.insert(args.end(), {"-lpcre2-8", "-lpthread", "-lm",
                           "-Wl,-z,noexecstack",
                           "-Wl,--build-id=none"});
  std::vector<StringRef> argRefs(args.begin(), args.end());
  std::string message;
  SmallString<128> logPath;
  int fd;
  if (std::error_code ec =
          sys::fs::createTemporaryFile("ingot-link", "log", fd, logPath))
    return fail("cannot create a temporary file: " + ec.message());
  sys::Process::SafelyCloseFileDescriptor(fd);
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath),
                                          StringRef(logPath)};
  int rc = sys::ExecuteAndWait(*clang, argRefs, std::nullopt, redirects, 0, 0,
                               &message);
  auto log = MemoryBuffer::getFile(logPath);
  sys::fs::remove(logPath);
  if (rc != 0) {
    std::string detail = log ? (*log)->getBuffer().trim().str() : message;
    std::replace(detail.begin(), detail.end(), '\n', ' ');
    return fail("link failed (" + *clang + "): " + detail);
  }
  return Error::success();
}

Error appendPayload(StringRef exePath, mlir::ModuleOp planned,
                    const gguf::GGUFFile &file, PayloadInfo &info,
                    const ProgressFn &progress) {
  std::optional<targets::ISA> isa;
  if (info.isa == "avx512vnni")
    isa = targets::ISA::AVX512VNNI;
  else if (info.isa == "avx2")
    isa = targets::ISA::AVX2;
  if (!isa)
    return fail("unknown kernel ISA " + info.isa);

  std::vector<PayloadEntry> entries;
  for (WeightOp w : planned.getOps<WeightOp>()) {
    auto layout = dyn_cast_or_null<mlir::DictionaryAttr>(w.getLayoutAttr());
    if (!layout)
      continue;
    for (StringRef form : {"packed", "raw", "f32"})
      if (auto off = layout.getAs<mlir::IntegerAttr>((form + "_offset").str()))
        entries.push_back(
            {w, form.str(), static_cast<uint64_t>(off.getInt()),
             static_cast<uint64_t>(
                 layout.getAs<mlir::IntegerAttr>((form + "_bytes").str())
                     .getInt())});
  }
  llvm::sort(entries, [](const PayloadEntry &a, const PayloadEntry &b) {
    return a.offset < b.offset;
  });
  auto totalAttr = planned->getAttrOfType<mlir::IntegerAttr>("ingot.payload_bytes");
  uint64_t dataBytes = totalAttr ? totalAttr.getInt() : 0;

  uint64_t fileSize = 0;
  if (std::error_code ec = sys::fs::file_size(exePath, fileSize))
    return fail(exePath + ": " + ec.message());
  std::error_code ec;
  raw_fd_ostream out(exePath, ec, sys::fs::OF_Append);
  if (ec)
    return fail(exePath + ": " + ec.message());
  // At least 64 bytes of padding: its last 64 hold the leader (a copy of
  // the trailer) that lets the runtime size a cut file.
  uint64_t dataOffset = alignTo(fileSize + 64, payload::kDataAlignment);
  out.write_zeros(dataOffset - fileSize);

  payload::Checksum64 checksum;
  uint64_t written = 0;
  std::vector<uint8_t> buffer;
  auto writeData = [&](const uint8_t *data, uint64_t n) {
    out.write(reinterpret_cast<const char *>(data), n);
    checksum.update(data, n);
    written += n;
  };
  auto pad = [&](uint64_t to) {
    static const uint8_t zeros[4096] = {};
    while (written < to)
      writeData(zeros, std::min<uint64_t>(sizeof(zeros), to - written));
  };
  for (PayloadEntry &e : entries) {
    pad(e.offset);
    const gguf::TensorInfo *tensor = file.findTensor(e.weight.getSymName());
    if (!tensor)
      return fail("tensor '" + e.weight.getSymName() + "' is not in " +
                  file.getPath());
    ArrayRef<uint8_t> source = file.tensorData(*tensor);
    if (e.form == "raw") {
      writeData(source.data(), source.size());
    } else if (e.form == "f32") {
      auto values = file.readTensorF32(*tensor);
      if (!values)
        return values.takeError();
      writeData(reinterpret_cast<const uint8_t *>(values->data()),
                values->size() * 4);
    } else {
      auto type = kernelWeightType(e.weight.getGgmlType());
      ArrayRef<int64_t> shape = e.weight.getShape();
      int64_t rows = shape[shape.size() - 2], cols = shape.back();
      int64_t count = shape.size() == 3 ? shape[0] : 1;
      targets::MatmulShape ms{rows, cols};
      // The plan sized the entry as `count` packed matrices.
      uint64_t stride = e.bytes / count;
      uint64_t matrixBytes = source.size() / count;
      buffer.assign(stride, 0);
      for (int64_t i = 0; i < count; ++i) {
        std::fill(buffer.begin(), buffer.end(), 0);
        targets::packWeights(*type, ms, *isa,
                             source.data() + i * matrixBytes, buffer.data());
        writeData(buffer.data(), stride);
      }
    }
    if (progress)
      progress(written, dataBytes);
  }
  pad(dataBytes);
  if (progress)
    progress(written, dataBytes);

  // The header: fixed part, tensor table, strings.
  std::string strings;
  auto addString = [&](StringRef s) {
    uint32_t at = strings.size();
    strings.append(s.data(), s.size());
    strings.push_back('\0');
    return at;
  };
  payload::HeaderFixed fixed = {};
  fixed.format_version = payload::kFormatVersion;
  fixed.tensor_count = entries.size();
  fixed.data_checksum = checksum.finish();
  fixed.target_name = addString(info.targetName);
  fixed.compiler_version = addString(INGOT_COMPILER_VERSION);
  fixed.model_file = addString(sys::path::filename(file.getPath()));
  {
    SHA256 sha;
    auto model = MemoryBuffer::getFile(file.getPath(), false, false);
    if (!model)
      return fail(file.getPath() + ": " + model.getError().message());
    StringRef bytes = (*model)->getBuffer();
    for (size_t at = 0; at < bytes.size(); at += 1 << 24)
      sha.update(arrayRefFromStringRef(bytes.substr(at, 1 << 24)));
    auto digest = sha.final();
    std::memcpy(fixed.model_sha256, digest.data(), 32);
  }
  std::vector<payload::TensorEntry> table;
  for (PayloadEntry &e : entries) {
    std::string layout = e.form;
    if (e.form == "packed")
      layout += ":" + stringifyGGMLType(e.weight.getGgmlType()).str() + "/" +
                info.isa;
    else
      layout += ":" + stringifyGGMLType(e.weight.getGgmlType()).str();
    table.push_back({addString(e.weight.getSymName()), addString(layout),
                     e.offset, e.bytes});
  }
  fixed.strings_bytes = strings.size();
  std::string header(reinterpret_cast<const char *>(&fixed), sizeof(fixed));
  header.append(reinterpret_cast<const char *>(table.data()),
                table.size() * sizeof(payload::TensorEntry));
  header += strings;
  uint64_t headerOffset = dataOffset + dataBytes;
  out << header;

  payload::Trailer trailer = {};
  std::memcpy(trailer.magic, payload::kTrailerMagic, 8);
  trailer.format_version = payload::kFormatVersion;
  trailer.data_offset = dataOffset;
  trailer.data_bytes = dataBytes;
  trailer.header_offset = headerOffset;
  trailer.header_bytes = header.size();
  trailer.header_checksum = payload::checksum64(header.data(), header.size());
  trailer.trailer_checksum = payload::checksum64(&trailer, 56);
  out.write(reinterpret_cast<const char *>(&trailer), sizeof(trailer));
  out.flush();
  if (out.has_error())
    return fail(exePath + ": write failed: " + out.error().message());
  {
    int fd = ::open(exePath.str().c_str(), O_WRONLY);
    bool ok = fd >= 0 && ::pwrite(fd, &trailer, sizeof(trailer),
                                  dataOffset - sizeof(trailer)) ==
                             static_cast<ssize_t>(sizeof(trailer));
    if (fd >= 0)
      ::close(fd);
    if (!ok)
      return fail(exePath + ": cannot write the payload leader");
  }
  info.dataBytes = dataBytes;
  info.dataOffset = dataOffset;
  info.fileBytes = fileSize + out.tell();
  return Error::success();
}

} // namespace ingot::codegen
