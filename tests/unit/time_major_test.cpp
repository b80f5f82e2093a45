// time_major (tf.keras only; rnn.h, spec §3.1 and §5): a time-major layer on
// [steps, batch, features] gives exactly the batch-major layer's numbers on the transposed
// input, with the mask, the whole-sequence dropout mask, the sequence output and the input
// gradient transposed too and the states [batch, size]; a stateful layer takes its batch
// from axis 1; Bidirectional flips along axis 0; the loader takes the key from tf.keras
// configs only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gradcheck/recurrent_kinds.h"
#include "recurrent_reference.h"
#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/simple_rnn.h"
#include "support/close.h"

namespace rnnx {
namespace {

namespace ref = reference;
using rnnx::testing::all_close;
using rnnx::testing::recurrent_kinds;
using ::testing::HasSubstr;

constexpr rnnx::testing::Tolerance kExact{0.0, 0.0};

// y[j, i, ...] = x[i, j, ...]: a batch-major tensor or mask made time-major, and back.
template <class V>
Tensor<V> swap01(const Tensor<V>& x) {
  Shape s = x.shape();
  std::swap(s[0], s[1]);
  Tensor<V> y(s);
  const int64_t a = x.dim(0), b = x.dim(1), n = x.size() / (a * b);
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < n; ++k) y[(j * a + i) * n + k] = x[(i * b + j) * n + k];
  return y;
}

struct Call {
  const Tensor<double>* x = nullptr;
  const Mask* mask = nullptr;
  std::vector<const Tensor<double>*> initial_state;
  Mode mode = Mode::inference;
};

LayerOutputs<double> run(Layer<double>& layer, const Call& c) {
  LayerInputs<double> in;
  in.inputs = {c.x};
  in.mask = c.mask;
  in.initial_state = c.initial_state;
  in.mode = c.mode;
  return layer.call(in);
}

// A batch-major layer and its time-major twin with the same weights, built for x [B, T, D].
struct Pair {
  std::unique_ptr<RNN<double>> batch_major, time_major;
};

Pair twin_layers(const std::function<std::unique_ptr<RNN<double>>(const RNNOptions&)>& make, RNNOptions o,
                 const Shape& x_shape, uint64_t seed) {
  Pair p;
  o.time_major = false;
  p.batch_major = make(o);
  o.time_major = true;
  p.time_major = make(o);
  p.batch_major->build({x_shape});
  p.time_major->build({Shape{x_shape[1], x_shape[0], x_shape[2]}});
  ref::randomize_weights(*p.batch_major, seed);
  p.time_major->set_weights(p.batch_major->get_weights());
  return p;
}

// The time-major outputs are the batch-major ones with the sequence transposed.
void expect_transposed(const LayerOutputs<double>& tm, const LayerOutputs<double>& bm, bool sequences,
                       const std::string& what) {
  ASSERT_EQ(tm.outputs.size(), bm.outputs.size()) << what;
  for (size_t i = 0; i < bm.outputs.size(); ++i) {
    const Tensor<double> want = i == 0 && sequences ? swap01(bm.outputs[i]) : bm.outputs[i];
    EXPECT_TRUE(all_close(tm.outputs[i], want, kExact, what + " output " + std::to_string(i)));
  }
  EXPECT_EQ(tm.mask.empty(), bm.mask.empty()) << what;
  if (!bm.mask.empty()) {
    const Mask want = swap01(bm.mask);
    ASSERT_EQ(tm.mask.shape(), want.shape()) << what;
    EXPECT_TRUE(std::equal(want.values().begin(), want.values().end(), tm.mask.values().begin())) << what;
  }
}

TEST(TimeMajor, EqualsBatchMajorOnTheTransposedInput) {
  const Tensor<double> x = ref::random_tensor<double>({4, 5, 2}, 7);  // B=4, T=5: a swapped axis shows
  const Tensor<double> xt = swap01(x);
  const Mask mask = ref::make_mask({{1, 1, 1, 0, 0}, {0, 0, 1, 1, 1}, {1, 0, 1, 0, 1}, {0, 0, 0, 0, 0}});
  const Mask mask_t = swap01(mask);
  for (const auto& kind : recurrent_kinds())
    for (bool sequences : {false, true})
      for (bool backwards : {false, true})
        for (bool masked : {false, true})
          for (bool zero_output : {false, true}) {
            const std::string what = kind.name + " rs=" + std::to_string(sequences) +
                                     " gb=" + std::to_string(backwards) + " mask=" + std::to_string(masked) +
                                     " zofm=" + std::to_string(zero_output);
            RNNOptions o;
            o.return_sequences = sequences;
            o.return_state = true;
            o.go_backwards = backwards;
            o.zero_output_for_mask = zero_output;
            Pair p = twin_layers(kind.make, o, x.shape(), 11);
            std::vector<Tensor<double>> init;
            for (int64_t size : p.batch_major->cell().state_sizes())
              init.push_back(ref::random_tensor<double>({4, size}, 20 + size));
            std::vector<const Tensor<double>*> init_ptrs;
            for (const auto& s : init) init_ptrs.push_back(&s);
            const auto bm = run(*p.batch_major, {&x, masked ? &mask : nullptr, init_ptrs});
            const auto tm = run(*p.time_major, {&xt, masked ? &mask_t : nullptr, init_ptrs});
            expect_transposed(tm, bm, sequences, what);
            // compute_output_shapes agrees with the call.
            const auto shapes = p.time_major->compute_output_shapes({xt.shape()});
            ASSERT_EQ(shapes.size(), tm.outputs.size()) << what;
            for (size_t i = 0; i < shapes.size(); ++i) EXPECT_EQ(shapes[i], tm.outputs[i].shape()) << what;
          }
}

TEST(TimeMajor, OutputShapesKeepTheInputLayoutAndStatesAreBatchFirst) {
  RNNOptions o;
  o.time_major = true;
  o.return_sequences = true;
  o.return_state = true;
  auto layer = recurrent_kinds()[0].make(o);
  const auto shapes = layer->compute_output_shapes({{7, 2, 4}});
  EXPECT_EQ(shapes, (std::vector<Shape>{{7, 2, 3}, {2, 3}, {2, 3}}));
  o.return_sequences = false;
  layer->set_rnn_options(o);
  EXPECT_EQ(layer->compute_output_shapes({{-1, 2, 4}})[0], (Shape{2, 3}));
}

TEST(TimeMajor, BackwardGivesTheTransposedGradients) {
  const Tensor<double> x = ref::random_tensor<double>({4, 5, 2}, 31);
  const Tensor<double> xt = swap01(x);
  const Mask mask = ref::make_mask({{1, 1, 1, 0, 0}, {0, 0, 1, 1, 1}, {1, 0, 1, 0, 1}, {1, 1, 1, 1, 1}});
  const Mask mask_t = swap01(mask);
  for (const auto& kind : recurrent_kinds())
    for (bool sequences : {false, true}) {
      const std::string what = kind.name + " rs=" + std::to_string(sequences);
      RNNOptions o;
      o.return_sequences = sequences;
      o.return_state = true;
      Pair p = twin_layers(kind.make, o, x.shape(), 41);
      const auto bm = run(*p.batch_major, {&x, &mask, {}, Mode::training});
      const auto tm = run(*p.time_major, {&xt, &mask_t, {}, Mode::training});
      expect_transposed(tm, bm, sequences, what);
      std::vector<Tensor<double>> g_bm;
      for (size_t i = 0; i < bm.outputs.size(); ++i)
        g_bm.push_back(ref::random_tensor<double>(bm.outputs[i].shape(), 50 + i));
      std::vector<Tensor<double>> g_tm = g_bm;
      if (sequences) g_tm[0] = swap01(g_bm[0]);
      const LayerGrads<double> d_bm = p.batch_major->backward(g_bm);
      const LayerGrads<double> d_tm = p.time_major->backward(g_tm);
      EXPECT_TRUE(all_close(d_tm.inputs[0], swap01(d_bm.inputs[0]), kExact, what + " input gradient"));
      const auto pb = p.batch_major->params(), pt = p.time_major->params();
      for (size_t i = 0; i < pb.size(); ++i)
        EXPECT_TRUE(all_close(*pt[i].grad, *pb[i].grad, kExact, what + " gradient of " + pb[i].name));
    }
}

TEST(TimeMajor, WholeSequenceDropoutMaskHasTheInputLayout) {
  // tf_keras draws the cuDNN-path input mask with the shape of the (time-major) input.
  const Tensor<double> x = ref::random_tensor<double>({3, 5, 4}, 61);
  const Tensor<double> dm = ref::random_tensor<double>({3, 5, 4}, 62, 0.0, 2.0);
  LSTMOptions l;
  l.units = 3;
  l.return_sequences = true;
  l.dropout = 0.4;
  l.whole_sequence_input_dropout = true;
  Pair p = twin_layers(
      [&](const RNNOptions& r) {
        LSTMOptions o = l;
        static_cast<RNNOptions&>(o) = r;
        return std::make_unique<LSTM<double>>(o);
      },
      l, x.shape(), 63);
  p.batch_major->set_fixed_dropout_masks({dm}, {});
  p.time_major->set_fixed_dropout_masks({swap01(dm)}, {});
  const Tensor<double> xt = swap01(x);
  const auto bm = run(*p.batch_major, {&x, nullptr, {}, Mode::training});
  const auto tm = run(*p.time_major, {&xt, nullptr, {}, Mode::training});
  expect_transposed(tm, bm, true, "whole-sequence dropout");
  // A batch-major mask on the time-major layer is refused with the expected shape.
  p.time_major->set_fixed_dropout_masks({dm}, {});
  try {
    run(*p.time_major, {&xt, nullptr, {}, Mode::training});
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("has shape [3, 5, 4], expected [5, 3, 4]"));
  }
}

