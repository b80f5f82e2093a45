// Fast CPU kernels. Float GEMM goes to oneDNN's sgemm when rnnx is built with it
// (RNNX_USE_ONEDNN): it picks AVX-512/AMX-era kernels from what the CPU reports and reaches
// ~0.95 of the FMA peak on the recurrent shapes (shared/bench/anchors-extra.md). Otherwise,
// and for double, the loops below: the innermost one streams a row of B and a row of C
// (contiguous, vectorisable), blocking k so a panel of B stays in cache.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "kernels/cpu_activations.h"
#include "rnnx/kernels/kernels.h"

#if RNNX_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

namespace rnnx::kernels {
namespace {

constexpr int64_t kBlockK = 256;

// C += alpha * A * B with A m x k (row-major, maybe given transposed), B k x n row-major.
template <class T>
void gemm_nn_accumulate(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, bool trans_a, const T* b,
                        int64_t ldb, T* c, int64_t ldc) {
  for (int64_t p0 = 0; p0 < k; p0 += kBlockK) {
    const int64_t p1 = std::min(k, p0 + kBlockK);
    for (int64_t i = 0; i < m; ++i) {
      T* __restrict crow = c + i * ldc;
      for (int64_t p = p0; p < p1; ++p) {
        const T av = alpha * (trans_a ? a[p * lda + i] : a[i * lda + p]);
        if (av == T(0)) continue;
        const T* __restrict brow = b + p * ldb;
        for (int64_t j = 0; j < n; ++j) crow[j] += av * brow[j];
      }
    }
  }
}

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
#if RNNX_HAVE_ONEDNN
  // dnnl_sgemm is row-major, like rnnx; with k == 0 it still applies beta. It refuses only
  // arguments the callers never pass; then the loops below run.
  if constexpr (std::is_same_v<T, float>)
    if (dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) ==
        dnnl_success)
      return;
#endif
  for (int64_t i = 0; i < m; ++i) {
    T* crow = c + i * ldc;
    if (beta == T(0))
      std::fill(crow, crow + n, T(0));
    else if (beta != T(1))
      for (int64_t j = 0; j < n; ++j) crow[j] *= beta;
  }
  if (k == 0) return;
  if (!trans_b) {
    gemm_nn_accumulate(m, n, k, alpha, a, lda, trans_a, b, ldb, c, ldc);
    return;
  }
  // B given transposed (n x k): each C element is a dot product of two contiguous rows
  // when A is not transposed; otherwise transpose B once into a scratch panel.
  if (!trans_a) {
    for (int64_t i = 0; i < m; ++i) {
      const T* __restrict arow = a + i * lda;
      for (int64_t j = 0; j < n; ++j) {
        const T* __restrict brow = b + j * ldb;
        T sum = 0;
        for (int64_t p = 0; p < k; ++p) sum += arow[p] * brow[p];
        c[i * ldc + j] += alpha * sum;
      }
    }
    return;
  }
  std::vector<T> bt(static_cast<size_t>(k * n));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t p = 0; p < k; ++p) bt[static_cast<size_t>(p * n + j)] = b[j * ldb + p];
  gemm_nn_accumulate(m, n, k, alpha, a, lda, true, bt.data(), n, c, ldc);
}

template <class T>
void add_row_vector(T* c, int64_t m, int64_t n, int64_t ldc, const T* v) {
  for (int64_t i = 0; i < m; ++i) {
    T* __restrict row = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) row[j] += v[j];
  }
}

template <class T>
void activate_block(const Activation& a, T* x, int64_t m, int64_t n, int64_t ldx) {
  if (a.kind == ActivationKind::linear) return;
  if constexpr (std::is_same_v<T, float>) {
    // The gate activations of every cell: vectorised (cpu_activations.h), a row at a time.
    void (*row_kernel)(float*, int64_t) = a.kind == ActivationKind::sigmoid ? detail::sigmoid_inplace
                                          : a.kind == ActivationKind::tanh  ? detail::tanh_inplace
                                                                            : nullptr;
    if (row_kernel) {
      if (ldx == n)
        row_kernel(x, m * n);
      else
        for (int64_t i = 0; i < m; ++i) row_kernel(x + i * ldx, n);
      return;
    }
  }
  if (ldx == n) {
    activate_rows(a, x, m, n);
    return;
  }
  for (int64_t i = 0; i < m; ++i) activate_rows(a, x + i * ldx, 1, n);
}

template <class T>
void softmax_backward_block(int64_t m, int64_t n, const T* y, int64_t ldy, const T* dy, int64_t lddy, T* dx,
                            int64_t lddx) {
  // Same operations in the same order as ref (two contiguous passes per row).
  for (int64_t i = 0; i < m; ++i) {
    const T* yr = y + i * ldy;
    const T* gr = dy + i * lddy;
    T* out = dx + i * lddx;
    T dot = 0;
    for (int64_t j = 0; j < n; ++j) dot += gr[j] * yr[j];
    for (int64_t j = 0; j < n; ++j) out[j] = yr[j] * (gr[j] - dot);
  }
}

