// Losses (train/losses.h): each value against a naive formula written here, each gradient
// against central finite differences in double, reductions, masks, sample weights, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "layer_test_helpers.h"
#include "rnnx/core/error.h"
#include "rnnx/train/losses.h"

namespace rnnx {
namespace {

using rnnx::test::random_tensor;
using rnnx::test::throws_with;

constexpr double kEps = 1e-7;

// Naive per-row loss values, written from the Keras formulas (losses.py, tensorflow/nn.py).
using RowFn = std::function<double(const double* y, const double* p, int64_t k)>;

double clip(double x) { return std::min(std::max(x, kEps), 1.0 - kEps); }

RowFn naive_row(const std::string& name, bool logits, double smoothing, double delta) {
  if (name == "mean_squared_error")
    return [](const double* y, const double* p, int64_t k) {
      double s = 0;
      for (int64_t j = 0; j < k; ++j) s += (p[j] - y[j]) * (p[j] - y[j]);
      return s / double(k);
    };
  if (name == "mean_absolute_error")
    return [](const double* y, const double* p, int64_t k) {
      double s = 0;
      for (int64_t j = 0; j < k; ++j) s += std::abs(p[j] - y[j]);
      return s / double(k);
    };
  if (name == "huber")
    return [delta](const double* y, const double* p, int64_t k) {
      double s = 0;
      for (int64_t j = 0; j < k; ++j) {
        const double e = std::abs(p[j] - y[j]);
        s += e <= delta ? 0.5 * e * e : delta * e - 0.5 * delta * delta;
      }
      return s / double(k);
    };
  if (name == "binary_crossentropy")
    return [logits, smoothing](const double* y, const double* p, int64_t k) {
      double s = 0;
      for (int64_t j = 0; j < k; ++j) {
        const double t = y[j] * (1 - smoothing) + 0.5 * smoothing;
        const double q = logits ? 1.0 / (1.0 + std::exp(-p[j])) : clip(p[j]);
        s += -(t * std::log(q) + (1 - t) * std::log(1 - q));
      }
      return s / double(k);
    };
  if (name == "categorical_crossentropy")
    return [logits, smoothing](const double* y, const double* p, int64_t k) {
      double z = 0, m = -1e300;
      for (int64_t j = 0; j < k; ++j) m = std::max(m, p[j]);
      for (int64_t j = 0; j < k; ++j) z += logits ? std::exp(p[j] - m) : p[j];
      double s = 0;
      for (int64_t j = 0; j < k; ++j) {
        const double t = y[j] * (1 - smoothing) + smoothing / double(k);
        const double q = logits ? std::exp(p[j] - m) / z : clip(p[j] / z);
        s -= t * std::log(q);
      }
      return s;
    };
  // sparse_categorical_crossentropy: y[0] is the class id.
  return [logits](const double* y, const double* p, int64_t k) {
    std::vector<double> z(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) z[j] = logits ? p[j] : std::log(clip(p[j]));
    double m = -1e300, s = 0;
    for (double v : z) m = std::max(m, v);
    for (double v : z) s += std::exp(v - m);
    return std::log(s) + m - z[static_cast<size_t>(y[0])];
  };
}

struct Case {
  std::string name;
  LossOptions options;
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const char* n : {"mean_squared_error", "mean_absolute_error"}) cases.push_back({n, {}});
  cases.push_back({"huber", {.delta = 1.0}});
  cases.push_back({"huber", {.delta = 0.3}});
  for (bool logits : {false, true})
    for (double s : {0.0, 0.2}) {
      cases.push_back({"binary_crossentropy", {.from_logits = logits, .label_smoothing = s}});
      cases.push_back({"categorical_crossentropy", {.from_logits = logits, .label_smoothing = s}});
    }
  for (bool logits : {false, true}) cases.push_back({"sparse_categorical_crossentropy", {.from_logits = logits}});
  return cases;
}

// Targets and predictions of shape pred_shape that suit the loss (probabilities in (0.05,
// 0.95) for probability crossentropies, one-hot rows for categorical ones).
void make_data(const Case& c, const Shape& pred_shape, Tensor<double>& y, Tensor<double>& p, uint64_t seed) {
  const bool probs = !c.options.from_logits && c.name.find("crossentropy") != std::string::npos;
  p = random_tensor<double>(pred_shape, seed, probs ? 0.05 : -2.0, probs ? 0.95 : 2.0);
  const int64_t k = pred_shape.back(), rows = p.size() / k;
  Rng rng(seed + 1);
  if (c.name == "sparse_categorical_crossentropy") {
    y = Tensor<double>(Shape(pred_shape.begin(), pred_shape.end() - 1));
    for (int64_t r = 0; r < rows; ++r) y[r] = double(rng.below(uint64_t(k)));
  } else if (c.name == "categorical_crossentropy") {
    y = Tensor<double>(pred_shape);
    for (int64_t r = 0; r < rows; ++r) y[r * k + int64_t(rng.below(uint64_t(k)))] = 1.0;
  } else if (c.name == "binary_crossentropy") {
    y = Tensor<double>(pred_shape);
    for (auto& v : y.values()) v = double(rng.below(2));
  } else {
    y = random_tensor<double>(pred_shape, seed + 2, -2.0, 2.0);
  }
}

// Naive reduced loss: weighted values, divided as the reduction says.
double naive_loss(const Case& c, const Tensor<double>& y, const Tensor<double>& p, const std::vector<double>& w,
                  Reduction reduction) {
  const RowFn f = naive_row(c.name, c.options.from_logits, c.options.label_smoothing, c.options.delta);
  const int64_t k = p.shape().back(), rows = p.size() / k;
  const int64_t yk = c.name == "sparse_categorical_crossentropy" ? 1 : k;
  double sum = 0, wsum = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const double wr = w.empty() ? 1.0 : w[size_t(r)];
    sum += wr * f(y.data() + r * yk, p.data() + r * k, k);
    wsum += wr;
  }
  if (reduction == Reduction::sum) return sum;
  if (reduction == Reduction::mean_with_sample_weight) return sum / wsum;
  return sum / double(rows);
}

