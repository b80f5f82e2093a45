// The RNN layer's time loop (spec §3): go_backwards, masking, initial_state, stateful,
// dropout masks, unroll, stacked cells, output shapes - against the naive reference and
// against equivalent layer compositions.
#include <gtest/gtest.h>

#include <set>

#include "recurrent_reference.h"
#include "rnnx/cells/keras_layout.h"
#include "rnnx/cells/stacked_cells.h"
#include "rnnx/core/error.h"
#include "rnnx/kernels/kernels.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/simple_rnn.h"
#include "support/close.h"

namespace rnnx {
namespace {

namespace ref = reference;
using rnnx::testing::all_close;
using rnnx::testing::Tolerance;

template <class T>
Tolerance tol() {
  return {ref::tolerance<T>(), ref::tolerance<T>()};
}
constexpr Tolerance kExact{0.0, 0.0};

template <class T>
LayerOutputs<T> run(Layer<T>& layer, const Tensor<T>& x, const Mask* mask = nullptr,
                    std::vector<const Tensor<T>*> initial_state = {}, Mode mode = Mode::inference) {
  LayerInputs<T> in;
  in.inputs = {&x};
  in.mask = mask;
  in.initial_state = std::move(initial_state);
  in.mode = mode;
  return layer.call(in);
}

template <class T>
LayerOutputs<T> train(Layer<T>& layer, const Tensor<T>& x, const Mask* mask = nullptr) {
  return run(layer, x, mask, {}, Mode::training);
}

ref::RunOptions ref_options(const Mask* mask, bool go_backwards = false, bool zero_output_for_mask = false) {
  ref::RunOptions o;
  o.mask = mask;
  o.go_backwards = go_backwards;
  o.zero_output_for_mask = zero_output_for_mask;
  return o;
}

LSTMOptions lstm_options(int64_t units, bool sequences = true, bool state = true) {
  LSTMOptions o;
  o.units = units;
  o.return_sequences = sequences;
  o.return_state = state;
  return o;
}

template <class T>
Tensor<T> reverse_time(const Tensor<T>& x) {
  Tensor<T> out(x.shape());
  const int64_t b = x.dim(0), t = x.dim(1), d = x.dim(2);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t s = 0; s < t; ++s)
      for (int64_t k = 0; k < d; ++k) out[(i * t + s) * d + k] = x[(i * t + (t - 1 - s)) * d + k];
  return out;
}

template <class T>
void check_go_backwards() {
  const Tensor<T> x = ref::random_tensor<T>({3, 6, 4}, 21);
  LSTMOptions o = lstm_options(5);
  LSTM<T> forward(o);
  o.go_backwards = true;
  LSTM<T> backward(o);
  forward.build({x.shape()});
  backward.build({x.shape()});
  const auto w = ref::randomize_weights(backward, 7);
  forward.set_weights(backward.get_weights());
  const auto a = run(backward, x).outputs;
  const auto b = run(forward, reverse_time(x)).outputs;
  ASSERT_EQ(a.size(), 3u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(all_close(a[i], b[i], kExact, "output " + std::to_string(i)));
  // Processing order: out[:, 0] belongs to input step T-1 (spec §3.3).
  const ref::Run want = ref::run(ref::lstm_step(w[0], w[1], w[2], ref::tanh_fn, ref::sigmoid),
                                 x.template cast<double>(), {5, 5}, 5, ref_options(nullptr, true));
  EXPECT_TRUE(all_close(a[0], want.sequence, tol<T>()));
}

TEST(RNN, GoBackwardsEqualsProcessingTheReversedInput) {
  check_go_backwards<float>();
  check_go_backwards<double>();
}

// A mask with leading masked steps, holes, right padding, a fully real row and a fully
// masked row.
Mask mixed_mask() {
  return ref::make_mask(
      {{0, 0, 1, 1, 0, 1}, {1, 1, 1, 0, 0, 0}, {1, 0, 1, 0, 1, 1}, {1, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 0}});
}

template <class T>
void check_masking(bool go_backwards, bool zero_output, bool sequences, bool with_initial_state) {
  const Tensor<T> x = ref::random_tensor<T>({5, 6, 3}, 22);
  const Mask mask = mixed_mask();
  const std::string what = "gb=" + std::to_string(go_backwards) + " zofm=" + std::to_string(zero_output) +
                           " rs=" + std::to_string(sequences) + " init=" + std::to_string(with_initial_state);
  // LSTM
  {
    LSTMOptions o = lstm_options(4, sequences);
    o.go_backwards = go_backwards;
    o.zero_output_for_mask = zero_output;
    LSTM<T> layer(o);
    layer.build({x.shape()});
    const auto w = ref::randomize_weights(layer, 30);
    const Tensor<T> h0 = ref::random_tensor<T>({5, 4}, 31), c0 = ref::random_tensor<T>({5, 4}, 32);
    ref::RunOptions ro = ref_options(&mask, go_backwards, zero_output);
    std::vector<const Tensor<T>*> init;
    if (with_initial_state) {
      ro.initial_state = {h0.template cast<double>(), c0.template cast<double>()};
      init = {&h0, &c0};
    }
    const ref::Run want = ref::run(ref::lstm_step(w[0], w[1], w[2], ref::tanh_fn, ref::sigmoid),
                                   x.template cast<double>(), {4, 4}, 4, ro);
    const auto got = run(layer, x, &mask, init);
    EXPECT_TRUE(all_close(got.outputs[0], sequences ? want.sequence : want.last, tol<T>(), "LSTM out " + what));
    EXPECT_TRUE(all_close(got.outputs[1], want.states[0], tol<T>(), "LSTM h " + what));
    EXPECT_TRUE(all_close(got.outputs[2], want.states[1], tol<T>(), "LSTM c " + what));
    if (sequences) {
      EXPECT_EQ(got.mask.shape(), mask.shape()) << "output mask " << what;
      EXPECT_EQ(got.mask.storage(), mask.storage());
    } else {
      EXPECT_TRUE(got.mask.empty()) << what;
    }
  }
  // GRU (reset_after false), no initial state
  {
    GRUOptions o;
    o.units = 3;
    o.reset_after = false;
    o.return_sequences = sequences;
    o.return_state = true;
    o.go_backwards = go_backwards;
    o.zero_output_for_mask = zero_output;
    GRU<T> layer(o);
    layer.build({x.shape()});
    const auto w = ref::randomize_weights(layer, 40);
    const ref::Run want = ref::run(ref::gru_step(w[0], w[1], w[2], false, ref::tanh_fn, ref::sigmoid),
                                   x.template cast<double>(), {3}, 3, ref_options(&mask, go_backwards, zero_output));
    const auto got = run(layer, x, &mask);
    EXPECT_TRUE(all_close(got.outputs[0], sequences ? want.sequence : want.last, tol<T>(), "GRU out " + what));
    EXPECT_TRUE(all_close(got.outputs[1], want.states[0], tol<T>(), "GRU h " + what));
  }
}

TEST(RNN, MaskedStepsMatchReference) {
  for (bool gb : {false, true})
    for (bool zofm : {false, true})
      for (bool rs : {false, true})
        for (bool init : {false, true}) {
          check_masking<double>(gb, zofm, rs, init);
          check_masking<float>(gb, zofm, rs, init);
        }
}

TEST(RNN, MaskedStepCarriesStatesAndRepeatsPreviousOutput) {
  const Tensor<double> x = ref::random_tensor<double>({1, 4, 2}, 23);
  const Mask mask = ref::make_mask({{1, 0, 1, 0}});
  LSTM<double> layer(lstm_options(3));
  const auto out = run(layer, x, &mask).outputs;
  const Tensor<double>& seq = out[0];
  for (int64_t j = 0; j < 3; ++j) {
    EXPECT_EQ(seq[1 * 3 + j], seq[0 * 3 + j]);  // step 1 masked: previous output
    EXPECT_EQ(seq[3 * 3 + j], seq[2 * 3 + j]);  // step 3 masked
    EXPECT_EQ(out[1][j], seq[2 * 3 + j]);       // h_T = h after the last real step
  }
  // Right padding without return_sequences: the output of the last real step (spec §3.4).
  LSTMOptions o = lstm_options(3, false, false);
  LSTM<double> last(o);
  last.build({x.shape()});
  last.set_weights(layer.get_weights());
  const auto y = run(last, x, &mask).outputs[0];
  for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(y[j], seq[2 * 3 + j]);
}

TEST(RNN, ZeroOutputForMaskZeroesTheLastOutputButNotTheState) {
  const Tensor<double> x = ref::random_tensor<double>({1, 4, 2}, 24);
  const Mask mask = ref::make_mask({{1, 1, 0, 0}});
  LSTMOptions o = lstm_options(3, false, true);
  o.zero_output_for_mask = true;
  LSTM<double> layer(o);
  const auto out = run(layer, x, &mask).outputs;
  for (int64_t j = 0; j < 3; ++j) {
    EXPECT_EQ(out[0][j], 0.0);
    EXPECT_NE(out[1][j], 0.0);  // h_T is the state after step 1
  }
}

TEST(RNN, LeadingMaskedStepsGiveZerosAndKeepTheInitialState) {
  const Tensor<double> x = ref::random_tensor<double>({1, 4, 2}, 25);
  const Tensor<double> h0 = ref::random_tensor<double>({1, 3}, 26), c0 = ref::random_tensor<double>({1, 3}, 27);
  const Mask leading = ref::make_mask({{0, 0, 1, 1}});
  LSTM<double> layer(lstm_options(3));
  const auto out = run(layer, x, &leading, {&h0, &c0}).outputs;
  for (int64_t j = 0; j < 3 * 2; ++j) EXPECT_EQ(out[0][j], 0.0) << j;  // zeros, not h0 (spec §3.4)
  // Steps 2, 3 continue from (h0, c0): same as running them alone from (h0, c0).
  Tensor<double> tail({1, 2, 2});
  for (int64_t k = 0; k < 4; ++k) tail[k] = x[4 + k];
  const auto want = run(layer, tail, nullptr, {&h0, &c0}).outputs;
  for (int64_t j = 0; j < 6; ++j) EXPECT_EQ(out[0][6 + j], want[0][j]);
  EXPECT_TRUE(all_close(out[1], want[1], kExact));
  EXPECT_TRUE(all_close(out[2], want[2], kExact));
}

template <class T>
void check_initial_state() {
  const Tensor<T> x = ref::random_tensor<T>({2, 3, 4}, 28);
  const Tensor<T> h0 = ref::random_tensor<T>({2, 5}, 29), c0 = ref::random_tensor<T>({2, 5}, 30);
  LSTM<T> layer(lstm_options(5));
  layer.build({x.shape()});
  const auto w = ref::randomize_weights(layer, 50);
  ref::RunOptions ro;
  ro.initial_state = {h0.template cast<double>(), c0.template cast<double>()};
  const ref::Run want =
      ref::run(ref::lstm_step(w[0], w[1], w[2], ref::tanh_fn, ref::sigmoid), x.template cast<double>(), {5, 5}, 5, ro);
  const auto got = run(layer, x, nullptr, {&h0, &c0}).outputs;
  EXPECT_TRUE(all_close(got[0], want.sequence, tol<T>()));
  EXPECT_TRUE(all_close(got[1], want.states[0], tol<T>()));
  EXPECT_TRUE(all_close(got[2], want.states[1], tol<T>()));
}

TEST(RNN, InitialStateMatchesReference) {
  check_initial_state<float>();
  check_initial_state<double>();
}

Tensor<double> steps(const Tensor<double>& x, int64_t from, int64_t to) {
  const int64_t b = x.dim(0), t = x.dim(1), d = x.dim(2);
  Tensor<double> out({b, to - from, d});
  for (int64_t i = 0; i < b; ++i)
    for (int64_t s = from; s < to; ++s)
      for (int64_t k = 0; k < d; ++k) out[(i * (to - from) + s - from) * d + k] = x[(i * t + s) * d + k];
  return out;
}

TEST(RNN, StatefulCarriesStatesAcrossCallsAndResets) {
  const Tensor<double> x = ref::random_tensor<double>({4, 6, 3}, 33);
  LSTMOptions o = lstm_options(3, false, true);
  LSTM<double> whole(o);
  o.stateful = true;
  LSTM<double> stateful(o);
  whole.build({x.shape()});
  stateful.build({{-1, -1, 3}});
  stateful.set_weights(whole.get_weights());

  const auto full = run(whole, x).outputs;
  run(stateful, steps(x, 0, 3));
  ASSERT_EQ(stateful.states().size(), 2u);
  const auto second = run(stateful, steps(x, 3, 6)).outputs;
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(all_close(second[i], full[i], {1e-14, 1e-14}));
  EXPECT_TRUE(all_close(stateful.states()[0], full[1], kExact));
  EXPECT_TRUE(all_close(stateful.states()[1], full[2], kExact));

  stateful.reset_states();
  for (const auto& s : stateful.states())
    for (double v : s.values()) EXPECT_EQ(v, 0.0);
  const auto fresh = run(stateful, steps(x, 0, 3)).outputs;
  const auto want = run(whole, steps(x, 0, 3)).outputs;
  EXPECT_TRUE(all_close(fresh[0], want[0], kExact));

  // An explicit initial_state overrides the stored state for that call.
  const Tensor<double> zeros({4, 3});
  const auto overridden = run(stateful, steps(x, 0, 3), nullptr, {&zeros, &zeros}).outputs;
  EXPECT_TRUE(all_close(overridden[0], want[0], kExact));
}

TEST(RNN, StatefulBatchIsFixedByTheFirstCall) {
  LSTMOptions o = lstm_options(2, false, false);
  o.stateful = true;
  LSTM<float> layer(o, "enc");
  run(layer, ref::random_tensor<float>({4, 2, 3}, 1));
  try {
    run(layer, ref::random_tensor<float>({3, 2, 3}, 2));
    FAIL() << "expected StateError";
  } catch (const StateError& e) {
    EXPECT_STREQ(e.what(), "LSTM 'enc': stateful layer was built for batch size 4, got 3");
  }
  // A build with a known batch fixes it as well.
  LSTM<float> built(o, "enc2");
  built.build({{5, 2, 3}});
  EXPECT_EQ(built.states().size(), 2u);
  EXPECT_THROW(run(built, ref::random_tensor<float>({4, 2, 3}, 3)), StateError);
}

// Random inverted-dropout masks [batch, width] with entries 0 or 1 / (1 - rate).
template <class T>
std::vector<Tensor<T>> random_masks(const std::vector<typename Cell<T>::DropoutMaskSpec>& specs, int64_t batch,
                                    uint64_t seed) {
  std::vector<Tensor<T>> out;
  Rng rng(seed);
  for (const auto& s : specs) {
    Tensor<T> m({batch, s.width});
    for (T& v : m.values()) v = rng.uniform() < s.rate ? T(0) : static_cast<T>(1.0 / (1.0 - s.rate));
    out.push_back(std::move(m));
  }
  return out;
}

// The reference masks of sample b: row b of each mask.
template <class T>
std::function<ref::SampleMasks(int64_t)> sample_masks(const std::vector<Tensor<T>>& in,
                                                      const std::vector<Tensor<T>>& rec) {
  return [=](int64_t b) {
    ref::SampleMasks m;
    for (const auto& t : in) m.input.push_back(ref::slice(t.template cast<double>(), b * t.dim(1), t.dim(1)));
    for (const auto& t : rec) m.recurrent.push_back(ref::slice(t.template cast<double>(), b * t.dim(1), t.dim(1)));
    return m;
  };
}

template <class T>
void check_injected_masks(RNN<T>& layer, const std::function<ref::Step(const std::vector<Tensor<double>>&)>& make_step,
                          const std::string& what) {
  const Tensor<T> x = ref::random_tensor<T>({3, 5, 4}, 34);
  const Mask mask = ref::make_mask({{1, 1, 0, 1, 1}, {1, 1, 1, 1, 1}, {0, 1, 1, 1, 0}});
  layer.build({x.shape()});
  const auto w = ref::randomize_weights(layer, 60);
  const auto in = random_masks<T>(layer.cell().input_dropout_masks(), 3, 61);
  const auto rec = random_masks<T>(layer.cell().recurrent_dropout_masks(), 3, 62);
  layer.set_fixed_dropout_masks(in, rec);
  ref::RunOptions ro = ref_options(&mask);
  ro.masks = sample_masks<T>(in, rec);
  const ref::Run want =
      ref::run(make_step(w), x.template cast<double>(), layer.cell().state_sizes(), layer.cell().output_size(), ro);
  const auto got = run(layer, x, &mask, {}, Mode::training).outputs;
  EXPECT_TRUE(all_close(got[0], want.sequence, tol<T>(), what + " sequence"));
  for (size_t i = 0; i < want.states.size(); ++i)
    EXPECT_TRUE(all_close(got[1 + i], want.states[i], tol<T>(), what + " state " + std::to_string(i)));
}

template <class T>
void check_all_injected_masks() {
  for (int impl : {1, 2})
    for (bool per_gate : {false, true}) {
      LSTMOptions o = lstm_options(3);
      o.dropout = 0.4;
      o.recurrent_dropout = impl == 1 ? 0.3 : 0.0;
      o.implementation = impl;
      o.per_gate_dropout_masks = per_gate;
      LSTM<T> layer(o);
      check_injected_masks<T>(
          layer, [](const auto& w) { return ref::lstm_step(w[0], w[1], w[2], ref::tanh_fn, ref::sigmoid); },
          "LSTM impl " + std::to_string(impl) + " per_gate " + std::to_string(per_gate));
    }
  for (bool reset_after : {true, false})
    for (bool per_gate : {false, true}) {
      GRUOptions o;
      o.units = 3;
      o.return_sequences = o.return_state = true;
      o.dropout = 0.3;
      o.recurrent_dropout = 0.5;
      o.reset_after = reset_after;
      o.per_gate_dropout_masks = per_gate;
      GRU<T> layer(o);
      check_injected_masks<T>(
          layer,
          [reset_after](const auto& w) {
            return ref::gru_step(w[0], w[1], w[2], reset_after, ref::tanh_fn, ref::sigmoid);
          },
          "GRU reset_after " + std::to_string(reset_after) + " per_gate " + std::to_string(per_gate));
    }
  SimpleRNNOptions o;
  o.units = 3;
  o.return_sequences = o.return_state = true;
  o.dropout = 0.3;
  o.recurrent_dropout = 0.5;
  SimpleRNN<T> layer(o);
  check_injected_masks<T>(
      layer, [](const auto& w) { return ref::simple_rnn_step(w[0], w[1], w[2], ref::tanh_fn); }, "SimpleRNN");
}

TEST(RNNDropout, InjectedMasksMatchReference) {
  check_all_injected_masks<double>();
  check_all_injected_masks<float>();
}

TEST(RNNDropout, AllOnesMasksEqualInference) {
  const Tensor<float> x = ref::random_tensor<float>({3, 4, 2}, 35);
  LSTMOptions o = lstm_options(3);
  o.dropout = 0.5;
  o.recurrent_dropout = 0.5;
  o.per_gate_dropout_masks = true;
  LSTM<float> layer(o);
  layer.build({x.shape()});
  std::vector<Tensor<float>> in(4, Tensor<float>({3, 2}, 1.0f)), rec(4, Tensor<float>({3, 3}, 1.0f));
  layer.set_fixed_dropout_masks(in, rec);
  const auto trained = run(layer, x, nullptr, {}, Mode::training).outputs;
  const auto inferred = run(layer, x).outputs;
  for (size_t i = 0; i < trained.size(); ++i) EXPECT_TRUE(all_close(trained[i], inferred[i], kExact));
}

// SimpleRNN with kernel = identity, no recurrence, no bias, linear activation and x = 1:
// output_t = the input dropout mask, so the drawn masks can be read off the outputs.
Tensor<double> drawn_input_masks(SimpleRNN<double>& layer, int64_t batch, int64_t steps, int64_t units) {
  layer.build({{batch, steps, units}});
  Tensor<double> eye({units, units});
  for (int64_t i = 0; i < units; ++i) eye[i * units + i] = 1.0;
  layer.set_weights({eye, Tensor<double>({units, units})});
  return run(layer, Tensor<double>({batch, steps, units}, 1.0), nullptr, {}, Mode::training).outputs[0];
}

SimpleRNNOptions identity_rnn(int64_t units, double rate, uint64_t seed) {
  SimpleRNNOptions o;
  o.units = units;
  o.activation = Activation{ActivationKind::linear};
  o.use_bias = false;
  o.dropout = rate;
  o.return_sequences = true;
  o.seed = seed;
  return o;
}

TEST(RNNDropout, DrawnMasksArePerSampleFixedOverTimeAndSeeded) {
  const int64_t batch = 6, steps = 4, units = 200;
  const double rate = 0.3, scale = 1.0 / (1.0 - rate);
  SimpleRNN<double> layer(identity_rnn(units, rate, 1234));
  const Tensor<double> y = drawn_input_masks(layer, batch, steps, units);
  int64_t dropped = 0;
  std::set<std::vector<double>> rows;
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<double> first(y.values().begin() + b * steps * units,
                                    y.values().begin() + b * steps * units + units);
    rows.insert(first);
    for (int64_t s = 0; s < steps; ++s)
      for (int64_t j = 0; j < units; ++j) {
        const double v = y[(b * steps + s) * units + j];
        EXPECT_EQ(v, first[j]) << "mask changes over time at sample " << b << " step " << s;
        EXPECT_TRUE(v == 0.0 || std::abs(v - scale) < 1e-12) << v;
      }
    for (double v : first) dropped += v == 0.0;
  }
  EXPECT_EQ(rows.size(), static_cast<size_t>(batch)) << "each sample has its own mask";
  EXPECT_NEAR(static_cast<double>(dropped) / (batch * units), rate, 0.05);

  // Same seed, same masks; a second call draws new ones; inference applies none.
  SimpleRNN<double> twin(identity_rnn(units, rate, 1234));
  EXPECT_TRUE(all_close(drawn_input_masks(twin, batch, steps, units), y, kExact));
  const auto again = run(layer, Tensor<double>({batch, steps, units}, 1.0), nullptr, {}, Mode::training).outputs[0];
  EXPECT_NE(again.storage(), y.storage());
  const auto inferred = run(layer, Tensor<double>({batch, steps, units}, 1.0)).outputs[0];
  for (double v : inferred.values()) EXPECT_EQ(v, 1.0);
  SimpleRNN<double> other(identity_rnn(units, rate, 99));
  EXPECT_NE(drawn_input_masks(other, batch, steps, units).storage(), y.storage());
}

TEST(RNNDropout, FixedMasksStayUntilCleared) {
  SimpleRNN<double> layer(identity_rnn(3, 0.5, 1));
  layer.build({{2, 2, 3}});
  Tensor<double> eye({3, 3});
  for (int64_t i = 0; i < 3; ++i) eye[i * 3 + i] = 1.0;
  layer.set_weights({eye, Tensor<double>({3, 3})});
  const Tensor<double> mask({2, 3}, std::vector<double>{2, 0, 2, 0, 2, 0});
  layer.set_fixed_dropout_masks({mask}, {});
  EXPECT_TRUE(layer.has_fixed_dropout_masks());
  const Tensor<double> ones({2, 2, 3}, 1.0);
  for (int call = 0; call < 2; ++call) {
    const auto y = run(layer, ones, nullptr, {}, Mode::training).outputs[0];
    EXPECT_EQ(y.storage(), (std::vector<double>{2, 0, 2, 2, 0, 2, 0, 2, 0, 0, 2, 0}));
  }
  layer.clear_fixed_dropout_masks();
  EXPECT_FALSE(layer.has_fixed_dropout_masks());
  const auto drawn = run(layer, ones, nullptr, {}, Mode::training).outputs[0];
  for (double v : drawn.values()) EXPECT_TRUE(v == 0.0 || v == 2.0);
}

// tf.keras 2 LSTM/GRU cuDNN path: one input mask [batch, steps, features] for the whole
// sequence, applied before the cell (Cell::sequence_input_dropout).
template <class Layer>
void check_whole_sequence_dropout(Layer& layer, bool go_backwards) {
  const Tensor<double> x = ref::random_tensor<double>({3, 4, 2}, 46);
  layer.build({x.shape()});
  EXPECT_EQ(layer.cell().input_mask_count(), 0);
  EXPECT_DOUBLE_EQ(layer.cell().sequence_input_dropout(), 0.4);
  Tensor<double> mask = random_masks<double>({{8, 0.4}}, 3, 47)[0].reshaped({3, 4, 2});
  layer.set_fixed_dropout_masks({mask}, {});
  const auto got = train(layer, x).outputs;
  Tensor<double> dropped(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) dropped[i] = x[i] * mask[i];
  const auto want = run(layer, dropped).outputs;
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_TRUE(all_close(got[i], want[i], kExact)) << "gb " << go_backwards << " output " << i;
  layer.set_fixed_dropout_masks({Tensor<double>({3, 2}, 1.0)}, {});
  EXPECT_THROW(train(layer, x), ShapeError);
}

TEST(RNNDropout, WholeSequenceInputMask) {
  for (bool gb : {false, true}) {
    LSTMOptions l = lstm_options(3);
    l.dropout = 0.4;
    l.whole_sequence_input_dropout = true;
    l.go_backwards = gb;
    LSTM<double> lstm(l);
    check_whole_sequence_dropout(lstm, gb);
    GRUOptions g;
    g.units = 2;
    g.return_sequences = true;
    g.dropout = 0.4;
    g.whole_sequence_input_dropout = true;
    g.go_backwards = gb;
    GRU<double> gru(g);
    check_whole_sequence_dropout(gru, gb);
  }
  EXPECT_TRUE(keras::tf_keras_whole_sequence_input_dropout(
      keras::KerasFlavor::tf_keras, false, Activation{ActivationKind::tanh}, Activation{ActivationKind::sigmoid}, 0.0,
      false, true, false));
  EXPECT_FALSE(
      keras::tf_keras_whole_sequence_input_dropout(keras::KerasFlavor::tf_keras, true, Activation{ActivationKind::tanh},
                                                   Activation{ActivationKind::sigmoid}, 0.0, false, true, false));
  EXPECT_FALSE(
      keras::tf_keras_whole_sequence_input_dropout(keras::KerasFlavor::keras3, false, Activation{ActivationKind::tanh},
                                                   Activation{ActivationKind::sigmoid}, 0.0, false, true, true));
  EXPECT_FALSE(keras::tf_keras_whole_sequence_input_dropout(
      keras::KerasFlavor::tf_keras, false, Activation{ActivationKind::tanh}, Activation{ActivationKind::sigmoid}, 0.1,
      false, true, true));
}

// output = x, state = x: shows the input the cell received.
class EchoCell : public Cell<double> {
 public:
  std::string class_name() const override { return "EchoCell"; }
  std::vector<int64_t> state_sizes() const override { return {size_}; }
  int64_t output_size() const override { return size_; }
  void build(int64_t input_size, const std::vector<int64_t>&, Rng&) override { size_ = input_size; }
  bool built() const override { return size_ > 0; }
  int64_t input_size() const override { return size_; }
  std::vector<Param<double>> params() override { return {}; }
  void step(const CellStep<double>& s) const override {
    kernels::copy_block<double>(s.batch, size_, s.x, size_, s.output, size_);
    kernels::copy_block<double>(s.batch, size_, s.x, size_, s.new_states[0], size_);
  }
  double sequence_input_dropout() const override { return 0.5; }
  std::unique_ptr<Cell<double>> clone_config() const override { return std::make_unique<EchoCell>(); }

