// Functional and Sequential models: graph execution against the same layers called by hand,
// Keras layer/weight order, shared layers, masks along the graph, summary, declared (keyed)
// construction as a config loader uses it.
#include <gtest/gtest.h>

#include "layer_test_helpers.h"
#include "rnnx/layers/activation_layer.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/dropout.h"
#include "rnnx/layers/embedding.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/masking.h"
#include "rnnx/layers/merge.h"
#include "rnnx/layers/pooling.h"
#include "rnnx/layers/time_distributed.h"
#include "rnnx/model/model.h"
#include "rnnx/model/sequential.h"
#include "support/close.h"

namespace rnnx {
namespace {

using rnnx::test::call_merge;
using rnnx::test::call_with_mask;
using rnnx::test::prefix_mask;
using rnnx::test::random_tensor;
using rnnx::testing::all_close;

template <class T = float>
std::shared_ptr<Dense<T>> dense(int64_t units, const std::string& act = "linear", const std::string& name = "dense") {
  return std::make_shared<Dense<T>>(DenseOptions{.units = units, .activation = Activation::from_name(act)}, name);
}

template <class T = float>
std::shared_ptr<LSTM<T>> lstm(int64_t units, bool sequences, bool state, const std::string& name = "lstm") {
  LSTMOptions o;
  o.units = units;
  o.return_sequences = sequences;
  o.return_state = state;
  return std::make_shared<LSTM<T>>(o, name);
}

std::vector<std::string> names_of(const std::vector<std::shared_ptr<Layer<float>>>& layers) {
  std::vector<std::string> names;
  for (const auto& l : layers) names.push_back(l->name());
  return names;
}

// ---- functional graphs ---------------------------------------------------------------------
TEST(Model, MultiInputMultiOutputEqualsLayersCalledByHand) {
  Model<float> m;
  auto a = m.input({-1, 4, 3}, "a");
  auto b = m.input({-1, 4, 2}, "b");
  auto concat = std::make_shared<Concatenate<float>>();
  auto d = dense(5, "tanh");
  auto pool = std::make_shared<GlobalAveragePooling1D<float>>();
  auto c = m.call(concat, {a, b});
  auto h = m.call(d, c);
  auto p = m.call(pool, h);
  m.set_outputs({h[0], p[0]});
  EXPECT_EQ(m.shape(h[0]), (Shape{-1, 4, 5}));
  EXPECT_EQ(m.shape(p[0]), (Shape{-1, 5}));

  const auto xa = random_tensor({2, 4, 3}, 1), xb = random_tensor({2, 4, 2}, 2);
  const std::vector<Tensor<float>> y = m.predict({xa, xb});
  ASSERT_EQ(y.size(), 2u);
  const Tensor<float> joined = call_merge<float>(*concat, {&xa, &xb}).outputs[0];
  const Tensor<float> hidden = (*d)(joined);
  EXPECT_TRUE(all_close(y[0], hidden, {0, 0}));
  EXPECT_TRUE(all_close(y[1], (*pool)(hidden), {0, 0}));
  EXPECT_EQ(m.compute_output_shapes({{7, 4, 3}, {7, 4, 2}}), (std::vector<Shape>{{7, 4, 5}, {7, 5}}));
  EXPECT_EQ(m.input_names(), (std::vector<std::string>{"a", "b"}));
}

TEST(Model, EncoderDecoderPassesStatesAsInitialState) {
  Model<float> m;
  auto enc_in = m.input({-1, 5, 3}, "enc_in");
  auto dec_in = m.input({-1, 4, 2}, "dec_in");
  auto encoder = lstm(4, false, true, "encoder");
  auto decoder = lstm(4, true, false, "decoder");
  auto out = dense(3, "softmax");
  auto enc = m.call(encoder, {enc_in});
  ASSERT_EQ(enc.size(), 3u);  // out, h, c
  auto dec = m.call(decoder, {dec_in}, {.initial_state = {enc[1], enc[2]}});
  auto y = m.call(out, dec);
  m.set_outputs({y[0]});

  const auto xe = random_tensor({3, 5, 3}, 3), xd = random_tensor({3, 4, 2}, 4);
  const Tensor<float> got = m.predict({xe, xd})[0];
  LayerInputs<float> ein;
  ein.inputs = {&xe};
  const auto states = encoder->call(ein).outputs;
  LayerInputs<float> din;
  din.inputs = {&xd};
  din.initial_state = {&states[1], &states[2]};
  const auto seq = decoder->call(din).outputs[0];
  EXPECT_TRUE(all_close(got, (*out)(seq), {0, 0}));
  EXPECT_EQ(names_of(m.layers()), (std::vector<std::string>{"enc_in", "dec_in", "encoder", "decoder", "dense"}));
  // Weights: encoder (kernel, recurrent_kernel, bias), decoder (3), dense (2).
  EXPECT_EQ(m.get_weights().size(), 8u);
}

TEST(Model, LayerOrderFollowsKerasDepthThenTraversal) {
  // Keras map_graph: layers sorted by depth from the outputs, ties by first visit of a
  // depth-first walk from the outputs - not by creation order.
  Model<float> m;
  auto a = m.input({-1, 3}, "a");
  auto b = m.input({-1, 3}, "b");
  auto d1 = dense(2, "linear", "d1"), d2 = dense(2, "linear", "d2"), d3 = dense(2, "linear", "d3");
  auto x = m.call(d1, {a});
  auto y = m.call(d2, m.call(d3, {b}));
  auto c = m.call(std::make_shared<Concatenate<float>>(), {x[0], y[0]});
  m.set_outputs({c[0]});
  EXPECT_EQ(names_of(m.layers()), (std::vector<std::string>{"b", "a", "d3", "d1", "d2", "concatenate"}));
  const auto w = m.get_weights();
  ASSERT_EQ(w.size(), 6u);
  EXPECT_TRUE(all_close(w[0], d3->kernel(), {0, 0}));
  EXPECT_TRUE(all_close(w[2], d1->kernel(), {0, 0}));
  EXPECT_TRUE(all_close(w[4], d2->kernel(), {0, 0}));
  // An input that reaches no output still belongs to the model (depth 0).
  Model<float> m2;
  auto u = m2.input({-1, 3}, "used");
  m2.input({-1, 2}, "unused");
  m2.set_outputs({m2.call(dense(1), {u})[0]});
  EXPECT_EQ(names_of(m2.layers()), (std::vector<std::string>{"used", "unused", "dense"}));
}

TEST(Model, SharedLayerIsCountedOnceAndHasNodeIndices) {
  Model<float> m;
  auto a = m.input({-1, 4}, "a");
  auto b = m.input({-1, 4}, "b");
  auto shared = dense(3);
  auto ya = m.call(shared, {a});
  auto yb = m.call(shared, {b});
  auto sum = m.call(std::make_shared<Add<float>>(), {ya[0], yb[0]});
  m.set_outputs({sum[0]});
  EXPECT_EQ(m.count_params(), 15);
  EXPECT_EQ(m.get_weights().size(), 2u);
  EXPECT_EQ(m.tensor({"dense", 1, 0}), yb[0]);
  EXPECT_EQ(m.tensor({"dense", 0, 0}), ya[0]);
  const auto xa = random_tensor({2, 4}, 1), xb = random_tensor({2, 4}, 2);
  const Tensor<float> got = m.predict({xa, xb})[0];
  const Tensor<float> pa = (*shared)(xa), pb = (*shared)(xb);
  for (int64_t i = 0; i < got.size(); ++i) EXPECT_FLOAT_EQ(got[i], pa[i] + pb[i]);
  const std::string s = m.summary();
  EXPECT_NE(s.find("a[0][0], b[0][0]"), std::string::npos) << s;
  EXPECT_NE(s.find("dense[0][0], dense[1][0]"), std::string::npos) << s;
}

TEST(Model, GetSetWeightsRoundTrip) {
  Model<float> m;
  auto x = m.input({-1, 5, 3});
  auto h = m.call(lstm(4, true, false), {x});
  m.set_outputs({m.call(dense(2), h)[0]});
  std::vector<Tensor<float>> w = m.get_weights();
  ASSERT_EQ(w.size(), 5u);
  EXPECT_EQ(m.params()[0].name, "lstm/kernel");
  EXPECT_EQ(m.params()[4].name, "dense/bias");
  const auto input = random_tensor({2, 5, 3}, 9);
  const Tensor<float> before = m.predict({input})[0];
  for (auto& t : w)
    for (auto& v : t.values()) v = v * 0.5f + 0.01f;
  m.set_weights(w);
  const auto back = m.get_weights();
  for (size_t i = 0; i < w.size(); ++i) EXPECT_TRUE(all_close(back[i], w[i], {0, 0})) << i;
  EXPECT_FALSE(all_close(m.predict({input})[0], before, {1e-6, 0}));
}

TEST(Model, MasksFlowAlongTheGraph) {
  // Embedding(mask_zero) -> Dense (passes the mask) -> LSTM(return_sequences) -> average.
  Model<float> m;
  auto ids = m.input({-1, 5}, "ids");
  auto emb = std::make_shared<Embedding<float>>(EmbeddingOptions{.input_dim = 7, .output_dim = 3, .mask_zero = true});
  auto proj = dense(4);
  auto rnn = lstm(3, true, false);
  auto pool = std::make_shared<GlobalAveragePooling1D<float>>();
  auto e = m.call(emb, {ids});
  auto p = m.call(proj, e);
  auto r = m.call(rnn, p);
  auto g = m.call(pool, r);
  m.set_outputs({r[0], g[0]});
  const Tensor<float> x({2, 5}, {1, 4, 2, 0, 0, 3, 0, 5, 6, 0});
  const ModelOutputs<float> out = m.run({x});
  const Mask mask = call_with_mask<float>(*emb, x, nullptr).mask;
  ASSERT_EQ(mask.shape(), (Shape{2, 5}));
  const auto emb_out = (*emb)(x);
  const auto seq = call_with_mask<float>(*rnn, (*proj)(emb_out), &mask).outputs[0];
  EXPECT_TRUE(all_close(out.outputs[0], seq, {0, 0}));
  EXPECT_TRUE(all_close(out.outputs[1], call_with_mask<float>(*pool, seq, &mask).outputs[0], {0, 0}));
  EXPECT_EQ(out.masks[0].storage(), mask.storage()) << "LSTM(return_sequences) passes the mask on";
  EXPECT_TRUE(out.masks[1].empty()) << "pooling consumes it";
}

TEST(Model, PassMaskFalseReproducesKeras3WithInitialState) {
  Model<float> m;
  auto x = m.input({-1, 4, 2});
  auto masked = m.call(std::make_shared<Masking<float>>(), {x});
  auto enc = lstm(3, false, true, "enc");
  auto states = m.call(enc, masked);
  auto dec_a = lstm(3, true, false, "dec_a"), dec_b = lstm(3, true, false, "dec_b");
  auto ya = m.call(dec_a, masked, {.initial_state = {states[1], states[2]}});
  auto yb = m.call(dec_b, masked, {.initial_state = {states[1], states[2]}, .pass_mask = false});
  m.set_outputs({ya[0], yb[0]});
  dec_b->set_weights(dec_a->get_weights());
  auto input = random_tensor({2, 4, 2}, 5);
  for (int64_t f = 0; f < 2; ++f) input.at({0, 3, f}) = input.at({1, 2, f}) = input.at({1, 3, f}) = 0.0f;
  const auto y = m.predict({input});
  EXPECT_FALSE(all_close(y[0], y[1], {1e-6, 0})) << "only dec_a sees the mask";
}

TEST(Model, DeclaredNodesResolveInAnyOrder) {
  // Built by reference the way a config loader does, nodes declared before their inputs.
  auto build = [](Model<float>& m, std::shared_ptr<Layer<float>> enc, std::shared_ptr<Layer<float>> dec,
                  std::shared_ptr<Layer<float>> out, bool keyed) {
    m.input({-1, 5, 3}, "enc_in");
    m.input({-1, 4, 2}, "dec_in");
    if (keyed) {
      m.connect(out, {{"decoder", 0, 0}});
      m.connect(dec, {{"dec_in", 0, 0}}, {.initial_state = {{"encoder", 0, 1}, {"encoder", 0, 2}}});
      m.connect(enc, {{"enc_in", 0, 0}});
      m.set_inputs(std::vector<TensorKey>{{"enc_in", 0, 0}, {"dec_in", 0, 0}});
      m.set_outputs(std::vector<TensorKey>{{"dense", 0, 0}});
    } else {
      auto e = m.call(enc, {m.inputs()[0]});
      auto d = m.call(dec, {m.inputs()[1]}, {.initial_state = {e[1], e[2]}});
      m.set_outputs({m.call(out, d)[0]});
    }
  };
  Model<float> direct, keyed;
  build(direct, lstm(4, false, true, "encoder"), lstm(4, true, false, "decoder"), dense(2), false);
  build(keyed, lstm(4, false, true, "encoder"), lstm(4, true, false, "decoder"), dense(2), true);
  EXPECT_EQ(names_of(keyed.layers()), names_of(direct.layers()));
  keyed.set_weights(direct.get_weights());
  const auto xe = random_tensor({2, 5, 3}, 1), xd = random_tensor({2, 4, 2}, 2);
  EXPECT_TRUE(all_close(keyed.predict({xe, xd})[0], direct.predict({xe, xd})[0], {0, 0}));
}

TEST(Model, InputOrderCanDifferFromCreationOrder) {
  Model<float> m;
  auto a = m.input({-1, 2}, "a");
  auto b = m.input({-1, 3}, "b");
  m.set_outputs({m.call(std::make_shared<Concatenate<float>>(), {a, b})[0]});
  m.set_inputs({b, a});
  const auto xa = random_tensor({1, 2}, 1), xb = random_tensor({1, 3}, 2);
  const Tensor<float> y = m.predict({xb, xa})[0];
  EXPECT_EQ(y[0], xa[0]);
  EXPECT_EQ(y[2], xb[0]);
}

TEST(Model, NamesAreMadeUniqueAndSeedsDiffer) {
  Model<float> m;
  auto x = m.input({-1, 4});
  auto d1 = dense(4), d2 = dense(4);
  m.set_outputs({m.call(d2, m.call(d1, {x}))[0]});
  EXPECT_EQ(d1->name(), "dense");
  EXPECT_EQ(d2->name(), "dense_1");
  EXPECT_EQ(m.layers()[0]->name(), "input_layer");
  EXPECT_FALSE(all_close(d1->kernel(), d2->kernel(), {1e-3, 0})) << "derived seeds differ";
  EXPECT_EQ(m.layer("dense_1"), d2);

  Model<float> again;
  auto x2 = again.input({-1, 4});
  auto e1 = dense(4), e2 = dense(4);
  again.set_outputs({again.call(e2, again.call(e1, {x2}))[0]});
  EXPECT_TRUE(all_close(e2->kernel(), d2->kernel(), {0, 0})) << "same model seed, same weights";
}

TEST(Model, NestedSequentialIsALayer) {
  auto inner = std::make_shared<Sequential<float>>(
      std::vector<std::shared_ptr<Layer<float>>>{dense(3, "relu", "inner_a"), dense(2, "linear", "inner_b")}, "inner");
  inner->build(Shape{-1, 4});
  Model<float> m;
  auto x = m.input({-1, 4});
  m.set_outputs({m.call(dense(1, "linear", "head"), m.call(inner, {x}))[0]});
  EXPECT_EQ(m.count_params(), (4 * 3 + 3) + (3 * 2 + 2) + (2 + 1));
  EXPECT_EQ(m.get_weights().size(), 6u);
  const auto in = random_tensor({5, 4}, 3);
  const Tensor<float> want = (*m.layer("head"))(inner->predict(in));
  EXPECT_TRUE(all_close(m.predict({in})[0], want, {0, 0}));
}

TEST(Model, TrainingModeReachesDropoutAndStatesReset) {
  Model<float> m;
  auto x = m.input({2, 3, 4});
  auto drop = std::make_shared<Dropout<float>>(DropoutOptions{.rate = 0.5});
  LSTMOptions o;
  o.units = 2;
  o.stateful = true;
  auto rnn = std::make_shared<LSTM<float>>(o);
  m.set_outputs({m.call(rnn, m.call(drop, {x}))[0]});
  const auto in = random_tensor({2, 3, 4}, 7);
  const Tensor<float> first = m.predict({in})[0];
  const Tensor<float> second = m.predict({in})[0];
  EXPECT_FALSE(all_close(first, second, {1e-7, 0})) << "stateful: the second call starts from stored states";
  m.reset_states();
  EXPECT_TRUE(all_close(m.predict({in})[0], first, {0, 0}));
  m.reset_states();
  EXPECT_FALSE(all_close(m.call({in}, Mode::training)[0], first, {1e-7, 0})) << "dropout is active in training";
}

TEST(Model, WorksInDouble) {
  Model<double> m;
  auto x = m.input({-1, 3, 2});
  auto h = m.call(std::make_shared<TimeDistributed<double>>(dense<double>(4, "tanh")), {x});
  m.set_outputs({m.call(std::make_shared<GlobalMaxPooling1D<double>>(), h)[0]});
  const auto y = m.predict({random_tensor<double>({2, 3, 2}, 1)});
  EXPECT_EQ(y[0].shape(), (Shape{2, 4}));
}

// ---- Sequential ----------------------------------------------------------------------------
TEST(Sequential, StackedLstmModelShapesParamsAndSummary) {
  LSTMOptions first;
  first.units = 32;
  first.return_sequences = true;
  first.kernel_initializer = Initializer::from_name("orthogonal");
  first.recurrent_initializer = Initializer::from_name("orthogonal");
  Sequential<float> m;
  m.add(std::make_shared<InputLayer<float>>(Shape{-1, 6, 5}));
  m.add(std::make_shared<LSTM<float>>(first));
  m.add(lstm(8, true, false));
  m.add(std::make_shared<GlobalMaxPooling1D<float>>());
  m.add(dense(20, "relu"));
  EXPECT_EQ(names_of(m.layers()), (std::vector<std::string>{"lstm", "lstm_1", "global_max_pooling1d", "dense"}));
  EXPECT_EQ(m.count_params(), 4864 + 1312 + 180);
  const Tensor<float> y = m.predict(random_tensor({3, 6, 5}, 1));
  EXPECT_EQ(y.shape(), (Shape{3, 20}));
  for (float v : y.values()) EXPECT_GE(v, 0.0f);
  const std::string s = m.summary();
  for (const char* want :
       {"Model: \"sequential\"", "| Layer (type)", "| Output Shape", "| Param #", "| lstm (LSTM)", "(None, 6, 32)",
        "4,864", "| lstm_1 (LSTM)", "(None, 6, 8)", "1,312", "| global_max_pooling1d (GlobalMaxPooling1D)", "(None, 8)",
        "| dense (Dense)", "(None, 20)", "180 |", " Total params: 6,356 (24.83 KB)",
        " Trainable params: 6,356 (24.83 KB)", " Non-trainable params: 0 (0.00 B)"})
    EXPECT_NE(s.find(want), std::string::npos) << "missing '" << want << "' in\n" << s;
  EXPECT_EQ(s.find("InputLayer"), std::string::npos) << s;
  EXPECT_EQ(s.find("Connected to"), std::string::npos) << s;
}

TEST(Sequential, SummaryExactTable) {
  Sequential<float> m("tiny");
  m.build(Shape{-1, 8});
  m.add(dense(20));
  EXPECT_EQ(m.summary(),
            "Model: \"tiny\"\n"
            "+---------------+--------------+---------+\n"
            "| Layer (type)  | Output Shape | Param # |\n"
            "+===============+==============+=========+\n"
            "| dense (Dense) | (None, 20)   |     180 |\n"
            "+---------------+--------------+---------+\n"
            " Total params: 180 (720.00 B)\n"
            " Trainable params: 180 (720.00 B)\n"
            " Non-trainable params: 0 (0.00 B)\n");
}

TEST(Sequential, BuildsOnFirstCallAndPassesMasks) {
  Sequential<float> m({std::make_shared<Masking<float>>(), dense(3),
                       std::make_shared<ActivationLayer<float>>(Activation::from_name("sigmoid"))});
  EXPECT_FALSE(m.has_input());
  EXPECT_NE(m.summary().find("| ?"), std::string::npos);
  EXPECT_EQ(m.compute_output_shapes({{-1, 4, 2}})[0], (Shape{-1, 4, 3}));
  auto x = random_tensor({2, 4, 2}, 3);
  x.at({1, 3, 0}) = x.at({1, 3, 1}) = 0.0f;
  const ModelOutputs<float> out = m.run(x);
  EXPECT_TRUE(m.has_input());
  EXPECT_EQ(m.shape(m.inputs()[0]), (Shape{-1, 4, 2}));
  EXPECT_EQ(out.masks[0].storage(), (std::vector<uint8_t>{1, 1, 1, 1, 1, 1, 1, 0}));
  EXPECT_EQ(out.outputs[0].shape(), (Shape{2, 4, 3}));
}

// ---- backward (model.h "Training"; gradients checked numerically in tests/gradcheck) -------
TEST(ModelBackward, EqualsTheLayersBackpropagatedByHand) {
  Model<double> m;
  auto a = m.input({-1, 4, 3}, "a");
  auto b = m.input({-1, 4, 2}, "b");
  auto concat = std::make_shared<Concatenate<double>>();
  auto d = dense<double>(5, "tanh");
  auto pool = std::make_shared<GlobalAveragePooling1D<double>>();
  auto h = m.call(d, m.call(concat, {a, b}));
  m.set_outputs({h[0], m.call(pool, h)[0]});  // h is an output and read by pool: grads add up
  const auto xa = random_tensor<double>({2, 4, 3}, 1), xb = random_tensor<double>({2, 4, 2}, 2);
  const auto gh = random_tensor<double>({2, 4, 5}, 3), gp = random_tensor<double>({2, 5}, 4);
  m.call({xa, xb}, Mode::training);
  const LayerGrads<double> got = m.backward({gh, gp});
  const Tensor<double> kernel_grad = *d->params()[0].grad;

  m.zero_grads();
  const Tensor<double> joined = call_merge<double>(*concat, {&xa, &xb}).outputs[0];  // inference: no tape
  LayerInputs<double> cin;
  cin.inputs = {&xa, &xb};
  cin.mode = Mode::training;
  concat->call(cin);
  const Tensor<double> hidden = (*d)(joined, Mode::training);
  (*pool)(hidden, Mode::training);
  Tensor<double> dh = gh;
  const Tensor<double> from_pool = pool->backward({gp}).inputs[0];
  for (int64_t i = 0; i < dh.size(); ++i) dh[i] += from_pool[i];
  const LayerGrads<double> by_hand = concat->backward({d->backward({dh}).inputs[0]});
  ASSERT_EQ(got.inputs.size(), 2u);
  EXPECT_TRUE(all_close(got.inputs[0], by_hand.inputs[0], {0, 0}));
  EXPECT_TRUE(all_close(got.inputs[1], by_hand.inputs[1], {0, 0}));
  EXPECT_TRUE(all_close(kernel_grad, *d->params()[0].grad, {0, 0}));
  EXPECT_TRUE(got.initial_state.empty() && got.constants.empty());
}

TEST(ModelBackward, RunsAreUndoneLastInFirstOutAndInferenceKeepsNothing) {
  auto make = [](Model<double>& m) {
    auto x = m.input({-1, 3});
    auto d = dense<double>(2, "sigmoid");
    d->set_seed(4);
    m.set_outputs({m.call(d, {x})[0]});
  };
  Model<double> m, fresh;
  make(m);
  make(fresh);
  const auto x1 = random_tensor<double>({2, 3}, 5), x2 = random_tensor<double>({4, 3}, 6);
  const auto g1 = random_tensor<double>({2, 2}, 7), g2 = random_tensor<double>({4, 2}, 8);
  m.call({x1}, Mode::training);
  m.call({x2}, Mode::training);
  m.predict({x1});  // keeps nothing
  fresh.call({x2}, Mode::training);
  EXPECT_TRUE(all_close(m.backward({g2}).inputs[0], fresh.backward({g2}).inputs[0], {0, 0}));
  fresh.call({x1}, Mode::training);
  EXPECT_TRUE(all_close(m.backward({g1}).inputs[0], fresh.backward({g1}).inputs[0], {0, 0}));
  EXPECT_THROW(m.backward({g1}), StateError);
  m.call({x1}, Mode::training);
  m.clear_tape();
  EXPECT_THROW(m.backward({g1}), StateError);
  EXPECT_THROW(m.layers()[1]->backward({g1}), StateError) << "clear_tape reaches the layers";
}

TEST(ModelBackward, UnusedInputsAndMissingOutputGradientsAreZero) {
  Model<double> m;
  auto x = m.input({-1, 3}, "x");
  m.input({-1, 2}, "unused");
  auto d = dense<double>(2);
  m.set_outputs({m.call(d, {x})[0], x});
  const auto xs = random_tensor<double>({2, 3}, 9);
  m.call({xs, random_tensor<double>({2, 2}, 10)}, Mode::training);
  const auto gx = random_tensor<double>({2, 3}, 11);
  const LayerGrads<double> g = m.backward({Tensor<double>(), gx});  // no gradient into the Dense output
  ASSERT_EQ(g.inputs.size(), 2u);
  EXPECT_TRUE(all_close(g.inputs[0], gx, {0, 0})) << "only the identity output contributes";
  EXPECT_EQ(g.inputs[1].shape(), (Shape{2, 2}));
  for (double v : g.inputs[1].values()) EXPECT_EQ(v, 0.0);
  for (const auto& p : m.params())
    for (double v : p.grad->values()) EXPECT_EQ(v, 0.0);
}

TEST(ModelBackward, ParamsOfNestedModelsCarryGradientsAndZeroGrads) {
  auto inner = std::make_shared<Sequential<double>>(
      std::vector<std::shared_ptr<Layer<double>>>{dense<double>(3, "tanh", "inner_a"),
                                                  dense<double>(2, "linear", "inner_b")},
      "inner");
  inner->build(Shape{-1, 4});
  Model<double> m;
  auto x1 = m.input({-1, 4});
  auto x2 = m.input({-1, 4});
  auto sum = std::make_shared<Add<double>>();
  m.set_outputs({m.call(sum, {m.call(inner, {x1})[0], m.call(inner, {x2})[0]})[0]});  // a model shared twice
  const auto ps = m.params();
  ASSERT_EQ(ps.size(), 4u);
  for (const auto& p : ps) ASSERT_NE(p.grad, nullptr) << p.name;
  m.call({random_tensor<double>({3, 4}, 12), random_tensor<double>({3, 4}, 13)}, Mode::training);
  m.backward({random_tensor<double>({3, 2}, 14)});
  for (const auto& p : ps) {
    double norm = 0;
    for (double v : p.grad->values()) norm += std::abs(v);
    EXPECT_GT(norm, 0.0) << p.name;
  }
  m.zero_grads();
  for (const auto& p : ps)
    for (double v : p.grad->values()) EXPECT_EQ(v, 0.0) << p.name;
}

TEST(ModelBackward, SequentialTakesAndReturnsOneTensor) {
  Sequential<double> m({dense<double>(3, "relu"), dense<double>(2)});
  const auto x = random_tensor<double>({4, 5}, 15), dy = random_tensor<double>({4, 2}, 16);
  m.call(x, Mode::training);
  const Tensor<double> dx = m.backward(dy);
  m.call(x, Mode::training);
  EXPECT_TRUE(all_close(dx, m.Model<double>::backward({dy}).inputs.at(0), {0, 0}));
  EXPECT_EQ(dx.shape(), x.shape());
}

}  // namespace
}  // namespace rnnx