TEST(TimeMajor, StatefulTakesTheBatchFromAxisOne) {
  const Tensor<double> x1 = ref::random_tensor<double>({2, 4, 3}, 71), x2 = ref::random_tensor<double>({2, 4, 3}, 72);
  RNNOptions o;
  o.stateful = true;
  o.return_sequences = true;
  Pair p = twin_layers(recurrent_kinds()[0].make, o, {2, 4, 3}, 73);
  ASSERT_EQ(p.time_major->states().size(), 2u);
  EXPECT_EQ(p.time_major->states()[0].shape(), (Shape{2, 3}));  // built from [4, 2, 3]
  // The second call starts from the first's states.
  for (const Tensor<double>* x : {&x1, &x2}) {
    const Tensor<double> xt = swap01(*x);
    expect_transposed(run(*p.time_major, {&xt, nullptr, {}}), run(*p.batch_major, {x, nullptr, {}}), true,
                      "stateful call");
  }
  for (size_t i = 0; i < 2; ++i)
    EXPECT_TRUE(all_close(p.time_major->states()[i], p.batch_major->states()[i], kExact, "stored state"));
  const Tensor<double> other_batch = ref::random_tensor<double>({4, 3, 3}, 74);  // 3 samples
  try {
    run(*p.time_major, {&other_batch, nullptr, {}});
    FAIL() << "expected StateError";
  } catch (const StateError& e) {
    EXPECT_THAT(e.what(), HasSubstr("built for batch size 2, got 3"));
  }
}

