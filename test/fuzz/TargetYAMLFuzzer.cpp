//===- TargetYAMLFuzzer.cpp - libFuzzer entry for target descriptions -----===//
//
// Arbitrary text through the target description reader and its validation:
// it must be refused with one located error line, or accepted; an accepted
// description must write back to YAML that reads as an equal description,
// and its summary and derived values must be computable.
//
//===----------------------------------------------------------------------===//
#include "compiler/target/TargetDescription.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>

using namespace ingot::target;

static void require(bool ok, const char *what, const std::string &detail) {
  if (ok)
    return;
  std::fprintf(stderr, "target-yaml-fuzzer: %s: %s\n", what, detail.c_str());
  std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  auto target =
      parseTargetDescription(llvm::MemoryBufferRef(text, "fuzz.yaml"));
  if (!target) {
    std::string message = llvm::toString(target.takeError());
    require(!message.empty() && message.find('\n') == std::string::npos,
            "error is not one line", message);
    return 0;
  }
  std::string yaml = writeTargetDescription(*target);
  auto again =
      parseTargetDescription(llvm::MemoryBufferRef(yaml, "written.yaml"));
  require(bool(again), "written description does not read back",
          again ? std::string()
                : llvm::toString(again.takeError()) + "\n" + yaml);
  require(*again == *target, "written description reads back different", yaml);
  std::string summary;
  llvm::raw_string_ostream os(summary);
  printTargetSummary(*target, os);
  volatile unsigned sink = target->decodeThreads() + target->prefillThreads();
  (void)sink;
  return 0;
}
