// The trainer (train/trainer.h): one step against a naive SGD step, fit's batching,
// validation split, class weights, regularizers and constraints, masked sequence outputs,
// determinism, models with several outputs, progress output and errors.
#include <gtest/gtest.h>

#include <iostream>
#include <sstream>

#include "rnnx/layers/dense.h"
#include "rnnx/layers/dropout.h"
#include "rnnx/layers/input_layer.h"
#include "rnnx/model/model.h"
#include "rnnx/model/sequential.h"
#include "rnnx/train/progress.h"
#include "rnnx/train/sgd.h"
#include "rnnx/train/trainer.h"
#include "train_test_helpers.h"

namespace rnnx {
namespace {

using rnnx::test::random_tensor;
using rnnx::test::TestLinear;
using rnnx::test::throws_with;

FitOptions<double> quiet(FitOptions<double> o = {}) {
  o.verbose = 0;
  return o;
}

// One naive SGD step of y = xW + b under mean squared error (sum_over_batch_size over rows),
// plus an optional L2 kernel penalty; returns the loss before the update.
double naive_sgd_step(Tensor<double>& w, Tensor<double>& b, const Tensor<double>& x, const Tensor<double>& y, double lr,
                      double l2 = 0.0) {
  const int64_t d = w.dim(0), u = w.dim(1), rows = x.size() / d;
  Tensor<double> dw(w.shape()), db(b.shape());
  double loss = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < u; ++j) {
      double p = b[j];
      for (int64_t k = 0; k < d; ++k) p += x[r * d + k] * w[k * u + j];
      const double e = p - y[r * u + j];
      loss += e * e / double(u * rows);
      const double g = 2 * e / double(u * rows);
      db[j] += g;
      for (int64_t k = 0; k < d; ++k) dw[k * u + j] += x[r * d + k] * g;
    }
  for (int64_t i = 0; i < w.size(); ++i) {
    loss += l2 * w[i] * w[i];
    dw[i] += 2 * l2 * w[i];
  }
  const double lr32 = double(float(lr));
  for (int64_t i = 0; i < w.size(); ++i) w[i] -= lr32 * dw[i];
  for (int64_t i = 0; i < b.size(); ++i) b[i] -= lr32 * db[i];
  return loss;
}

TEST(Trainer, TrainOnBatchIsOneKerasStep) {
  TestLinear<double> layer(3, 2, 1);
  layer.kernel_regularizer = Regularizer::make_l2(0.05);
  Trainer<double> t(layer);
  t.compile(make_loss<double>("mse"), std::make_shared<SGD<double>>(SGDOptions{.learning_rate = 0.1}));
  const Tensor<double> x = random_tensor<double>({4, 3}, 2), y = random_tensor<double>({4, 2}, 3);
  Tensor<double> w = layer.get_weights()[0], b = layer.get_weights()[1];
  for (int step = 0; step < 3; ++step) {
    const double want = naive_sgd_step(w, b, x, y, 0.1, 0.05);
    const Logs logs = t.train_on_batch(x, y);
    EXPECT_NEAR(logs.at("loss"), want, 1e-12);
  }
  for (int64_t i = 0; i < w.size(); ++i) EXPECT_NEAR(layer.get_weights()[0][i], w[i], 1e-12);
  for (int64_t i = 0; i < b.size(); ++i) EXPECT_NEAR(layer.get_weights()[1][i], b[i], 1e-12);
  EXPECT_EQ(t.optimizer().iterations(), 3);
  EXPECT_EQ(layer.tape_size(), 0u);
}

TEST(Trainer, FitWithoutShuffleRunsConsecutiveBatchesIncludingAPartialOne) {
  const Tensor<double> x = random_tensor<double>({10, 3}, 4), y = random_tensor<double>({10, 2}, 5);
  TestLinear<double> a(3, 2, 7), b(3, 2, 7);
  Trainer<double> ta(a), tb(b);
  ta.compile("mse", "sgd");
  tb.compile("mse", "sgd");
  const History h = ta.fit(x, y, quiet({.batch_size = 4, .epochs = 2, .shuffle = false}));
  const std::vector<std::pair<int64_t, int64_t>> batches = {{0, 4}, {4, 8}, {8, 10}};
  for (int epoch = 0; epoch < 2; ++epoch) {
    double weighted = 0;
    for (auto [lo, hi] : batches) {
      Tensor<double> xb({hi - lo, 3}), yb({hi - lo, 2});
      for (int64_t i = 0; i < xb.size(); ++i) xb[i] = x[lo * 3 + i];
      for (int64_t i = 0; i < yb.size(); ++i) yb[i] = y[lo * 2 + i];
      weighted += tb.train_on_batch(xb, yb).at("loss") * double(hi - lo);
    }
    EXPECT_NEAR(h.at("loss")[size_t(epoch)], weighted / 10.0, 1e-12);  // batch-size-weighted mean
  }
  EXPECT_EQ(a.get_weights()[0].storage(), b.get_weights()[0].storage());
  EXPECT_EQ(h.epochs(), (std::vector<int64_t>{0, 1}));
}

TEST(Trainer, ValidationSplitTakesTheLastSamplesBeforeShuffling) {
  const Tensor<double> x = random_tensor<double>({8, 3}, 6), y = random_tensor<double>({8, 2}, 7);
  TestLinear<double> a(3, 2, 8), b(3, 2, 8);
  Trainer<double> ta(a), tb(b);
  ta.compile("mse", "sgd", {"mae"});
  tb.compile("mse", "sgd", {"mae"});
  // floor(8 * 0.75) = 6 samples train; the last 2 validate.
  const History h = ta.fit(x, y, quiet({.batch_size = 3, .validation_split = 0.25, .seed = 3}));
  Tensor<double> x6({6, 3}), y6({6, 2}), xv({2, 3}), yv({2, 2});
  for (int64_t i = 0; i < 18; ++i) x6[i] = x[i];
  for (int64_t i = 0; i < 12; ++i) y6[i] = y[i];
  for (int64_t i = 0; i < 6; ++i) xv[i] = x[18 + i];
  for (int64_t i = 0; i < 4; ++i) yv[i] = y[12 + i];
  tb.fit(x6, y6, quiet({.batch_size = 3, .seed = 3}));
  EXPECT_EQ(a.get_weights()[0].storage(), b.get_weights()[0].storage());
  const Logs val = tb.evaluate(xv, yv, {.verbose = 0});
  EXPECT_EQ(h.keys(), (std::vector<std::string>{"loss", "mae", "val_loss", "val_mae"}));
  EXPECT_DOUBLE_EQ(h.at("val_loss")[0], val.at("loss"));
  EXPECT_DOUBLE_EQ(h.at("val_mae")[0], val.at("mae"));
}

TEST(Trainer, ClassWeightEqualsTheSampleWeightsItImplies) {
  const Tensor<double> x = random_tensor<double>({6, 3}, 9);
  const Tensor<double> y({6, 1}, {0, 1, 1, 0, 2, 1});
  TestLinear<double> a(3, 1, 10), b(3, 1, 10);
  Trainer<double> ta(a), tb(b);
  ta.compile("mse", "sgd");
  tb.compile("mse", "sgd");
  ta.fit(x, y, quiet({.batch_size = 4, .seed = 1, .class_weight = {{1, 3.0}, {2, 0.5}}}));
  tb.fit(x, y, quiet({.batch_size = 4, .seed = 1, .sample_weight = Tensor<double>({6}, {1, 3, 3, 1, 0.5, 3})}));
  EXPECT_EQ(a.get_weights()[0].storage(), b.get_weights()[0].storage());
}

TEST(Trainer, ConstraintsAreAppliedAfterEachUpdate) {
  TestLinear<double> layer(3, 2, 11);
  layer.kernel_constraint = Constraint::make_non_neg();
  Trainer<double> t(layer);
  t.compile(make_loss<double>("mse"), std::make_shared<SGD<double>>(SGDOptions{.learning_rate = 0.5}));
  const Tensor<double> x = random_tensor<double>({4, 3}, 12), y = random_tensor<double>({4, 2}, 13, -3, 3);
  Tensor<double> w = layer.get_weights()[0], b = layer.get_weights()[1];
  naive_sgd_step(w, b, x, y, 0.5);
  t.train_on_batch(x, y);
  for (int64_t i = 0; i < w.size(); ++i) EXPECT_NEAR(layer.get_weights()[0][i], std::max(w[i], 0.0), 1e-12);
}

TEST(Trainer, MaskedSequenceOutputsAverageTheLossOverUnmaskedSteps) {
  TestLinear<double> layer(2, 2, 14, /*mask_zero_rows=*/true);
  Trainer<double> t(layer);
  t.compile("mse", "sgd", {"mae"});
  Tensor<double> x = random_tensor<double>({2, 3, 2}, 15);
  for (int64_t i : {4, 5, 8, 9, 10, 11}) x[i] = 0;  // sample 0: 2 real steps, sample 1: 1
  const Tensor<double> y = random_tensor<double>({2, 3, 2}, 16);
  const Tensor<double> pred = t.predict(x);
  double sse = 0;
  for (int64_t r : {0, 1, 3})
    for (int64_t j = 0; j < 2; ++j) sse += (pred[r * 2 + j] - y[r * 2 + j]) * (pred[r * 2 + j] - y[r * 2 + j]) / 2;
  EXPECT_NEAR(t.test_on_batch(x, y).at("loss"), sse / 3, 1e-12);
}

// Two Dense layers with dropout between them: randomness in both shuffling and the layers.
std::unique_ptr<Sequential<double>> small_model() {
  auto m = std::make_unique<Sequential<double>>();
  m->add(std::make_shared<InputLayer<double>>(Shape{-1, 4}));
  m->add(std::make_shared<Dense<double>>(DenseOptions{.units = 5, .activation = Activation::from_name("tanh")}));
  m->add(std::make_shared<Dropout<double>>(DropoutOptions{.rate = 0.3}));
  m->add(std::make_shared<Dense<double>>(DenseOptions{.units = 2}));
  return m;
}

TEST(Trainer, SameSeedGivesABitIdenticalRun) {
  const Tensor<double> x = random_tensor<double>({20, 4}, 17), y = random_tensor<double>({20, 2}, 18);
  double before = 0, after = 0;  // the loss without dropout, before and after fit
  auto run = [&](uint64_t seed) {
    auto m = small_model();
    Trainer<double> t(*m);
    t.compile("mse", "adam", {"mae"});
    before = *t.evaluate(x, y, {.verbose = 0}).get("loss");
    const History h = t.fit(x, y, quiet({.batch_size = 6, .epochs = 3, .validation_split = 0.2, .seed = seed}));
    after = *t.evaluate(x, y, {.verbose = 0}).get("loss");
    return std::make_pair(m->get_weights(), h.at("loss"));
  };
  const auto a = run(5), b = run(5), c = run(6);
  ASSERT_EQ(a.first.size(), b.first.size());
  for (size_t i = 0; i < a.first.size(); ++i) EXPECT_EQ(a.first[i].storage(), b.first[i].storage()) << "weight " << i;
  EXPECT_EQ(a.second, b.second);
  EXPECT_NE(a.first[0].storage(), c.first[0].storage());  // another seed shuffles differently
  // And it learns. (Compared without dropout: 9 small Adam steps move the training loss less
  // than the dropout masks of an epoch do.)
  EXPECT_LT(after, before);
}

TEST(Trainer, PredictIsBatchedAndEqualsOneCall) {
  auto m = small_model();
  Trainer<double> t(*m);
  const Tensor<double> x = random_tensor<double>({7, 4}, 19);
  const Tensor<double> all = m->predict(x), batched = t.predict(x, 3);
  EXPECT_EQ(all.shape(), batched.shape());
  for (int64_t i = 0; i < all.size(); ++i) EXPECT_NEAR(all[i], batched[i], 1e-12);
}

TEST(Trainer, SeveralOutputsGetPerOutputLossesAndPrefixedMetrics) {
  Model<double> m;
  auto in = m.input({-1, 3});
  auto a = m.call(std::make_shared<Dense<double>>(DenseOptions{.units = 2}, "head_a"), {in});
  auto b = m.call(std::make_shared<Dense<double>>(DenseOptions{.units = 1}, "head_b"), {in});
  m.set_outputs({a[0], b[0]});
  Trainer<double> t(m);
  CompileOptions<double> o;
  o.loss = {make_loss<double>("mse"), make_loss<double>("mae")};
  o.optimizer = make_optimizer<double>("sgd");
  o.metrics = {{}, {make_metric<double>("mse")}};
  o.loss_weights = {1.0, 0.5};
  t.compile(o);
  const Tensor<double> x = random_tensor<double>({5, 3}, 20);
  const std::vector<Tensor<double>> ys = {random_tensor<double>({5, 2}, 21), random_tensor<double>({5, 1}, 22)};
  const std::vector<Tensor<double>> pred = t.predict(std::vector<Tensor<double>>{x});
  const double la = make_loss<double>("mse")->compute(ys[0], pred[0]).loss;
  const double lb = make_loss<double>("mae")->compute(ys[1], pred[1]).loss;
  const Logs logs = t.test_on_batch({x}, ys);
  EXPECT_EQ(logs.keys(), (std::vector<std::string>{"loss", "head_a_loss", "head_b_loss", "head_b_mse"}));
  EXPECT_NEAR(logs.at("loss"), la + 0.5 * lb, 1e-12);
  EXPECT_NEAR(logs.at("head_b_loss"), lb, 1e-12);
  const History h = t.fit({x}, ys, quiet({.epochs = 2}));
  EXPECT_EQ(h.at("head_a_loss").size(), 2u);
  EXPECT_EQ(t.direction_of("val_head_b_mse"), MetricDirection::down);
  EXPECT_EQ(t.direction_of("val_head_a_loss"), MetricDirection::down);
  EXPECT_FALSE(t.direction_of("whatever").has_value());
}

TEST(Trainer, ProgressOutput) {
  TestLinear<double> layer(3, 2, 23);
  Trainer<double> t(layer);
  t.compile("mse", "sgd", {"mae"});
  const Tensor<double> x = random_tensor<double>({10, 3}, 24), y = random_tensor<double>({10, 2}, 25);
  {  // one line per epoch when not on a terminal
    std::ostringstream out;
    t.fit(x, y, {.batch_size = 4, .epochs = 2, .verbose = 1, .validation_split = 0.2, .progress = &out});
    const std::string s = out.str();
    EXPECT_EQ(s.rfind("Epoch 1/2\n2/2 - ", 0), 0u) << s;
    EXPECT_NE(s.find("s/step - loss: "), std::string::npos) << s;
    EXPECT_NE(s.find(" - mae: "), std::string::npos) << s;
    EXPECT_NE(s.find(" - val_loss: "), std::string::npos) << s;
    EXPECT_NE(s.find("\nEpoch 2/2\n"), std::string::npos) << s;
    EXPECT_EQ(s.find('\r'), std::string::npos) << s;
  }
  {  // the bar, forced on
    std::ostringstream out;
    t.fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 1, .progress = &out, .progress_dynamic = true});
    const std::string s = out.str();
    EXPECT_NE(s.find("\r\x1b[1m3/3\x1b[0m \x1b[32m"), std::string::npos) << s;
    EXPECT_NE(s.find("\u2501"), std::string::npos);
    EXPECT_EQ(s.back(), '\n');
    EXPECT_EQ(s.find("Epoch"), std::string::npos);  // one epoch: no header, as Keras
  }
  {  // verbose 0 writes nothing, not even to std::cout
    std::ostringstream captured;
    std::streambuf* old = std::cout.rdbuf(captured.rdbuf());
    t.fit(x, y, {.batch_size = 4, .epochs = 2, .verbose = 0});
    t.evaluate(x, y, {.verbose = 0});
    std::cout.rdbuf(old);
    EXPECT_EQ(captured.str(), "");
  }
  {  // evaluate prints one final line
    std::ostringstream out;
    t.evaluate(x, y, {.batch_size = 4, .verbose = 2, .progress = &out});
    EXPECT_EQ(out.str().rfind("3/3 - ", 0), 0u) << out.str();
  }
  EXPECT_FALSE(stream_is_terminal(std::cerr));
}

