// Reference kernels: the definition of what each kernel computes. Plain loops, double
// accumulation order left to right.
#include "rnnx/kernels/kernels.h"

namespace rnnx::kernels::ref {

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      T sum = 0;
      for (int64_t p = 0; p < k; ++p) {
        const T av = trans_a ? a[p * lda + i] : a[i * lda + p];
        const T bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        sum += av * bv;
      }
      T& out = c[i * ldc + j];
      out = beta == T(0) ? alpha * sum : alpha * sum + beta * out;
    }
  }
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                          float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t);

template <class T>
void activate_block(const Activation& a, T* x, int64_t m, int64_t n, int64_t ldx) {
  for (int64_t i = 0; i < m; ++i) activate_rows(a, x + i * ldx, 1, n);
}
template void activate_block<float>(const Activation&, float*, int64_t, int64_t, int64_t);
template void activate_block<double>(const Activation&, double*, int64_t, int64_t, int64_t);

template <class T>
void softmax_backward_block(int64_t m, int64_t n, const T* y, int64_t ldy, const T* dy, int64_t lddy, T* dx,
                            int64_t lddx) {
  for (int64_t i = 0; i < m; ++i) {
    T dot = 0;
    for (int64_t j = 0; j < n; ++j) dot += dy[i * lddy + j] * y[i * ldy + j];
    for (int64_t j = 0; j < n; ++j) dx[i * lddx + j] = y[i * ldy + j] * (dy[i * lddy + j] - dot);
  }
}

template void softmax_backward_block<float>(int64_t, int64_t, const float*, int64_t, const float*, int64_t, float*,
                                            int64_t);
template void softmax_backward_block<double>(int64_t, int64_t, const double*, int64_t, const double*, int64_t,
                                             double*, int64_t);

// ---- Element-wise block kernels: one element at a time, by full index. ----

template <class T>
void copy_block(int64_t m, int64_t n, const T* a, int64_t lda, T* y, int64_t ldy) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) y[i * ldy + j] = a[i * lda + j];
}

template <class T>
void add_block(int64_t m, int64_t n, const T* a, int64_t lda, const T* b, int64_t ldb, T* y, int64_t ldy) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) y[i * ldy + j] = a[i * lda + j] + b[i * ldb + j];
}

template <class T>
void multiply_block(int64_t m, int64_t n, const T* a, int64_t lda, const T* b, int64_t ldb, T* y, int64_t ldy) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) y[i * ldy + j] = a[i * lda + j] * b[i * ldb + j];
}

template <class T>
void multiply_accumulate_block(int64_t m, int64_t n, const T* a, int64_t lda, const T* b, int64_t ldb, T* y,
                               int64_t ldy) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const T product = a[i * lda + j] * b[i * ldb + j];
      y[i * ldy + j] = y[i * ldy + j] + product;
    }
}

template <class T>
void blend_block(int64_t m, int64_t n, const T* z, int64_t ldz, const T* a, int64_t lda, const T* b, int64_t ldb, T* y,
                 int64_t ldy) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const T zv = z[i * ldz + j];
      const T first = zv * a[i * lda + j];
      const T second = (T(1) - zv) * b[i * ldb + j];
      y[i * ldy + j] = first + second;
    }
}

template <class T>
void add_scalar_block(T* x, int64_t m, int64_t n, int64_t ldx, T s) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) x[i * ldx + j] = x[i * ldx + j] + s;
}

template <class T>
void scale_block(T* x, int64_t m, int64_t n, int64_t ldx, T s) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) x[i * ldx + j] = x[i * ldx + j] * s;
}

template <class T>
void clip_block(T* x, int64_t m, int64_t n, int64_t ldx, T lo, T hi) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      T& v = x[i * ldx + j];
      if (v < lo) v = lo;
      if (v > hi) v = hi;
    }
}

template <class T>
void select_rows(int64_t m, int64_t n, const uint8_t* keep, int64_t keep_stride, const T* a, int64_t lda, const T* b,
                 int64_t ldb, T* y, int64_t ldy) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) y[i * ldy + j] = keep[i * keep_stride] != 0 ? a[i * lda + j] : b[i * ldb + j];
}