template <class T>
void multiply(const T* x, const T* scale, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale[i];
}

#define RNNX_INSTANTIATE(T)                                                                                    \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, int64_t, T, T*, \
                        int64_t);                                                                              \
  template void add_row_vector<T>(T*, int64_t, int64_t, int64_t, const T*);                                    \
  template void activate_block<T>(const Activation&, T*, int64_t, int64_t, int64_t);                           \
  template void multiply<T>(const T*, const T*, T*, int64_t);                                                  \
  template void softmax_backward_block<T>(int64_t, int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t);
RNNX_INSTANTIATE(float)
RNNX_INSTANTIATE(double)
#undef RNNX_INSTANTIATE

// ---- Element-wise block kernels: one pass per row over contiguous memory. Outputs may
// alias inputs exactly, so no __restrict here. ----

template <class T>
void copy_block(int64_t m, int64_t n, const T* a, int64_t lda, T* y, int64_t ldy) {
  if (lda == n && ldy == n && a != y) {
    std::copy(a, a + m * n, y);
    return;
  }
  for (int64_t i = 0; i < m; ++i) {
    const T* src = a + i * lda;
    if (src != y + i * ldy) std::copy(src, src + n, y + i * ldy);
  }
}

template <class T>
void add_block(int64_t m, int64_t n, const T* a, int64_t lda, const T* b, int64_t ldb, T* y, int64_t ldy) {
  for (int64_t i = 0; i < m; ++i) {
    const T* ar = a + i * lda;
    const T* br = b + i * ldb;
    T* yr = y + i * ldy;
    for (int64_t j = 0; j < n; ++j) yr[j] = ar[j] + br[j];
  }
}

template <class T>
void multiply_block(int64_t m, int64_t n, const T* a, int64_t lda, const T* b, int64_t ldb, T* y, int64_t ldy) {
  for (int64_t i = 0; i < m; ++i) {
    const T* ar = a + i * lda;
    const T* br = b + i * ldb;
    T* yr = y + i * ldy;
    for (int64_t j = 0; j < n; ++j) yr[j] = ar[j] * br[j];
  }
}

template <class T>
void multiply_accumulate_block(int64_t m, int64_t n, const T* a, int64_t lda, const T* b, int64_t ldb, T* y,
                               int64_t ldy) {
  for (int64_t i = 0; i < m; ++i) {
    const T* ar = a + i * lda;
    const T* br = b + i * ldb;
    T* yr = y + i * ldy;
    for (int64_t j = 0; j < n; ++j) yr[j] += ar[j] * br[j];
  }
}

template <class T>
void blend_block(int64_t m, int64_t n, const T* z, int64_t ldz, const T* a, int64_t lda, const T* b, int64_t ldb, T* y,
                 int64_t ldy) {
  for (int64_t i = 0; i < m; ++i) {
    const T* zr = z + i * ldz;
    const T* ar = a + i * lda;
    const T* br = b + i * ldb;
    T* yr = y + i * ldy;
    for (int64_t j = 0; j < n; ++j) yr[j] = zr[j] * ar[j] + (T(1) - zr[j]) * br[j];
  }
}

template <class T>
void add_scalar_block(T* x, int64_t m, int64_t n, int64_t ldx, T s) {
  for (int64_t i = 0; i < m; ++i) {
    T* xr = x + i * ldx;
    for (int64_t j = 0; j < n; ++j) xr[j] += s;
  }
}

template <class T>
void scale_block(T* x, int64_t m, int64_t n, int64_t ldx, T s) {
  for (int64_t i = 0; i < m; ++i) {
    T* xr = x + i * ldx;
    for (int64_t j = 0; j < n; ++j) xr[j] *= s;
  }
}

template <class T>
void clip_block(T* x, int64_t m, int64_t n, int64_t ldx, T lo, T hi) {
  for (int64_t i = 0; i < m; ++i) {
    T* xr = x + i * ldx;
    for (int64_t j = 0; j < n; ++j) xr[j] = std::min(std::max(xr[j], lo), hi);
  }
}

template <class T>
void select_rows(int64_t m, int64_t n, const uint8_t* keep, int64_t keep_stride, const T* a, int64_t lda, const T* b,
                 int64_t ldb, T* y, int64_t ldy) {
  for (int64_t i = 0; i < m; ++i) {
    const T* src = keep[i * keep_stride] != 0 ? a + i * lda : b + i * ldb;
    T* yr = y + i * ldy;
    if (src != yr) std::copy(src, src + n, yr);
  }
}

template <class T>
void multiply_periodic_rows(int64_t m, int64_t n, const T* x, int64_t ldx, const T* p, int64_t period, T* y,
                            int64_t ldy) {
  for (int64_t r = 0; r < m; ++r) {
    const T* xr = x + r * ldx;
    const T* pr = p + (r % period) * n;
    T* yr = y + r * ldy;
    for (int64_t j = 0; j < n; ++j) yr[j] = xr[j] * pr[j];
  }
}

