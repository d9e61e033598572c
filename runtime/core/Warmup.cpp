//===- Warmup.cpp - Forward rounds before bench and serve take work -------===//
#include "Warmup.h"
#include "Console.h"
#include "Session.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace ingot::rt {

bool warmUp(Session &s, int rounds, std::string &error) {
  if (rounds <= 0)
    return true;
  // The batch leaves one position for the decode step.
  const int64_t batch =
      std::min<int64_t>(s.maxBatch, std::max<int64_t>(s.contextLength - 1, 0));
  const double start = now();
  for (int r = 0; r < rounds; ++r) {
    for (int64_t i = 0; i < batch; ++i)
      s.arena.tokens()[i] = int32_t((i * 7919 + r + 1) % s.vocab);
    if (batch > 0 && !s.forward(batch, 0, LogitRows::Last, error))
      return false;
    s.arena.tokens()[0] = int32_t((r + 2) % s.vocab);
    if (!s.forward(1, batch, LogitRows::Last, error))
      return false;
  }
  std::fprintf(stderr,
               "%s: warm-up: %d round%s of a %" PRId64
               "-token batch and a decode step in %.2f ms\n",
               programName(), rounds, rounds == 1 ? "" : "s", batch,
               (now() - start) * 1e3);
  return true;
}

} // namespace ingot::rt
