// Vectorisable float sigmoid and tanh (see cpu_activations.h). exp is the Cephes scheme:
// x = n·ln2 + r with |r| <= ln2/2 (ln2 split in two parts, Cody–Waite), a degree-6
// polynomial for e^r, and 2^n put straight into the exponent bits.
#include "kernels/cpu_activations.h"

#include <bit>
#include <cstdint>

namespace rnnx::kernels::detail {
namespace {

// e^x for x in [-87, 87] (callers clamp); about 1 ulp.
inline float exp_bounded(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kRound = 12582912.0f;  // 1.5·2^23: adding and subtracting it rounds to an integer
  const float n = (x * kLog2e + kRound) - kRound;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return y * scale;
}

inline float clamp_exp_argument(float x) {
  // Written so that a NaN argument stays NaN (comparisons with NaN are false).
  x = x < -87.0f ? -87.0f : x;
  return x > 87.0f ? 87.0f : x;
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void sigmoid_inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float a = v < 0.0f ? v : -v;  // -|v|, so e^a never overflows
    const float e = exp_bounded(clamp_exp_argument(a));
    const float s = 1.0f / (1.0f + e);
    const float y = v >= 0.0f ? s : e * s;  // 1/(1+e^-v), or e^v/(1+e^v) for v < 0
    x[i] = v != v ? v : y;
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void tanh_inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float a = v < 0.0f ? -v : v;
    // Small |v|: Cephes' odd polynomial (no cancellation near 0).
    const float z = v * v;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    const float small = p * z * v + v;
    // Otherwise 1 - 2/(e^{2|v|} + 1), with the sign of v.
    const float e = exp_bounded(clamp_exp_argument(2.0f * a));
    const float t = 1.0f - 2.0f / (e + 1.0f);
    const float large = v < 0.0f ? -t : t;
    const float y = a < 0.625f ? small : large;
    x[i] = v != v ? v : y;
  }
}

}  // namespace rnnx::kernels::detail