TEST(TimeMajor, ErrorsNameTheExpectedLayout) {
  RNNOptions o;
  o.time_major = true;
  auto layer = recurrent_kinds()[0].make(o);
  layer->set_name("enc");
  const Tensor<double> rank2 = ref::random_tensor<double>({5, 3}, 81);
  try {
    run(*layer, {&rank2, nullptr, {}});
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("LSTM 'enc': expected a 3-D input time-major [steps, batch, features]"));
  }
  const Tensor<double> x = ref::random_tensor<double>({5, 3, 2}, 82);  // 5 steps, batch 3
  const Mask batch_major_mask({3, 5});
  try {
    run(*layer, {&x, &batch_major_mask, {}});
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_THAT(
        e.what(),
        HasSubstr("mask has shape [3, 5], expected [steps, batch] = [5, 3] (time-major input shape [5, 3, 2])"));
  }
  const Tensor<double> h5 = ref::random_tensor<double>({5, 3}, 83), c5 = h5;  // batch-sized as steps
  try {
    run(*layer, {&x, nullptr, {&h5, &c5}});
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("initial_state[0] has shape [5, 3], expected [3, 3]"));
  }
  // Backward checks the gradient against the time-major output shape.
  o.return_sequences = true;
  auto seq = recurrent_kinds()[0].make(o);
  run(*seq, {&x, nullptr, {}, Mode::training});
  EXPECT_THROW(seq->backward({ref::random_tensor<double>({3, 5, 3}, 84)}), ShapeError);
}

