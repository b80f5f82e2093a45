// Learning-rate schedules (train/schedules.h) against the Keras formulas in double, and the
// regularizer penalties / constraint projections of train/regularization.h.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "layer_test_helpers.h"
#include "rnnx/core/error.h"
#include "rnnx/train/regularization.h"
#include "rnnx/train/schedules.h"

namespace rnnx {
namespace {

using rnnx::test::random_tensor;
using rnnx::test::throws_with;

// Schedules compute in float32, so compare with a float-sized tolerance.
void expect_rate(float got, double want, const std::string& what) {
  EXPECT_NEAR(got, want, 1e-6 * std::max(1.0, std::abs(want))) << what;
}

TEST(Schedules, ExponentialDecay) {
  const ExponentialDecay smooth(0.1, 10, 0.5), stairs(0.1, 10, 0.5, true);
  for (int64_t step : {0, 1, 5, 9, 10, 11, 25, 100}) {
    expect_rate(smooth(step), 0.1 * std::pow(0.5, double(step) / 10.0), "smooth step " + std::to_string(step));
    expect_rate(stairs(step), 0.1 * std::pow(0.5, std::floor(double(step) / 10.0)),
                "staircase " + std::to_string(step));
  }
}

TEST(Schedules, CosineDecayWithAndWithoutWarmup) {
  const double pi = std::numbers::pi;
  const CosineDecay plain(0.2, 10, 0.1);
  for (int64_t step : {0, 1, 5, 10, 15}) {
    const double s = std::min<double>(double(step), 10.0);
    expect_rate(plain(step), 0.2 * ((1 - 0.1) * 0.5 * (1 + std::cos(pi * s / 10.0)) + 0.1),
                "plain " + std::to_string(step));
  }
  const CosineDecay warm(0.0, 10, 0.0, 1.0, 4);
  for (int64_t step : {0, 1, 3, 4, 5, 14, 20}) {
    const double s = std::min<double>(double(step), 14.0);
    const double want = s < 4 ? (1.0 - 0.0) * (s / 4.0) : 1.0 * 0.5 * (1 + std::cos(pi * (s - 4.0) / 10.0));
    expect_rate(warm(step), want, "warmup " + std::to_string(step));
  }
}

TEST(Schedules, PiecewiseConstantDecay) {
  const PiecewiseConstantDecay p({5, 10}, {1.0, 0.5, 0.1});
  for (int64_t step : {0, 5}) expect_rate(p(step), 1.0, "first piece");
  for (int64_t step : {6, 10}) expect_rate(p(step), 0.5, "middle piece");
  for (int64_t step : {11, 1000}) expect_rate(p(step), 0.1, "last piece");
}

TEST(Schedules, Errors) {
  EXPECT_TRUE(throws_with<ConfigError>([] { ExponentialDecay(0.1, 0, 0.5); },
                                       "ExponentialDecay: decay_steps must be > 0, got 0"));
  EXPECT_TRUE(throws_with<ConfigError>([] { CosineDecay(0.1, -1); }, "CosineDecay: decay_steps must be > 0, got -1"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [] { PiecewiseConstantDecay({5}, {1.0}); },
      "PiecewiseConstantDecay: expected one more value than boundaries (and at least one boundary), got 1 boundaries "
      "and 1 values"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [] {
        PiecewiseConstantDecay({5, 5}, {1.0, 2.0, 3.0});
      },
      "PiecewiseConstantDecay: boundaries must increase, got 5 then 5"));
}

// ---- regularizers and constraints --------------------------------------------------------------
TEST(Regularization, PenaltyAndGradient) {
  const Tensor<double> w = random_tensor<double>({3, 4}, 1);
  const Regularizer r = Regularizer::make_l1_l2(0.03, 0.02);
  double l1 = 0, l2 = 0;
  for (double v : w.values()) {
    l1 += std::abs(v);
    l2 += v * v;
  }
  EXPECT_NEAR(penalty(r, w), 0.03 * l1 + 0.02 * l2, 1e-12);
  EXPECT_NEAR(penalty(Regularizer::make_l2(), w), 0.01 * l2, 1e-12);  // Keras "l2": 0.01, no ½
  Tensor<double> g(w.shape());
  add_penalty_grad(r, w, g);
  for (int64_t i = 0; i < w.size(); ++i) {
    Tensor<double> plus = w, minus = w;
    plus[i] += 1e-6;
    minus[i] -= 1e-6;
    EXPECT_NEAR(g[i], (penalty(r, plus) - penalty(r, minus)) / 2e-6, 1e-6);
  }
  // Activity penalties are divided by the batch size (K3 >= 3.14).
  EXPECT_NEAR(activity_penalty(r, w), penalty(r, w) / 3.0, 1e-12);
  Tensor<double> ga(w.shape());
  add_activity_penalty_grad(r, w, ga);
  for (int64_t i = 0; i < w.size(); ++i) EXPECT_NEAR(ga[i], g[i] / 3.0, 1e-12);
  // Over all outputs of a call (out, h, c): penalties add up; a missing gradient starts at 0.
  const Tensor<double> h = random_tensor<double>({3, 2}, 2);
  const std::vector<Tensor<double>> outs = {w, h};
  EXPECT_NEAR(activity_penalty(r, outs), activity_penalty(r, w) + activity_penalty(r, h), 1e-12);
  std::vector<Tensor<double>> grads = {Tensor<double>(w.shape(), 1.0)};
  add_activity_grads(r, outs, grads);
  ASSERT_EQ(grads.size(), 2u);
  for (int64_t i = 0; i < w.size(); ++i) EXPECT_NEAR(grads[0][i], 1.0 + g[i] / 3.0, 1e-12);
  Tensor<double> gh(h.shape());
  add_activity_penalty_grad(r, h, gh);
  for (int64_t i = 0; i < h.size(); ++i) EXPECT_NEAR(grads[1][i], gh[i], 1e-12);
}

// The Keras projections (constraints.py) with the norm over axis 0 of a [3, 2] kernel.
TEST(Regularization, ConstraintsMatchKerasFormulas) {
  const Tensor<double> w0({3, 2}, {3.0, -0.1, 4.0, 0.2, 0.0, -0.3});
  const double eps = 1e-7;
  auto col_norm = [&](int64_t c) {
    double s = 0;
    for (int64_t r = 0; r < 3; ++r) s += w0[r * 2 + c] * w0[r * 2 + c];
    return std::sqrt(s);
  };
  {
    Tensor<double> w = w0;
    apply_constraint(Constraint::make_max_norm(2.0), w);
    for (int64_t i = 0; i < 6; ++i) {
      const double n = col_norm(i % 2);
      EXPECT_NEAR(w[i], w0[i] * std::min(n, 2.0) / (eps + n), 1e-12);
    }
  }
  {
    Tensor<double> w = w0;
    apply_constraint(Constraint::make_unit_norm(), w);
    for (int64_t i = 0; i < 6; ++i) EXPECT_NEAR(w[i], w0[i] / (eps + col_norm(i % 2)), 1e-12);
  }
  {
    Tensor<double> w = w0;
    apply_constraint(Constraint::make_min_max_norm(0.5, 1.0, 0.5), w);
    for (int64_t i = 0; i < 6; ++i) {
      const double n = col_norm(i % 2);
      EXPECT_NEAR(w[i], w0[i] * (0.5 * std::clamp(n, 0.5, 1.0) + 0.5 * n) / (eps + n), 1e-12);
    }
  }
  {
    Tensor<double> w = w0;
    apply_constraint(Constraint::make_non_neg(), w);
    for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(w[i], std::max(w0[i], 0.0));
  }
  {  // axis -1 (rows) and a rank-1 bias with the default axis 0 (one norm over everything)
    Tensor<double> w = w0;
    apply_constraint(Constraint::make_max_norm(1.0, {-1}), w);
    for (int64_t r = 0; r < 3; ++r) {
      const double n = std::hypot(w0[r * 2], w0[r * 2 + 1]);
      EXPECT_NEAR(w[r * 2], w0[r * 2] * std::min(n, 1.0) / (eps + n), 1e-12);
    }
    Tensor<double> b({3}, {3.0, 4.0, 0.0});
    apply_constraint(Constraint::make_unit_norm(), b);
    EXPECT_NEAR(b[0], 3.0 / (5.0 + eps), 1e-12);
  }
  Tensor<double> w = w0;
  EXPECT_TRUE(
      throws_with<ConfigError>([&] { apply_constraint(Constraint::make_max_norm(2.0, {2}), w, "dense/kernel"); },
                               "constraint on dense/kernel: axis 2 is out of range for shape [3, 2]"));
}

}  // namespace
}  // namespace rnnx