TEST(Losses, ValuesMatchNaiveFormulasForEveryReduction) {
  for (const Case& base : all_cases())
    for (Reduction red : {Reduction::sum_over_batch_size, Reduction::sum, Reduction::mean_with_sample_weight}) {
      Case c = base;
      c.options.reduction = red;
      Tensor<double> y, p;
      make_data(c, {4, 3}, y, p, 11);
      const Tensor<double> sw({4}, {0.5, 1.0, 2.0, 0.0});
      const auto loss = make_loss<double>(c.name, c.options);
      EXPECT_NEAR(loss->compute(y, p).loss, naive_loss(c, y, p, {}, red), 1e-12) << c.name;
      EXPECT_NEAR(loss->compute(y, p, &sw).loss, naive_loss(c, y, p, {0.5, 1.0, 2.0, 0.0}, red), 1e-12)
          << c.name << " " << reduction_name(red);
    }
}

// Central differences of the reduced loss with respect to every prediction.
void expect_gradient_matches(const Loss<double>& loss, const Tensor<double>& y, const Tensor<double>& p,
                             const Tensor<double>* sw, const Mask* mask, const std::string& what) {
  const Tensor<double> g = loss.compute(y, p, sw, mask).grad;
  ASSERT_EQ(g.shape(), p.shape());
  for (int64_t i = 0; i < p.size(); ++i) {
    Tensor<double> plus = p, minus = p;
    const double h = 1e-6;
    plus[i] += h;
    minus[i] -= h;
    const double fd = (loss.compute(y, plus, sw, mask).loss - loss.compute(y, minus, sw, mask).loss) / (2 * h);
    EXPECT_NEAR(g[i], fd, 1e-6 + 1e-5 * std::abs(fd)) << what << " element " << i;
  }
}

TEST(Losses, GradientsMatchFiniteDifferences) {
  for (const Case& base : all_cases())
    for (Reduction red : {Reduction::sum_over_batch_size, Reduction::sum}) {
      Case c = base;
      c.options.reduction = red;
      Tensor<double> y, p;
      make_data(c, {3, 2, 4}, y, p, 5);
      // Keep |p - y| away from Huber's kink and MAE's zero, where differences straddle it.
      if (c.name == "huber" || c.name == "mean_absolute_error")
        for (int64_t i = 0; i < p.size(); ++i)
          if (std::abs(std::abs(p[i] - y[i]) - c.options.delta) < 1e-3 || std::abs(p[i] - y[i]) < 1e-3) p[i] += 0.01;
      const auto loss = make_loss<double>(c.name, c.options);
      const Tensor<double> sw({3}, {1.0, 0.25, 3.0});
      Mask mask({3, 2}, std::vector<uint8_t>{1, 0, 1, 1, 0, 1});
      expect_gradient_matches(*loss, y, p, nullptr, nullptr, c.name);
      expect_gradient_matches(*loss, y, p, &sw, &mask, c.name + " weighted+masked");
    }
}

