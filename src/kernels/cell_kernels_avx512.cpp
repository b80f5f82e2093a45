// The fused cell kernels' float fast path for AVX-512F: cell_kernels_simd.h over 16 floats,
// tails with masked loads and stores. Only this file is compiled for AVX-512 (the target
// pragma below, after every standard header), and only CPUs that report AVX-512F run it
// (cpu_cell_kernels.cpp).
#include <cstdint>

#include "kernels/cell_kernels_table.h"

#if RNNX_HAVE_X86_CELL_KERNELS
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
// GCC 12 flags the deliberately undefined pass-through operand of the AVX-512 intrinsics
// (_mm512_undefined_ps) as maybe-uninitialized; it is never read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

namespace rnnx::kernels::detail {
namespace {

struct Avx512 {
  using reg = __m512;
  using mask = __mmask16;
  static constexpr int width = 16;
  static __mmask16 first(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static reg load(const float* p, int n) {
    return n == width ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(first(n), p);
  }
  static void store(float* p, reg v, int n) {
    if (n == width)
      _mm512_storeu_ps(p, v);
    else
      _mm512_mask_storeu_ps(p, first(n), v);
  }
  static reg set1(float x) { return _mm512_set1_ps(x); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg neg(reg a) {
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32(INT32_MIN)));
  }
  static reg abs(reg a) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(INT32_MAX)));
  }
  static reg min(reg a, reg b) { return _mm512_min_ps(a, b); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static mask lt(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static mask gt(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static mask ge(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static mask isnan(reg a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static mask both(mask a, mask b) { return static_cast<mask>(a & b); }
  static reg select(mask m, reg a, reg b) { return _mm512_mask_blend_ps(m, b, a); }
  // max(0, x) returns x when x is NaN, and min(1, NaN) is NaN: NaN stays NaN.
  static reg clamp01(reg x) { return _mm512_min_ps(set1(1.0f), _mm512_max_ps(set1(0.0f), x)); }
  static reg pow2n(reg n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
};

}  // namespace
}  // namespace rnnx::kernels::detail

#include "kernels/cell_kernels_simd.h"

namespace rnnx::kernels::detail {

CellKernelTable avx512_cell_kernels() { return FastCellKernels<Avx512>::table(); }

}  // namespace rnnx::kernels::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif
#endif  // RNNX_HAVE_X86_CELL_KERNELS
