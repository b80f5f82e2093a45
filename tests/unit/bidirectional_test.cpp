// Bidirectional (spec §4.1) against a manual combination of two RNN layers holding the
// same weights.
#include "rnnx/layers/bidirectional.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "recurrent_reference.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "support/close.h"

namespace rnnx {
namespace {

namespace ref = reference;
using rnnx::testing::all_close;
using ::testing::HasSubstr;

constexpr rnnx::testing::Tolerance kExact{0.0, 0.0};

template <class T>
LayerOutputs<T> run(Layer<T>& layer, const Tensor<T>& x, const Mask* mask = nullptr,
                    std::vector<const Tensor<T>*> initial_state = {}) {
  LayerInputs<T> in;
  in.inputs = {&x};
  in.mask = mask;
  in.initial_state = std::move(initial_state);
  return layer.call(in);
}

LSTMOptions lstm(int64_t units, bool sequences, bool state) {
  LSTMOptions o;
  o.units = units;
  o.return_sequences = sequences;
  o.return_state = state;
  return o;
}

// out[b, t, :] = x[b, T-1-t, :]
template <class T>
Tensor<T> flip_time(const Tensor<T>& x) {
  Tensor<T> out(x.shape());
  const int64_t b = x.dim(0), t = x.dim(1), d = x.dim(2);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t s = 0; s < t; ++s)
      for (int64_t k = 0; k < d; ++k) out[(i * t + s) * d + k] = x[(i * t + t - 1 - s) * d + k];
  return out;
}

template <class T>
Tensor<T> combine(MergeMode mode, const Tensor<T>& f, const Tensor<T>& b) {
  if (mode == MergeMode::concat) {
    Shape s = f.shape();
    const int64_t nf = f.dim(-1), nb = b.dim(-1), rows = f.size() / nf;
    s.back() = nf + nb;
    Tensor<T> out(s);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < nf; ++j) out[r * (nf + nb) + j] = f[r * nf + j];
      for (int64_t j = 0; j < nb; ++j) out[r * (nf + nb) + nf + j] = b[r * nb + j];
    }
    return out;
  }
  Tensor<T> out(f.shape());
  for (int64_t i = 0; i < f.size(); ++i)
    out[i] = mode == MergeMode::sum ? f[i] + b[i] : mode == MergeMode::ave ? (f[i] + b[i]) / T(2) : f[i] * b[i];
  return out;
}

template <class T>
void check_merge(MergeMode mode, bool sequences, bool state, bool masked) {
  const std::string what = merge_mode_name(mode) + " rs=" + std::to_string(sequences) + " st=" + std::to_string(state) +
                           " mask=" + std::to_string(masked);
  const Tensor<T> x = ref::random_tensor<T>({3, 5, 4}, 41);
  const Mask mask = ref::make_mask({{1, 1, 1, 0, 0}, {0, 1, 1, 1, 1}, {1, 0, 1, 1, 0}});
  const Mask* m = masked ? &mask : nullptr;
  LSTM<T> layer(lstm(3, sequences, state), "lstm");
  Bidirectional<T> bi(layer, mode);
  bi.build({x.shape()});
  ref::randomize_weights(bi, 90);
  const auto w = bi.get_weights();

  // The two directions by hand: zero_output_for_mask = return_sequences (forced by Keras).
  LSTMOptions fo = lstm(3, sequences, state);
  fo.zero_output_for_mask = sequences;
  LSTMOptions bo = fo;
  bo.go_backwards = true;
  LSTM<T> f(fo), b(bo);
  f.build({x.shape()});
  b.build({x.shape()});
  f.set_weights({w[0], w[1], w[2]});
  b.set_weights({w[3], w[4], w[5]});
  const auto yf = run(f, x, m).outputs, yb = run(b, x, m).outputs;
  const Tensor<T> b_aligned = sequences ? flip_time(yb[0]) : yb[0];

  const auto got = run(bi, x, m);
  size_t next = 0;
  if (mode == MergeMode::none) {
    EXPECT_TRUE(all_close(got.outputs[next++], yf[0], kExact, what + " forward"));
    EXPECT_TRUE(all_close(got.outputs[next++], b_aligned, kExact, what + " backward"));
  } else {
    EXPECT_TRUE(all_close(got.outputs[next++], combine(mode, yf[0], b_aligned), kExact, what + " merged"));
  }
  if (state) {
    for (size_t i = 1; i < 3; ++i) EXPECT_TRUE(all_close(got.outputs[next++], yf[i], kExact, what + " fwd state"));
    for (size_t i = 1; i < 3; ++i) EXPECT_TRUE(all_close(got.outputs[next++], yb[i], kExact, what + " bwd state"));
  }
  EXPECT_EQ(got.outputs.size(), next) << what;
  EXPECT_EQ(got.mask.empty(), !(sequences && masked)) << what;
  // compute_output_shapes agrees with the call.
  const auto shapes = bi.compute_output_shapes({x.shape()});
  ASSERT_EQ(shapes.size(), got.outputs.size()) << what;
  for (size_t i = 0; i < shapes.size(); ++i) EXPECT_EQ(shapes[i], got.outputs[i].shape()) << what << " " << i;
}