 private:
  int64_t size_ = 0;
};

TEST(RNNDropout, DrawnWholeSequenceMaskChangesEveryStep) {
  RNNOptions o;
  o.return_sequences = true;
  RNN<double> layer(std::make_unique<EchoCell>(), o);
  const int64_t batch = 2, steps = 5, d = 64;
  const auto y = train(layer, Tensor<double>({batch, steps, d}, 1.0)).outputs[0];
  std::set<std::vector<double>> rows;
  for (int64_t r = 0; r < batch * steps; ++r) {
    rows.insert(std::vector<double>(y.values().begin() + r * d, y.values().begin() + (r + 1) * d));
    for (int64_t j = 0; j < d; ++j) EXPECT_TRUE(y[r * d + j] == 0.0 || y[r * d + j] == 2.0);
  }
  EXPECT_EQ(rows.size(), static_cast<size_t>(batch * steps));
}

TEST(RNN, UnrollGivesTheSameNumbers) {
  const Tensor<float> x = ref::random_tensor<float>({2, 5, 3}, 36);
  const Mask mask = ref::make_mask({{1, 1, 0, 1, 0}, {0, 1, 1, 1, 1}});
  GRUOptions o;
  o.units = 4;
  o.return_sequences = true;
  GRU<float> loop(o);
  o.unroll = true;
  GRU<float> unrolled(o);
  loop.build({x.shape()});
  unrolled.build({x.shape()});
  unrolled.set_weights(loop.get_weights());
  EXPECT_TRUE(all_close(run(unrolled, x, &mask).outputs[0], run(loop, x, &mask).outputs[0], kExact));
}

template <class T>
void check_stacked() {
  const Tensor<T> x = ref::random_tensor<T>({3, 5, 4}, 37);
  const Mask mask = ref::make_mask({{1, 1, 1, 0, 0}, {0, 1, 1, 1, 1}, {1, 1, 1, 1, 1}});
  LSTMCellOptions lc;
  lc.units = 3;
  GRUCellOptions gc;
  gc.units = 2;
  std::vector<std::unique_ptr<Cell<T>>> cells;
  cells.push_back(std::make_unique<LSTMCell<T>>(lc));
  cells.push_back(std::make_unique<GRUCell<T>>(gc));
  RNNOptions ro;
  ro.return_sequences = ro.return_state = true;
  RNN<T> stacked(std::make_unique<StackedCells<T>>(std::move(cells)), ro);
  stacked.build({x.shape()});
  ref::randomize_weights(stacked, 70);
  const auto w = stacked.get_weights();

  LSTM<T> first(lc, ro);
  GRU<T> second(gc, ro);
  first.build({x.shape()});
  second.build({{3, 5, 3}});
  first.set_weights({w[0], w[1], w[2]});
  second.set_weights({w[3], w[4], w[5]});
  const auto a = run(first, x, &mask);
  const auto b = run(second, a.outputs[0], &a.mask);
  const auto s = run(stacked, x, &mask).outputs;
  ASSERT_EQ(s.size(), 4u);  // out, h1, c1, h2
  EXPECT_TRUE(all_close(s[0], b.outputs[0], tol<T>(), "sequence"));
  EXPECT_TRUE(all_close(s[1], a.outputs[1], tol<T>(), "h1"));
  EXPECT_TRUE(all_close(s[2], a.outputs[2], tol<T>(), "c1"));
  EXPECT_TRUE(all_close(s[3], b.outputs[1], tol<T>(), "h2"));
}

TEST(RNN, StackedCellsEqualTwoChainedLayers) {
  check_stacked<float>();
  check_stacked<double>();
}

TEST(RNNDropout, StackedCellsSplitMasksCellByCell) {
  const Tensor<double> x = ref::random_tensor<double>({2, 4, 3}, 38);
  SimpleRNNCellOptions c1, c2;
  c1.units = 4;
  c1.dropout = 0.5;
  c2.units = 2;
  c2.dropout = 0.3;
  c2.recurrent_dropout = 0.6;
  std::vector<std::unique_ptr<Cell<double>>> cells;
  cells.push_back(std::make_unique<SimpleRNNCell<double>>(c1));
  cells.push_back(std::make_unique<SimpleRNNCell<double>>(c2));
  RNNOptions ro;
  ro.return_sequences = true;
  RNN<double> stacked(std::make_unique<StackedCells<double>>(std::move(cells)), ro);
  stacked.build({x.shape()});
  ref::randomize_weights(stacked, 80);
  const auto w = stacked.get_weights();
  const auto in = random_masks<double>(stacked.cell().input_dropout_masks(), 2, 81);
  const auto rec = random_masks<double>(stacked.cell().recurrent_dropout_masks(), 2, 82);
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[1].shape(), Shape({2, 4}));  // the second cell's input is the first's output
  stacked.set_fixed_dropout_masks(in, rec);

