// RecurrentStream (layers/recurrent_stream.h): stepping streams one step at a time gives the
// outputs and states of one layer call over the whole sequence, for LSTM, GRU (both forms)
// and SimpleRNN, several streams at once; reset and the errors.
#include "rnnx/layers/recurrent_stream.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/simple_rnn.h"

namespace rnnx {
namespace {

std::unique_ptr<RNN<float>> make_layer(const std::string& kind) {
  if (kind == "lstm") {
    LSTMOptions o;
    o.units = 7, o.return_sequences = true, o.return_state = true;
    return std::make_unique<LSTM<float>>(o);
  }
  if (kind == "gru" || kind == "gru_reset_before") {
    GRUOptions o;
    o.units = 6, o.return_sequences = true, o.return_state = true, o.reset_after = kind == "gru";
    return std::make_unique<GRU<float>>(o);
  }
  SimpleRNNOptions o;
  o.units = 5, o.return_sequences = true, o.return_state = true;
  o.activation = Activation::from_name("relu");
  return std::make_unique<SimpleRNN<float>>(o);
}

TEST(RecurrentStream, StepsMatchOneLayerCall) {
  const int64_t streams = 3, steps = 6, features = 4;
  Tensor<float> x(Shape{streams, steps, features});
  Rng rng(2);
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng.uniform(-1, 1));
  for (const std::string kind : {"lstm", "gru", "gru_reset_before", "simple"}) {
    SCOPED_TRACE(kind);
    auto layer = make_layer(kind);
    LayerInputs<float> in;
    in.inputs = {&x};
    const auto want = layer->call(in).outputs;  // [sequence, *final states]
    const int64_t out = layer->cell().output_size();
    RecurrentStream<float> stream(*layer, streams);
    EXPECT_EQ(stream.output_size(), out);
    for (int run = 0; run < 2; ++run) {  // the second run after reset(): the same numbers
      std::vector<float> frame(static_cast<size_t>(streams * features));
      for (int64_t t = 0; t < steps; ++t) {
        for (int64_t s = 0; s < streams; ++s)
          for (int64_t f = 0; f < features; ++f) frame[s * features + f] = x.at({s, t, f});
        const std::span<const float> y = stream.step(frame);
        for (int64_t s = 0; s < streams; ++s)
          for (int64_t j = 0; j < out; ++j)
            ASSERT_NEAR(y[s * out + j], want[0].at({s, t, j}), 1e-6) << "step " << t << " stream " << s;
      }
      for (size_t i = 1; i < want.size(); ++i) {
        const std::span<const float> st = stream.state(i - 1);
        for (int64_t k = 0; k < want[i].size(); ++k) ASSERT_NEAR(st[k], want[i][k], 1e-6) << "state " << i - 1;
      }
      stream.reset();
    }
  }
}

TEST(RecurrentStream, ResetStreamZeroesOnlyThatStream) {
  auto layer = make_layer("lstm");
  layer->build({Shape{2, 3, 4}});
  RecurrentStream<float> stream(*layer, 2);
  const std::vector<float> frame{0.5f, -1, 2, 0.25f, 1, 1, -0.5f, 0};
  stream.step(frame);
  stream.reset_stream(1);
  for (size_t i = 0; i < 2; ++i) {
    const auto st = stream.state(i);
    double first = 0, second = 0;
    for (int64_t k = 0; k < 7; ++k) first += std::abs(st[k]), second += std::abs(st[7 + k]);
    EXPECT_GT(first, 0.0);
    EXPECT_EQ(second, 0.0);
  }
}

TEST(RecurrentStream, Errors) {
  auto unbuilt = make_layer("gru");
  EXPECT_THROW(RecurrentStream<float>{*unbuilt}, StateError);
  LSTMOptions o;
  o.units = 3, o.go_backwards = true;
  LSTM<float> backwards(o);
  backwards.build({Shape{1, 2, 2}});
  EXPECT_THROW(RecurrentStream<float>{backwards}, ConfigError);
  auto layer = make_layer("simple");
  layer->build({Shape{1, 2, 4}});
  EXPECT_THROW((RecurrentStream<float>{*layer, 0}), ShapeError);
  RecurrentStream<float> stream(*layer, 2);
  EXPECT_THROW(stream.step(std::vector<float>(4)), ShapeError);
  EXPECT_THROW(stream.reset_stream(2), ShapeError);
  EXPECT_THROW(stream.state(1), ShapeError);
}

}  // namespace
}  // namespace rnnx