template <class T>
void swap_leading_axes(int64_t a, int64_t b, int64_t n, const T* x, T* y) {
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j) {
      const T* src = x + (i * b + j) * n;
      std::copy(src, src + n, y + (j * a + i) * n);
    }
}

template <class T>
void reverse_middle_axis(int64_t a, int64_t b, int64_t n, const T* x, T* y) {
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j) {
      const T* src = x + (i * b + (b - 1 - j)) * n;
      std::copy(src, src + n, y + (i * b + j) * n);
    }
}

template <class T>
void activation_backward_block(const Activation& a, int64_t m, int64_t n, const T* x, int64_t ldx, const T* y,
                               int64_t ldy, const T* dy, int64_t lddy, T* dx, int64_t lddx) {
  for (int64_t i = 0; i < m; ++i) {
    const T* dyr = dy + i * lddy;
    T* dxr = dx + i * lddx;
    switch (a.kind) {
      // The activations of every gated cell get a loop the compiler can vectorise (same
      // formulas as activate_derivative, so the results equal ref exactly).
      case ActivationKind::linear:
        for (int64_t j = 0; j < n; ++j) dxr[j] = dyr[j];
        break;
      case ActivationKind::sigmoid:
        for (int64_t j = 0; j < n; ++j) dxr[j] = dyr[j] * (y[i * ldy + j] * (T(1) - y[i * ldy + j]));
        break;
      case ActivationKind::tanh:
        for (int64_t j = 0; j < n; ++j) dxr[j] = dyr[j] * (T(1) - y[i * ldy + j] * y[i * ldy + j]);
        break;
      default:
        for (int64_t j = 0; j < n; ++j) dxr[j] = dyr[j] * activate_derivative<T>(a, x[i * ldx + j], y[i * ldy + j]);
    }
  }
}

template <class T>
void accumulate_column_sums(int64_t m, int64_t n, const T* a, int64_t lda, T* y) {
  // Row by row (contiguous), so each column is summed in row order as in ref.
  for (int64_t i = 0; i < m; ++i) {
    const T* __restrict ar = a + i * lda;
    for (int64_t j = 0; j < n; ++j) y[j] += ar[j];
  }
}

template <class T>
void clip_backward_block(int64_t m, int64_t n, const T* x, int64_t ldx, T lo, T hi, const T* dy, int64_t lddy, T* dx,
                         int64_t lddx) {
  for (int64_t i = 0; i < m; ++i) {
    const T* xr = x + i * ldx;
    const T* dyr = dy + i * lddy;
    T* dxr = dx + i * lddx;
    for (int64_t j = 0; j < n; ++j) dxr[j] = xr[j] < lo || xr[j] > hi ? T(0) : dyr[j];
  }
}

#define RNNX_INSTANTIATE_ELEMENTWISE(T)                                                                             \
  template void copy_block<T>(int64_t, int64_t, const T*, int64_t, T*, int64_t);                                    \
  template void add_block<T>(int64_t, int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t);                  \
  template void multiply_block<T>(int64_t, int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t);             \
  template void multiply_accumulate_block<T>(int64_t, int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t);  \
  template void blend_block<T>(int64_t, int64_t, const T*, int64_t, const T*, int64_t, const T*, int64_t, T*,       \
                               int64_t);                                                                            \
  template void add_scalar_block<T>(T*, int64_t, int64_t, int64_t, T);                                              \
  template void scale_block<T>(T*, int64_t, int64_t, int64_t, T);                                                   \
  template void clip_block<T>(T*, int64_t, int64_t, int64_t, T, T);                                                 \
  template void select_rows<T>(int64_t, int64_t, const uint8_t*, int64_t, const T*, int64_t, const T*, int64_t, T*, \
                               int64_t);                                                                            \
  template void multiply_periodic_rows<T>(int64_t, int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t);     \
  template void swap_leading_axes<T>(int64_t, int64_t, int64_t, const T*, T*);                                      \
  template void reverse_middle_axis<T>(int64_t, int64_t, int64_t, const T*, T*);                                    \
  template void activation_backward_block<T>(const Activation&, int64_t, int64_t, const T*, int64_t, const T*,      \
                                             int64_t, const T*, int64_t, T*, int64_t);                              \
  template void accumulate_column_sums<T>(int64_t, int64_t, const T*, int64_t, T*);                                 \
  template void clip_backward_block<T>(int64_t, int64_t, const T*, int64_t, T, T, const T*, int64_t, T*, int64_t);
RNNX_INSTANTIATE_ELEMENTWISE(float)
RNNX_INSTANTIATE_ELEMENTWISE(double)
#undef RNNX_INSTANTIATE_ELEMENTWISE

}  // namespace rnnx::kernels