  SimpleRNN<double> first(c1, ro), second(c2, ro);
  first.build({x.shape()});
  second.build({{2, 4, 4}});
  first.set_weights({w[0], w[1], w[2]});
  second.set_weights({w[3], w[4], w[5]});
  first.set_fixed_dropout_masks({in[0]}, {});
  second.set_fixed_dropout_masks({in[1]}, {rec[0]});
  const auto chained = run(second, run(first, x, nullptr, {}, Mode::training).outputs[0], nullptr, {}, Mode::training);
  const auto got = run(stacked, x, nullptr, {}, Mode::training).outputs[0];
  EXPECT_TRUE(all_close(got, chained.outputs[0], {1e-14, 1e-14}));
}

TEST(RNN, ComputeOutputShapesMatchCalls) {
  const Tensor<float> x = ref::random_tensor<float>({2, 3, 4}, 39);
  for (bool rs : {false, true})
    for (bool st : {false, true}) {
      LSTM<float> layer(lstm_options(5, rs, st));
      const auto shapes = layer.compute_output_shapes({{-1, 3, 4}});
      const auto out = run(layer, x).outputs;
      ASSERT_EQ(shapes.size(), out.size());
      for (size_t i = 0; i < out.size(); ++i) {
        Shape want = out[i].shape();
        want[0] = -1;
        EXPECT_EQ(shapes[i], want) << "rs " << rs << " st " << st << " output " << i;
      }
    }
  GRUOptions g;
  g.units = 2;
  g.return_state = true;
  EXPECT_EQ(GRU<float>(g).compute_output_shapes({{7, -1, 3}}), (std::vector<Shape>{{7, 2}, {7, 2}}));
}

