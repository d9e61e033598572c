//===- SamplerFuzzer.cpp - libFuzzer entry for sampling and text filters --===//
//
// The emitted binary's decode loop after the model: the sampler chain on
// arbitrary logits (NaN, infinities, ties included: model output is not
// trusted) with any parameters the command line accepts, and the streaming
// text filters (UTF-8 hold-back, stop strings, reasoning split) on arbitrary
// pieces. Checks that every sampled id is in the vocabulary and that the
// filters neither lose nor invent text.
//
//===----------------------------------------------------------------------===//
#include "runtime/core/Sampler.h"
#include "runtime/core/TextStream.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using namespace ingot::rt;

namespace {

/// Consumes the fuzzer's bytes front to back; zeros once they run out.
struct Input {
  const uint8_t *p;
  size_t n;
  template <class T> T take() {
    T v{};
    size_t k = n < sizeof(T) ? n : sizeof(T);
    std::memcpy(&v, p, k);
    p += k;
    n -= k;
    return v;
  }
  /// A number in [lo, hi] (the ranges the command line accepts).
  float inRange(float lo, float hi) {
    return lo + (hi - lo) * float(take<uint16_t>()) / 65535.0f;
  }
  std::string bytes(size_t most) {
    size_t k = take<uint8_t>() % (most + 1);
    k = k < n ? k : n;
    std::string s(reinterpret_cast<const char *>(p), k);
    p += k;
    n -= k;
    return s;
  }
};

void fuzzSampler(Input &in) {
  SamplerParams par;
  uint8_t flags = in.take<uint8_t>();
  par.temp = flags & 1 ? 0.0f : (flags & 2 ? 1e-40f : in.inRange(0.0f, 100.0f));
  par.topK = int32_t(in.take<uint16_t>() % 400);
  par.topP = in.inRange(0.0f, 1.0f);
  par.minP = in.inRange(0.0f, 1.0f);
  par.repeatPenalty = flags & 4 ? 1.0f : in.inRange(1e-6f, 10.0f);
  par.frequencyPenalty = flags & 8 ? 0.0f : in.inRange(-10.0f, 10.0f);
  par.presencePenalty = flags & 16 ? 0.0f : in.inRange(-10.0f, 10.0f);
  par.repeatLastN = int32_t(in.take<uint8_t>()) - 1;
  par.seed = in.take<uint64_t>();
  int64_t vocab = 1 + in.take<uint16_t>() % 300;
  int64_t context = in.take<uint8_t>();
  Sampler s;
  std::string error;
  if (!s.init(vocab, context, par, error))
    __builtin_trap(); // valid sizes must be accepted
  std::vector<float> logits(static_cast<size_t>(vocab));
  const float special[] = {NAN,   INFINITY, -INFINITY, 0.0f,
                           1e38f, -1e38f,   1e-45f};
  for (int step = 0; step < 4 && in.n; ++step) {
    for (float &l : logits) {
      uint8_t kind = in.take<uint8_t>();
      l = kind < 16 ? special[kind % 7]
                    : float(int8_t(in.take<uint8_t>())) / 8.0f;
    }
    int accepted = in.take<uint8_t>() % 8;
    for (int i = 0; i < accepted; ++i)
      s.accept(int32_t(in.take<uint16_t>() % (vocab + 2)) -
               1); // out of range ids are ignored
    int32_t id = s.sample(logits.data());
    if (id < 0 || id >= vocab)
      __builtin_trap();
    s.accept(id);
    if (in.take<uint8_t>() == 0)
      s.resetHistory();
  }
}

void fuzzText(Input &in) {
  std::vector<std::string> stops;
  for (int i = in.take<uint8_t>() % 3; i > 0; --i) {
    std::string stop = in.bytes(8);
    if (!stop.empty())
      stops.push_back(stop);
  }
  StopFilter stop(stops);
  ReasoningParser reasoning;
  reasoning.reset(in.take<uint8_t>() & 1);
  Utf8Holdback utf8;
  std::string all, ready, shown, thought, answer;
  while (in.n) {
    std::string piece = in.bytes(12);
    all += piece;
    ready.clear();
    utf8.push(piece, ready);
    std::string passed;
    stop.push(ready, passed);
    shown += passed;
    reasoning.push(passed, thought, answer);
    if (stop.stopped())
      break;
  }
  ready.clear();
  utf8.finish(ready);
  std::string passed;
  stop.push(ready, passed);
  stop.finish(passed);
  shown += passed;
  reasoning.push(passed, thought, answer);
  reasoning.finish(thought, answer);
  // What was shown is a prefix of the input, and the filter's record of it
  // is exactly what it let through.
  if (all.compare(0, shown.size(), shown) != 0 || stop.text() != shown)
    __builtin_trap();
  // Reasoning and answer together never hold more than was shown.
  if (thought.size() + answer.size() > shown.size())
    __builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Input in{data, size};
  if (in.take<uint8_t>() & 1)
    fuzzSampler(in);
  else
    fuzzText(in);
  return 0;
}
