// The fused cell kernels' float fast path for AVX2 with FMA: cell_kernels_simd.h over 8
// floats, tails with masked loads and stores. Only this file is compiled for AVX2 (the target
// pragma below, after every standard header), and only CPUs that report AVX2 and FMA run it
// (cpu_cell_kernels.cpp).
#include <cstdint>

#include "kernels/cell_kernels_table.h"

#if RNNX_HAVE_X86_CELL_KERNELS
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#include <immintrin.h>

namespace rnnx::kernels::detail {
namespace {

struct Avx2 {
  using reg = __m256;
  using mask = __m256;  // all-ones lanes where true
  static constexpr int width = 8;
  static __m256i first(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static reg load(const float* p, int n) { return n == width ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, first(n)); }
  static void store(float* p, reg v, int n) {
    if (n == width)
      _mm256_storeu_ps(p, v);
    else
      _mm256_maskstore_ps(p, first(n), v);
  }
  static reg set1(float x) { return _mm256_set1_ps(x); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg neg(reg a) { return _mm256_xor_ps(a, set1(-0.0f)); }
  static reg abs(reg a) { return _mm256_andnot_ps(set1(-0.0f), a); }
  static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static mask lt(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static mask gt(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static mask ge(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static mask isnan(reg a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static mask both(mask a, mask b) { return _mm256_and_ps(a, b); }
  static reg select(mask m, reg a, reg b) { return _mm256_blendv_ps(b, a, m); }
  // max(0, x) returns x when x is NaN, and min(1, NaN) is NaN: NaN stays NaN.
  static reg clamp01(reg x) { return _mm256_min_ps(set1(1.0f), _mm256_max_ps(set1(0.0f), x)); }
  static reg pow2n(reg n) {
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
};

}  // namespace
}  // namespace rnnx::kernels::detail

#include "kernels/cell_kernels_simd.h"

namespace rnnx::kernels::detail {

CellKernelTable avx2_cell_kernels() { return FastCellKernels<Avx2>::table(); }

}  // namespace rnnx::kernels::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // RNNX_HAVE_X86_CELL_KERNELS