TEST(RNN, CloneConfigKeepsClassOptionsNameAndSeed) {
  LSTMOptions o = lstm_options(4);
  o.dropout = 0.25;
  o.go_backwards = true;
  LSTM<float> layer(o, "encoder");
  layer.set_seed(77);
  auto copy = layer.clone_config();
  EXPECT_EQ(copy->class_name(), "LSTM");
  EXPECT_EQ(copy->name(), "encoder");
  EXPECT_EQ(copy->seed(), 77u);
  EXPECT_FALSE(copy->built());
  EXPECT_TRUE(copy->rnn_options().go_backwards);
  EXPECT_DOUBLE_EQ(copy->cell().dropout(), 0.25);
  // Same seed: same initial weights.
  layer.build({{1, 2, 3}});
  copy->build({{1, 2, 3}});
  const auto a = layer.get_weights(), b = copy->get_weights();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].storage(), b[i].storage());
  EXPECT_EQ(RNN<float>(std::make_unique<LSTMCell<float>>(o)).clone_config()->class_name(), "RNN");
}

TEST(RNN, LayerSeedFromOptions) {
  LSTMOptions o = lstm_options(2);
  o.seed = 5;
  EXPECT_EQ(LSTM<float>(o).seed(), 5u);
  EXPECT_EQ(LSTM<float>(o).options().seed, std::optional<uint64_t>(5));
}

