//===- Payload.h - The weights appended to the running executable -*- C++
//-*-===//
//
// Finds, validates and maps the payload described in ingot/PayloadFormat.h.
// Every problem is reported as one sentence (no program name, no newline)
// in the runtime's error style (Error.h); the caller passes it up.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_PAYLOAD_H
#define INGOT_RUNTIME_CORE_PAYLOAD_H

#include "HugePages.h"
#include "NonCopyable.h"
#include "ingot/PayloadFormat.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ingot::rt {

struct PayloadOptions {
  /// Where the weights go (HugePages.h).
  HugePageMode hugepages = HugePageMode::Auto;
  /// The NUMA nodes a copy of them is spread over (NodeBinding.h; fewer
  /// than two: not spread).
  std::vector<int> nodes;
  /// Verify the data checksum even when the data exceeds kAlwaysVerifyBytes.
  bool verify = false;
  /// Bytes of weights the model code needs (IngotModelInfo::weight_bytes):
  /// lets a cut file without a leader still be reported as truncated.
  uint64_t minDataBytes = 0;
};

/// Data sections up to this size are always checksummed at start.
constexpr uint64_t kAlwaysVerifyBytes = 8ull << 30;

struct PayloadTensor {
  const char *name;
  const char *layout;
  uint64_t offset;
  uint64_t bytes;
};

class Payload : NonCopyable {
public:
  ~Payload();

  /// Opens `path` (normally /proc/self/exe). On failure returns false and
  /// sets `error`. `notes` receives one-line remarks (e.g. the huge page
  /// fallback) for the caller to print.
  bool open(const char *path, const PayloadOptions &options, std::string &error,
            std::vector<std::string> &notes);
  /// The same for an open file (the payload fuzzer passes a memfd); `fd`
  /// stays open and owned by the caller.
  bool openFile(int fd, const PayloadOptions &options, std::string &error,
                std::vector<std::string> &notes);

  const uint8_t *data() const { return data_; }
  uint64_t dataBytes() const { return trailer_.data_bytes; }
  const payload::Trailer &trailer() const { return trailer_; }
  const payload::HeaderFixed &header() const { return header_; }
  const std::vector<PayloadTensor> &tensors() const { return tensors_; }
  /// A string of the header's string table ("" when out of range).
  const char *string(uint32_t offset) const;
  /// Whether the weights were checksummed (the executable image, header
  /// and trailer always are).
  bool checksumVerified() const { return verified_; }
  /// Where the weights are (WeightPlacement::kind).
  const char *placement() const { return weights_.kind; }
  /// How the weights were placed and how long it took (HugePages.h).
  const WeightPlacement &weightPlacement() const { return weights_; }
  /// "2 MiB huge pages, 1.07 GB loaded in 0.41 s (2.61 GB/s)": for info
  /// and the timings line.
  std::string loadSummary() const;

private:
  // The steps of openFile(), in order.
  bool readTrailer(int fd, const PayloadOptions &options, std::string &error);
  bool checkLeader(int fd, std::string &error) const;
  bool readHeader(int fd, std::string &error);
  bool readRegions(std::string &error);
  bool readTensors(std::string &error);
  bool verifyData(const PayloadOptions &options, std::string &error);
  uint64_t tableBytes() const {
    return uint64_t(header_.tensor_count) * sizeof(payload::TensorEntry);
  }
  uint64_t regionBytes() const {
    return uint64_t(header_.region_count) * sizeof(payload::ImageRegion);
  }

  bool mapData(int fd, const PayloadOptions &options, std::string &error,
               std::vector<std::string> &notes);
  bool verifyImage(int fd, std::string &error) const;
  std::string describeDataCorruption(uint64_t sum) const;

  payload::Trailer trailer_{};
  payload::HeaderFixed header_{};
  std::vector<uint8_t> headerBytes_;
  std::vector<PayloadTensor> tensors_;
  std::vector<payload::TensorEntry> tensorEntries_;
  std::vector<payload::ImageRegion> regions_;
  const char *strings_ = nullptr;
  const uint8_t *data_ = nullptr;
  WeightPlacement weights_;
  bool verified_ = false;
};

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_PAYLOAD_H