TEST(Bidirectional, MergeModesEqualManualCombination) {
  for (MergeMode mode : {MergeMode::concat, MergeMode::sum, MergeMode::ave, MergeMode::mul, MergeMode::none})
    for (bool rs : {false, true})
      for (bool st : {false, true})
        for (bool masked : {false, true}) {
          check_merge<float>(mode, rs, st, masked);
          check_merge<double>(mode, rs, st, masked);
        }
}

TEST(Bidirectional, SubLayersNamesOptionsAndParams) {
  LSTMOptions o = lstm(2, true, false);
  o.dropout = 0.1;
  LSTM<float> layer(o, "lstm");
  Bidirectional<float> bi(layer);
  EXPECT_EQ(bi.class_name(), "Bidirectional");
  EXPECT_EQ(bi.merge_mode(), MergeMode::concat);
  EXPECT_EQ(bi.forward_layer().name(), "forward_lstm");
  EXPECT_EQ(bi.backward_layer().name(), "backward_lstm");
  EXPECT_EQ(bi.forward_layer().class_name(), "LSTM");
  EXPECT_FALSE(bi.forward_layer().rnn_options().go_backwards);
  EXPECT_TRUE(bi.backward_layer().rnn_options().go_backwards);
  EXPECT_TRUE(bi.forward_layer().rnn_options().zero_output_for_mask);  // = return_sequences
  EXPECT_TRUE(bi.backward_layer().rnn_options().zero_output_for_mask);
  EXPECT_DOUBLE_EQ(bi.backward_layer().cell().dropout(), 0.1);
  EXPECT_FALSE(layer.built());  // the wrapped layer is only copied

  bi.build({{2, 3, 4}});
  const auto params = bi.params();
  ASSERT_EQ(params.size(), 6u);
  const auto fw = bi.forward_layer().params(), bw = bi.backward_layer().params();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(params[i].value, fw[i].value);
    EXPECT_EQ(params[3 + i].value, bw[i].value);
  }
  // The two directions start from different weights.
  EXPECT_NE(fw[0].value->storage(), bw[0].value->storage());

  // Names already prefixed are not prefixed twice; go_backwards is toggled, not forced.
  LSTMOptions gb = lstm(2, false, false);
  gb.go_backwards = true;
  LSTM<float> reversed(gb, "forward_x");
  Bidirectional<float> bi2(reversed);
  EXPECT_EQ(bi2.forward_layer().name(), "forward_x");
  EXPECT_TRUE(bi2.forward_layer().rnn_options().go_backwards);
  EXPECT_FALSE(bi2.backward_layer().rnn_options().go_backwards);
  EXPECT_FALSE(bi2.forward_layer().rnn_options().zero_output_for_mask);
}

