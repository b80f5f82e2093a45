#pragma once
// Internal: float sigmoid and tanh over contiguous arrays, written so the compiler vectorises
// them (no libm calls, no branches), in a clone per instruction set (AVX-512, AVX2, baseline)
// picked at load time from what the CPU reports. They agree with the libm-based reference
// (activations.h) to within a few units in the last place (tests/unit/kernels_test.cpp);
// TensorFlow's own CPU kernels use polynomial approximations of this kind too. NaN stays NaN.
#include <cstdint>

namespace rnnx::kernels::detail {

void sigmoid_inplace(float* x, int64_t n);
void tanh_inplace(float* x, int64_t n);

}  // namespace rnnx::kernels::detail