// ---- Backward (spec §2.5; the gradient values are checked in tests/gradcheck). ----

// Gradients of one training call with output weights `w`: [input, params...].
template <class T>
std::vector<Tensor<T>> gradients_of(RNN<T>& layer, const Tensor<T>& x, const std::vector<Tensor<T>>& w) {
  layer.zero_grads();
  train(layer, x);
  std::vector<Tensor<T>> out{layer.backward(w).inputs.at(0)};
  for (auto& p : layer.params()) out.push_back(*p.grad);
  return out;
}

TEST(RNNBackward, InferenceKeepsNothingTrainingKeepsOneEntryPerCall) {
  LSTM<double> layer(lstm_options(3));
  const Tensor<double> x = ref::random_tensor<double>({2, 4, 3}, 5);
  run(layer, x);
  EXPECT_EQ(layer.tape_depth(), 0u);
  for (const auto& p : layer.params()) {  // allocated at build, zero
    ASSERT_NE(p.grad, nullptr) << p.name;
    EXPECT_EQ(p.grad->shape(), p.value->shape()) << p.name;
  }
  train(layer, x);
  train(layer, x);
  EXPECT_EQ(layer.tape_depth(), 2u);
  layer.clear_tape();
  EXPECT_EQ(layer.tape_depth(), 0u);
}

