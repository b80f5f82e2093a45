#pragma once
// The kernel API: the only place layers and cells reach for arithmetic on buffers.
// Every kernel has a readable reference version in rnnx::kernels::ref that defines what it
// means; the versions in rnnx::kernels are the fast paths and must match ref (tests/unit).
// Kernels trust their callers: they check nothing and never throw.
// All matrices are row-major with an explicit leading dimension (elements per row).
#include <cstdint>

#include "rnnx/activations.h"

namespace rnnx::kernels {

// C[m,n] = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T.
// Requires: op(A) is m x k, op(B) is k x n; beta == 0 means C is overwritten (never read).
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc);

// c[i, :] += v for each of the m rows of an m x n block.
template <class T>
void add_row_vector(T* c, int64_t m, int64_t n, int64_t ldc, const T* v);

// Activation applied in place to an m x n block (softmax per row).
template <class T>
void activate_block(const Activation& a, T* x, int64_t m, int64_t n, int64_t ldx);

// Gradient through a row-wise softmax on an m x n block, given its output y:
// dx = y * (dy - sum_j dy_j * y_j) per row (the Jacobian product). dx may alias dy exactly.
template <class T>
void softmax_backward_block(int64_t m, int64_t n, const T* y, int64_t ldy, const T* dy, int64_t lddy, T* dx,
                            int64_t lddx);

// y[i] = x[i] * scale[i] for i < n.
template <class T>
void multiply(const T* x, const T* scale, T* y, int64_t n);

// ---- Element-wise block kernels (recurrent cells, recurrent layers, wrappers). ----
// Blocks are m x n, row-major, with a leading dimension per operand. An input leading
// dimension of 0 broadcasts one row to all m rows. The output may alias an input only
// exactly (same pointer and leading dimension).

// y = a (copy).
template <class T>
void copy_block(int64_t m, int64_t n, const T* a, int64_t lda, T* y, int64_t ldy);

// y = a + b.
template <class T>
void add_block(int64_t m, int64_t n, const T* a, int64_t lda, const T* b, int64_t ldb, T* y, int64_t ldy);

// y = a * b (element-wise).
template <class T>
void multiply_block(int64_t m, int64_t n, const T* a, int64_t lda, const T* b, int64_t ldb, T* y, int64_t ldy);

// y = y + a * b (element-wise; the product is rounded before the add, no fused multiply-add).
template <class T>
void multiply_accumulate_block(int64_t m, int64_t n, const T* a, int64_t lda, const T* b, int64_t ldb, T* y,
                               int64_t ldy);

// y = z * a + (1 - z) * b, evaluated in that order (the GRU state update).
template <class T>
void blend_block(int64_t m, int64_t n, const T* z, int64_t ldz, const T* a, int64_t lda, const T* b, int64_t ldb, T* y,
                 int64_t ldy);

// x = x + s.
template <class T>
void add_scalar_block(T* x, int64_t m, int64_t n, int64_t ldx, T s);

// x = x * s.
template <class T>
void scale_block(T* x, int64_t m, int64_t n, int64_t ldx, T s);

// x = min(max(x, lo), hi). Requires lo <= hi.
template <class T>
void clip_block(T* x, int64_t m, int64_t n, int64_t ldx, T lo, T hi);

// Row i of y = keep[i * keep_stride] != 0 ? row i of a : row i of b.
template <class T>
void select_rows(int64_t m, int64_t n, const uint8_t* keep, int64_t keep_stride, const T* a, int64_t lda, const T* b,
                 int64_t ldb, T* y, int64_t ldy);

// y[r, :] = x[r, :] * p[r % period, :] for r < m; p is a contiguous [period, n] block
// (a per-sample dropout mask applied to time-major rows). Requires period > 0.
template <class T>
void multiply_periodic_rows(int64_t m, int64_t n, const T* x, int64_t ldx, const T* p, int64_t period, T* y,
                            int64_t ldy);

// x is a contiguous [a, b, n] array; y[j, i, :] = x[i, j, :] (y is [b, a, n]). No aliasing.
template <class T>
void swap_leading_axes(int64_t a, int64_t b, int64_t n, const T* x, T* y);

