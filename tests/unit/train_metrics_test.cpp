// Metrics (train/metrics.h) against naive counts; Logs and History (train/logs.h).
#include <gtest/gtest.h>

#include "layer_test_helpers.h"
#include "rnnx/core/error.h"
#include "rnnx/train/logs.h"
#include "rnnx/train/metrics.h"

namespace rnnx {
namespace {

using rnnx::test::random_tensor;
using rnnx::test::throws_with;

TEST(Metrics, BinaryAccuracyThresholdsAtHalf) {
  auto m = make_metric<float>("binary_accuracy");
  m->update_state(Tensor<float>({4, 1}, {1, 0, 1, 0}), Tensor<float>({4, 1}, {0.9f, 0.2f, 0.5f, 0.7f}));
  EXPECT_DOUBLE_EQ(m->result(), 2.0 / 4.0);  // 0.5 is not > 0.5
  m->update_state(Tensor<float>({2, 1}, {1, 1}), Tensor<float>({2, 1}, {0.6f, 0.8f}));
  EXPECT_DOUBLE_EQ(m->result(), 4.0 / 6.0);  // running over batches
  m->reset_state();
  EXPECT_DOUBLE_EQ(m->result(), 0.0);
  EXPECT_EQ(m->direction(), MetricDirection::up);
}

TEST(Metrics, CategoricalAndSparseAccuracy) {
  const Tensor<float> p({3, 3}, {0.1f, 0.7f, 0.2f, 0.5f, 0.5f, 0.0f, 0.2f, 0.3f, 0.5f});
  auto cat = make_metric<float>("categorical_accuracy");
  cat->update_state(Tensor<float>({3, 3}, {0, 1, 0, 0, 1, 0, 0, 0, 1}), p);
  EXPECT_DOUBLE_EQ(cat->result(), 2.0 / 3.0);  // row 2: tie, argmax takes the first
  auto sparse = make_metric<float>("sparse_categorical_accuracy");
  sparse->update_state(Tensor<float>({3, 1}, {1, 0, 1}), p);
  EXPECT_DOUBLE_EQ(sparse->result(), 2.0 / 3.0);
}

TEST(Metrics, AccuracyIsResolvedFromShapes) {
  const Tensor<float> p({2, 3}, {0.1f, 0.7f, 0.2f, 0.6f, 0.3f, 0.1f});
  auto sparse = make_metric<float>("acc");
  sparse->update_state(Tensor<float>({2}, {1, 2}), p);
  EXPECT_DOUBLE_EQ(sparse->result(), 0.5);
  EXPECT_EQ(sparse->name(), "acc");
  auto cat = make_metric<float>("accuracy");
  cat->update_state(Tensor<float>({2, 3}, {0, 1, 0, 1, 0, 0}), p);
  EXPECT_DOUBLE_EQ(cat->result(), 1.0);
  auto bin = make_metric<float>("accuracy");
  bin->update_state(Tensor<float>({2, 1}, {1, 1}), Tensor<float>({2, 1}, {0.9f, 0.1f}));
  EXPECT_DOUBLE_EQ(bin->result(), 0.5);
}

TEST(Metrics, MaskedSequenceMetricAveragesOverUnmaskedSteps) {
  auto mse = make_metric<double>("mse");
  const Tensor<double> y = random_tensor<double>({2, 3, 2}, 1), p = random_tensor<double>({2, 3, 2}, 2);
  Mask mask({2, 3}, std::vector<uint8_t>{1, 1, 0, 1, 0, 0});
  mse->update_state(y, p, nullptr, &mask);
  double sum = 0;
  for (int64_t r = 0; r < 6; ++r)
    if (mask[r])
      sum += ((p[2 * r] - y[2 * r]) * (p[2 * r] - y[2 * r]) +
              (p[2 * r + 1] - y[2 * r + 1]) * (p[2 * r + 1] - y[2 * r + 1])) /
             2;
  EXPECT_NEAR(mse->result(), sum / 3.0, 1e-12);
  EXPECT_EQ(mse->direction(), MetricDirection::down);
}

TEST(Metrics, SampleWeightsGiveAWeightedMean) {
  auto mae = make_metric<double>("mae");
  const Tensor<double> y({3, 1}, {0, 0, 0}), p({3, 1}, {1, 2, 4});
  const Tensor<double> w({3}, {1, 0, 3});
  mae->update_state(y, p, &w);
  EXPECT_NEAR(mae->result(), (1 * 1 + 3 * 4) / 4.0, 1e-12);
}

TEST(Metrics, Errors) {
  EXPECT_TRUE(throws_with<ConfigError>([] { make_metric<float>("auc"); },
                                       "unknown metric 'auc', expected accuracy, acc, binary_accuracy, "
                                       "categorical_accuracy, sparse_categorical_accuracy, or a loss name (mse, mae, "
                                       "mean_squared_error, ...)"));
  auto m = make_metric<float>("categorical_accuracy");
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        m->update_state(Tensor<float>({2, 4}), Tensor<float>({2, 3}));
      },
      "metric 'categorical_accuracy': y_true has shape [2, 4], expected [2, 3] to match "
      "y_pred of shape [2, 3]"));
}

TEST(LogsAndHistory, KeepInsertionOrderAndNameMissingKeys) {
  Logs logs;
  logs.set("loss", 1.0);
  logs.set("acc", 0.5);
  logs.set("loss", 0.75);
  EXPECT_EQ(logs.keys(), (std::vector<std::string>{"loss", "acc"}));
  EXPECT_EQ(logs.at("loss"), 0.75);
  EXPECT_TRUE(throws_with<ConfigError>([&] { logs.at("val_loss"); }, "logs have no 'val_loss'; available: loss, acc"));
  History h;
  h.append(0, logs);
  logs.set("learning_rate", 0.1);
  h.append(1, logs);
  EXPECT_EQ(h.epochs(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(h.at("loss"), (std::vector<double>{0.75, 0.75}));
  EXPECT_EQ(h.at("learning_rate"), (std::vector<double>{0.1}));
  EXPECT_TRUE(throws_with<ConfigError>([&] { h.at("x"); }, "history has no 'x'; available: loss, acc, learning_rate"));
}

}  // namespace
}  // namespace rnnx
