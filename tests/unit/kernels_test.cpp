// Fast kernels must equal the reference kernels (which define them).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

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

// ---- Element-wise block kernels: fast == ref exactly, on strided and broadcast blocks. ----

template <class T>
std::vector<T> random_values(Rng& rng, int64_t n) {
  std::vector<T> v(static_cast<size_t>(n));
  for (auto& x : v) x = T(rng.uniform(-2, 2));
  return v;
}

template <class T>
void check_elementwise_kernels() {
  Rng rng(7);
  const int64_t m = 5, n = 7, ld = 11;  // strided blocks inside wider rows
  const auto a = random_values<T>(rng, m * ld), b = random_values<T>(rng, m * ld), z = random_values<T>(rng, m * ld);
  const auto y0 = random_values<T>(rng, m * ld);
  auto run = [&](auto fast, auto ref, const char* what) {
    auto y_fast = y0, y_ref = y0;
    fast(y_fast.data());
    ref(y_ref.data());
    EXPECT_EQ(y_fast, y_ref) << what;
  };
  for (int64_t ldb : {ld, int64_t{0}}) {  // ldb == 0 broadcasts one row
    run([&](T* y) { kernels::copy_block<T>(m, n, a.data(), ld, y, ld); },
        [&](T* y) { kernels::ref::copy_block<T>(m, n, a.data(), ld, y, ld); }, "copy_block");
    run([&](T* y) { kernels::add_block<T>(m, n, a.data(), ld, b.data(), ldb, y, ld); },
        [&](T* y) { kernels::ref::add_block<T>(m, n, a.data(), ld, b.data(), ldb, y, ld); }, "add_block");
    run([&](T* y) { kernels::multiply_block<T>(m, n, a.data(), ld, b.data(), ldb, y, ld); },
        [&](T* y) { kernels::ref::multiply_block<T>(m, n, a.data(), ld, b.data(), ldb, y, ld); }, "multiply_block");
    run([&](T* y) { kernels::multiply_accumulate_block<T>(m, n, a.data(), ld, b.data(), ldb, y, ld); },
        [&](T* y) { kernels::ref::multiply_accumulate_block<T>(m, n, a.data(), ld, b.data(), ldb, y, ld); },
        "multiply_accumulate_block");
    run([&](T* y) { kernels::blend_block<T>(m, n, z.data(), ld, a.data(), ld, b.data(), ldb, y, ld); },
        [&](T* y) { kernels::ref::blend_block<T>(m, n, z.data(), ld, a.data(), ld, b.data(), ldb, y, ld); },
        "blend_block");
  }
  run([&](T* y) { kernels::add_scalar_block<T>(y, m, n, ld, T(0.75)); },
      [&](T* y) { kernels::ref::add_scalar_block<T>(y, m, n, ld, T(0.75)); }, "add_scalar_block");
  run([&](T* y) { kernels::scale_block<T>(y, m, n, ld, T(-1.5)); },
      [&](T* y) { kernels::ref::scale_block<T>(y, m, n, ld, T(-1.5)); }, "scale_block");
  run([&](T* y) { kernels::clip_block<T>(y, m, n, ld, T(-0.5), T(0.25)); },
      [&](T* y) { kernels::ref::clip_block<T>(y, m, n, ld, T(-0.5), T(0.25)); }, "clip_block");
  const std::vector<uint8_t> keep{1, 0, 0, 1, 1, 0, 1, 0, 1, 1};  // stride 2 reads 1,0,1,1,1
  run([&](T* y) { kernels::select_rows<T>(m, n, keep.data(), 2, a.data(), ld, b.data(), ld, y, ld); },
      [&](T* y) { kernels::ref::select_rows<T>(m, n, keep.data(), 2, a.data(), ld, b.data(), ld, y, ld); },
      "select_rows");
  run([&](T* y) { kernels::multiply_periodic_rows<T>(m, 3, a.data(), ld, b.data(), 2, y, ld); },
      [&](T* y) { kernels::ref::multiply_periodic_rows<T>(m, 3, a.data(), ld, b.data(), 2, y, ld); },
      "multiply_periodic_rows");
  // [3, 2, 4] arrays (a has 55 >= 24 values).
  run([&](T* y) { kernels::swap_leading_axes<T>(3, 2, 4, a.data(), y); },
      [&](T* y) { kernels::ref::swap_leading_axes<T>(3, 2, 4, a.data(), y); }, "swap_leading_axes");
  run([&](T* y) { kernels::reverse_middle_axis<T>(3, 2, 4, a.data(), y); },
      [&](T* y) { kernels::ref::reverse_middle_axis<T>(3, 2, 4, a.data(), y); }, "reverse_middle_axis");
}

TEST(Kernels, ElementwiseBlocksMatchReference) {
  check_elementwise_kernels<float>();
  check_elementwise_kernels<double>();
}

TEST(Kernels, ElementwiseBlocksInPlace) {
  // Output aliasing an input exactly is allowed.
  std::vector<float> a{1, 2, 3, 4}, b{10, 20, 30, 40};
  kernels::add_block<float>(2, 2, a.data(), 2, b.data(), 2, a.data(), 2);
  EXPECT_EQ(a, (std::vector<float>{11, 22, 33, 44}));
  kernels::multiply_block<float>(2, 2, a.data(), 2, b.data(), 0, a.data(), 2);  // broadcast row {10, 20}
  EXPECT_EQ(a, (std::vector<float>{110, 440, 330, 880}));
  const uint8_t keep[2] = {0, 1};
  kernels::select_rows<float>(2, 2, keep, 1, a.data(), 2, b.data(), 2, a.data(), 2);
  EXPECT_EQ(a, (std::vector<float>{10, 20, 330, 880}));
}

TEST(Kernels, ReferenceSemanticsOfLayoutKernels) {
  // [2, 3, 1]: rows (0,0)=0 (0,1)=1 (0,2)=2 (1,0)=3 (1,1)=4 (1,2)=5
  const std::vector<double> x{0, 1, 2, 3, 4, 5};
  std::vector<double> y(6);
  kernels::ref::swap_leading_axes<double>(2, 3, 1, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<double>{0, 3, 1, 4, 2, 5}));
  kernels::ref::reverse_middle_axis<double>(2, 3, 1, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<double>{2, 1, 0, 5, 4, 3}));
  std::vector<double> z{0.25, 0.5}, g{1, 2}, h{5, 6};
  kernels::ref::blend_block<double>(1, 2, z.data(), 0, g.data(), 2, h.data(), 2, y.data(), 2);
  EXPECT_DOUBLE_EQ(y[0], 0.25 * 1 + 0.75 * 5);
  EXPECT_DOUBLE_EQ(y[1], 0.5 * 2 + 0.5 * 6);
  std::vector<double> p{2, 3};  // period 2, n 1
  std::vector<double> rows{1, 1, 1, 1, 1};
  kernels::ref::multiply_periodic_rows<double>(5, 1, rows.data(), 1, p.data(), 2, y.data(), 1);
  EXPECT_EQ(std::vector<double>(y.begin(), y.begin() + 5), (std::vector<double>{2, 3, 2, 3, 2}));
}

}  // namespace
}  // namespace rnnx
