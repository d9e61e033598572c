//===- Executable.cpp - Link the model and append its payload -------------===//
#include "compiler/codegen/Executable.h"
#include "compiler/codegen/OutputFile.h"

#include "compiler/dialect/IngotDialect.h"
#include "compiler/gguf/GGUFFile.h"
#include "ingot/PayloadFormat.h"
#include "passes/PlanningUtils.h"
#include "targets/x86/Kernels.h"

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

/// The static libraries of the runtime, in link order: main() first, then
/// the server, the commands, and what they use.
const char *const runtimeLibraries[] = {
    "libIngotMain.a", "libIngotServer.a", "libIngotRuntime.a",
    "libIngotTokenizer.a", "libIngotChat.a"};

std::string runtimeLibDir() {
  if (const char *dir = std::getenv("INGOT_RUNTIME_LIB_DIR"))
    return dir;
  return INGOT_RUNTIME_LIB_DIR;
}

struct PayloadEntry {
  mutable WeightOp weight; // its accessors are not const
  std::string form;        // packed, raw or f32
  uint64_t offset, bytes;
  KernelISA isa; // packed: the kernels the bytes are packed for
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
    if (section.sh_type == ELF::SHT_NOBITS ||
        section.sh_type == ELF::SHT_NULL || section.sh_size == 0)
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
  std::vector<std::string> args{*clang, "-static",        "-fuse-ld=lld",
                                "-o",   outputPath.str(), objectPath.str()};
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
                           "-Wl,-z,noexecstack", "-Wl,--build-id=none"});
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

namespace {

/// Every form of every planned weight, in payload order.
std::vector<PayloadEntry> collectEntries(mlir::ModuleOp planned) {
  std::vector<PayloadEntry> entries;
  for (WeightOp w : planned.getOps<WeightOp>()) {
    LayoutAttr layout = w.getLayoutAttr();
    if (!layout)
      continue;
    auto add = [&](StringRef form, std::optional<LayoutAttr::Form> place) {
      if (place)
        entries.push_back({w, form.str(), static_cast<uint64_t>(place->offset),
                           static_cast<uint64_t>(place->bytes),
                           layout.getIsa().value_or(KernelISA::None)});
    };
    add("packed", layout.getPacked());
    add("raw", layout.getRaw());
    add("f32", layout.getF32());
  }
  llvm::sort(entries, [](const PayloadEntry &a, const PayloadEntry &b) {
    return a.offset < b.offset;
  });
  return entries;
}

/// The image as the linker wrote it, checksummed whole (with the zero
/// padding that follows it) and section by section, and where the payload
/// data will start.
struct LinkedImage {
  uint64_t fileSize, dataOffset, imageSize, checksum;
  std::vector<std::pair<std::string, payload::ImageRegion>> regions;
};

Expected<LinkedImage> readLinkedImage(StringRef exePath) {
  auto image = MemoryBuffer::getFile(exePath, /*IsText=*/false,
                                     /*RequiresNullTerminator=*/false);
  if (!image)
    return fail(exePath + ": " + image.getError().message());
  StringRef imageBytes = (*image)->getBuffer();
  auto regions = imageRegions(imageBytes, exePath);
  if (!regions)
    return regions.takeError();
  LinkedImage linked;
  linked.fileSize = imageBytes.size();
  linked.regions = std::move(*regions);
  // At least 64 bytes of padding: its last 64 hold the leader (a copy of
  // the trailer) that lets the runtime size a cut file.
  linked.dataOffset = alignTo(linked.fileSize + 64, payload::kDataAlignment);
  linked.imageSize = linked.dataOffset - sizeof(payload::Trailer);
  payload::Checksum64 checksum;
  checksum.update(imageBytes.data(), imageBytes.size());
  static const uint8_t zeros[4096] = {};
  for (uint64_t at = linked.fileSize; at < linked.imageSize;) {
    uint64_t n = std::min<uint64_t>(sizeof(zeros), linked.imageSize - at);
    checksum.update(zeros, n);
    at += n;
  }
  linked.checksum = checksum.finish();
  return linked;
}

/// Writes the payload data: each entry at its planned offset, checksummed
/// whole and entry by entry.
class PayloadDataWriter {
public:
  explicit PayloadDataWriter(raw_ostream &out) : out(out) {}

