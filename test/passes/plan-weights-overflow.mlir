// Payload offsets and sizes the weight planner computes are exact or
// refused: an f32 copy of 2^61 half floats is 2^63 bytes.
// RUN: ingot-opt %s --ingot-plan-weights -verify-diagnostics

// expected-error @below {{weight 'n': the payload size does not fit in 64 bits}}
ingot.weight @n : f16 [2305843009213693952] at 0 size 4611686018427387904
func.func @forward(%x: tensor<?x2305843009213693952xf32>) -> tensor<?x2305843009213693952xf32> {
  %y = ingot.rms_norm %x, @n {eps = 1.0e-5 : f32} : tensor<?x2305843009213693952xf32>
  return %y : tensor<?x2305843009213693952xf32>
}
