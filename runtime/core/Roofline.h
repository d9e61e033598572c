//===- Roofline.h - What a token costs and what the target can do -*- C++
//-*-===//
//
// The figures `bench` divides its speeds by: the bytes and multiply-adds of
// one token, from the compiled plan (IngotModelInfo step_* fields), and the
// target's measured read bandwidth and int8 peak, carried from its
// description into the binary. A figure the target description does not
// have is absent, with the reason, never guessed.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_RUNTIME_CORE_ROOFLINE_H
#define INGOT_RUNTIME_CORE_ROOFLINE_H

#include "ingot/ModelABI.h"

#include <cstdint>
#include <string>

namespace ingot::rt {

/// A reference figure of the target: its value, or 0 and why not.
struct TargetFigure {
  double value = 0;
  /// How it was measured ("2 threads"), or why it is absent.
  std::string note;
  bool known() const { return value > 0; }
};

/// The target's read bandwidth in GB/s for `threads` threads: the point
/// measured with that many when there is one, else the best measured.
TargetFigure targetReadBandwidth(const IngotModelInfo &info, int threads);

/// The target's probed int8 dot-product peak in GOPS (all probe threads).
TargetFigure targetInt8Peak(const IngotModelInfo &info);

/// KV cache bytes a decode step at `position` reads (all layers, positions
/// 0..position), averaged over the steps of a tg test of `steps` tokens
/// from position 0.
double meanKvBytesPerStep(int64_t kvBytesPerPosition, int64_t steps);

/// One sentence comparing this CPU with the target compiled for: "host: X"
/// and, when the host has vector features the target does not list (so
/// the target is another machine, and its measured figures are not this
/// one's), which.
std::string hostVersusTarget(const IngotModelInfo &info);

} // namespace ingot::rt

#endif // INGOT_RUNTIME_CORE_ROOFLINE_H