  Error writeEntry(const PayloadEntry &e, const gguf::GGUFFile &file) {
    pad(e.offset);
    entryChecksum.emplace();
    const gguf::TensorInfo *tensor = file.findTensor(e.weight.getSymName());
    if (!tensor)
      return fail("tensor '" + e.weight.getSymName() + "' is not in " +
                  file.getPath());
    ArrayRef<uint8_t> source = file.tensorData(*tensor);
    if (e.form == "raw") {
      write(source.data(), source.size());
    } else if (e.form == "f32") {
      auto values = file.readTensorF32(*tensor);
      if (!values)
        return values.takeError();
      write(reinterpret_cast<const uint8_t *>(values->data()),
            values->size() * 4);
    } else {
      if (Error err = writePacked(e, source))
        return err;
    }
    entryChecksums.push_back(entryChecksum->finish());
    entryChecksum.reset();
    return Error::success();
  }

  /// Zero bytes up to payload offset `to`.
  void pad(uint64_t to) {
    static const uint8_t zeros[4096] = {};
    while (written < to)
      write(zeros, std::min<uint64_t>(sizeof(zeros), to - written));
  }

  uint64_t bytesWritten() const { return written; }
  uint64_t checksum() { return dataChecksum.finish(); }
  ArrayRef<uint64_t> perEntryChecksums() const { return entryChecksums; }
  /// The weights converted to their kernel type, in payload order.
  std::vector<RepackedWeight> takeRepacked() { return std::move(repacked); }

private:
  /// A matrix or a stack of them, repacked for the kernels of the entry's
  /// ISA: the plan sized the entry as `count` packed matrices of the
  /// weight's kernel type. A weight of another ggml type is converted to it
  /// first, matrix by matrix, and recorded in `repacked`.
  Error writePacked(const PayloadEntry &e, ArrayRef<uint8_t> source) {
    // Packed for no ISA: the op library's ggml dot path reads the GGUF rows.
    if (e.isa == KernelISA::None) {
      write(source.data(), source.size());
      return Error::success();
    }
    const auto fileType = static_cast<ggml::Type>(e.weight.getGgmlType());
    const auto kernelType = static_cast<ggml::Type>(e.weight.getKernelType());
    auto type = targetWeightType(e.weight.getKernelType());
    if (!type)
      return fail("no kernel reads '" + e.weight.getSymName() + "'");
    ArrayRef<int64_t> shape = e.weight.getShape();
    int64_t count = shape.size() == 3 ? shape[0] : 1;
    targets::MatmulShape matrix{shape[shape.size() - 2], shape.back()};
    uint64_t stride = e.bytes / count;
    uint64_t matrixBytes = source.size() / count;
    const int64_t matrixElements = matrix.rows * matrix.cols;
    const bool convert = fileType != kernelType;
    if (convert) {
      repacked.push_back({e.weight.getSymName().str(), fileType, kernelType,
                          ggml::RepackError()});
      converted.assign(*ggml::rowBytes(kernelType, matrixElements), 0);
    }
    buffer.assign(stride, 0);
    for (int64_t i = 0; i < count; ++i) {
      const uint8_t *rows = source.data() + i * matrixBytes;
      if (convert) {
        if (!ggml::repackValues(fileType, kernelType, rows, converted.data(),
                                matrixElements, repacked.back().error))
          return fail("cannot convert '" + e.weight.getSymName() + "' from " +
                      ggml::typeName(fileType) + " to " +
                      ggml::typeName(kernelType));
        rows = converted.data();
      }
      std::fill(buffer.begin(), buffer.end(), 0);
      if (!targets::packWeights(*type, matrix, targetISA(e.isa), rows,
                                buffer.data()))
        return fail("cannot pack '" + e.weight.getSymName() +
                    "' for the kernels");
      write(buffer.data(), stride);
    }
    return Error::success();
  }

  void write(const uint8_t *data, uint64_t n) {
    out.write(reinterpret_cast<const char *>(data), n);
    dataChecksum.update(data, n);
    if (entryChecksum)
      entryChecksum->update(data, n);
    written += n;
  }

