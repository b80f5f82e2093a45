// Every user mistake on the recurrent layers and cells raises a typed error whose message
// names the layer and says what was expected and what was got (design.md, "Errors").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <memory>
#include <string>

#include "recurrent_reference.h"
#include "rnnx/cells/stacked_cells.h"
#include "rnnx/cells/tf1_cells.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/layers/simple_rnn.h"
#include "support/expect_error.h"

namespace rnnx {
namespace {

using ::testing::HasSubstr;
namespace ref = reference;

// Runs f, expects an exception of type E and returns its message (tests/support).
using rnnx::testing::error_of;

LayerOutputs<float> call(Layer<float>& layer, const Tensor<float>& x, const Mask* mask = nullptr,
                         std::vector<const Tensor<float>*> initial_state = {},
                         std::vector<const Tensor<float>*> constants = {}, Mode mode = Mode::inference) {
  LayerInputs<float> in;
  in.inputs = {&x};
  in.mask = mask;
  in.initial_state = std::move(initial_state);
  in.constants = std::move(constants);
  in.mode = mode;
  return layer.call(in);
}

LSTMOptions lstm(int64_t units) {
  LSTMOptions o;
  o.units = units;
  return o;
}

TEST(RNNErrors, WrongFeatureCount) {
  LSTM<float> layer(lstm(4), "encoder");
  layer.build({{-1, -1, 8}});
  const Tensor<float> x({32, 100, 7});
  EXPECT_EQ(error_of<ShapeError>([&] { call(layer, x); }),
            "LSTM 'encoder': input has 7 features, expected 8 (input shape [32, 100, 7])");
  EXPECT_THAT(error_of<ShapeError>([&] {
                layer.compute_output_shapes({{1, 2, 7}});
              }),
              HasSubstr("input has 7 features, expected 8"));
  EXPECT_THAT(error_of<ShapeError>([&] { layer.build({{1, 2, 7}}); }), HasSubstr("input has 7 features, expected 8"));
}

TEST(RNNErrors, WrongRankStepsAndInputCount) {
  GRUOptions o;
  o.units = 2;
  GRU<float> layer(o, "g");
  EXPECT_EQ(error_of<ShapeError>([&] {
              call(layer, Tensor<float>({4, 3}));
            }),
            "GRU 'g': expected a 3-D input [batch, steps, features], got shape [4, 3]");
  EXPECT_THAT(error_of<ShapeError>([&] {
                layer.compute_output_shapes({{4, 3, 2, 1}});
              }),
              HasSubstr("expected a 3-D input"));
  EXPECT_THAT(error_of<ShapeError>([&] {
                layer.build({{4, 3, -1}});
              }),
              HasSubstr("GRU 'g': the number of input features must be known"));
  EXPECT_THAT(error_of<ShapeError>([&] {
                call(layer, Tensor<float>({4, 0, 2}));
              }),
              HasSubstr("GRU 'g': input has 0 steps (input shape [4, 0, 2])"));
  const Tensor<float> x({1, 2, 2});
  EXPECT_THAT(error_of<ShapeError>([&] {
                LayerInputs<float> in;
                in.inputs = {&x, &x};
                layer.call(in);
              }),
              HasSubstr("GRU 'g': expects exactly one input sequence, got 2"));
  EXPECT_THAT(error_of<ShapeError>([&] { layer.build({}); }), HasSubstr("build needs the shape"));
}

TEST(RNNErrors, InitialStateCountAndShape) {
  LSTM<float> layer(lstm(3), "enc");
  const Tensor<float> x({2, 4, 5}), h({2, 3}), bad({2, 4});
  EXPECT_EQ(error_of<ShapeError>([&] { call(layer, x, nullptr, {&h}); }),
            "LSTM 'enc': initial_state has 1 tensors, expected 2 (one per state, sizes [3, 3])");
  EXPECT_EQ(error_of<ShapeError>([&] {
              call(layer, x, nullptr, {&h, &bad});
            }),
            "LSTM 'enc': initial_state[1] has shape [2, 4], expected [2, 3]");
  EXPECT_THAT(error_of<ShapeError>([&] {
                call(layer, x, nullptr, {&h, nullptr});
              }),
              HasSubstr("initial_state[1] has shape (null)"));
}

TEST(RNNErrors, MaskShape) {
  LSTM<float> layer(lstm(3), "enc");
  const Tensor<float> x({2, 4, 5});
  const Mask mask({2, 3});
  EXPECT_EQ(error_of<ShapeError>([&] { call(layer, x, &mask); }),
            "LSTM 'enc': mask has shape [2, 3], expected [2, 4] (input shape [2, 4, 5])");
}

TEST(RNNErrors, InvalidOptions) {
  EXPECT_EQ(error_of<ConfigError>([] { LSTM<float>(lstm(0), "enc"); }),
            "LSTM 'enc': units must be a positive integer, got 0");
  GRUOptions g;
  g.units = -3;
  EXPECT_THAT(error_of<ConfigError>([&] { GRU<float>(g, "gru1"); }), HasSubstr("GRU 'gru1': units must be"));
  SimpleRNNOptions s;
  EXPECT_THAT(error_of<ConfigError>([&] { SimpleRNN<float> layer(s); }),
              HasSubstr("SimpleRNN 'simple_rnn': units must be a positive integer, got 0"));

  LSTMOptions o = lstm(2);
  o.implementation = 3;
  EXPECT_THAT(error_of<ConfigError>([&] { LSTM<float>(o, "enc"); }),
              HasSubstr("LSTM 'enc': implementation must be 1 or 2, got 3"));
  GRUOptions gi;
  gi.units = 2;
  gi.implementation = 0;
  EXPECT_THAT(error_of<ConfigError>([&] { GRU<float>(gi, "g"); }), HasSubstr("implementation must be 1 or 2, got 0"));

  for (double rate : {1.0, -0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    LSTMOptions d = lstm(2);
    d.dropout = rate;
    EXPECT_THAT(error_of<ConfigError>([&] { LSTM<float>(d, "enc"); }),
                HasSubstr("LSTM 'enc': dropout must be in [0, 1)"));
    SimpleRNNOptions r;
    r.units = 2;
    r.recurrent_dropout = rate;
    EXPECT_THAT(error_of<ConfigError>([&] { SimpleRNN<float>(r, "s"); }),
                HasSubstr("SimpleRNN 's': recurrent_dropout must be in [0, 1)"));
  }
  // Cells on their own name themselves.
  EXPECT_THAT(error_of<ConfigError>([] { LSTMCell<float>(LSTMCellOptions{}); }),
              HasSubstr("LSTMCell: units must be a positive integer, got 0"));
  // Unknown activations are rejected by name (Activation::from_name).
  EXPECT_THAT(error_of<ConfigError>([] { Activation::from_name("tanhh"); }), HasSubstr("unknown activation 'tanhh'"));
}

TEST(RNNErrors, TF1CellOptions) {
  TF1LSTMCellOptions o;
  EXPECT_THAT(error_of<ConfigError>([&] { TF1LSTMCell<float>{o}; }),
              HasSubstr("TF1LSTMCell: num_units must be a positive integer, got 0"));
  o.num_units = 2;
  o.num_proj = 0;
  EXPECT_THAT(error_of<ConfigError>([&] { TF1LSTMCell<float>{o}; }), HasSubstr("num_proj must be a positive"));
  o.num_proj = 1;
  o.cell_clip = -1.0;
  EXPECT_THAT(error_of<ConfigError>([&] { TF1LSTMCell<float>{o}; }), HasSubstr("cell_clip must be >= 0"));
  o.cell_clip.reset();
  o.proj_clip = -0.5;
  EXPECT_THAT(error_of<ConfigError>([&] { TF1LSTMCell<float>{o}; }), HasSubstr("proj_clip must be >= 0"));
  EXPECT_THAT(error_of<ConfigError>([] { TF1BasicLSTMCell<float>(-1); }), HasSubstr("num_units must be"));
}

TEST(RNNErrors, ConstantsForACellWithoutConstants) {
  LSTM<float> layer(lstm(2), "enc");
  const Tensor<float> x({2, 3, 4}), c({2, 5});
  EXPECT_EQ(error_of<ConfigError>([&] { call(layer, x, nullptr, {}, {&c}); }),
            "LSTM 'enc': its cell LSTMCell takes no constants, got 1");
  call(layer, x);  // builds without constants
  EXPECT_THAT(error_of<ConfigError>([&] { call(layer, x, nullptr, {}, {&c}); }),
              HasSubstr("its cell LSTMCell takes no constants, got 1"));
  const Tensor<float> bad({3, 5});
  EXPECT_THAT(error_of<ShapeError>([&] { call(layer, x, nullptr, {}, {&bad}); }),
              HasSubstr("constant 0 has shape [3, 5], expected [2, size]"));
  EXPECT_THAT(error_of<ShapeError>([&] {
                layer.build({{2, 3, 4}, {2}});
              }),
              HasSubstr("constant 0 must be [batch, size]"));
}

TEST(RNNErrors, StatefulBatchChange) {
  LSTMOptions o = lstm(2);
  o.stateful = true;
  LSTM<float> layer(o, "enc");
  call(layer, Tensor<float>({4, 2, 3}));
  EXPECT_EQ(error_of<StateError>([&] {
              call(layer, Tensor<float>({3, 2, 3}));
            }),
            "LSTM 'enc': stateful layer was built for batch size 4, got 3");
}

TEST(RNNErrors, FixedDropoutMasks) {
  LSTMOptions o = lstm(3);
  o.dropout = 0.5;
  LSTM<float> layer(o, "enc");
  EXPECT_EQ(error_of<ShapeError>([&] { layer.set_fixed_dropout_masks({}, {}); }),
            "LSTM 'enc': set_fixed_dropout_masks got 0 input and 0 recurrent masks, expected 1 and 0");
  layer.set_fixed_dropout_masks({Tensor<float>({2, 4}, 1.0f)}, {});
  const Tensor<float> x({2, 3, 5});
  EXPECT_EQ(error_of<ShapeError>([&] { call(layer, x, nullptr, {}, {}, Mode::training); }),
            "LSTM 'enc': fixed input dropout mask 0 has shape [2, 4], expected [2, 5]");
  call(layer, x);  // inference ignores the masks
}

TEST(RNNErrors, OptionsAfterBuildAndNullCells) {
  LSTM<float> layer(lstm(2), "enc");
  layer.build({{1, 2, 3}});
  EXPECT_EQ(error_of<StateError>([&] { layer.set_rnn_options(RNNOptions{}); }),
            "LSTM 'enc': options can only change before the layer is built");
  EXPECT_EQ(error_of<ConfigError>([] { RNN<float>(nullptr, {}, "r"); }), "RNN 'r': cell is null");
  EXPECT_EQ(error_of<ConfigError>([] { StackedCells<float>({}); }), "StackedRNNCells: needs at least one cell");
  std::vector<std::unique_ptr<Cell<float>>> cells;
  cells.push_back(nullptr);
  EXPECT_EQ(error_of<ConfigError>([&] { StackedCells<float>(std::move(cells)); }), "StackedRNNCells: cell 0 is null");
}

TEST(RNNErrors, SetWeightsChecksShapes) {
  LSTM<float> layer(lstm(2), "enc");
  layer.build({{1, 2, 3}});
  EXPECT_THAT(error_of<ShapeError>([&] {
                layer.set_weights({Tensor<float>({3, 8}), Tensor<float>({2, 8})});
              }),
              HasSubstr("set_weights expected 3 arrays, got 2"));
  EXPECT_THAT(error_of<ShapeError>([&] {
                layer.set_weights({Tensor<float>({3, 8}), Tensor<float>({2, 8}), Tensor<float>({6})});
              }),
              HasSubstr("weight 2 ('bias') has shape [8], got an array of shape [6]"));
}

// ---- Backward (layer.h contract, spec §2.5). ----

TEST(RNNErrors, BackwardWithoutATrainingCall) {
  LSTM<float> layer(lstm(2), "enc");
  const std::string want =
      "LSTM 'enc': backward without a training-mode call to undo (call it with Mode::training first; inference "
      "calls keep nothing)";
  layer.build({{2, 4, 3}});
  EXPECT_EQ(error_of<StateError>([&] { layer.backward({Tensor<float>({2, 2})}); }), want);
  const Tensor<float> x = ref::random_tensor<float>({2, 4, 3}, 3);
  call(layer, x);  // inference keeps nothing
  EXPECT_EQ(layer.tape_depth(), 0u);
  EXPECT_EQ(error_of<StateError>([&] { layer.backward({Tensor<float>({2, 2})}); }), want);
  call(layer, x, nullptr, {}, {}, Mode::training);
  EXPECT_EQ(layer.tape_depth(), 1u);
  layer.backward({Tensor<float>({2, 2})});
  EXPECT_EQ(error_of<StateError>([&] { layer.backward({Tensor<float>({2, 2})}); }), want);  // undone once only
  call(layer, x, nullptr, {}, {}, Mode::training);
  layer.clear_tape();
  EXPECT_EQ(error_of<StateError>([&] { layer.backward({Tensor<float>({2, 2})}); }), want);
}

TEST(RNNErrors, BackwardGradientCountAndShapes) {
  LSTMOptions o = lstm(2);
  o.return_sequences = true;
  o.return_state = true;
  LSTM<float> layer(o, "enc");
  const Tensor<float> x = ref::random_tensor<float>({2, 4, 3}, 3);
  call(layer, x, nullptr, {}, {}, Mode::training);
  EXPECT_EQ(error_of<ShapeError>([&] {
              layer.backward({Tensor<float>({2, 4, 2})});
            }),
            "LSTM 'enc': backward got 1 output gradient, expected 3 (one per output of the call)");
  EXPECT_EQ(error_of<ShapeError>([&] {
              layer.backward({Tensor<float>({2, 2}), Tensor<float>({2, 2}), Tensor<float>({2, 2})});
            }),
            "LSTM 'enc': the gradient of output 0 has shape [2, 2], expected [2, 4, 2] (the shape of that output)");
  EXPECT_EQ(error_of<ShapeError>([&] {
              layer.backward({Tensor<float>({2, 4, 2}), Tensor<float>(), Tensor<float>({3, 2})});
            }),
            "LSTM 'enc': the gradient of output 2 has shape [3, 2], expected [2, 2] (the shape of that output)");
  // A rejected backward keeps the call: a correct one still works (empty = no gradient).
  EXPECT_EQ(layer.tape_depth(), 1u);
  const LayerGrads<float> g = layer.backward({Tensor<float>({2, 4, 2}, 1.0f), Tensor<float>(), Tensor<float>()});
  EXPECT_EQ(g.inputs.at(0).shape(), x.shape());
  EXPECT_TRUE(g.initial_state.empty());
  EXPECT_TRUE(g.constants.empty());
}

// A user cell written for inference only (supports_backward() is false by default).
class InferenceOnlyCell : public Cell<float> {
 public:
  std::string class_name() const override { return "InferenceOnlyCell"; }
  std::vector<int64_t> state_sizes() const override { return {2}; }
  int64_t output_size() const override { return 2; }
  void build(int64_t input_size, const std::vector<int64_t>&, Rng&) override { input_size_ = input_size; }
  bool built() const override { return input_size_ > 0; }
  int64_t input_size() const override { return input_size_; }
  std::vector<Param<float>> params() override { return {}; }
  void step(const CellStep<float>& s) const override {
    for (int64_t i = 0; i < s.batch * 2; ++i) s.output[i] = s.new_states[0][i] = s.states[0][i] + 1.0f;
  }
  std::unique_ptr<Cell<float>> clone_config() const override { return std::make_unique<InferenceOnlyCell>(); }

 private:
  int64_t input_size_ = 0;
};

TEST(RNNErrors, BackwardNeedsACellWithBackward) {
  RNN<float> layer(std::make_unique<InferenceOnlyCell>(), {}, "user");
  const Tensor<float> x = ref::random_tensor<float>({2, 4, 3}, 3);
  const Tensor<float> y = call(layer, x, nullptr, {}, {}, Mode::training).outputs[0];  // training forward works
  EXPECT_EQ(y[0], 4.0f);
  EXPECT_EQ(error_of<ConfigError>([&] {
              layer.backward({Tensor<float>({2, 2})});
            }),
            "RNN 'user': its cell InferenceOnlyCell does not implement backward (Cell::supports_backward), so the "
            "layer cannot be trained");
}

TEST(RNNErrors, ResetStatesWithValues) {
  LSTMOptions o = lstm(2);
  LSTM<float> plain(o, "enc");
  plain.build({{2, 4, 3}});
  EXPECT_EQ(error_of<StateError>([&] { plain.reset_states({}); }),
            "LSTM 'enc': reset_states(values) needs a stateful layer");
  o.stateful = true;
  LSTM<float> layer(o, "enc");
  layer.build({{-1, 4, 3}});
  EXPECT_EQ(error_of<StateError>([&] {
              layer.reset_states({Tensor<float>({2, 2}), Tensor<float>({2, 2})});
            }),
            "LSTM 'enc': reset_states(values) before the batch size is known (build or call first)");
  layer.build({{2, 4, 3}});
  EXPECT_EQ(error_of<ShapeError>([&] {
              layer.reset_states({Tensor<float>({2, 2})});
            }),
            "LSTM 'enc': reset_states got 1 tensors, expected 2 (one per state, sizes [2, 2])");
  EXPECT_EQ(error_of<ShapeError>([&] {
              layer.reset_states({Tensor<float>({2, 2}), Tensor<float>({3, 2})});
            }),
            "LSTM 'enc': reset_states value 1 has shape [3, 2], expected [2, 2]");
  layer.reset_states({Tensor<float>({2, 2}, 0.5f), Tensor<float>({2, 2}, -0.5f)});
  EXPECT_EQ(layer.states()[1][3], -0.5f);
}

}  // namespace
}  // namespace rnnx
