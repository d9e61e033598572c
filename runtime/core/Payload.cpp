//===- Payload.cpp - The weights appended to the running executable -------===//

#include "Payload.h"
#include "Error.h"
#include "HumanBytes.h"

#include <cerrno>
#include <cinttypes>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace ingot::payload;

namespace ingot::rt {
namespace {

/// Reads exactly n bytes at offset; false on a short read or an error.
bool readAt(int fd, void *dst, size_t n, uint64_t offset) {
  auto *p = static_cast<uint8_t *>(dst);
  while (n) {
    ssize_t got = pread(fd, p, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

bool trailerValid(const Trailer &t) {
  return std::memcmp(t.magic, kTrailerMagic, sizeof(t.magic)) == 0 &&
         checksum64(&t, offsetof(Trailer, trailer_checksum)) ==
             t.trailer_checksum;
}

/// End of the ELF image in the file: the furthest of the program headers'
/// file ranges, the section contents and the section header table (which
/// may lie beyond the end of a truncated file). 0 when the file does not
/// start with a 64-bit ELF header.
uint64_t elfImageEnd(int fd) {
  Elf64_Ehdr eh;
  if (!readAt(fd, &eh, sizeof(eh), 0) ||
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64)
    return 0;
  constexpr uint64_t kLimit = 1ull << 48; // ignore absurd (corrupted) values
  uint64_t end = sizeof(eh);
  auto extend = [&](uint64_t off, uint64_t size) {
    if (off < kLimit && size < kLimit && off + size > end)
      end = off + size;
  };
  extend(eh.e_phoff, uint64_t(eh.e_phnum) * eh.e_phentsize);
  extend(eh.e_shoff, uint64_t(eh.e_shnum) * eh.e_shentsize);
  for (unsigned i = 0; i < eh.e_phnum && eh.e_phentsize >= sizeof(Elf64_Phdr);
       ++i) {
    Elf64_Phdr ph;
    if (readAt(fd, &ph, sizeof(ph), eh.e_phoff + uint64_t(i) * eh.e_phentsize))
      extend(ph.p_offset, ph.p_filesz);
  }
  for (unsigned i = 0; i < eh.e_shnum && eh.e_shentsize >= sizeof(Elf64_Shdr);
       ++i) {
    Elf64_Shdr sh;
    if (readAt(fd, &sh, sizeof(sh),
               eh.e_shoff + uint64_t(i) * eh.e_shentsize) &&
        sh.sh_type != SHT_NOBITS)
      extend(sh.sh_offset, sh.sh_size);
  }
  return end;
}

/// Explains a file whose last 64 bytes are no valid trailer: if the leader
/// copy of the trailer (the 64 bytes before the data) survives, the file
/// was cut and we know how long it should be.
std::string diagnoseMissingTrailer(int fd, uint64_t fileSize,
                                   const Trailer &tail, uint64_t minDataBytes) {
  if (uint64_t elfEnd = elfImageEnd(fd)) {
    if (elfEnd > fileSize)
      return format("truncated binary: the executable alone is %" PRIu64
                    " bytes, found %" PRIu64,
                    elfEnd, fileSize);
    uint64_t dataOffset = (elfEnd + sizeof(Trailer) + kDataAlignment - 1) /
                          kDataAlignment * kDataAlignment;
    Trailer leader;
    if (dataOffset <= fileSize &&
        readAt(fd, &leader, sizeof(leader), dataOffset - sizeof(Trailer)) &&
        trailerValid(leader) && leader.data_offset == dataOffset &&
        leader.header_offset + leader.header_bytes >= leader.header_offset &&
        leader.header_offset + leader.header_bytes + sizeof(Trailer) >
            leader.header_offset) {
      uint64_t expected =
          leader.header_offset + leader.header_bytes + sizeof(Trailer);
      if (expected > fileSize)
        return format("truncated binary: expected %" PRIu64
                      " bytes, found %" PRIu64
                      " (the weights payload is incomplete)",
                      expected, fileSize);
      // The payload is whole if the trailer at its end is intact: then
      // something was appended after it.
      Trailer end;
      if (expected < fileSize &&
          readAt(fd, &end, sizeof(end), expected - sizeof(Trailer)) &&
          std::memcmp(&end, &leader, sizeof(end)) == 0)
        return format(
            "trailing data after the payload: the binary ends at byte %" PRIu64
            ", the file has %" PRIu64 " bytes (%" PRIu64
            " bytes were appended to it)",
            expected, fileSize, fileSize - expected);
    }
    // Without a leader: the weights start at the first 2 MiB boundary after
    // the ELF image at the earliest and are followed by a header and the
    // trailer.
    uint64_t atLeast =
        (elfEnd + kDataAlignment - 1) / kDataAlignment * kDataAlignment +
        minDataBytes + sizeof(HeaderFixed) + sizeof(Trailer);
    if (fileSize > elfEnd && fileSize < atLeast)
      return format("truncated binary: expected at least %" PRIu64
                    " bytes, found %" PRIu64
                    " (the weights payload is incomplete)",
                    atLeast, fileSize);
    if (fileSize == elfEnd)
      return format(
          "no weights payload: the file ends with the executable (%" PRIu64
          " bytes); it was truncated or the payload was never appended",
          fileSize);
  }
  if (std::memcmp(tail.magic, kTrailerMagic, sizeof(tail.magic)) != 0)
    return "bad payload magic: the last 64 bytes are no Ingot payload trailer "
           "(binary truncated, "
           "modified, or the weights were never appended)";
  return format("payload trailer checksum mismatch (stored %016" PRIx64
                ", computed %016" PRIx64
                "): the end of the binary is corrupted",
                tail.trailer_checksum,
                checksum64(&tail, offsetof(Trailer, trailer_checksum)));
}

} // namespace

Payload::~Payload() {
  if (weights_.mapping)
    munmap(weights_.mapping, weights_.mappingBytes);
}

const char *Payload::string(uint32_t offset) const {
  if (!strings_ || offset >= header_.strings_bytes)
    return "";
  return strings_ + offset;
}

bool Payload::open(const char *path, const PayloadOptions &options,
                   std::string &error, std::vector<std::string> &notes) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(error, "cannot open '%s' to read the weights: %s", path,
                std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  return openFile(fd, options, error, notes);
}

bool Payload::openFile(int fd, const PayloadOptions &options,
                       std::string &error, std::vector<std::string> &notes) {
  // The code and data the process runs from (a few MB) are always checked;
  // the weights up to kAlwaysVerifyBytes or with --verify.
  return readTrailer(fd, options, error) && checkLeader(fd, error) &&
         readHeader(fd, error) && readRegions(error) && readTensors(error) &&
         verifyImage(fd, error) && mapData(fd, options, error, notes) &&
         verifyData(options, error);
}

bool Payload::readTrailer(int fd, const PayloadOptions &options,
                          std::string &error) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return fail(error, "cannot stat the binary: %s", std::strerror(errno));
  uint64_t fileSize = static_cast<uint64_t>(st.st_size);
  Trailer &t = trailer_;
  if (fileSize < sizeof(Trailer) ||
      !readAt(fd, &t, sizeof(t), fileSize - sizeof(Trailer)))
    return fail(error,
                "truncated binary: %" PRIu64
                " bytes cannot hold a payload trailer",
                fileSize);
  if (!trailerValid(t)) {
    error = diagnoseMissingTrailer(fd, fileSize, t, options.minDataBytes);
    return false;
  }
  if (t.format_version != kFormatVersion)
    return fail(
        error,
        "unsupported payload format version %u (this runtime reads version %u)",
        t.format_version, kFormatVersion);
  // Layout: data, then header, then the trailer ending the file.
  uint64_t expected = t.header_offset + t.header_bytes + sizeof(Trailer);
  if (t.header_offset + t.header_bytes < t.header_offset || expected > fileSize)
    return fail(error,
                "truncated binary: expected %" PRIu64 " bytes, found %" PRIu64
                " (the weights payload is incomplete)",
                expected, fileSize);
  if (expected < fileSize)
    return fail(error,
                "bad payload layout: the trailer describes a %" PRIu64
                "-byte file, found %" PRIu64 " bytes",
                expected, fileSize);
  if (t.data_offset % kDataAlignment != 0 || t.data_offset == 0 ||
      t.data_offset + t.data_bytes < t.data_offset ||
      t.data_offset + t.data_bytes > t.header_offset)
    return fail(
        error,
        "bad payload layout: weights data at %" PRIu64 " (+%" PRIu64
        " bytes) must be 2 MiB aligned and end before the header at %" PRIu64,
        t.data_offset, t.data_bytes, t.header_offset);
  if (t.header_bytes < sizeof(HeaderFixed) || t.header_bytes > (256u << 20))
    return fail(error, "bad payload header size %" PRIu64, t.header_bytes);
  return true;
}

/// The leader is part of the file too: a copy of the trailer.
bool Payload::checkLeader(int fd, std::string &error) const {
  const Trailer &t = trailer_;
  Trailer leader;
  if (!readAt(fd, &leader, sizeof(leader), t.data_offset - sizeof(Trailer)) ||
      std::memcmp(&leader, &t, sizeof(leader)) != 0)
    return fail(
        error,
        "payload leader corrupt: the copy of the trailer at byte %" PRIu64
        " differs from the trailer (the binary is corrupted)",
        t.data_offset - sizeof(Trailer));
  return true;
}

bool Payload::readHeader(int fd, std::string &error) {
  const Trailer &t = trailer_;
  headerBytes_.resize(t.header_bytes);
  if (!readAt(fd, headerBytes_.data(), headerBytes_.size(), t.header_offset))
    return fail(error, "cannot read the payload header: %s",
                std::strerror(errno));
  uint64_t sum = checksum64(headerBytes_.data(), headerBytes_.size());
  if (sum != t.header_checksum)
    return fail(error,
                "payload header checksum mismatch (stored %016" PRIx64
                ", computed %016" PRIx64 "): the binary is corrupted",
                t.header_checksum, sum);
  std::memcpy(&header_, headerBytes_.data(), sizeof(header_));
  if (header_.format_version != t.format_version)
    return fail(
        error, "payload header format version %u differs from the trailer's %u",
        header_.format_version, t.format_version);
  if (header_.strings_bytes > t.header_bytes ||
      sizeof(HeaderFixed) + tableBytes() + regionBytes() +
              header_.strings_bytes !=
          t.header_bytes ||
      header_.strings_bytes == 0)
    return fail(error,
                "bad payload header: %u tensors, %u image sections and %" PRIu64
                " bytes of strings do not fill its %" PRIu64 " bytes",
                header_.tensor_count, header_.region_count,
                header_.strings_bytes, t.header_bytes);
  strings_ = reinterpret_cast<const char *>(
      headerBytes_.data() + sizeof(HeaderFixed) + tableBytes() + regionBytes());
  if (strings_[header_.strings_bytes - 1] != '\0')
    return fail(error,
                "bad payload header: the string table is not NUL-terminated");
  for (uint32_t off :
       {header_.target_name, header_.compiler_version, header_.model_file})
    if (off >= header_.strings_bytes)
      return fail(error, "bad payload header: string offset %u out of range",
                  off);
  if (header_.image_bytes != t.data_offset - sizeof(Trailer))
    return fail(error,
                "bad payload header: the executable image is %" PRIu64
                " bytes, but the leader starts at byte %" PRIu64,
                header_.image_bytes, t.data_offset - sizeof(Trailer));
  return true;
}

bool Payload::readRegions(std::string &error) {
  regions_.resize(header_.region_count);
  const uint8_t *table =
      headerBytes_.data() + sizeof(HeaderFixed) + tableBytes();
  for (uint32_t i = 0; i < header_.region_count; ++i) {
    ImageRegion &r = regions_[i];
    std::memcpy(&r, table + uint64_t(i) * sizeof(ImageRegion), sizeof(r));
    if (r.name >= header_.strings_bytes ||
        r.kind > uint32_t(RegionKind::Other) ||
        r.offset > header_.image_bytes ||
        r.bytes > header_.image_bytes - r.offset)
      return fail(error, "bad payload header: image section %u is out of range",
                  i);
  }
  return true;
}

bool Payload::readTensors(std::string &error) {
  const uint64_t dataBytes = trailer_.data_bytes;
  tensors_.reserve(header_.tensor_count);
  tensorEntries_.resize(header_.tensor_count);
  for (uint32_t i = 0; i < header_.tensor_count; ++i) {
    TensorEntry &e = tensorEntries_[i];
    std::memcpy(&e,
                headerBytes_.data() + sizeof(HeaderFixed) +
                    uint64_t(i) * sizeof(TensorEntry),
                sizeof(e));
    if (e.name >= header_.strings_bytes || e.layout >= header_.strings_bytes)
      return fail(
          error,
          "bad payload header: tensor %u has a string offset out of range", i);
    if (e.offset > dataBytes || e.bytes > dataBytes - e.offset)
      return fail(error,
                  "bad payload header: tensor '%s' (%" PRIu64
                  " bytes at %" PRIu64 ") lies outside the %" PRIu64
                  " bytes of weights",
                  strings_ + e.name, e.bytes, e.offset, dataBytes);
    tensors_.push_back(
        {strings_ + e.name, strings_ + e.layout, e.offset, e.bytes});
  }
  return true;
}

bool Payload::verifyData(const PayloadOptions &options, std::string &error) {
  if (trailer_.data_bytes > kAlwaysVerifyBytes && !options.verify)
    return true;
  uint64_t sum = checksum64(data_, trailer_.data_bytes);
  if (sum != header_.data_checksum) {
    error = describeDataCorruption(sum);
    return false;
  }
  verified_ = true;
  return true;
}

bool Payload::verifyImage(int fd, std::string &error) const {
  uint64_t n = header_.image_bytes;
  void *p = mmap(nullptr, n, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED)
    return fail(error,
                "cannot map the %" PRIu64
                " bytes of the executable image to verify them: %s",
                n, std::strerror(errno));
  const uint8_t *image = static_cast<const uint8_t *>(p);
  uint64_t sum = checksum64(image, n);
  bool ok = sum == header_.image_checksum;
  if (!ok) {
    // Name the section that changed; the per-section sums are only read now.
    static const char *const kinds[] = {"code", "read-only data", "data",
                                        "symbols or metadata"};
    error = format("executable image corrupt: its %" PRIu64
                   " bytes hash to %016" PRIx64 ", the header says %016" PRIx64
                   "; the damage is outside its sections "
                   "(ELF headers or padding): the binary is corrupted",
                   n, sum, header_.image_checksum);
    for (const ImageRegion &r : regions_) {
      uint64_t regionSum = checksum64(image + r.offset, r.bytes);
      if (regionSum != r.checksum) {
        error = format("model code/data corrupt: section %s (%s, %" PRIu64
                       " bytes at byte %" PRIu64
                       ") checksum mismatch (stored %016" PRIx64
                       ", computed %016" PRIx64 "): the binary is corrupted",
                       string(r.name), kinds[r.kind], r.bytes, r.offset,
                       r.checksum, regionSum);
        break;
      }
    }
  }
  munmap(p, n);
  return ok;
}

std::string Payload::describeDataCorruption(uint64_t sum) const {
  for (const TensorEntry &e : tensorEntries_) {
    uint64_t tensorSum = checksum64(data_ + e.offset, e.bytes);
    if (tensorSum != e.checksum)
      return format(
          "payload tensor '%s' corrupt: checksum mismatch in its %" PRIu64
          " bytes at weights offset %" PRIu64 " (stored %016" PRIx64
          ", computed %016" PRIx64 "): the binary is corrupted",
          string(e.name), e.bytes, e.offset, e.checksum, tensorSum);
  }
  return format("payload checksum mismatch: the %" PRIu64
                " bytes of weights hash to %016" PRIx64
                ", the header says %016" PRIx64
                " (the padding between tensors is corrupted)",
                trailer_.data_bytes, sum, header_.data_checksum);
}

bool Payload::mapData(int fd, const PayloadOptions &options, std::string &error,
                      std::vector<std::string> &notes) {
  uint64_t n = trailer_.data_bytes;
  if (n == 0) {
    static const uint8_t empty[64] = {};
    data_ = empty;
    return true;
  }
  NodeSpread spread;
  spread.nodes = options.nodes;
  for (const TensorEntry &e : tensorEntries_)
    spread.tensors.push_back({e.offset, e.bytes});
  if (!placeWeights(fd, trailer_.data_offset, n, options.hugepages, spread,
                    weights_, error, notes))
    return false;
  data_ = weights_.data;
  return true;
}

std::string Payload::loadSummary() const {
  const WeightPlacement &w = weights_;
  std::string text = w.kind;
  if (w.hugeBytes >= 0)
    text += format(" (%s of the copy in huge pages)",
                   humanBytes(double(w.hugeBytes)).c_str());
  if (!w.copied)
    return text +
           format(", mapped in %.3f s (read on first use)", w.loadSeconds);
  if (!w.nodes.empty()) {
    text += ", spread over NUMA nodes";
    for (size_t i = 0; i < w.nodes.size(); ++i)
      text += (i ? "," : " ") + std::to_string(w.nodes[i]);
    if (!w.bindFailure.empty())
      text += " (binding failed: " + w.bindFailure + ")";
  }
  const double bytes = double(trailer_.data_bytes);
  return text + format(", %s copied in %.3f s (%.2f GB/s)",
                       decimalBytes(bytes).c_str(), w.loadSeconds,
                       w.loadSeconds > 0 ? bytes / 1e9 / w.loadSeconds : 0.0);
}

} // namespace ingot::rt