TEST(Losses, MaskedSequenceLossAveragesOverUnmaskedSteps) {
  // Keras (loss.py apply_mask): sum over unmasked of v·w, divided by the number of unmasked.
  const auto mse = make_loss<double>("mse");
  const Tensor<double> p = random_tensor<double>({2, 3, 2}, 3), y = random_tensor<double>({2, 3, 2}, 4);
  Mask mask({2, 3}, std::vector<uint8_t>{1, 1, 0, 1, 0, 0});
  const RowFn f = naive_row("mean_squared_error", false, 0, 1);
  double sum = 0;
  int valid = 0;
  for (int64_t r = 0; r < 6; ++r)
    if (mask[r]) {
      sum += f(y.data() + 2 * r, p.data() + 2 * r, 2);
      ++valid;
    }
  EXPECT_NEAR(mse->compute(y, p, nullptr, &mask).loss, sum / valid, 1e-12);
  // Masked positions get no gradient.
  const Tensor<double> g = mse->compute(y, p, nullptr, &mask).grad;
  for (int64_t r = 0; r < 6; ++r) {
    if (!mask[r]) {
      EXPECT_EQ(g[2 * r], 0.0);
    }
  }
  // With reduction "sum" the mask is a plain 0/1 weight.
  const auto sum_mse = make_loss<double>("mse", {.reduction = Reduction::sum});
  EXPECT_NEAR(sum_mse->compute(y, p, nullptr, &mask).loss, sum, 1e-12);
  // All masked: divide_no_nan gives 0.
  Mask none({2, 3});
  EXPECT_EQ(mse->compute(y, p, nullptr, &none).loss, 0.0);
}

TEST(Losses, PerSampleWeightsRepeatOverSteps) {
  const auto mae = make_loss<double>("mae");
  const Tensor<double> p = random_tensor<double>({2, 3, 2}, 7), y = random_tensor<double>({2, 3, 2}, 8);
  const Tensor<double> per_sample({2}, {2.0, 0.5});
  Tensor<double> per_step({2, 3});
  for (int64_t i = 0; i < 6; ++i) per_step[i] = i < 3 ? 2.0 : 0.5;
  EXPECT_DOUBLE_EQ(mae->compute(y, p, &per_sample).loss, mae->compute(y, p, &per_step).loss);
}

TEST(Losses, ReductionNoneReturnsWeightedValues) {
  const auto bce = make_loss<double>("binary_crossentropy", {.reduction = Reduction::none});
  Tensor<double> y, p;
  make_data({"binary_crossentropy", {}}, {3, 2}, y, p, 9);
  const Tensor<double> sw({3}, {1.0, 2.0, 0.0});
  const LossResult<double> r = bce->compute(y, p, &sw);
  ASSERT_EQ(r.values.shape(), (Shape{3}));
  const RowFn f = naive_row("binary_crossentropy", false, 0, 1);
  for (int64_t i = 0; i < 3; ++i) EXPECT_NEAR(r.values[i], sw[i] * f(y.data() + 2 * i, p.data() + 2 * i, 2), 1e-12);
  EXPECT_NEAR(r.loss, r.values[0] + r.values[1] + r.values[2], 1e-12);
}

TEST(Losses, ProbabilitiesAreClippedAtKerasEpsilon) {
  // p = 0 and 1 give -log(1e-7)-sized terms, not infinities; the clipped side has no gradient.
  const auto bce = make_loss<float>("binary_crossentropy");
  const Tensor<float> y({1, 2}, {1.0f, 0.0f}), p({1, 2}, {0.0f, 1.0f});
  const LossResult<float> r = bce->compute(y, p);
  const double lo = double(float(kEps)), hi = double(1.0f - float(kEps));
  EXPECT_NEAR(r.loss, (-std::log(lo) - std::log(1.0 - hi)) / 2.0, 1e-3);
  EXPECT_TRUE(std::isfinite(r.loss));
  EXPECT_EQ(r.grad[0], 0.0f);
  EXPECT_EQ(r.grad[1], 0.0f);
  const auto scce = make_loss<float>("sparse_categorical_crossentropy");
  const Tensor<float> ids({1}, {0.0f}), probs({1, 2}, {0.0f, 1.0f});
  EXPECT_TRUE(std::isfinite(scce->compute(ids, probs).loss));
}

