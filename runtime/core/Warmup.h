//===- Warmup.h - Forward rounds before bench and serve -------*- C++ -*-===//
//
// The first forward calls of a run are slow: weights not yet read from the
// page cache or disk (file mapping), arena and KV cache pages not yet
// faulted in, workers asleep, cores at a low clock. bench and serve run
// --warmup rounds (the plan's by default) before they measure or accept
// requests, so that neither the first measurement nor the first client
// pays for them. A round is one prompt batch (the model's largest, within
// the context) and one decode step after it, on synthetic tokens from
// position 0; what they leave in the KV cache is overwritten by the first
// real call, which starts at position 0 too.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_WARMUP_H
#define INGOT_RUNTIME_CORE_WARMUP_H

#include <string>

namespace ingot::rt {

struct Session;

/// Runs `rounds` warm-up rounds on `s` and prints one line about them to
/// stderr ("PROG: warm-up: ..."); nothing for 0 rounds. False and `error`
/// when a forward call fails.
bool warmUp(Session &s, int rounds, std::string &error);

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_WARMUP_H
