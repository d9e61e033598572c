//===- PayloadFormat.h - Weights appended to an emitted binary --*- C++ -*-===//
//
// An emitted executable is the linked ELF file followed by the payload:
//
//   [ELF executable][zero padding][leader][weights data][header][trailer]
//
// The weights start 2 MiB-aligned in the file so that they can be mapped
// (and placed in huge pages) directly. The header describes them; the
// trailer, the last 64 bytes of the file, says where the header is, so the
// runtime finds everything from the end of /proc/self/exe. The compiler
// writes it (compiler/codegen/Executable.cpp), the runtime reads it
// (runtime/core/Payload.cpp); both use only this header.
//
// data_offset is the smallest multiple of kDataAlignment that is at least
// 64 bytes past the end of the ELF image, and the last 64 bytes of the
// padding (data_offset - 64) hold a copy of the trailer, the "leader". It
// lets the runtime report a cut file as "expected N bytes, found M" (or
// bytes appended after the payload as such) when the trailer is gone. (The
// ELF end is the furthest of the program headers' file ranges, the
// non-NOBITS section contents and the section header table; for a freshly
// linked executable that is its file size.)
//
// Every byte of the file is covered by a checksum that start-up verifies:
// the image (the executable and its padding, [0, data_offset - 64)) by
// image_checksum, the leader by being equal to the trailer, the weights by
// data_checksum, the header by the trailer's header_checksum and the
// trailer by its own. The per-section and per-tensor checksums are read
// only after a mismatch, to say what is corrupt.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_PAYLOADFORMAT_H
#define INGOT_RUNTIME_PAYLOADFORMAT_H

#include <stddef.h>
#include <stdint.h>

namespace ingot::payload {

constexpr uint32_t kFormatVersion = 2;
constexpr uint64_t kDataAlignment = 2ull << 20; // 2 MiB
constexpr char kTrailerMagic[8] = {'I', 'N', 'G', 'O', 'T', 'P', 'L', '1'};

/// The last 64 bytes of the file.
struct Trailer {
  char magic[8];
  uint32_t format_version;
  uint32_t reserved;
  uint64_t data_offset; ///< file offset of the weights (2 MiB aligned)
  uint64_t data_bytes;
  uint64_t header_offset; ///< file offset of the header
  uint64_t header_bytes;
  uint64_t header_checksum;  ///< checksum64 of the header bytes
  uint64_t trailer_checksum; ///< checksum64 of the 56 bytes above
};
static_assert(sizeof(Trailer) == 64, "trailer is 64 bytes");

/// Fixed part of the header; followed by `tensor_count` TensorEntry records,
/// `region_count` ImageRegion records and then `strings_bytes` of
/// NUL-terminated strings that the offsets below point into (relative to
/// the start of the strings).
struct HeaderFixed {
  uint32_t format_version;
  uint32_t tensor_count;
  uint64_t data_checksum; ///< checksum64 of the weights data
  uint64_t strings_bytes;
  uint8_t model_sha256[32];
  uint32_t target_name; ///< string offsets
  uint32_t compiler_version;
  uint32_t model_file;
  uint32_t region_count;
  uint64_t image_bytes;    ///< data_offset - 64: the executable and padding
  uint64_t image_checksum; ///< checksum64 of the file's first image_bytes
};
static_assert(sizeof(HeaderFixed) == 88, "fixed header is 88 bytes");

struct TensorEntry {
  uint32_t name;   ///< string offset
  uint32_t layout; ///< string offset, e.g. "q8_0/avx512vnni/rows16"
  uint64_t offset; ///< from the start of the weights data
  uint64_t bytes;
  uint64_t checksum; ///< checksum64 of the tensor's bytes
};
static_assert(sizeof(TensorEntry) == 32, "tensor entry is 32 bytes");

/// What an ELF section of the image holds, for error messages.
enum class RegionKind : uint32_t {
  Code = 0,
  ReadOnlyData = 1,
  Data = 2,
  Other = 3
};

/// One ELF section with contents in the file (offsets into the file).
struct ImageRegion {
  uint32_t name; ///< string offset, e.g. ".text"
  uint32_t kind; ///< RegionKind
  uint64_t offset;
  uint64_t bytes;
  uint64_t checksum; ///< checksum64 of the section's bytes
};
static_assert(sizeof(ImageRegion) == 32, "image region is 32 bytes");

/// A fast 64-bit checksum (not cryptographic) that detects truncation and
/// corruption, 16 bytes per step so that a multi-GB payload checks at memory
/// speed. Data may arrive in pieces: the result is that of the whole.
class Checksum64 {
public:
  explicit Checksum64(uint64_t seed = 0)
      : h0(seed ^ 0x243F6A8885A308D3ull), h1(seed ^ 0x13198A2E03707344ull) {}
  void update(const void *data, size_t n) {
    const uint8_t *p = static_cast<const uint8_t *>(data);
    total += n;
    while (n) {
      if (pending == 0 && n >= 16) {
        size_t whole = n & ~size_t(15);
        mix(p, whole);
        p += whole;
        n -= whole;
        continue;
      }
      size_t take = 16 - pending < n ? 16 - pending : n;
      __builtin_memcpy(buffer + pending, p, take);
      pending += take;
      p += take;
      n -= take;
      if (pending == 16) {
        mix(buffer, 16);
        pending = 0;
      }
    }
  }
  uint64_t finish() const {
    const uint64_t k = 0x9E3779B97F4A7C15ull;
    uint64_t a = h0;
    for (size_t i = 0; i < pending; ++i)
      a = (a ^ buffer[i]) * k;
    uint64_t h = a ^ (h1 * 0xC2B2AE3D27D4EB4Full) ^ total;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    return h;
  }

private:
  void mix(const uint8_t *p, size_t n) {
    const uint64_t k = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i += 16) {
      uint64_t a, b;
      __builtin_memcpy(&a, p + i, 8);
      __builtin_memcpy(&b, p + i + 8, 8);
      h0 = (h0 ^ a) * k;
      h0 ^= h0 >> 29;
      h1 = (h1 ^ b) * k;
      h1 ^= h1 >> 31;
    }
  }
  uint64_t h0, h1, total = 0;
  uint8_t buffer[16];
  size_t pending = 0;
};

inline uint64_t checksum64(const void *data, size_t n, uint64_t seed = 0) {
  Checksum64 checksum(seed);
  checksum.update(data, n);
  return checksum.finish();
}

} // namespace ingot::payload

#endif // INGOT_RUNTIME_PAYLOADFORMAT_H