TEST(Bidirectional, InitialStateIsSplitHalfAndHalf) {
  const Tensor<double> x = ref::random_tensor<double>({2, 4, 3}, 42);
  GRUOptions o;
  o.units = 3;
  o.return_state = true;
  GRU<double> layer(o, "gru");
  Bidirectional<double> bi(layer, MergeMode::sum);
  bi.build({x.shape()});
  const Tensor<double> hf = ref::random_tensor<double>({2, 3}, 43), hb = ref::random_tensor<double>({2, 3}, 44);
  const auto got = run(bi, x, nullptr, {&hf, &hb}).outputs;
  const auto f = run(bi.forward_layer(), x, nullptr, {&hf}).outputs;
  const auto b = run(bi.backward_layer(), x, nullptr, {&hb}).outputs;
  EXPECT_TRUE(all_close(got[1], f[1], kExact));
  EXPECT_TRUE(all_close(got[2], b[1], kExact));
  EXPECT_THAT(
      [&] {
        try {
          run(bi, x, nullptr, {&hf});
        } catch (const ShapeError& e) {
          return std::string(e.what());
        }
        return std::string();
      }(),
      HasSubstr("Bidirectional 'bidirectional': initial_state has 1 tensors, expected 2 (1 forward states, "
                "then 1 backward states)"));
}

