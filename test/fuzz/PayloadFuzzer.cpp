//===- PayloadFuzzer.cpp - libFuzzer target for the payload loader --------===//
//
// Runs the checks an emitted binary runs at start (runtime/core/Payload.cpp:
// trailer, leader, layout, header, tensor table, image sections, image and
// weights checksums) on a file built from the input, held in a memfd so
// that the loader reads and maps it exactly as it does /proc/self/exe.
//
// Input: one flag byte, then the file in a compact form. A file of at most
// kHead bytes is used as it is (cut files, bad magic, no payload); a longer
// one is the first kHead bytes (the "executable"), zeros up to the leader
// position of a 2 MiB data offset, then the rest (leader, weights, header,
// trailer), so that a realistic layout needs no 2 MiB input.
//
// Flag bits: 1 = repair the trailer's and the header's checksums and the
// leader copy after mutation (so mutations reach the header parser);
// 2 = also repair the image, weights, section and tensor checksums (so they
// reach mapping and the success path); bits 2-3 choose the weight bytes the
// "model code" needs (PayloadOptions::minDataBytes).
//
// Checked invariants: no sanitizer report; a failure is one non-empty line;
// on success every tensor lies inside the mapped weights. With
// INGOT_PAYLOAD_FUZZER_VERBOSE set, the outcome of each input is printed.
//
//===----------------------------------------------------------------------===//
#include "Payload.h"

#include "ingot/PayloadFormat.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

using namespace ingot::payload;

namespace {

constexpr size_t kHead = 4096;
constexpr uint64_t kLeaderAt = kDataAlignment - sizeof(Trailer);

/// Whether [offset, offset + n) lies inside a file of `size` bytes.
bool inside(uint64_t offset, uint64_t n, uint64_t size) {
  return offset <= size && n <= size - offset;
}

/// The file: `head` at 0, then (when `tail` is not empty) zeros up to
/// kLeaderAt and `tail` there. Kept in two pieces so that a 2 MiB layout
/// costs neither a 2 MiB buffer nor a 2 MiB write per run (the memfd is
/// sparse).
struct SparseFile {
  std::vector<uint8_t> head, tail;

  uint64_t size() const {
    return tail.empty() ? head.size() : kLeaderAt + tail.size();
  }

