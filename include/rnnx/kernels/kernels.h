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

// y[i] = x[i] * scale[i] for i < n.
template <class T>
void multiply(const T* x, const T* scale, T* y, int64_t n);

namespace ref {
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc);
}  // namespace ref

}  // namespace rnnx::kernels