TEST(Trainer, Errors) {
  TestLinear<double> layer(3, 2, 26);
  Trainer<double> t(layer);
  const Tensor<double> x = random_tensor<double>({4, 3}, 27), y = random_tensor<double>({4, 2}, 28);
  EXPECT_TRUE(throws_with<StateError>([&] { t.fit(x, y); }, "fit: the trainer is not compiled; call compile() first"));
  EXPECT_TRUE(throws_with<ConfigError>([&] { t.compile("mse", "sgdd"); },
                                       "unknown optimizer 'sgdd', expected one of sgd, adam, adamw, rmsprop, adagrad"));
  EXPECT_TRUE(throws_with<ConfigError>([&] { t.compile("msee", "sgd"); },
                                       "unknown loss 'msee', expected one of mean_squared_error, mean_absolute_error, "
                                       "huber, binary_crossentropy, categorical_crossentropy, "
                                       "sparse_categorical_crossentropy (or mse, mae, or a class name)"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] { t.compile(make_loss<double>("mse", {.reduction = Reduction::none}), make_optimizer<double>("sgd")); },
      "compile: loss 'mean_squared_error' has reduction 'none'; training needs a scalar loss (use sum_over_batch_size "
      "or sum)"));
  t.compile("mse", "sgd");
  EXPECT_TRUE(
      throws_with<ConfigError>([&] { t.fit(x, y, quiet({.batch_size = 0})); }, "fit: batch_size must be > 0, got 0"));
  EXPECT_TRUE(
      throws_with<ConfigError>([&] { t.fit(x, y, quiet({.epochs = -1})); }, "fit: epochs must be >= 0, got -1"));
  EXPECT_TRUE(throws_with<ConfigError>([&] { t.fit(x, y, quiet({.validation_split = 1.0})); },
                                       "fit: validation_split must be in [0, 1), got 1.0"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] { t.fit(x, y, quiet({.validation_split = 0.8})); },
      "fit: 4 samples are not enough to split into training and validation sets with validation_split=0.8"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] {
        t.fit(x, y, quiet({.class_weight = {{0, 1.0}}, .sample_weight = Tensor<double>({4})}));
      },
      "fit: class_weight and sample_weight cannot be given together"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        t.fit(x, random_tensor<double>({5, 2}, 1), quiet());
      },
      "fit: y[0] has 5 samples, but x[0] has 4"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        t.fit(x, random_tensor<double>({4, 3}, 1), quiet());
      },
      "loss 'mean_squared_error': y_true has shape [4, 3], expected shape [4, 2] to "
      "match y_pred of shape [4, 2]"));
  EXPECT_EQ(layer.tape_size(), 0u);  // the failed step left no training call behind
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        t.fit({x}, {y, y}, quiet());
      },
      "TestLinear 'test_linear': got 2 target array(s) for 1 output(s)"));
  EXPECT_TRUE(throws_with<ConfigError>([&] { t.predict(x, 0); }, "predict: batch_size must be > 0, got 0"));
  EXPECT_TRUE(throws_with<ConfigError>([] { SGD<double>({.learning_rate = -0.01}); },
                                       "optimizer 'sgd': learning_rate must be >= 0, got -0.01"));
}

}  // namespace
}  // namespace rnnx