TEST(TimeMajor, BidirectionalFlipsAlongAxisZero) {
  const Tensor<double> x = ref::random_tensor<double>({4, 5, 2}, 91);
  const Tensor<double> xt = swap01(x);
  const Mask mask = ref::make_mask({{1, 1, 1, 0, 0}, {1, 1, 1, 1, 1}, {1, 0, 0, 0, 0}, {1, 1, 1, 1, 0}});
  const Mask mask_t = swap01(mask);
  for (MergeMode mode : {MergeMode::concat, MergeMode::none})
    for (bool sequences : {false, true}) {
      const std::string what = merge_mode_name(mode) + " rs=" + std::to_string(sequences);
      LSTMOptions o;
      o.units = 3;
      o.return_sequences = sequences;
      o.return_state = true;
      Bidirectional<double> bm(LSTM<double>(o, "lstm"), mode);
      o.time_major = true;
      Bidirectional<double> tm(LSTM<double>(o, "lstm"), mode);
      bm.build({x.shape()});
      tm.build({xt.shape()});
      ref::randomize_weights(bm, 92);
      tm.set_weights(bm.get_weights());
      const auto ybm = run(bm, {&x, &mask, {}, Mode::training});
      const auto ytm = run(tm, {&xt, &mask_t, {}, Mode::training});
      ASSERT_EQ(ytm.outputs.size(), ybm.outputs.size()) << what;
      const size_t sequence_outputs = mode == MergeMode::none ? 2 : 1;
      for (size_t i = 0; i < ybm.outputs.size(); ++i) {
        const bool transposed = sequences && i < sequence_outputs;
        EXPECT_TRUE(all_close(ytm.outputs[i], transposed ? swap01(ybm.outputs[i]) : ybm.outputs[i], kExact,
                              what + " output " + std::to_string(i)));
      }
      std::vector<Tensor<double>> g_bm, g_tm;
      for (size_t i = 0; i < ybm.outputs.size(); ++i) {
        g_bm.push_back(ref::random_tensor<double>(ybm.outputs[i].shape(), 100 + i));
        g_tm.push_back(sequences && i < sequence_outputs ? swap01(g_bm.back()) : g_bm.back());
      }
      const auto d_bm = bm.backward(g_bm);
      const auto d_tm = tm.backward(g_tm);
      EXPECT_TRUE(all_close(d_tm.inputs[0], swap01(d_bm.inputs[0]), kExact, what + " input gradient"));
    }
  // An explicit backward layer must share time_major.
  LSTMOptions f, b;
  f.units = b.units = 2;
  f.time_major = true;
  b.go_backwards = true;
  try {
    Bidirectional<double>(LSTM<double>(f), MergeMode::concat, std::make_unique<LSTM<double>>(b));
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("must have the same time_major, got true for the forward layer and false"));
  }
}

// ---- Keras configs ------------------------------------------------------------------------

std::unique_ptr<Layer<float>> layer(const std::string& json, const std::string& version) {
  return layer_from_config<float>(json, version);
}

const RNNOptions& options_of(const Layer<float>& l) { return dynamic_cast<const RNN<float>&>(l).rnn_options(); }

TEST(TimeMajorConfig, ReadFromTfKerasConfigsOnly) {
  for (const char* cn : {"LSTM", "GRU", "SimpleRNN"}) {
    const std::string cfg =
        std::string(R"({"class_name": ")") + cn + R"(", "config": {"units": 2, "time_major": true}})";
    EXPECT_TRUE(options_of(*layer(cfg, "2.21.0")).time_major) << cn;
    EXPECT_TRUE(options_of(*layer(cfg, "2.2.4-tf")).time_major) << cn;  // tf.keras under TF 1
  }
  EXPECT_FALSE(options_of(*layer(R"({"class_name": "LSTM", "config": {"units": 2, "time_major": false}})", "2.21.0"))
                   .time_major);
  EXPECT_FALSE(options_of(*layer(R"({"class_name": "LSTM", "config": {"units": 2}})", "2.21.0")).time_major);
  // A custom-cell RNN and a Bidirectional's inner layer.
  EXPECT_TRUE(options_of(*layer(R"({"class_name": "RNN", "config": {"time_major": true,
                                   "cell": {"class_name": "GRUCell", "config": {"units": 2}}}})",
                                "2.21.0"))
                  .time_major);
  auto bi = layer(R"({"class_name": "Bidirectional", "config": {"layer":
                     {"class_name": "LSTM", "config": {"units": 2, "time_major": true, "return_sequences": true}}}})",
                  "2.21.0");
  const auto& b = dynamic_cast<const Bidirectional<float>&>(*bi);
  EXPECT_TRUE(b.forward_layer().rnn_options().time_major);
  EXPECT_TRUE(b.backward_layer().rnn_options().time_major);
  EXPECT_EQ(bi->compute_output_shapes({{6, 2, 3}})[0], (Shape{6, 2, 4}));
}

TEST(TimeMajorConfig, KerasThreeAndStandaloneKerasRefuseTheKey) {
  for (const char* value : {"true", "false"}) {
    const std::string cfg =
        std::string(R"({"class_name": "GRU", "config": {"name": "g", "units": 2, "time_major": )") + value + "}}";
    try {
      layer(cfg, "3.15.1");
      ADD_FAILURE() << "expected ConfigError for time_major " << value;
    } catch (const ConfigError& e) {
      EXPECT_THAT(e.what(), HasSubstr("GRU 'g': argument 'time_major' = " + std::string(value) +
                                      " is a tf.keras argument; Keras 3.15.1 has none (Keras 3 raises "
                                      "\"Unrecognized keyword arguments passed to GRU\")"));
    }
    EXPECT_THROW(layer(cfg, "2.2.4"), ConfigError) << "standalone Keras 2 has no time_major either";
  }
}

}  // namespace
}  // namespace rnnx
