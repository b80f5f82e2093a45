// Fast CPU kernels. The GEMM orders its loops so the innermost one streams a row of B and
// a row of C (contiguous, vectorisable), blocking k so a panel of B stays in cache.
#include <algorithm>
#include <vector>

#include "rnnx/kernels/kernels.h"

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
  for (int64_t i = 0; i < m; ++i) {
    T* crow = c + i * ldc;
    if (beta == T(0))
      std::fill(crow, crow + n, T(0));
    else if (beta != T(1))
      for (int64_t j = 0; j < n; ++j) crow[j] *= beta;
  }
  if (k == 0 || m == 0 || n == 0) return;
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
  if (ldx == n) {
    activate_rows(a, x, m, n);
    return;
  }
  for (int64_t i = 0; i < m; ++i) activate_rows(a, x + i * ldx, 1, n);
}

template <class T>
void multiply(const T* x, const T* scale, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale[i];
}

#define RNNX_INSTANTIATE(T)                                                                                       \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, int64_t, T, T*,  \
                        int64_t);                                                                                 \
  template void add_row_vector<T>(T*, int64_t, int64_t, int64_t, const T*);                                       \
  template void activate_block<T>(const Activation&, T*, int64_t, int64_t, int64_t);                            \
  template void multiply<T>(const T*, const T*, T*, int64_t);
RNNX_INSTANTIATE(float)
RNNX_INSTANTIATE(double)
#undef RNNX_INSTANTIATE

}  // namespace rnnx::kernels
