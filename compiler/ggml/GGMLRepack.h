//===- GGMLRepack.h - Weights converted to the type kernels read -*- C++
//-*-===//
//
// A weight whose ggml type the kernels do not read natively is converted to
// its read-as type (TypeInfo::readAs, GGMLTypes.h) when the payload is
// written: decoded exactly by the table's decoder, then encoded as the
// read-as type. To Q8_0 a 32-value block keeps the source block's own f16
// scale when every value is an int8 multiple of it (Q5_0's (q-16)*d,
// IQ4_NL's codebook*d: exact), and is otherwise rounded as ggml's
// quantize_row_q8_0 rounds. To F32 (BF16) the conversion is exact.
//
// The conversion measures what it changed, so that the compile summary can
// state the error of the model it built.
//
//===----------------------------------------------------------------------===//
#ifndef INGOT_GGML_GGMLREPACK_H
#define INGOT_GGML_GGMLREPACK_H

#include "compiler/ggml/GGMLTypes.h"

#include <cstdint>

namespace ingot::ggml {

/// How far converted values are from the source values.
struct RepackError {
  /// max |converted - source| over all values.
  double maxAbs = 0;
  /// max |converted - source| / amax, amax the largest |source| of the
  /// value's 32-value block (blocks of zeros convert exactly).
  double maxRelativeToBlockAmax = 0;
  /// Values converted, and blocks kept exact with their source scale.
  int64_t values = 0, exactBlocks = 0, blocks = 0;

  void merge(const RepackError &other);
  bool isExact() const { return maxAbs == 0; }
};

/// Whether repackValues can convert `source` to `target`: `source` has a
/// decoder and `target` is F32, F16, Q8_0 or Q4_0.
bool canRepack(Type source, Type target);

/// Converts `elements` values of type `source` at `src` (a whole number of
/// blocks of both types) to `target` at `dst` (rowBytes(target, elements)
/// bytes), adding what changed to `error`. False, with nothing written, when
/// !canRepack or `elements` is not whole blocks of both types.
[[nodiscard]] bool repackValues(Type source, Type target, const uint8_t *src,
                                uint8_t *dst, int64_t elements,
                                RepackError &error);

} // namespace ingot::ggml

#endif // INGOT_GGML_GGMLREPACK_H