// x is a contiguous [a, b, n] array; y[i, j, :] = x[i, b - 1 - j, :]. No aliasing.
template <class T>
void reverse_middle_axis(int64_t a, int64_t b, int64_t n, const T* x, T* y);

// ---- Backward kernels (training). ----

// dx = dy * f'(x) for an element-wise activation f (requires a.elementwise(); softmax has
// softmax_backward_block); x is the activation's input and y = f(x) its output
// (rnnx::activate_derivative takes both). Linear reads neither x nor y (they may be null).
// dx may alias dy exactly.
template <class T>
void activation_backward_block(const Activation& a, int64_t m, int64_t n, const T* x, int64_t ldx, const T* y,
                               int64_t ldy, const T* dy, int64_t lddy, T* dx, int64_t lddx);

// y[j] += sum over the m rows of a[i, j] (bias gradients), rows added in order.
template <class T>
void accumulate_column_sums(int64_t m, int64_t n, const T* a, int64_t lda, T* y);

// The gradient of clip_block: dx = dy where lo <= x <= hi, else 0 (x is the value before
// clipping; the bounds pass the gradient, as TF's clip_by_value does). dx may alias dy
// exactly.
template <class T>
void clip_backward_block(int64_t m, int64_t n, const T* x, int64_t ldx, T lo, T hi, const T* dy, int64_t lddy, T* dx,
                         int64_t lddx);

namespace ref {
// Exactly activate_rows (activations.h) row by row; the fast float sigmoid and tanh agree with
// it to a few units in the last place, every other activation exactly.
template <class T>
void activate_block(const Activation& a, T* x, int64_t m, int64_t n, int64_t ldx);
template <class T>
void softmax_backward_block(int64_t m, int64_t n, const T* y, int64_t ldy, const T* dy, int64_t lddy, T* dx,
                            int64_t lddx);
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc);
template <class T>
void copy_block(int64_t m, int64_t n, const T* a, int64_t lda, T* y, int64_t ldy);
template <class T>
void add_block(int64_t m, int64_t n, const T* a, int64_t lda, const T* b, int64_t ldb, T* y, int64_t ldy);
template <class T>
void multiply_block(int64_t m, int64_t n, const T* a, int64_t lda, const T* b, int64_t ldb, T* y, int64_t ldy);
template <class T>
void multiply_accumulate_block(int64_t m, int64_t n, const T* a, int64_t lda, const T* b, int64_t ldb, T* y,
                               int64_t ldy);
template <class T>
void blend_block(int64_t m, int64_t n, const T* z, int64_t ldz, const T* a, int64_t lda, const T* b, int64_t ldb, T* y,
                 int64_t ldy);
template <class T>
void add_scalar_block(T* x, int64_t m, int64_t n, int64_t ldx, T s);
template <class T>
void scale_block(T* x, int64_t m, int64_t n, int64_t ldx, T s);
template <class T>
void clip_block(T* x, int64_t m, int64_t n, int64_t ldx, T lo, T hi);
template <class T>
void select_rows(int64_t m, int64_t n, const uint8_t* keep, int64_t keep_stride, const T* a, int64_t lda, const T* b,
                 int64_t ldb, T* y, int64_t ldy);
template <class T>
void multiply_periodic_rows(int64_t m, int64_t n, const T* x, int64_t ldx, const T* p, int64_t period, T* y,
                            int64_t ldy);
template <class T>
void swap_leading_axes(int64_t a, int64_t b, int64_t n, const T* x, T* y);
template <class T>
void reverse_middle_axis(int64_t a, int64_t b, int64_t n, const T* x, T* y);
template <class T>
void activation_backward_block(const Activation& a, int64_t m, int64_t n, const T* x, int64_t ldx, const T* y,
                               int64_t ldy, const T* dy, int64_t lddy, T* dx, int64_t lddx);
template <class T>
void accumulate_column_sums(int64_t m, int64_t n, const T* a, int64_t lda, T* y);
template <class T>
void clip_backward_block(int64_t m, int64_t n, const T* x, int64_t ldx, T lo, T hi, const T* dy, int64_t lddy, T* dx,
                         int64_t lddx);
}  // namespace ref

}  // namespace rnnx::kernels