TEST(RNNBackward, UndoesTrainingCallsLastFirstAndAccumulates) {
  GRUOptions o;
  o.units = 3;
  o.return_sequences = true;
  GRU<double> layer(o);
  const Tensor<double> x1 = ref::random_tensor<double>({2, 4, 3}, 6), x2 = ref::random_tensor<double>({3, 5, 3}, 7);
  const Tensor<double> w1 = ref::random_tensor<double>({2, 4, 3}, 8), w2 = ref::random_tensor<double>({3, 5, 3}, 9);
  layer.build({x1.shape()});
  ref::randomize_weights(layer, 10);
  const auto alone1 = gradients_of(layer, x1, {w1});
  const auto alone2 = gradients_of(layer, x2, {w2});

  layer.zero_grads();
  train(layer, x1);
  train(layer, x2);
  const LayerGrads<double> g2 = layer.backward({w2});  // the most recent call first
  const LayerGrads<double> g1 = layer.backward({w1});
  EXPECT_TRUE(all_close(g2.inputs[0], alone2[0], kExact));
  EXPECT_TRUE(all_close(g1.inputs[0], alone1[0], kExact));
  const auto params = layer.params();
  for (size_t k = 0; k < params.size(); ++k) {
    Tensor<double> sum = alone1[k + 1];
    for (int64_t i = 0; i < sum.size(); ++i) sum[i] += alone2[k + 1][i];
    EXPECT_TRUE(all_close(*params[k].grad, sum, {1e-14, 1e-13}, params[k].name));
  }
}

