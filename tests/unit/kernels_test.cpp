// Fast kernels must equal the reference kernels (which define them).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
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

// ---- softmax_backward_block: fast == ref exactly (strided), and ref is the Jacobian product. ----
template <class T>
void check_softmax_backward() {
  Rng rng(11);
  const int64_t m = 4, n = 6, ld = 9;
  auto y = random_values<T>(rng, m * ld);
  const auto dy = random_values<T>(rng, m * ld);
  kernels::activate_block<T>({ActivationKind::softmax}, y.data(), m, n, ld);
  std::vector<T> fast(static_cast<size_t>(m * ld), T(7)), ref = fast;
  kernels::softmax_backward_block<T>(m, n, y.data(), ld, dy.data(), ld, fast.data(), ld);
  kernels::ref::softmax_backward_block<T>(m, n, y.data(), ld, dy.data(), ld, ref.data(), ld);
  EXPECT_EQ(fast, ref);
  auto in_place = dy;  // the output may alias dy
  kernels::softmax_backward_block<T>(m, n, y.data(), ld, in_place.data(), ld, in_place.data(), ld);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) EXPECT_EQ(in_place[i * ld + j], ref[i * ld + j]);
}

TEST(Kernels, SoftmaxBackwardMatchesReference) {
  check_softmax_backward<float>();
  check_softmax_backward<double>();
}

TEST(Kernels, ReferenceSemanticsOfSoftmaxBackward) {
  // dx = J^T dy with J[i][j] = d y_i / d x_j = y_i (delta_ij - y_j), written out for one row.
  const std::vector<double> y{0.2, 0.3, 0.5}, dy{1.0, -2.0, 0.5};
  std::vector<double> dx(3);
  kernels::ref::softmax_backward_block<double>(1, 3, y.data(), 3, dy.data(), 3, dx.data(), 3);
  for (int j = 0; j < 3; ++j) {
    double want = 0;
    for (int i = 0; i < 3; ++i) want += dy[i] * y[i] * ((i == j ? 1.0 : 0.0) - y[j]);
    EXPECT_NEAR(dx[j], want, 1e-15) << j;
  }
}

// ---- Backward kernels of the recurrent cells: activation_backward_block (element-wise
// activations), accumulate_column_sums, clip_backward_block. ----

std::vector<Activation> elementwise_activations() {
  std::vector<Activation> out;
  for (auto kind : {ActivationKind::linear, ActivationKind::tanh, ActivationKind::sigmoid, ActivationKind::relu,
                    ActivationKind::elu, ActivationKind::selu, ActivationKind::softplus, ActivationKind::softsign,
                    ActivationKind::swish, ActivationKind::gelu, ActivationKind::exponential})
    out.push_back(Activation{kind});
  out.push_back(Activation{ActivationKind::hard_sigmoid, HardSigmoidFormula::keras3});
  out.push_back(Activation{ActivationKind::hard_sigmoid, HardSigmoidFormula::keras2});
  return out;
}

template <class T>
void check_activation_backward() {
  Rng rng(12);
  const int64_t m = 4, n = 6, ld = 9;
  auto x = random_values<T>(rng, m * ld);
  for (auto& v : x) v *= T(4);  // both sides of the hard_sigmoid bounds
  const auto dy = random_values<T>(rng, m * ld);
  for (const Activation& a : elementwise_activations()) {
    auto y = x;
    kernels::activate_block<T>(a, y.data(), m, n, ld);
    std::vector<T> fast(static_cast<size_t>(m * ld), T(7)), ref = fast;
    kernels::activation_backward_block<T>(a, m, n, x.data(), ld, y.data(), ld, dy.data(), ld, fast.data(), ld);
    kernels::ref::activation_backward_block<T>(a, m, n, x.data(), ld, y.data(), ld, dy.data(), ld, ref.data(), ld);
    EXPECT_EQ(fast, ref) << a.name();  // also: nothing written past n in a row
    auto in_place = dy;
    kernels::activation_backward_block<T>(a, m, n, x.data(), ld, y.data(), ld, in_place.data(), ld, in_place.data(),
                                          ld);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) EXPECT_EQ(in_place[i * ld + j], ref[i * ld + j]) << a.name();
  }
}