template <class T>
void multiply_periodic_rows(int64_t m, int64_t n, const T* x, int64_t ldx, const T* p, int64_t period, T* y,
                            int64_t ldy) {
  for (int64_t r = 0; r < m; ++r)
    for (int64_t j = 0; j < n; ++j) y[r * ldy + j] = x[r * ldx + j] * p[(r % period) * n + j];
}

template <class T>
void swap_leading_axes(int64_t a, int64_t b, int64_t n, const T* x, T* y) {
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < n; ++k) y[(j * a + i) * n + k] = x[(i * b + j) * n + k];
}

template <class T>
void reverse_middle_axis(int64_t a, int64_t b, int64_t n, const T* x, T* y) {
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < n; ++k) y[(i * b + j) * n + k] = x[(i * b + (b - 1 - j)) * n + k];
}

template <class T>
void activation_backward_block(const Activation& a, int64_t m, int64_t n, const T* x, int64_t ldx, const T* y,
                               int64_t ldy, const T* dy, int64_t lddy, T* dx, int64_t lddx) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      dx[i * lddx + j] = a.kind == ActivationKind::linear
                             ? dy[i * lddy + j]
                             : dy[i * lddy + j] * activate_derivative<T>(a, x[i * ldx + j], y[i * ldy + j]);
}

template <class T>
void accumulate_column_sums(int64_t m, int64_t n, const T* a, int64_t lda, T* y) {
  for (int64_t j = 0; j < n; ++j) {
    T sum = y[j];
    for (int64_t i = 0; i < m; ++i) sum += a[i * lda + j];
    y[j] = sum;
  }
}

template <class T>
void clip_backward_block(int64_t m, int64_t n, const T* x, int64_t ldx, T lo, T hi, const T* dy, int64_t lddy, T* dx,
                         int64_t lddx) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const T v = x[i * ldx + j];
      dx[i * lddx + j] = v < lo || v > hi ? T(0) : dy[i * lddy + j];
    }
}

#define RNNX_INSTANTIATE_ELEMENTWISE(T)                                                                          \
  template void copy_block<T>(int64_t, int64_t, const T*, int64_t, T*, int64_t);                                 \
  template void add_block<T>(int64_t, int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t);               \
  template void multiply_block<T>(int64_t, int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t);          \
  template void multiply_accumulate_block<T>(int64_t, int64_t, const T*, int64_t, const T*, int64_t, T*,         \
                                             int64_t);                                                           \
  template void blend_block<T>(int64_t, int64_t, const T*, int64_t, const T*, int64_t, const T*, int64_t, T*,    \
                               int64_t);                                                                         \
  template void add_scalar_block<T>(T*, int64_t, int64_t, int64_t, T);                                           \
  template void scale_block<T>(T*, int64_t, int64_t, int64_t, T);                                                \
  template void clip_block<T>(T*, int64_t, int64_t, int64_t, T, T);                                              \
  template void select_rows<T>(int64_t, int64_t, const uint8_t*, int64_t, const T*, int64_t, const T*, int64_t,  \
                               T*, int64_t);                                                                     \
  template void multiply_periodic_rows<T>(int64_t, int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t);  \
  template void swap_leading_axes<T>(int64_t, int64_t, int64_t, const T*, T*);                                   \
  template void reverse_middle_axis<T>(int64_t, int64_t, int64_t, const T*, T*);                                   \
  template void activation_backward_block<T>(const Activation&, int64_t, int64_t, const T*, int64_t, const T*,   \
                                             int64_t, const T*, int64_t, T*, int64_t);                           \
  template void accumulate_column_sums<T>(int64_t, int64_t, const T*, int64_t, T*);                               \
  template void clip_backward_block<T>(int64_t, int64_t, const T*, int64_t, T, T, const T*, int64_t, T*, int64_t);
RNNX_INSTANTIATE_ELEMENTWISE(float)
RNNX_INSTANTIATE_ELEMENTWISE(double)
#undef RNNX_INSTANTIATE_ELEMENTWISE

}  // namespace rnnx::kernels::ref
