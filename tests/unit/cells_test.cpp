// Built-in cells against the naive reference of tests/unit/recurrent_reference.h (spec §2,
// §6), their weights (names, shapes, unit_forget_bias) and the Keras layout constants.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "recurrent_reference.h"
#include "rnnx/cells/keras_layout.h"
#include "rnnx/cells/stacked_cells.h"
#include "rnnx/cells/tf1_cells.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/simple_rnn.h"
#include "support/close.h"

namespace rnnx {
namespace {

namespace ref = reference;
using rnnx::testing::all_close;
using rnnx::testing::Tolerance;
using ::testing::HasSubstr;

template <class T>
Tolerance tol() {
  return {ref::tolerance<T>(), ref::tolerance<T>()};
}

std::optional<Tensor<double>> maybe(const std::vector<Tensor<double>>& w, size_t i) {
  return i < w.size() ? std::optional<Tensor<double>>(w[i]) : std::nullopt;
}

// Runs `layer` (return_sequences + return_state) on x and compares the sequence, the last
// output and the states with the reference.
template <class T>
void expect_matches_reference(RNN<T>& layer, const Tensor<T>& x, const ref::Step& step, const std::string& what) {
  const ref::Run want =
      ref::run(step, x.template cast<double>(), layer.cell().state_sizes(), layer.cell().output_size());
  LayerInputs<T> in;
  in.inputs = {&x};
  const auto out = layer.call(in).outputs;
  ASSERT_EQ(out.size(), 1 + want.states.size()) << what;
  EXPECT_TRUE(all_close(out[0], want.sequence, tol<T>(), what + " sequence"));
  for (size_t i = 0; i < want.states.size(); ++i)
    EXPECT_TRUE(all_close(out[1 + i], want.states[i], tol<T>(), what + " state " + std::to_string(i)));
}

RNNOptions sequences_and_states() {
  RNNOptions o;
  o.return_sequences = true;
  o.return_state = true;
  return o;
}

template <class T>
void check_lstm(int implementation, bool use_bias, Activation act, Activation rec, ref::Fn ref_act, ref::Fn ref_rec) {
  LSTMCellOptions c;
  c.units = 3;
  c.implementation = implementation;
  c.use_bias = use_bias;
  c.activation = act;
  c.recurrent_activation = rec;
  LSTM<T> layer(c, sequences_and_states());
  const Tensor<T> x = ref::random_tensor<T>({2, 4, 5}, 11);
  layer.build({x.shape()});
  const auto w = ref::randomize_weights(layer, 100);
  expect_matches_reference(layer, x, ref::lstm_step(w[0], w[1], maybe(w, 2), ref_act, ref_rec),
                           "LSTM impl " + std::to_string(implementation) + " bias " + std::to_string(use_bias));
}

TEST(LSTMCell, MatchesReference) {
  const Activation tanh{ActivationKind::tanh}, sigmoid{ActivationKind::sigmoid};
  for (int impl : {1, 2})
    for (bool bias : {true, false}) {
      check_lstm<double>(impl, bias, tanh, sigmoid, ref::tanh_fn, ref::sigmoid);
      check_lstm<float>(impl, bias, tanh, sigmoid, ref::tanh_fn, ref::sigmoid);
    }
  const Activation hs3 = Activation::from_name("hard_sigmoid", 3), hs2 = Activation::from_name("hard_sigmoid", 2);
  check_lstm<double>(2, true, Activation{ActivationKind::relu}, hs3, ref::relu, ref::hard_sigmoid_keras3);
  check_lstm<double>(1, true, Activation{ActivationKind::linear}, hs2, ref::linear, ref::hard_sigmoid_keras2);
}

template <class T>
void check_gru(int implementation, bool use_bias, bool reset_after) {
  GRUCellOptions c;
  c.units = 4;
  c.implementation = implementation;
  c.use_bias = use_bias;
  c.reset_after = reset_after;
  GRU<T> layer(c, sequences_and_states());
  const Tensor<T> x = ref::random_tensor<T>({3, 5, 2}, 12);
  layer.build({x.shape()});
  const auto w = ref::randomize_weights(layer, 200);
  expect_matches_reference(layer, x, ref::gru_step(w[0], w[1], maybe(w, 2), reset_after, ref::tanh_fn, ref::sigmoid),
                           "GRU impl " + std::to_string(implementation) + " bias " + std::to_string(use_bias) +
                               " reset_after " + std::to_string(reset_after));
}

TEST(GRUCell, MatchesReference) {
  for (int impl : {1, 2})
    for (bool bias : {true, false})
      for (bool reset_after : {true, false}) {
        check_gru<double>(impl, bias, reset_after);
        check_gru<float>(impl, bias, reset_after);
      }
}

template <class T>
void check_simple_rnn(bool use_bias, Activation act, ref::Fn ref_act) {
  SimpleRNNCellOptions c;
  c.units = 3;
  c.use_bias = use_bias;
  c.activation = act;
  SimpleRNN<T> layer(c, sequences_and_states());
  const Tensor<T> x = ref::random_tensor<T>({2, 6, 4}, 13);
  layer.build({x.shape()});
  const auto w = ref::randomize_weights(layer, 300);
  expect_matches_reference(layer, x, ref::simple_rnn_step(w[0], w[1], maybe(w, 2), ref_act), "SimpleRNN");
}

TEST(SimpleRNNCell, MatchesReference) {
  for (bool bias : {true, false}) {
    check_simple_rnn<double>(bias, Activation{ActivationKind::tanh}, ref::tanh_fn);
    check_simple_rnn<float>(bias, Activation{ActivationKind::tanh}, ref::tanh_fn);
  }
  check_simple_rnn<double>(true, Activation{ActivationKind::relu}, ref::relu);
}

template <class T>
void check_tf1(const TF1LSTMCellOptions& o, const std::string& what) {
  RNN<T> layer(std::make_unique<TF1LSTMCell<T>>(o), sequences_and_states());
  const Tensor<T> x = ref::random_tensor<T>({2, 4, 3}, 14);
  layer.build({x.shape()});
  const auto w = ref::randomize_weights(layer, 400);
  ref::TF1Weights tw{w[0], w[1], {}, {}, {}, {}};
  size_t next = 2;
  if (o.use_peepholes) {
    tw.w_f = w[next++];
    tw.w_i = w[next++];
    tw.w_o = w[next++];
  }
  if (o.num_proj) tw.projection = w[next++];
  expect_matches_reference(layer, x, ref::tf1_lstm_step(tw, o.forget_bias, o.cell_clip, o.proj_clip, ref::tanh_fn),
                           what);
}

TEST(TF1LSTMCell, MatchesReference) {
  TF1LSTMCellOptions basic;
  basic.num_units = 3;
  basic.forget_bias = 0.7;
  check_tf1<double>(basic, "basic");
  check_tf1<float>(basic, "basic");
  TF1LSTMCellOptions full = basic;
  full.use_peepholes = true;
  full.cell_clip = 0.3;
  full.num_proj = 2;
  full.proj_clip = 0.05;
  check_tf1<double>(full, "peepholes + clips + projection");
  check_tf1<float>(full, "peepholes + clips + projection");
  full.cell_clip.reset();
  full.proj_clip.reset();
  check_tf1<double>(full, "peepholes + projection");
}

TEST(TF1LSTMCell, WeightsStatesAndNames) {
  TF1LSTMCellOptions o;
  o.num_units = 4;
  o.use_peepholes = true;
  o.num_proj = 2;
  TF1LSTMCell<float> cell(o);
  EXPECT_EQ(cell.state_sizes(), (std::vector<int64_t>{4, 2}));  // (c, h)
  EXPECT_EQ(cell.output_size(), 2);
  Rng rng(1);
  cell.build(5, {}, rng);
  const auto params = cell.params();
  std::vector<std::string> names;
  std::vector<Shape> shapes;
  for (const auto& p : params) {
    names.push_back(p.name);
    shapes.push_back(p.value->shape());
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"kernel", "bias", "w_f_diag", "w_i_diag", "w_o_diag", "projection/kernel"}));
  EXPECT_EQ(shapes, (std::vector<Shape>{{7, 16}, {16}, {4}, {4}, {4}, {4, 2}}));
  for (float v : params[1].value->values()) EXPECT_EQ(v, 0.0f);  // bias starts at zeros
  EXPECT_EQ(TF1BasicLSTMCell<float>(3).class_name(), "TF1BasicLSTMCell");
  EXPECT_EQ(TF1BasicLSTMCell<float>(3).clone_config()->class_name(), "TF1BasicLSTMCell");
}