// ---- activate_block: fast == ref exactly, except float sigmoid/tanh (vectorised
// polynomials) within a few ulp; strided blocks leave the padding alone. ----
template <class T>
void check_activate_block(T abs_tol, T rel_tol) {
  // Dense sweep plus the awkward values: signed zeros, tiny, huge, infinities, NaN.
  std::vector<T> values;
  for (int i = -4000; i <= 4000; ++i) values.push_back(T(i) * T(0.005));  // [-20, 20]
  for (T v : {T(0), -T(0), T(1e-30), T(-1e-30), T(1e-8), T(0.6249), T(0.6251), T(-0.625), T(80), T(-80), T(100),
              T(-100), T(1e30), T(-1e30), std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity()})
    values.push_back(v);
  values.push_back(std::numeric_limits<T>::quiet_NaN());
  const int64_t n = static_cast<int64_t>(values.size()), ld = n + 3;
  for (const Activation& a : elementwise_activations()) {
    std::vector<T> fast(static_cast<size_t>(2 * ld), T(7)), ref = fast;
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t i = 0; i < n; ++i) fast[static_cast<size_t>(r * ld + i)] = ref[static_cast<size_t>(r * ld + i)] = values[i];
    kernels::activate_block<T>(a, fast.data(), 2, n, ld);
    kernels::ref::activate_block<T>(a, ref.data(), 2, n, ld);
    const bool approximated =
        std::is_same_v<T, float> && (a.kind == ActivationKind::sigmoid || a.kind == ActivationKind::tanh);
    for (size_t i = 0; i < fast.size(); ++i) {
      if (!approximated || std::isnan(ref[i])) {
        EXPECT_TRUE(fast[i] == ref[i] || (std::isnan(fast[i]) && std::isnan(ref[i])))
            << a.name() << " at " << i << ": " << fast[i] << " vs " << ref[i];
        continue;
      }
      EXPECT_LE(std::abs(fast[i] - ref[i]), abs_tol + rel_tol * std::abs(ref[i]))
          << a.name() << " of " << values[i % static_cast<size_t>(ld)] << ": " << fast[i] << " vs " << ref[i];
    }
  }
}

TEST(Kernels, ActivateBlockMatchesReference) {
  // float sigmoid/tanh: ~3 ulp relative, and never more than 1e-37 absolute (deep tails).
  check_activate_block<float>(1e-37f, 4e-7f);
  check_activate_block<double>(0.0, 0.0);
}

TEST(Kernels, ActivationBackwardMatchesReference) {
  check_activation_backward<float>();
  check_activation_backward<double>();
}

// ref::activation_backward_block is dy times the derivative of the activation: central
// differences at points away from every kink (0, ±2.5, ±3).
TEST(Kernels, ReferenceSemanticsOfActivationBackward) {
  const std::vector<double> x{-3.7, -2.7, -2.2, -0.4, 0.3, 1.1, 2.2, 2.8, 3.6};
  const std::vector<double> dy{0.5, -1.5, 2.0, 1.0, -0.5, 0.25, 1.5, -2.0, 0.75};
  const auto n = static_cast<int64_t>(x.size());
  for (const Activation& a : elementwise_activations()) {
    std::vector<double> y(x.size()), dx(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = activate<double>(a, x[i]);
    kernels::ref::activation_backward_block<double>(a, 1, n, x.data(), n, y.data(), n, dy.data(), n, dx.data(), n);
    for (size_t i = 0; i < x.size(); ++i) {
      const double h = 1e-6, numeric = (activate<double>(a, x[i] + h) - activate<double>(a, x[i] - h)) / (2 * h);
      EXPECT_NEAR(dx[i], dy[i] * numeric, 1e-7) << a.name() << " at x = " << x[i];
    }
  }
}

template <class T>
void check_column_sums_and_clip_backward() {
  Rng rng(13);
  const int64_t m = 5, n = 7, ld = 9;
  const auto a = random_values<T>(rng, m * ld), dy = random_values<T>(rng, m * ld);
  std::vector<T> sums(static_cast<size_t>(n), T(0.5)), sums_ref = sums;
  kernels::accumulate_column_sums<T>(m, n, a.data(), ld, sums.data());
  kernels::ref::accumulate_column_sums<T>(m, n, a.data(), ld, sums_ref.data());
  EXPECT_EQ(sums, sums_ref);  // rows added in the same order
  std::vector<T> fast(static_cast<size_t>(m * ld), T(7)), ref = fast;
  kernels::clip_backward_block<T>(m, n, a.data(), ld, T(-0.25), T(0.5), dy.data(), ld, fast.data(), ld);
  kernels::ref::clip_backward_block<T>(m, n, a.data(), ld, T(-0.25), T(0.5), dy.data(), ld, ref.data(), ld);
  EXPECT_EQ(fast, ref);
}

TEST(Kernels, ColumnSumsAndClipBackwardMatchReference) {
  check_column_sums_and_clip_backward<float>();
  check_column_sums_and_clip_backward<double>();
}

TEST(Kernels, ReferenceSemanticsOfColumnSumsAndClipBackward) {
  const std::vector<double> a{1, 2, 3, 10, 20, 30};  // [2, 3]
  std::vector<double> sums{100, 200, 300};
  kernels::ref::accumulate_column_sums<double>(2, 3, a.data(), 3, sums.data());
  EXPECT_EQ(sums, (std::vector<double>{111, 222, 333}));
  // The gradient passes where lo <= x <= hi (bounds included, as TF's clip_by_value).
  const std::vector<double> x{-2.0, -1.0, 0.0, 1.0, 2.0}, g{1, 2, 3, 4, 5};
  std::vector<double> dx(5);
  kernels::ref::clip_backward_block<double>(1, 5, x.data(), 5, -1.0, 1.0, g.data(), 5, dx.data(), 5);
  EXPECT_EQ(dx, (std::vector<double>{0, 2, 3, 4, 0}));
}

}  // namespace
}  // namespace rnnx
