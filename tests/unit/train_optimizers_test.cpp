// Optimizers (train/optimizer.h, sgd.h, adam.h, rmsprop.h, adagrad.h) against naive
// re-statements of the Keras update formulas over several steps, in double; clipping, weight
// decay, schedules and the iteration counter, constraints after the update, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "layer_test_helpers.h"
#include "rnnx/core/error.h"
#include "rnnx/train/adagrad.h"
#include "rnnx/train/adam.h"
#include "rnnx/train/rmsprop.h"
#include "rnnx/train/sgd.h"

namespace rnnx {
namespace {

using rnnx::test::random_tensor;
using rnnx::test::throws_with;

// Two weights with gradients, as a layer would expose them.
template <class T>
struct Weights {
  Tensor<T> w = random_tensor<T>({2, 3}, 1), gw = Tensor<T>(Shape{2, 3});
  Tensor<T> b = random_tensor<T>({3}, 2), gb = Tensor<T>(Shape{3});
  Tensor<T> frozen = random_tensor<T>({2}, 3), gfrozen = Tensor<T>(Shape{2}, T(1));
  std::vector<Param<T>> params() {
    return {{"dense/kernel", &w, &gw}, {"dense/bias", &b, &gb}, {"dense/frozen", &frozen, &gfrozen, false}};
  }
  // Gradients of step t, the same for every optimizer under test.
  void set_grads(int t) {
    gw = random_tensor<T>({2, 3}, 100 + uint64_t(t), -2, 2);
    gb = random_tensor<T>({3}, 200 + uint64_t(t), -2, 2);
  }
};

// A naive optimizer: the update of one flat variable given its gradient, lr and step t (1-based).
using NaiveStep =
    std::function<void(std::vector<double>& w, const std::vector<double>& g, double lr, int t, size_t var)>;

std::vector<double> flat(const Tensor<double>& t) { return {t.values().begin(), t.values().end()}; }

// Runs `steps` updates of both the optimizer and the naive version and compares the weights.
void expect_matches_naive(Optimizer<double>& opt, NaiveStep naive, int steps, std::function<double(int)> lr_at,
                          const std::string& what) {
  Weights<double> ws;
  std::vector<std::vector<double>> ref = {flat(ws.w), flat(ws.b)};
  const std::vector<double> frozen = flat(ws.frozen);
  for (int t = 1; t <= steps; ++t) {
    ws.set_grads(t);
    const std::vector<std::vector<double>> grads = {flat(ws.gw), flat(ws.gb)};
    EXPECT_NEAR(opt.learning_rate(), lr_at(t - 1), 1e-9) << what;
    opt.apply(ws.params());
    for (size_t v = 0; v < 2; ++v) naive(ref[v], grads[v], lr_at(t - 1), t, v);
    EXPECT_EQ(opt.iterations(), t);
  }
  for (int64_t i = 0; i < ws.w.size(); ++i) EXPECT_NEAR(ws.w[i], ref[0][size_t(i)], 1e-12) << what << " kernel " << i;
  for (int64_t i = 0; i < ws.b.size(); ++i) EXPECT_NEAR(ws.b[i], ref[1][size_t(i)], 1e-12) << what << " bias " << i;
  EXPECT_EQ(flat(ws.frozen), frozen) << what << ": a non-trainable weight must not move";
}

// Keras stores a constant learning rate as float32.
double f32(double v) { return double(float(v)); }

TEST(Optimizers, SGDMatchesKerasFormula) {
  for (double momentum : {0.0, 0.9})
    for (bool nesterov : {false, true}) {
      SGD<double> opt({.learning_rate = 0.05, .momentum = momentum, .nesterov = nesterov});
      std::vector<std::vector<double>> vel(2, std::vector<double>(6, 0.0));
      auto naive = [&](std::vector<double>& w, const std::vector<double>& g, double lr, int, size_t var) {
        for (size_t i = 0; i < w.size(); ++i) {
          if (momentum == 0.0) {
            w[i] -= lr * g[i];
            continue;
          }
          vel[var][i] = momentum * vel[var][i] - lr * g[i];
          w[i] += nesterov ? momentum * vel[var][i] - lr * g[i] : vel[var][i];
        }
      };
      expect_matches_naive(
          opt, naive, 4, [](int) { return f32(0.05); }, "SGD");
    }
}

TEST(Optimizers, AdamAndAmsgradMatchKerasFormula) {
  for (bool amsgrad : {false, true}) {
    Adam<double> opt({.learning_rate = 0.01, .beta_1 = 0.8, .beta_2 = 0.95, .epsilon = 1e-6, .amsgrad = amsgrad});
    std::vector<std::vector<double>> m(2, std::vector<double>(6)), v = m, vhat = m;
    auto naive = [&](std::vector<double>& w, const std::vector<double>& g, double lr, int t, size_t var) {
      const double alpha = lr * std::sqrt(1 - std::pow(0.95, t)) / (1 - std::pow(0.8, t));
      for (size_t i = 0; i < w.size(); ++i) {
        m[var][i] = 0.8 * m[var][i] + 0.2 * g[i];
        v[var][i] = 0.95 * v[var][i] + 0.05 * g[i] * g[i];
        vhat[var][i] = std::max(vhat[var][i], v[var][i]);
        w[i] -= alpha * m[var][i] / (std::sqrt(amsgrad ? vhat[var][i] : v[var][i]) + 1e-6);
      }
    };
    expect_matches_naive(
        opt, naive, 5, [](int) { return f32(0.01); }, amsgrad ? "Adam amsgrad" : "Adam");
  }
}

TEST(Optimizers, AdamWDecaysWeightsBeforeTheAdamStep) {
  AdamW<double> opt;  // Keras defaults: lr 1e-3, weight_decay 0.004
  ASSERT_EQ(opt.options().weight_decay, 0.004);
  std::vector<std::vector<double>> m(2, std::vector<double>(6)), v = m;
  auto naive = [&](std::vector<double>& w, const std::vector<double>& g, double lr, int t, size_t var) {
    const double alpha = lr * std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
    for (size_t i = 0; i < w.size(); ++i) {
      w[i] -= w[i] * 0.004 * lr;
      m[var][i] += (g[i] - m[var][i]) * 0.1;
      v[var][i] += (g[i] * g[i] - v[var][i]) * (1 - 0.999);
      w[i] -= alpha * m[var][i] / (std::sqrt(v[var][i]) + 1e-7);
    }
  };
  expect_matches_naive(
      opt, naive, 4, [](int) { return f32(0.001); }, "AdamW");
}

TEST(Optimizers, RMSpropVariantsMatchKerasFormula) {
  for (double momentum : {0.0, 0.5})
    for (bool centered : {false, true}) {
      RMSprop<double> opt({.learning_rate = 0.01, .rho = 0.8, .momentum = momentum, .centered = centered});
      std::vector<std::vector<double>> vel(2, std::vector<double>(6)), mom = vel, avg = vel;
      auto naive = [&](std::vector<double>& w, const std::vector<double>& g, double lr, int, size_t var) {
        for (size_t i = 0; i < w.size(); ++i) {
          vel[var][i] = 0.8 * vel[var][i] + 0.2 * g[i] * g[i];
          double denom = vel[var][i] + 1e-7;
          if (centered) {
            avg[var][i] = 0.8 * avg[var][i] + 0.2 * g[i];
            denom = vel[var][i] - avg[var][i] * avg[var][i] + 1e-7;
          }
          const double inc = lr * g[i] / std::sqrt(denom);
          if (momentum > 0) {
            mom[var][i] = momentum * mom[var][i] + inc;
            w[i] -= mom[var][i];
          } else {
            w[i] -= inc;
          }
        }
      };
      expect_matches_naive(
          opt, naive, 4, [](int) { return f32(0.01); }, "RMSprop");
    }
}

TEST(Optimizers, AdagradMatchesKerasFormula) {
  Adagrad<double> opt({.learning_rate = 0.1, .initial_accumulator_value = 0.5});
  std::vector<std::vector<double>> acc(2, std::vector<double>(6, 0.5));
  auto naive = [&](std::vector<double>& w, const std::vector<double>& g, double lr, int, size_t var) {
    for (size_t i = 0; i < w.size(); ++i) {
      acc[var][i] += g[i] * g[i];
      w[i] -= lr * g[i] / std::sqrt(acc[var][i] + 1e-7);
    }
  };
  expect_matches_naive(
      opt, naive, 4, [](int) { return f32(0.1); }, "Adagrad");
}

TEST(Optimizers, ClippingPerVariableGlobalAndByValue) {
  auto norm = [](const std::vector<double>& g) {
    double s = 0;
    for (double x : g) s += x * x;
    return std::sqrt(s);
  };
  {  // clipnorm: each variable's gradient scaled to norm <= 0.5
    SGD<double> opt({.learning_rate = 1.0}, {.clipnorm = 0.5});
    auto naive = [&](std::vector<double>& w, const std::vector<double>& g, double lr, int, size_t) {
      const double n = norm(g);
      for (size_t i = 0; i < w.size(); ++i) w[i] -= lr * g[i] * 0.5 / std::max(n, 0.5);
    };
    expect_matches_naive(
        opt, naive, 3, [](int) { return 1.0; }, "clipnorm");
  }
  {  // global_clipnorm: one scale from the norm over both trainable variables
    SGD<double> opt({.learning_rate = 1.0}, {.global_clipnorm = 0.7});
    Weights<double> ws;
    ws.set_grads(1);
    std::vector<double> all = flat(ws.gw);
    for (double x : flat(ws.gb)) all.push_back(x);
    const double scale = 0.7 / std::max(norm(all), 0.7);
    const std::vector<double> w0 = flat(ws.w), b0 = flat(ws.b);
    opt.apply(ws.params());
    for (int64_t i = 0; i < ws.w.size(); ++i) EXPECT_NEAR(ws.w[i], w0[size_t(i)] - ws.gw[i] * scale, 1e-12);
    for (int64_t i = 0; i < ws.b.size(); ++i) EXPECT_NEAR(ws.b[i], b0[size_t(i)] - ws.gb[i] * scale, 1e-12);
  }
  {  // clipvalue
    SGD<double> opt({.learning_rate = 1.0}, {.clipvalue = 0.3});
    auto naive = [&](std::vector<double>& w, const std::vector<double>& g, double lr, int, size_t) {
      for (size_t i = 0; i < w.size(); ++i) w[i] -= lr * std::clamp(g[i], -0.3, 0.3);
    };
    expect_matches_naive(
        opt, naive, 3, [](int) { return 1.0; }, "clipvalue");
  }
}

TEST(Optimizers, WeightDecayOnAnyOptimizerAndExclusions) {
  SGD<double> opt({.learning_rate = 0.1}, {.weight_decay = 0.5, .exclude_from_weight_decay = {"bias"}});
  auto naive = [&](std::vector<double>& w, const std::vector<double>& g, double lr, int, size_t var) {
    for (size_t i = 0; i < w.size(); ++i) {
      if (var == 0) w[i] -= w[i] * 0.5 * lr;
      w[i] -= lr * g[i];
    }
  };
  expect_matches_naive(
      opt, naive, 3, [](int) { return f32(0.1); }, "SGD weight decay");
}

TEST(Optimizers, SchedulesAreEvaluatedAtTheIterationBeforeIncrement) {
  // Step t uses schedule(t - 1): the first update sees step 0.
  auto schedule =
      std::make_shared<PiecewiseConstantDecay>(std::vector<int64_t>{0, 2}, std::vector<double>{1.0, 0.5, 0.25});
  SGD<double> opt({.learning_rate = schedule});
  auto lr_at = [](int step) { return step <= 0 ? 1.0 : (step <= 2 ? 0.5 : 0.25); };
  auto naive = [&](std::vector<double>& w, const std::vector<double>& g, double lr, int, size_t) {
    for (size_t i = 0; i < w.size(); ++i) w[i] -= lr * g[i];
  };
  expect_matches_naive(opt, naive, 5, lr_at, "SGD with schedule");
  EXPECT_TRUE(throws_with<ConfigError>([&] { opt.set_learning_rate(0.1); },
                                       "SGD 'sgd': it was created with a LearningRateSchedule, so its learning rate is "
                                       "not settable"));
}

TEST(Optimizers, ConstraintsAreProjectedAfterTheUpdate) {
  Weights<double> ws;
  std::vector<Param<double>> ps = ws.params();
  ps[0].constraint = Constraint::make_non_neg();
  ws.set_grads(1);
  const std::vector<double> w0 = flat(ws.w);
  SGD<double> opt({.learning_rate = 1.0});
  opt.apply(ps);
  for (int64_t i = 0; i < ws.w.size(); ++i) EXPECT_EQ(ws.w[i], std::max(w0[size_t(i)] - ws.gw[i], 0.0));
}

TEST(Optimizers, FloatFollowsDouble) {
  Weights<float> wf;
  Weights<double> wd;
  Adam<float> of;
  Adam<double> od;
  for (int t = 1; t <= 3; ++t) {
    wf.set_grads(t);
    wd.set_grads(t);
    wd.w = wf.w.cast<double>();
    wd.b = wf.b.cast<double>();
    wd.gw = wf.gw.cast<double>();
    wd.gb = wf.gb.cast<double>();
    of.apply(wf.params());
    od.apply(wd.params());
    for (int64_t i = 0; i < wf.w.size(); ++i) EXPECT_NEAR(wf.w[i], wd.w[i], 1e-6);
  }
}

TEST(Optimizers, MakeOptimizerByNameWithKerasDefaults) {
  auto sgd = make_optimizer<float>("SGD");
  EXPECT_EQ(sgd->class_name(), "SGD");
  EXPECT_FLOAT_EQ(sgd->learning_rate(), 0.01f);
  auto adam = make_optimizer<float>("adam", {{"learning_rate", 0.02}, {"amsgrad", 1}, {"clipnorm", 1.0}});
  EXPECT_EQ(adam->class_name(), "Adam");
  EXPECT_FLOAT_EQ(adam->learning_rate(), 0.02f);
  EXPECT_TRUE(dynamic_cast<Adam<float>&>(*adam).adam_options().amsgrad);
  EXPECT_EQ(adam->options().clipnorm, 1.0);
  EXPECT_EQ(make_optimizer<float>("AdamW")->options().weight_decay, 0.004);
  EXPECT_FLOAT_EQ(make_optimizer<float>("rmsprop")->learning_rate(), 0.001f);
  EXPECT_EQ(
      dynamic_cast<Adagrad<float>&>(*make_optimizer<float>("adagrad")).adagrad_options().initial_accumulator_value,
      0.1);
}

TEST(Optimizers, Errors) {
  EXPECT_TRUE(
      throws_with<ConfigError>([] { make_optimizer<float>("adadelta"); },
                               "unknown optimizer 'adadelta', expected one of sgd, adam, adamw, rmsprop, adagrad"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [] {
        make_optimizer<float>("adam", {{"momentum", 0.9}});
      },
      "optimizer 'adam': argument(s) not recognized: momentum"));
  EXPECT_TRUE(throws_with<ConfigError>([] { SGD<float>({.learning_rate = -0.1}); },
                                       "optimizer 'sgd': learning_rate must be >= 0, got -0.1"));
  EXPECT_TRUE(throws_with<ConfigError>([] { SGD<float>({.momentum = 1.5}); },
                                       "optimizer 'sgd': momentum must be a float in [0, 1], got 1.5"));
  EXPECT_TRUE(
      throws_with<ConfigError>([] { Adam<float>({}, {.clipnorm = 1.0, .clipvalue = 1.0}); },
                               "optimizer 'adam': only one of clipnorm, clipvalue and global_clipnorm can be set"));
  EXPECT_TRUE(throws_with<ConfigError>([] { Adam<float>({}, {.weight_decay = -1.0}); },
                                       "optimizer 'adam': weight_decay must be >= 0, got -1.0"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [] {
        make_optimizer<float>("sgd", {{"nesterov", 2}});
      },
      "optimizer 'sgd': nesterov must be 0 or 1, got 2.0"));
  SGD<float> opt;
  EXPECT_TRUE(
      throws_with<ConfigError>([&] { opt.set_learning_rate(-1); }, "SGD 'sgd': learning_rate must be >= 0, got -1.0"));
  Weights<float> ws;
  opt.apply(ws.params());
  std::vector<Param<float>> fewer = {ws.params()[0]};
  EXPECT_TRUE(throws_with<StateError>([&] { opt.apply(fewer); }, "SGD 'sgd': built for 2 trainable variables, got 1"));
  Tensor<float> other({4}), other_grad({4});
  std::vector<Param<float>> reshaped = {ws.params()[0], {"dense/bias", &other, &other_grad}};
  EXPECT_TRUE(throws_with<StateError>([&] { opt.apply(reshaped); },
                                      "SGD 'sgd': trainable variable 1 ('dense/bias') has shape [4], but the optimizer "
                                      "was built for [3]"));
}

}  // namespace
}  // namespace rnnx