// Spec §6: BasicLSTMCell == Keras LSTM with kernel = W[:D], recurrent = W[D:], blocks
// (i, j, f, o) -> (i, f, c=j, o), forget_bias added to the f block, states swapped.
TEST(TF1LSTMCell, BasicEqualsKerasLSTMAfterWeightMapping) {
  const int64_t d = 3, u = 4;
  const double forget_bias = 1.0;
  RNN<double> tf1(std::make_unique<TF1BasicLSTMCell<double>>(u, forget_bias), sequences_and_states());
  const Tensor<double> x = ref::random_tensor<double>({2, 5, d}, 15);
  tf1.build({x.shape()});
  const auto w = ref::randomize_weights(tf1, 500);

  Tensor<double> kernel({d, 4 * u}), recurrent({u, 4 * u}), bias({4 * u});
  using keras::block_offset;
  const std::pair<keras::TF1LSTMGate, keras::LSTMGate> blocks[] = {
      {keras::TF1LSTMGate::input, keras::LSTMGate::input},
      {keras::TF1LSTMGate::candidate, keras::LSTMGate::cell},
      {keras::TF1LSTMGate::forget, keras::LSTMGate::forget},
      {keras::TF1LSTMGate::output, keras::LSTMGate::output}};
  for (auto [from, to] : blocks)
    for (int64_t j = 0; j < u; ++j) {
      const int64_t src = block_offset(from, u) + j, dst = block_offset(to, u) + j;
      for (int64_t r = 0; r < d; ++r) kernel[r * 4 * u + dst] = w[0][r * 4 * u + src];
      for (int64_t r = 0; r < u; ++r) recurrent[r * 4 * u + dst] = w[0][(d + r) * 4 * u + src];
      bias[dst] = w[1][src] + (to == keras::LSTMGate::forget ? forget_bias : 0.0);
    }
  LSTMCellOptions c;
  c.units = u;
  LSTM<double> keras_lstm(c, sequences_and_states());
  keras_lstm.build({x.shape()});
  keras_lstm.set_weights({kernel, recurrent, bias});

  LayerInputs<double> in;
  in.inputs = {&x};
  const auto a = tf1.call(in).outputs, b = keras_lstm.call(in).outputs;
  EXPECT_TRUE(all_close(a[0], b[0], {1e-12, 1e-12}, "sequence"));
  EXPECT_TRUE(all_close(a[1], b[2], {1e-12, 1e-12}, "c"));  // TF1 (c, h) vs Keras [h, c]
  EXPECT_TRUE(all_close(a[2], b[1], {1e-12, 1e-12}, "h"));
}