TEST(RNNBackward, EmptyGradientsAreZeroAndFloatMatchesDouble) {
  LSTMOptions o = lstm_options(3);
  LSTM<double> d(o);
  LSTM<float> f(o);
  const Tensor<double> x = ref::random_tensor<double>({2, 4, 3}, 11);
  d.build({x.shape()});
  f.build({x.shape()});
  const auto weights = ref::randomize_weights(d, 12);
  std::vector<Tensor<float>> wf;
  for (const auto& w : weights) wf.push_back(w.cast<float>());
  f.set_weights(wf);

  // No gradient into any output: every gradient is zero.
  const auto none = gradients_of(d, x, {Tensor<double>(), Tensor<double>(), Tensor<double>()});
  for (const auto& g : none)
    for (double v : g.values()) ASSERT_EQ(v, 0.0);

  const std::vector<Tensor<double>> w{ref::random_tensor<double>({2, 4, 3}, 13), ref::random_tensor<double>({2, 3}, 14),
                                      ref::random_tensor<double>({2, 3}, 15)};
  std::vector<Tensor<float>> w_float;
  for (const auto& t : w) w_float.push_back(t.cast<float>());
  const auto gd = gradients_of(d, x, w);
  const auto gf = gradients_of(f, x.cast<float>(), w_float);
  for (size_t k = 0; k < gd.size(); ++k) EXPECT_TRUE(all_close(gf[k], gd[k], {2e-5, 1e-4}, std::to_string(k)));
}

}  // namespace
}  // namespace rnnx
