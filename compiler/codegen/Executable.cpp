//===- Executable.cpp - Link the model and append its payload -------------===//
#include "compiler/codegen/Executable.h"
#include "compiler/codegen/OutputFile.h"

#include "compiler/dialect/IngotDialect.h"
#include "passes/PlanningUtils.h"
#include "compiler/gguf/GGUFFile.h"
#include "targets/x86/Kernels.h"
#include "ingot/PayloadFormat.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Object/ELF.h"
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

/// The sections of the linked executable `image` that have bytes in the
/// file, with their checksums: the runtime names the one that differs when
/// the image checksum fails.
Expected<std::vector<std::pair<std::string, payload::ImageRegion>>>
imageRegions(StringRef image, StringRef path) {
  auto elf = object::ELF64LEFile::create(image);
  if (!elf)
    return fail(path + ": the linked executable is no ELF64 file: " +
                toString(elf.takeError()));
  auto sections = elf->sections();
  if (!sections)
    return fail(path + ": " + toString(sections.takeError()));
  std::vector<std::pair<std::string, payload::ImageRegion>> regions;
  for (const auto &section : *sections) {
    if (section.sh_type == ELF::SHT_NOBITS || section.sh_type == ELF::SHT_NULL ||
        section.sh_size == 0)
      continue;
    if (section.sh_offset > image.size() ||
        section.sh_size > image.size() - section.sh_offset)
      return fail(path + ": a section lies outside the file");
    auto name = elf->getSectionName(section);
    if (!name)
      return fail(path + ": " + toString(name.takeError()));
    payload::RegionKind kind = payload::RegionKind::Other;
    if (section.sh_flags & ELF::SHF_EXECINSTR)
      kind = payload::RegionKind::Code;
    else if ((section.sh_flags & ELF::SHF_ALLOC) &&
             (section.sh_flags & ELF::SHF_WRITE))
      kind = payload::RegionKind::Data;
    else if (section.sh_flags & ELF::SHF_ALLOC)
      kind = payload::RegionKind::ReadOnlyData;
    payload::ImageRegion region = {};
    region.kind = static_cast<uint32_t>(kind);
    region.offset = section.sh_offset;
    region.bytes = section.sh_size;
    region.checksum =
        payload::checksum64(image.data() + section.sh_offset, section.sh_size);
    regions.push_back({name->str(), region});
  }
  return regions;
}

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
  auto logFile = TemporaryFile::create("", "ingot-link", "log");
  if (!logFile)
    return logFile.takeError();
  std::string logPath = logFile->path().str();
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath),
                                          StringRef(logPath)};
  int rc = sys::ExecuteAndWait(*clang, argRefs, std::nullopt, redirects, 0, 0,
                               &message);
  auto log = MemoryBuffer::getFile(logPath);
  logFile->discard();
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

  // The image as the linker wrote it: checksummed whole (with the zero
  // padding that follows it) and section by section.
  auto image = MemoryBuffer::getFile(exePath, /*IsText=*/false,
                                     /*RequiresNullTerminator=*/false);
  if (!image)
    return fail(exePath + ": " + image.getError().message());
  StringRef imageBytes = (*image)->getBuffer();
  uint64_t fileSize = imageBytes.size();
  auto regions = imageRegions(imageBytes, exePath);
  if (!regions)
    return regions.takeError();
  // At least 64 bytes of padding: its last 64 hold the leader (a copy of
  // the trailer) that lets the runtime size a cut file.
  uint64_t dataOffset = alignTo(fileSize + 64, payload::kDataAlignment);
  uint64_t imageSize = dataOffset - sizeof(payload::Trailer);
  payload::Checksum64 imageChecksum;
  imageChecksum.update(imageBytes.data(), imageBytes.size());
  {
    static const uint8_t zeros[4096] = {};
    for (uint64_t at = fileSize; at < imageSize;) {
      uint64_t n = std::min<uint64_t>(sizeof(zeros), imageSize - at);
      imageChecksum.update(zeros, n);
      at += n;
    }
  }

  std::error_code ec;
  raw_fd_ostream out(exePath, ec, sys::fs::OF_Append);
  if (ec)
    return fail(exePath + ": " + ec.message());
  StreamErrorGuard outGuard(out);
  out.write_zeros(dataOffset - fileSize);

  payload::Checksum64 checksum;
  std::optional<payload::Checksum64> entryChecksum;
  uint64_t written = 0;
  std::vector<uint8_t> buffer;
  auto writeData = [&](const uint8_t *data, uint64_t n) {
    out.write(reinterpret_cast<const char *>(data), n);
    checksum.update(data, n);
    if (entryChecksum)
      entryChecksum->update(data, n);
    written += n;
  };
  auto pad = [&](uint64_t to) {
    static const uint8_t zeros[4096] = {};
    while (written < to)
      writeData(zeros, std::min<uint64_t>(sizeof(zeros), to - written));
  };
  std::vector<uint64_t> entryChecksums;
  for (PayloadEntry &e : entries) {
    pad(e.offset);
    entryChecksum.emplace();
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
        if (!targets::packWeights(*type, ms, *isa,
                                  source.data() + i * matrixBytes,
                                  buffer.data()))
          return fail("cannot pack '" + e.weight.getSymName() +
                      "' for the kernels");
        writeData(buffer.data(), stride);
      }
    }
    entryChecksums.push_back(entryChecksum->finish());
    entryChecksum.reset();
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
  fixed.image_bytes = imageSize;
  fixed.image_checksum = imageChecksum.finish();
  {
    // The bytes the weights were read from (the mapping), not the path:
    // that may name another file by now.
    ArrayRef<uint8_t> model = file.getBytes();
    SHA256 sha;
    for (size_t at = 0; at < model.size(); at += 1 << 24)
      sha.update(model.slice(at, std::min<size_t>(1 << 24, model.size() - at)));
    auto digest = sha.final();
    std::memcpy(fixed.model_sha256, digest.data(), 32);
  }
  std::vector<payload::TensorEntry> table;
  for (auto [e, sum] : llvm::zip_equal(entries, entryChecksums)) {
    std::string layout = e.form;
    if (e.form == "packed")
      layout += ":" + stringifyGGMLType(e.weight.getGgmlType()).str() + "/" +
                info.isa;
    else
      layout += ":" + stringifyGGMLType(e.weight.getGgmlType()).str();
    table.push_back({addString(e.weight.getSymName()), addString(layout),
                     e.offset, e.bytes, sum});
  }
  std::vector<payload::ImageRegion> regionTable;
  for (auto &[name, region] : *regions) {
    region.name = addString(name);
    regionTable.push_back(region);
  }
  fixed.region_count = regionTable.size();
  fixed.strings_bytes = strings.size();
  std::string header(reinterpret_cast<const char *>(&fixed), sizeof(fixed));
  header.append(reinterpret_cast<const char *>(table.data()),
                table.size() * sizeof(payload::TensorEntry));
  header.append(reinterpret_cast<const char *>(regionTable.data()),
                regionTable.size() * sizeof(payload::ImageRegion));
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
  uint64_t appended = out.tell();
  if (Error e = outGuard.close(exePath))
    return e;
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
  info.fileBytes = fileSize + appended;
  return Error::success();
}

} // namespace ingot::codegen