TEST(LSTMCell, UnitForgetBiasSetsForgetBlockToExactlyOne) {
  LSTMCellOptions o;
  o.units = 3;
  o.bias_initializer = Initializer::from_name("constant");
  o.bias_initializer.value = 0.03;
  LSTMCell<float> cell(o);
  Rng rng(7);
  cell.build(2, {}, rng);
  const Tensor<float>& b = cell.bias();
  ASSERT_EQ(b.shape(), Shape({12}));
  for (int64_t j = 0; j < 12; ++j) {
    const bool forget =
        j >= keras::block_offset(keras::LSTMGate::forget, 3) && j < keras::block_offset(keras::LSTMGate::cell, 3);
    EXPECT_EQ(b[j], forget ? 1.0f : 0.03f) << "bias[" << j << "]";
  }
  o.unit_forget_bias = false;
  LSTMCell<float> plain(o);
  plain.build(2, {}, rng);
  for (float v : plain.bias().values()) EXPECT_EQ(v, 0.03f);
}

TEST(Cells, WeightNamesAndShapesFollowKerasLayout) {
  Rng rng(3);
  LSTMCellOptions l;
  l.units = 5;
  LSTMCell<float> lstm(l);
  lstm.build(7, {}, rng);
  auto p = lstm.params();
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].name, "kernel");
  EXPECT_EQ(p[1].name, "recurrent_kernel");
  EXPECT_EQ(p[2].name, "bias");
  EXPECT_EQ(p[0].value->shape(), keras::lstm_kernel_shape(7, 5));
  EXPECT_EQ(p[0].value->shape(), Shape({7, 20}));
  EXPECT_EQ(p[1].value->shape(), Shape({5, 20}));
  EXPECT_EQ(p[2].value->shape(), Shape({20}));
  EXPECT_EQ(lstm.state_sizes(), (std::vector<int64_t>{5, 5}));

  GRUCellOptions g;
  g.units = 5;
  GRUCell<float> gru_after(g);
  gru_after.build(7, {}, rng);
  EXPECT_EQ(gru_after.params()[2].value->shape(), Shape({2, 15}));
  g.reset_after = false;
  GRUCell<float> gru_before(g);
  gru_before.build(7, {}, rng);
  EXPECT_EQ(gru_before.params()[2].value->shape(), Shape({15}));
  g.use_bias = false;
  GRUCell<float> gru_nobias(g);
  gru_nobias.build(7, {}, rng);
  EXPECT_EQ(gru_nobias.params().size(), 2u);

  SimpleRNNCellOptions s;
  s.units = 5;
  SimpleRNNCell<float> simple(s);
  simple.build(7, {}, rng);
  EXPECT_EQ(simple.params()[0].value->shape(), Shape({7, 5}));
  EXPECT_EQ(simple.params()[1].value->shape(), Shape({5, 5}));
  EXPECT_EQ(simple.params()[2].value->shape(), Shape({5}));
}

