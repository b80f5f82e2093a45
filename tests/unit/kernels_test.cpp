// Fast kernels must equal the reference kernels (which define them).
#include <gtest/gtest.h>

#include "rnnx/core/rng.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {
namespace {

template <class T>
void check_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T beta) {
  Rng rng(42 + m * 7 + n * 3 + k);
  std::vector<T> a(m * k), b(k * n), c(m * n), c_ref;
  for (auto& v : a) v = T(rng.uniform(-1, 1));
  for (auto& v : b) v = T(rng.uniform(-1, 1));
  for (auto& v : c) v = T(rng.uniform(-1, 1));
  c_ref = c;
  const int64_t lda = ta ? m : k, ldb = tb ? k : n;
  kernels::gemm<T>(ta, tb, m, n, k, T(0.5), a.data(), lda, b.data(), ldb, beta, c.data(), n);
  kernels::ref::gemm<T>(ta, tb, m, n, k, T(0.5), a.data(), lda, b.data(), ldb, beta, c_ref.data(), n);
  const double tol = sizeof(T) == 4 ? 1e-4 : 1e-12;
  for (int64_t i = 0; i < m * n; ++i)
    ASSERT_NEAR(c[i], c_ref[i], tol) << "index " << i << " ta=" << ta << " tb=" << tb << " m=" << m << " n=" << n
                                     << " k=" << k;
}

TEST(Kernels, GemmMatchesReferenceAllTransposes) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (auto [m, n, k] : {std::tuple{1, 1, 1}, {3, 5, 7}, {17, 33, 300}, {4, 64, 0}, {8, 1, 9}}) {
        check_gemm<float>(ta, tb, m, n, k, 0.0f);
        check_gemm<float>(ta, tb, m, n, k, 1.0f);
        check_gemm<double>(ta, tb, m, n, k, 0.25);
      }
}

TEST(Kernels, GemmBetaZeroIgnoresGarbageInC) {
  std::vector<float> a{1, 2}, b{3, 4}, c{std::numeric_limits<float>::quiet_NaN()};
  kernels::gemm<float>(false, false, 1, 1, 2, 1.0f, a.data(), 2, b.data(), 1, 0.0f, c.data(), 1);
  EXPECT_FLOAT_EQ(c[0], 11.0f);
}

}  // namespace
}  // namespace rnnx