  /// Copies [offset, offset + n) (inside the file) to or from `bytes`.
  template <typename Fn> void visit(uint64_t offset, uint64_t n, Fn fn) {
    while (n) {
      uint64_t take;
      if (offset < head.size()) {
        take = std::min<uint64_t>(n, head.size() - offset);
        fn(head.data() + offset, take);
      } else if (tail.empty() || offset >= kLeaderAt) {
        take = n;
        fn(tail.data() + (offset - kLeaderAt), take);
      } else {
        take = std::min<uint64_t>(n, kLeaderAt - offset);
        fn(nullptr, take); // the zero gap
      }
      offset += take;
      n -= take;
    }
  }
  uint64_t checksum(uint64_t offset, uint64_t n) {
    static const uint8_t zeros[65536] = {};
    Checksum64 sum;
    visit(offset, n, [&](uint8_t *p, uint64_t k) {
      if (p) {
        sum.update(p, k);
        return;
      }
      for (uint64_t done = 0; done < k;) {
        uint64_t step = std::min<uint64_t>(sizeof(zeros), k - done);
        sum.update(zeros, step);
        done += step;
      }
    });
    return sum.finish();
  }
  /// Writes `n` bytes at `offset` (those falling in the zero gap are
  /// dropped: it stays zero).
  void write(uint64_t offset, const void *bytes, uint64_t n) {
    const uint8_t *from = static_cast<const uint8_t *>(bytes);
    visit(offset, n, [&](uint8_t *p, uint64_t k) {
      if (p)
        std::memcpy(p, from, k);
      from += k;
    });
  }
  void read(uint64_t offset, void *bytes, uint64_t n) {
    uint8_t *to = static_cast<uint8_t *>(bytes);
    visit(offset, n, [&](uint8_t *p, uint64_t k) {
      if (p)
        std::memcpy(to, p, k);
      else
        std::memset(to, 0, k);
      to += k;
    });
  }
};

void repair(SparseFile &file, bool contents) {
  uint64_t size = file.size();
  if (size < sizeof(Trailer))
    return;
  Trailer t;
  file.read(size - sizeof(Trailer), &t, sizeof(t));
  if (contents && t.header_bytes >= sizeof(HeaderFixed) &&
      inside(t.header_offset, t.header_bytes, size)) {
    HeaderFixed h;
    file.read(t.header_offset, &h, sizeof(h));
    if (inside(0, h.image_bytes, size))
      h.image_checksum = file.checksum(0, h.image_bytes);
    bool dataInside = inside(t.data_offset, t.data_bytes, size);
    if (dataInside)
      h.data_checksum = file.checksum(t.data_offset, t.data_bytes);
    file.write(t.header_offset, &h, sizeof(h));
    uint64_t at = sizeof(HeaderFixed);
    for (uint64_t i = 0;
         i < h.tensor_count && at + sizeof(TensorEntry) <= t.header_bytes;
         ++i, at += sizeof(TensorEntry)) {
      TensorEntry e;
      file.read(t.header_offset + at, &e, sizeof(e));
      if (dataInside && inside(e.offset, e.bytes, t.data_bytes))
        e.checksum = file.checksum(t.data_offset + e.offset, e.bytes);
      file.write(t.header_offset + at, &e, sizeof(e));
    }
    for (uint64_t i = 0;
         i < h.region_count && at + sizeof(ImageRegion) <= t.header_bytes;
         ++i, at += sizeof(ImageRegion)) {
      ImageRegion r;
      file.read(t.header_offset + at, &r, sizeof(r));
      if (inside(r.offset, r.bytes, size))
        r.checksum = file.checksum(r.offset, r.bytes);
      file.write(t.header_offset + at, &r, sizeof(r));
    }
  }
  if (inside(t.header_offset, t.header_bytes, size))
    t.header_checksum = file.checksum(t.header_offset, t.header_bytes);
  t.trailer_checksum = checksum64(&t, offsetof(Trailer, trailer_checksum));
  file.write(size - sizeof(Trailer), &t, sizeof(t));
  if (t.data_offset >= sizeof(Trailer) &&
      inside(t.data_offset - sizeof(Trailer), sizeof(Trailer), size))
    file.write(t.data_offset - sizeof(Trailer), &t, sizeof(t));
}

bool writeAll(int fd, const std::vector<uint8_t> &bytes, uint64_t offset) {
  for (size_t at = 0; at < bytes.size();) {
    ssize_t n =
        pwrite(fd, bytes.data() + at, bytes.size() - at, off_t(offset + at));
    if (n <= 0)
      return false;
    at += size_t(n);
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size) {
  if (size < 1)
    return 0;
  uint8_t flags = input[0];
  const uint8_t *body = input + 1;
  size_t bodySize = size - 1;

  SparseFile file;
  if (bodySize <= kHead) {
    file.head.assign(body, body + bodySize);
  } else {
    file.head.assign(body, body + kHead);
    file.tail.assign(body + kHead, body + bodySize);
  }
  if (flags & 3)
    repair(file, flags & 2);

  int fd = memfd_create("payload-fuzzer", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, off_t(file.size())) != 0 ||
      !writeAll(fd, file.head, 0) || !writeAll(fd, file.tail, kLeaderAt))
    __builtin_trap();

  ingot::rt::PayloadOptions options;
  options.minDataBytes = uint64_t((flags >> 2) & 3) * 4096;
  // The file mapping, as before huge page modes: the fuzzer checks parsing.
  options.hugepages = ingot::rt::HugePageMode::Off;
  std::string error;
  std::vector<std::string> notes;
  {
    ingot::rt::Payload payload;
    bool ok = payload.openFile(fd, options, error, notes);
    if (ok != error.empty() || error.find('\n') != std::string::npos)
      __builtin_trap();
    // For the lit test that shows the seeds reach both outcomes.
    if (std::getenv("INGOT_PAYLOAD_FUZZER_VERBOSE"))
      std::fprintf(stderr, "payload: %s\n", ok ? "loaded" : error.c_str());
    if (ok) {
      // What start-up and `info` do with a loaded payload.
      volatile uint64_t sink = payload.dataBytes() < options.minDataBytes;
      sink += std::strlen(payload.string(payload.header().target_name));
      sink += std::strlen(payload.string(payload.header().compiler_version));
      sink += std::strlen(payload.string(payload.header().model_file));
      for (const ingot::rt::PayloadTensor &t : payload.tensors()) {
        if (t.offset > payload.dataBytes() ||
            t.bytes > payload.dataBytes() - t.offset)
          __builtin_trap();
        sink += std::strlen(t.name) + std::strlen(t.layout);
        if (t.bytes)
          sink +=
              payload.data()[t.offset] + payload.data()[t.offset + t.bytes - 1];
      }
      (void)sink;
    }
  }
  close(fd);
  return 0;
}
