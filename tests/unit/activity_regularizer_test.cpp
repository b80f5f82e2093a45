// Activity regularizers in a model run and in training (spec §3.9): Model::activity_loss()
// sums the penalty of every tensor a regularized node returns (states included), divided by
// the batch size; nested models count; the Trainer adds it to the loss (fit and evaluate)
// and a bare layer trained directly behaves like the same layer inside a model. The
// gradient itself is checked by tests/gradcheck (ModelGradcheck.ActivityRegularizers...)
// and the numbers against Keras by the training goldens (reg_activity_*).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "layer_test_helpers.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/model/model.h"
#include "rnnx/model/sequential.h"
#include "rnnx/train/losses.h"
#include "rnnx/train/regularization.h"
#include "rnnx/train/sgd.h"
#include "rnnx/train/trainer.h"

namespace rnnx {
namespace {

using test::random_tensor;

LSTMOptions lstm_options(Regularizer activity) {
  LSTMOptions o;
  o.units = 3;
  o.return_sequences = true;
  o.return_state = true;
  o.activity_regularizer = activity;
  return o;
}

// x -> LSTM(3, return_sequences, return_state) -> Dense(2) on the sequence; outputs
// [dense, lstm out, h, c] so the test sees every tensor the two layers return.
std::unique_ptr<Model<double>> lstm_dense_model(Regularizer lstm_activity, Regularizer dense_activity) {
  auto m = std::make_unique<Model<double>>();
  m->set_seed(5);
  auto x = m->input({-1, 4, 2});
  auto y = m->call(std::make_shared<LSTM<double>>(lstm_options(lstm_activity)), {x});
  auto d = m->call(
      std::make_shared<Dense<double>>(DenseOptions{.units = 2, .activity_regularizer = dense_activity}), {y[0]});
  m->set_outputs({d[0], y[0], y[1], y[2]});
  return m;
}

// The batch twice over: [x; x].
Tensor<double> doubled(const Tensor<double>& x) {
  Shape s = x.shape();
  s[0] *= 2;
  std::vector<double> v(x.values().begin(), x.values().end());
  v.insert(v.end(), x.values().begin(), x.values().end());
  return Tensor<double>(s, std::move(v));
}

TEST(ModelActivityLoss, SumsThePenaltyOfEveryReturnedTensor) {
  const Regularizer rl{0.3, 0.2}, rd{0.0, 0.7};
  auto m = lstm_dense_model(rl, rd);
  const Tensor<double> x = random_tensor<double>({3, 4, 2}, 11);
  EXPECT_EQ(m->activity_loss(), 0.0);  // before any run
  for (Mode mode : {Mode::inference, Mode::training}) {
    const auto out = m->run({x}, mode).outputs;
    m->clear_tape();
    const double want =
        activity_penalty(rl, std::vector<Tensor<double>>{out[1], out[2], out[3]}) + activity_penalty(rd, out[0]);
    EXPECT_GT(want, 0.0);
    EXPECT_NEAR(m->activity_loss(), want, 1e-12);
  }
  // Each penalty is divided by the batch size: the same samples twice give the same loss.
  const double once = m->activity_loss();
  m->run({doubled(x)});
  EXPECT_NEAR(m->activity_loss(), once, 1e-12);
  // Without activity regularizers there is none.
  auto plain = lstm_dense_model({}, {});
  plain->run({x});
  EXPECT_EQ(plain->activity_loss(), 0.0);
}

TEST(ModelActivityLoss, NestedModelsCount) {
  auto inner = std::make_shared<Sequential<double>>(
      std::vector<std::shared_ptr<Layer<double>>>{
          std::make_shared<Dense<double>>(DenseOptions{.units = 3, .activity_regularizer = {0.1, 0.0}})},
      "inner");
  inner->build(Shape{-1, 2});
  Model<double> outer;
  auto x = outer.input({-1, 2});
  outer.set_outputs({outer.call(std::make_shared<Dense<double>>(DenseOptions{.units = 1}), outer.call(inner, {x}))[0]});
  const Tensor<double> v = random_tensor<double>({4, 2}, 3);
  outer.run({v});
  EXPECT_GT(inner->activity_loss(), 0.0);
  EXPECT_NEAR(outer.activity_loss(), inner->activity_loss(), 1e-15);
}

// One SGD step of `layer` (a bare LSTM or a model of it) on mse of its first output; the
// states get no loss, only their activity penalty.
Logs one_step(Layer<double>& layer, const Tensor<double>& x, const Tensor<double>& y) {
  Trainer<double> t(layer);
  CompileOptions<double> o;
  o.loss = {std::shared_ptr<const Loss<double>>(make_loss<double>("mse")), nullptr, nullptr};
  o.optimizer = std::make_shared<SGD<double>>(SGDOptions{.learning_rate = 0.5});
  t.compile(std::move(o));
  const Tensor<double> unused = random_tensor<double>({x.dim(0), 3}, 1);
  const Logs test = t.test_on_batch({x}, {y, unused, unused});
  const Logs train = t.train_on_batch({x}, {y, unused, unused});
  EXPECT_NEAR(test.at("loss"), train.at("loss"), 1e-12);  // evaluate counts the penalty too
  return train;
}

TEST(TrainerActivityLoss, BareLayerTrainsLikeTheSameLayerInAModel) {
  const Regularizer r{0.05, 0.3};
  const Tensor<double> x = random_tensor<double>({3, 4, 2}, 21), y = random_tensor<double>({3, 4, 3}, 22);

  LSTM<double> bare(lstm_options(r));
  bare.set_seed(9);
  bare.build({x.shape()});
  auto model_of = [&](const Regularizer& activity) {
    auto m = std::make_unique<Model<double>>();
    auto in = m->input({-1, 4, 2});
    auto lstm = std::make_shared<LSTM<double>>(lstm_options(activity));
    lstm->set_seed(9);
    m->set_outputs(m->call(lstm, {in}));
    return m;
  };
  auto in_model = model_of(r);
  auto unregularized = model_of({});
  const auto w0 = bare.get_weights()[0], m0 = in_model->get_weights()[0];
  ASSERT_TRUE(std::equal(w0.values().begin(), w0.values().end(), m0.values().begin(), m0.values().end()));

  const double bare_loss = one_step(bare, x, y).at("loss");
  const double model_loss = one_step(*in_model, x, y).at("loss");
  const double plain_loss = one_step(*unregularized, x, y).at("loss");
  EXPECT_NEAR(bare_loss, model_loss, 1e-12);
  EXPECT_GT(bare_loss - plain_loss, 0.01);  // the penalty is in the loss ...
  const auto wb = bare.get_weights(), wm = in_model->get_weights(), wp = unregularized->get_weights();
  double moved = 0.0;
  for (size_t i = 0; i < wb.size(); ++i)
    for (int64_t k = 0; k < wb[i].size(); ++k) {
      EXPECT_NEAR(wb[i][k], wm[i][k], 1e-12) << "weight " << i << " element " << k;
      moved = std::max(moved, std::abs(wb[i][k] - wp[i][k]));
    }
  EXPECT_GT(moved, 1e-4);  // ... and in the gradient
}

}  // namespace
}  // namespace rnnx
