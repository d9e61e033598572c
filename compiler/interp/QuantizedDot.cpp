//===- QuantizedDot.cpp - ggml's quantized dot products -------------------===//
//
// See QuantizedDot.h; the arithmetic is compiler/ggml/GGMLDot.h.
//
//===----------------------------------------------------------------------===//
#include "compiler/interp/QuantizedDot.h"

#include <cassert>

using namespace ingot;
using namespace ingot::interp;
using ggml::Type;

void interp::quantizeActivationsQ8_0(const float *x, int64_t n, Q8Block *out) {
  assert(n % 32 == 0 && "Q8_0 rows are whole blocks of 32");
  ggml::quantizeDotQ8_0(x, n, out);
}

void interp::quantizeActivationsQ8_1(const float *x, int64_t n,
                                     Q8_1Block *out) {
  assert(n % 32 == 0 && "Q8_1 rows are whole blocks of 32");
  ggml::quantizeDotQ8_1(x, n, out);
}

void interp::quantizeActivationsQ8_K(const float *x, int64_t n,
                                     Q8_KBlock *out) {
  assert(n % 256 == 0 && "Q8_K rows are whole blocks of 256");
  ggml::quantizeDotQ8_K(x, n, out);
}

QuantizedActivations::QuantizedActivations(Type vecDotType, const float *x,
                                           int64_t n)
    : type(vecDotType) {
  switch (vecDotType) {
  case Type::Q8_0:
    q8_0.resize(n / 32);
    quantizeActivationsQ8_0(x, n, q8_0.data());
    break;
  case Type::Q8_1:
    q8_1.resize(n / 32);
    quantizeActivationsQ8_1(x, n, q8_1.data());
    break;
  case Type::Q8_K:
    q8_K.resize(n / 256);
    quantizeActivationsQ8_K(x, n, q8_K.data());
    break;
  default:
    assert(false && "activations round only to Q8_0, Q8_1 or Q8_K");
  }
}

float interp::quantizedDot(Type weightType, const uint8_t *row,
                           const QuantizedActivations &x, int64_t n,
                           DotKernel kernel) {
  assert(vecDotType(weightType) == x.type && "activations of another type");
  assert(ggml::hasQuantizedDot(weightType) &&
         "no quantized dot product for this weight type");
  assert((kernel == DotKernel::VecDot || weightType == Type::Q4_K ||
          weightType == Type::Q2_K || weightType == Type::IQ4_NL) &&
         "only Q4_K, Q2_K and IQ4_NL are repacked");
  const void *blocks = x.type == Type::Q8_K   ? (const void *)x.q8_K.data()
                       : x.type == Type::Q8_1 ? (const void *)x.q8_1.data()
                                              : (const void *)x.q8_0.data();
  return ggml::quantizedDot(weightType, row, blocks, n, kernel);
}