TEST(Losses, TargetsWithATrailingOneAxisAreReconciled) {
  const auto mse = make_loss<double>("mse");
  const Tensor<double> p = random_tensor<double>({4, 1}, 1), y = random_tensor<double>({4}, 2);
  EXPECT_DOUBLE_EQ(mse->compute(y, p).loss, mse->compute(y.reshaped({4, 1}), p).loss);
  const auto scce = make_loss<double>("sparse_categorical_crossentropy");
  const Tensor<double> probs = random_tensor<double>({2, 3}, 3, 0.1, 0.9), ids({2, 1}, {2.0, 0.0});
  EXPECT_DOUBLE_EQ(scce->compute(ids, probs).loss, scce->compute(ids.reshaped({2}), probs).loss);
}

TEST(Losses, NamesAndAliases) {
  EXPECT_EQ(make_loss<float>("mse")->name(), "mean_squared_error");
  EXPECT_EQ(make_loss<float>("MeanAbsoluteError")->name(), "mean_absolute_error");
  EXPECT_EQ(make_loss<float>("SparseCategoricalCrossentropy")->name(), "sparse_categorical_crossentropy");
  EXPECT_EQ(reduction_from_name("sum"), Reduction::sum);
  EXPECT_EQ(reduction_name(Reduction::mean_with_sample_weight), "mean_with_sample_weight");
}

TEST(Losses, Errors) {
  EXPECT_TRUE(throws_with<ConfigError>([] { make_loss<float>("hinge"); },
                                       "unknown loss 'hinge', expected one of mean_squared_error, "
                                       "mean_absolute_error, huber, binary_crossentropy, categorical_crossentropy, "
                                       "sparse_categorical_crossentropy (or mse, mae, or a class name)"));
  EXPECT_TRUE(throws_with<ConfigError>([] { reduction_from_name("avg"); },
                                       "unknown loss reduction 'avg', expected one of sum_over_batch_size, sum, mean, "
                                       "mean_with_sample_weight, none"));
  EXPECT_TRUE(throws_with<ConfigError>([] { make_loss<float>("huber", {.delta = 0.0}); },
                                       "loss 'huber': delta must be > 0, got 0.0"));
  EXPECT_TRUE(throws_with<ConfigError>([] { make_loss<float>("binary_crossentropy", {.label_smoothing = 1.5}); },
                                       "loss 'binary_crossentropy': label_smoothing must be in [0, 1], got 1.5"));
  const auto mse = make_loss<float>("mse");
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        mse->compute(Tensor<float>({4, 3}), Tensor<float>({4, 2}));
      },
      "loss 'mean_squared_error': y_true has shape [4, 3], expected shape [4, 2] to "
      "match y_pred of shape [4, 2]"));
  EXPECT_TRUE(throws_with<ShapeError>([&] { mse->compute(Tensor<float>({4}), Tensor<float>({4})); },
                                      "loss 'mean_squared_error': y_pred has shape [4], expected at least 2 axes "
                                      "[batch, ..., features]"));
  const Tensor<float> bad_w({3});
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        mse->compute(Tensor<float>({4, 2}), Tensor<float>({4, 2}), &bad_w);
      },
      "loss 'mean_squared_error': sample_weight has shape [3], expected [4]"));
  const Mask bad_mask({4, 5});
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        mse->compute(Tensor<float>({4, 2}), Tensor<float>({4, 2}), nullptr, &bad_mask);
      },
      "loss 'mean_squared_error': the mask of y_pred has shape [4, 5], expected [4] (one entry per loss value)"));
  const auto scce = make_loss<float>("sparse_categorical_crossentropy");
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] {
        scce->compute(Tensor<float>({2}, {0.0f, 3.0f}), Tensor<float>({2, 3}, 0.3f));
      },
      "loss 'sparse_categorical_crossentropy': y_true[1] = 3 is not a class id in [0, 3) (y_pred has 3 classes)"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        scce->compute(Tensor<float>({2, 3}), Tensor<float>({2, 3}, 0.3f));
      },
      "loss 'sparse_categorical_crossentropy': y_true has shape [2, 3], expected class ids of shape [2] (or with a "
      "trailing 1) to match y_pred of shape [2, 3]"));
}

}  // namespace
}  // namespace rnnx