TEST(Bidirectional, ExplicitBackwardLayerIsValidated) {
  LSTM<float> layer(lstm(2, true, false), "lstm");
  auto message = [&](LSTMOptions backward_options) {
    try {
      Bidirectional<float> bi(layer, MergeMode::concat, std::make_unique<LSTM<float>>(backward_options, "back"));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  LSTMOptions same = lstm(2, true, false);
  EXPECT_THAT(message(same), HasSubstr("forward and backward layers must have different go_backwards"));
  LSTMOptions b = lstm(2, false, false);
  b.go_backwards = true;
  EXPECT_THAT(message(b), HasSubstr("must have the same return_sequences, got true for the forward layer and false"));
  b = lstm(2, true, true);
  b.go_backwards = true;
  EXPECT_THAT(message(b), HasSubstr("same return_state"));
  b = lstm(2, true, false);
  b.go_backwards = true;
  b.stateful = true;
  EXPECT_THAT(message(b), HasSubstr("same stateful"));

  // A valid one is used as is (its own name, forced zero_output_for_mask).
  LSTMOptions ok = lstm(4, true, false);
  ok.go_backwards = true;
  Bidirectional<float> bi(layer, MergeMode::concat, std::make_unique<LSTM<float>>(ok, "back"));
  EXPECT_EQ(bi.backward_layer().name(), "back");
  EXPECT_TRUE(bi.backward_layer().rnn_options().zero_output_for_mask);
  EXPECT_EQ(bi.compute_output_shapes({{1, 3, 2}})[0], Shape({1, 3, 6}));  // 2 + 4 units
  Bidirectional<float> summed(layer, MergeMode::sum, std::make_unique<LSTM<float>>(ok, "back"));
  EXPECT_THROW(summed.compute_output_shapes({{1, 3, 2}}), ShapeError);

  auto built = std::make_unique<LSTM<float>>(ok, "back");
  built->build({{1, 3, 2}});
  EXPECT_THROW(Bidirectional<float>(layer, MergeMode::concat, std::move(built)), ConfigError);
}

TEST(Bidirectional, OwningConstructorAndMergeModeNames) {
  auto layer = std::make_unique<LSTM<float>>(lstm(2, false, false), "lstm");
  BidirectionalOptions o;
  o.merge_mode = MergeMode::ave;
  Bidirectional<float> bi(std::move(layer), o, nullptr, "bi");
  EXPECT_EQ(bi.forward_layer().name(), "forward_lstm");
  EXPECT_EQ(bi.backward_layer().name(), "backward_lstm");
  EXPECT_EQ(bi.merge_mode(), MergeMode::ave);
  EXPECT_EQ(merge_mode_from_name("concat"), MergeMode::concat);
  EXPECT_EQ(merge_mode_from_name("None"), MergeMode::none);
  EXPECT_EQ(merge_mode_name(MergeMode::mul), "mul");
  EXPECT_THROW(merge_mode_from_name("avg"), ConfigError);
}

TEST(Bidirectional, StatefulPassesThroughAndResets) {
  const Tensor<double> x = ref::random_tensor<double>({2, 3, 2}, 45);
  LSTMOptions o = lstm(2, false, false);
  o.stateful = true;
  LSTM<double> layer(o, "lstm");
  Bidirectional<double> bi(layer);
  const auto first = run(bi, x).outputs[0];
  EXPECT_TRUE(bi.forward_layer().rnn_options().stateful);
  const auto second = run(bi, x).outputs[0];
  EXPECT_NE(first.storage(), second.storage());
  bi.reset_states();
  EXPECT_TRUE(all_close(run(bi, x).outputs[0], first, kExact));
}

// ---- Backward (gradient values: tests/gradcheck/bidirectional_gradcheck_test.cpp). ----

LayerOutputs<double> train(Layer<double>& layer, const Tensor<double>& x) {
  LayerInputs<double> in;
  in.inputs = {&x};
  in.mode = Mode::training;
  return layer.call(in);
}

TEST(BidirectionalBackward, TapeAndErrors) {
  const Tensor<double> x = ref::random_tensor<double>({2, 3, 2}, 46);
  Bidirectional<double> bi(LSTM<double>(lstm(2, true, true), "lstm"), MergeMode::concat, nullptr, "bi");
  bi.build({x.shape()});
  const std::string none =
      "Bidirectional 'bi': backward without a training-mode call to undo (call it with Mode::training first; "
      "inference calls keep nothing)";
  try {
    bi.backward({});
    FAIL();
  } catch (const StateError& e) {
    EXPECT_EQ(std::string(e.what()), none);
  }
  run(bi, x);
  EXPECT_EQ(bi.forward_layer().tape_depth(), 0u);
  const auto out = train(bi, x).outputs;
  ASSERT_EQ(out.size(), 5u);  // merged, h_f, c_f, h_b, c_b
  EXPECT_EQ(bi.forward_layer().tape_depth(), 1u);
  EXPECT_EQ(bi.backward_layer().tape_depth(), 1u);
  try {
    bi.backward({Tensor<double>({2, 3, 4})});
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("Bidirectional 'bi': backward got 1 output gradient, expected 5"));
  }
  try {
    bi.backward({Tensor<double>({2, 3, 2}), {}, {}, {}, {}});
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the gradient of output 0 has shape [2, 3, 2], expected [2, 3, 4]"));
  }
  // A gradient on one backward-direction state only (empty = none); no initial_state was
  // given, so none comes back.
  const LayerGrads<double> g = bi.backward({{}, {}, {}, Tensor<double>({2, 2}, 1.0), {}});
  EXPECT_EQ(g.inputs.at(0).shape(), x.shape());
  EXPECT_TRUE(g.initial_state.empty());
  EXPECT_EQ(bi.forward_layer().tape_depth(), 0u);
  EXPECT_EQ(bi.backward_layer().tape_depth(), 0u);
  train(bi, x);
  bi.clear_tape();
  EXPECT_EQ(bi.forward_layer().tape_depth(), 0u);
  EXPECT_EQ(bi.backward_layer().tape_depth(), 0u);
  EXPECT_THROW(bi.backward({{}, {}, {}, {}, {}}), StateError);
}

TEST(BidirectionalBackward, AFailedTrainingCallLeavesNoTape) {
  // A backward_layer with other units: merge_mode sum fails after both directions ran.
  LSTMOptions b = lstm(3, true, false);
  b.go_backwards = true;
  Bidirectional<double> bi(LSTM<double>(lstm(2, true, false), "lstm"), MergeMode::sum,
                           std::make_unique<LSTM<double>>(b, "back"), "bi");
  const Tensor<double> x = ref::random_tensor<double>({2, 3, 2}, 47);
  EXPECT_THROW(train(bi, x), ShapeError);
  EXPECT_EQ(bi.forward_layer().tape_depth(), 0u);
  EXPECT_EQ(bi.backward_layer().tape_depth(), 0u);
  EXPECT_THROW(bi.backward({{}}), StateError);
}

}  // namespace
}  // namespace rnnx