TEST(Cells, DefaultsAreKeras3) {
  const LSTMCellOptions l;
  EXPECT_EQ(l.activation.kind, ActivationKind::tanh);
  EXPECT_EQ(l.recurrent_activation.kind, ActivationKind::sigmoid);
  EXPECT_EQ(l.kernel_initializer.name, "glorot_uniform");
  EXPECT_EQ(l.recurrent_initializer.name, "orthogonal");
  EXPECT_EQ(l.bias_initializer.name, "zeros");
  EXPECT_TRUE(l.unit_forget_bias);
  EXPECT_EQ(l.implementation, 2);
  EXPECT_TRUE(GRUCellOptions{}.reset_after);
}

TEST(KerasLayout, VersionDefaults) {
  using keras::KerasFlavor;
  EXPECT_EQ(keras::keras_flavor(3, 16, false), KerasFlavor::keras3);
  EXPECT_EQ(keras::keras_flavor(3, 7, false), KerasFlavor::keras3_early);
  EXPECT_EQ(keras::keras_flavor(2, 2, false), KerasFlavor::keras2_early);
  EXPECT_EQ(keras::keras_flavor(2, 3, false), KerasFlavor::keras2_3);
  EXPECT_EQ(keras::keras_flavor(2, 15, true), KerasFlavor::tf_keras);
  EXPECT_EQ(keras::keras_flavor(2, 15, true, true), KerasFlavor::tf_keras_v1);
  EXPECT_EQ(keras::keras_flavor(1, 2, false), KerasFlavor::keras1);

  const auto k2 = keras::recurrent_defaults(KerasFlavor::keras2_early);
  EXPECT_EQ(k2.recurrent_activation, ActivationKind::hard_sigmoid);
  EXPECT_EQ(k2.hard_sigmoid, HardSigmoidFormula::keras2);
  EXPECT_FALSE(k2.gru_reset_after);
  EXPECT_EQ(k2.implementation, 1);
  const auto tfk = keras::recurrent_defaults(KerasFlavor::tf_keras);
  EXPECT_EQ(tfk.recurrent_activation, ActivationKind::sigmoid);
  EXPECT_TRUE(tfk.gru_reset_after);
  EXPECT_EQ(tfk.implementation, 2);
  EXPECT_FALSE(keras::recurrent_defaults(KerasFlavor::keras3_early).per_gate_dropout_masks);
  EXPECT_TRUE(keras::recurrent_defaults(KerasFlavor::keras3).per_gate_dropout_masks);
  EXPECT_EQ(keras::default_recurrent_activation(KerasFlavor::tf_keras_v1), Activation::from_name("hard_sigmoid", 2));
  static_assert(keras::block_offset(keras::GRUGate::candidate, 7) == 14);
  static_assert(keras::block_offset(keras::TF1LSTMGate::forget, 5) == 10);
}