  raw_ostream &out;
  payload::Checksum64 dataChecksum;
  std::optional<payload::Checksum64> entryChecksum;
  std::vector<uint64_t> entryChecksums;
  std::vector<uint8_t> buffer, converted;
  std::vector<RepackedWeight> repacked;
  uint64_t written = 0;
};

/// SHA-256 of the bytes the weights were read from (the mapping), not of
/// the path: that may name another file by now.
void modelDigest(const gguf::GGUFFile &file, uint8_t (&digestOut)[32]) {
  ArrayRef<uint8_t> model = file.getBytes();
  SHA256 sha;
  for (size_t at = 0; at < model.size(); at += 1 << 24)
    sha.update(model.slice(at, std::min<size_t>(1 << 24, model.size() - at)));
  auto digest = sha.final();
  std::memcpy(digestOut, digest.data(), 32);
}

/// The payload header: fixed part, tensor table, image regions, strings.
std::string buildHeader(ArrayRef<PayloadEntry> entries,
                        ArrayRef<uint64_t> entryChecksums,
                        uint64_t dataChecksum, const LinkedImage &image,
                        const gguf::GGUFFile &file, const PayloadInfo &info) {
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
  fixed.data_checksum = dataChecksum;
  fixed.target_name = addString(info.targetName);
  fixed.compiler_version = addString(INGOT_COMPILER_VERSION);
  fixed.model_file = addString(sys::path::filename(file.getPath()));
  fixed.image_bytes = image.imageSize;
  fixed.image_checksum = image.checksum;
  modelDigest(file, fixed.model_sha256);
  std::vector<payload::TensorEntry> table;
  for (auto [e, sum] : llvm::zip_equal(entries, entryChecksums)) {
    // form:type[/isa]; a packed form held as another type than the file's
    // says both, e.g. packed:q4_k->q8_0/avx512vnni.
    std::string layout = e.form;
    layout += ":" + stringifyGGMLType(e.weight.getGgmlType()).str();
    if (e.form == "packed" &&
        e.weight.getKernelType() != e.weight.getGgmlType())
      layout += "->" + stringifyGGMLType(e.weight.getKernelType()).str();
    if (e.form == "packed")
      layout += "/" + stringifyKernelISA(e.isa).str();
    table.push_back({addString(e.weight.getSymName()), addString(layout),
                     e.offset, e.bytes, sum});
  }
  std::vector<payload::ImageRegion> regionTable;
  for (auto [name, region] : image.regions) {
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
  return header;
}

payload::Trailer makeTrailer(uint64_t dataOffset, uint64_t dataBytes,
                             StringRef header) {
  payload::Trailer trailer = {};
  std::memcpy(trailer.magic, payload::kTrailerMagic, 8);
  trailer.format_version = payload::kFormatVersion;
  trailer.data_offset = dataOffset;
  trailer.data_bytes = dataBytes;
  trailer.header_offset = dataOffset + dataBytes;
  trailer.header_bytes = header.size();
  trailer.header_checksum = payload::checksum64(header.data(), header.size());
  trailer.trailer_checksum = payload::checksum64(&trailer, 56);
  return trailer;
}

/// The leader: a copy of the trailer just before the data.
Error writeLeader(StringRef exePath, const payload::Trailer &trailer,
                  uint64_t dataOffset) {
  int fd = ::open(exePath.str().c_str(), O_WRONLY);
  bool ok = fd >= 0 && ::pwrite(fd, &trailer, sizeof(trailer),
                                dataOffset - sizeof(trailer)) ==
                           static_cast<ssize_t>(sizeof(trailer));
  if (fd >= 0)
    ::close(fd);
  if (!ok)
    return fail(exePath + ": cannot write the payload leader");
  return Error::success();
}

} // namespace

Error appendPayload(StringRef exePath, mlir::ModuleOp planned,
                    const gguf::GGUFFile &file, PayloadInfo &info,
                    const ProgressFn &progress) {
  std::vector<PayloadEntry> entries = collectEntries(planned);
  auto totalAttr = planned.getContext()
                       ->getOrLoadDialect<IngotDialect>()
                       ->getPayloadBytesAttrHelper()
                       .getAttr(planned);
  uint64_t dataBytes = totalAttr ? totalAttr.getInt() : 0;
  auto image = readLinkedImage(exePath);
  if (!image)
    return image.takeError();

  std::error_code ec;
  raw_fd_ostream out(exePath, ec, sys::fs::OF_Append);
  if (ec)
    return fail(exePath + ": " + ec.message());
  StreamErrorGuard outGuard(out);
  out.write_zeros(image->dataOffset - image->fileSize);
  PayloadDataWriter data(out);
  for (const PayloadEntry &e : entries) {
    if (Error err = data.writeEntry(e, file))
      return err;
    if (progress)
      progress(data.bytesWritten(), dataBytes);
  }
  data.pad(dataBytes);
  if (progress)
    progress(data.bytesWritten(), dataBytes);

  std::string header = buildHeader(entries, data.perEntryChecksums(),
                                   data.checksum(), *image, file, info);
  out << header;
  payload::Trailer trailer = makeTrailer(image->dataOffset, dataBytes, header);
  out.write(reinterpret_cast<const char *>(&trailer), sizeof(trailer));
  uint64_t appended = out.tell();
  if (Error e = outGuard.close(exePath))
    return e;
  if (Error e = writeLeader(exePath, trailer, image->dataOffset))
    return e;
  info.dataBytes = dataBytes;
  info.repacked = data.takeRepacked();
  info.dataOffset = image->dataOffset;
  info.fileBytes = image->fileSize + appended;
  return Error::success();
}

} // namespace ingot::codegen