TEST(Cells, DropoutMaskCounts) {
  LSTMCellOptions l;
  l.units = 2;
  l.dropout = 0.5;
  EXPECT_EQ(LSTMCell<float>(l).input_mask_count(), 1);
  EXPECT_EQ(LSTMCell<float>(l).recurrent_mask_count(), 0);
  l.per_gate_dropout_masks = true;  // implementation 2: still one shared mask
  EXPECT_EQ(LSTMCell<float>(l).input_mask_count(), 1);
  l.implementation = 1;
  EXPECT_EQ(LSTMCell<float>(l).input_mask_count(), 4);
  l.implementation = 2;
  l.recurrent_dropout = 0.2;  // forces implementation 1
  EXPECT_EQ(LSTMCell<float>(l).implementation(), 1);
  EXPECT_EQ(LSTMCell<float>(l).input_mask_count(), 4);
  EXPECT_EQ(LSTMCell<float>(l).recurrent_mask_count(), 4);
  l.per_gate_dropout_masks = false;
  EXPECT_EQ(LSTMCell<float>(l).recurrent_mask_count(), 1);

  GRUCellOptions g;
  g.units = 2;
  g.dropout = 0.1;
  g.recurrent_dropout = 0.1;
  g.per_gate_dropout_masks = true;
  EXPECT_EQ(GRUCell<float>(g).input_mask_count(), 3);
  EXPECT_EQ(GRUCell<float>(g).recurrent_mask_count(), 3);

  SimpleRNNCellOptions s;
  s.units = 2;
  s.recurrent_dropout = 0.3;
  EXPECT_EQ(SimpleRNNCell<float>(s).input_mask_count(), 0);
  EXPECT_EQ(SimpleRNNCell<float>(s).recurrent_mask_count(), 1);
}

TEST(StackedCells, StatesParamsAndMasksCellByCell) {
  LSTMCellOptions l;
  l.units = 3;
  l.dropout = 0.2;
  GRUCellOptions g;
  g.units = 2;
  g.recurrent_dropout = 0.4;
  g.per_gate_dropout_masks = false;  // Keras 3.0-3.7 behaviour: one shared recurrent mask
  std::vector<std::unique_ptr<Cell<float>>> cells;
  cells.push_back(std::make_unique<LSTMCell<float>>(l));
  cells.push_back(std::make_unique<GRUCell<float>>(g));
  StackedCells<float> stack(std::move(cells));
  EXPECT_EQ(stack.class_name(), "StackedRNNCells");
  EXPECT_EQ(stack.state_sizes(), (std::vector<int64_t>{3, 3, 2}));
  EXPECT_EQ(stack.output_size(), 2);
  Rng rng(5);
  stack.build(4, {}, rng);
  EXPECT_TRUE(stack.built());
  EXPECT_EQ(stack.cell(1).input_size(), 3);
  std::vector<Shape> shapes;
  for (const auto& p : stack.params()) shapes.push_back(p.value->shape());
  EXPECT_EQ(shapes, (std::vector<Shape>{{4, 12}, {3, 12}, {12}, {3, 6}, {2, 6}, {2, 6}}));
  const auto in = stack.input_dropout_masks(), rec = stack.recurrent_dropout_masks();
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].width, 4);
  EXPECT_DOUBLE_EQ(in[0].rate, 0.2);
  ASSERT_EQ(rec.size(), 1u);  // the GRU's shared mask
  EXPECT_EQ(rec[0].width, 2);
  EXPECT_DOUBLE_EQ(rec[0].rate, 0.4);
  EXPECT_EQ(stack.clone_config()->state_sizes(), stack.state_sizes());
  EXPECT_FALSE(stack.clone_config()->built());
}

TEST(Cells, CloneConfigIsUnbuiltWithSameOptions) {
  LSTMCellOptions l;
  l.units = 6;
  l.dropout = 0.25;
  LSTMCell<double> cell(l);
  Rng rng(1);
  cell.build(3, {}, rng);
  auto copy = cell.clone_config();
  EXPECT_FALSE(copy->built());
  EXPECT_EQ(copy->class_name(), "LSTMCell");
  EXPECT_EQ(copy->state_sizes(), cell.state_sizes());
  EXPECT_DOUBLE_EQ(copy->dropout(), 0.25);
}

// The training contract of the built-in cells (cell.h): trainable, one zero gradient per
// weight shaped like it, and a training forward (which records the tape) that computes
// exactly the inference numbers.
TEST(Cells, TrainingContractAndUnchangedForward) {
  std::vector<std::unique_ptr<RNN<double>>> layers;
  LSTMOptions l;
  l.units = 3;
  l.return_sequences = true;
  l.return_state = true;
  layers.push_back(std::make_unique<LSTM<double>>(l));
  l.implementation = 1;
  layers.push_back(std::make_unique<LSTM<double>>(l));
  for (bool reset_after : {true, false}) {
    GRUOptions g;
    g.units = 3;
    g.reset_after = reset_after;
    g.return_sequences = true;
    layers.push_back(std::make_unique<GRU<double>>(g));
  }
  SimpleRNNOptions r;
  r.units = 3;
  layers.push_back(std::make_unique<SimpleRNN<double>>(r));
  TF1LSTMCellOptions t;
  t.num_units = 3;
  t.use_peepholes = true;
  t.cell_clip = 0.2;
  t.num_proj = 2;
  t.proj_clip = 0.1;
  RNNOptions seq;
  seq.return_sequences = true;
  layers.push_back(std::make_unique<RNN<double>>(std::make_unique<TF1LSTMCell<double>>(t), seq));
  std::vector<std::unique_ptr<Cell<double>>> cells;
  LSTMCellOptions small;
  small.units = 2;
  cells.push_back(std::make_unique<LSTMCell<double>>(small));
  cells.push_back(std::make_unique<TF1BasicLSTMCell<double>>(2));
  layers.push_back(std::make_unique<RNN<double>>(std::make_unique<StackedCells<double>>(std::move(cells)), seq));

  const Tensor<double> x = ref::random_tensor<double>({2, 4, 3}, 77, -2.0, 2.0);
  const Mask mask = ref::make_mask({{1, 0, 1, 1}, {0, 1, 1, 0}});
  for (auto& layer : layers) {
    SCOPED_TRACE(layer->cell().class_name());
    EXPECT_TRUE(layer->cell().supports_backward());
    EXPECT_GT(layer->cell().grad_width(), 0);
    EXPECT_FALSE(layer->cell().tape_widths().empty());
    layer->build({x.shape()});
    ref::randomize_weights(*layer, 78);
    for (const auto& p : layer->params()) {
      ASSERT_NE(p.grad, nullptr) << p.name;
      EXPECT_EQ(p.grad->shape(), p.value->shape()) << p.name;
      for (double v : p.grad->values()) ASSERT_EQ(v, 0.0) << p.name;
    }
    LayerInputs<double> in;
    in.inputs = {&x};
    in.mask = &mask;
    const auto inference = layer->call(in).outputs;
    in.mode = Mode::training;
    const auto training = layer->call(in).outputs;
    ASSERT_EQ(training.size(), inference.size());
    for (size_t i = 0; i < training.size(); ++i) EXPECT_EQ(training[i].storage(), inference[i].storage()) << i;
  }
}

TEST(Cells, BuildChecks) {
  LSTMCellOptions l;
  l.units = 2;
  LSTMCell<float> cell(l);
  Rng rng(1);
  try {
    cell.build(3, {4}, rng);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("LSTMCell: takes no constants, got 1"));
  }
  cell.build(3, {}, rng);
  cell.build(3, {}, rng);  // same size: no-op
  try {
    cell.build(4, {}, rng);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("LSTMCell: built for 3 input features, got 4"));
  }
}

}  // namespace
}  // namespace rnnx
