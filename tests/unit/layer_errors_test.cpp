// Every user-facing error of the non-recurrent layers and the models: type and message.
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
#include "rnnx/layers/reshape.h"
#include "rnnx/layers/time_distributed.h"
#include "rnnx/model/model.h"
#include "rnnx/model/sequential.h"

namespace rnnx {
namespace {

using rnnx::test::call_merge;
using rnnx::test::call_with_mask;
using rnnx::test::prefix_mask;
using rnnx::test::random_tensor;
using rnnx::test::throws_with;

std::shared_ptr<Dense<float>> dense(int64_t units, const std::string& name = "dense") {
  return std::make_shared<Dense<float>>(DenseOptions{.units = units}, name);
}

std::shared_ptr<LSTM<float>> lstm_with_state(int64_t units) {
  LSTMOptions o;
  o.units = units;
  o.return_state = true;
  return std::make_shared<LSTM<float>>(o);
}

// ---- layers --------------------------------------------------------------------------------
TEST(LayerErrors, Dense) {
  EXPECT_TRUE(throws_with<ConfigError>([] { Dense<float>({.units = 0}); }, "Dense 'dense': units must be > 0, got 0"));
  Dense<float> d({.units = 2}, "proj");
  EXPECT_TRUE(throws_with<ShapeError>([&] { d(Tensor<float>({4})); },
                                      "Dense 'proj': expected an input of rank >= 2 (batch, ..., features), got "
                                      "shape [4]"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        d.build({{-1, -1}});
      },
      "Dense 'proj': the last dimension of the input must be known and > 0, got "
      "shape [None, None]"));
  d.build({{-1, 8}});
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        d(Tensor<float>({2, 7}));
      },
      "Dense 'proj': input has 7 features, expected 8 (input shape [2, 7])"));
  const Tensor<float> x({2, 8});
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        call_merge<float>(d, {&x, &x});
      },
      "Dense 'proj': expected 1 input, got 2"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        d.set_weights({Tensor<float>({8, 2})});
      },
      "Dense 'proj': set_weights expected 2 arrays, got 1"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        d.set_weights({Tensor<float>({8, 3}), Tensor<float>({2})});
      },
      "Dense 'proj': weight 0 ('kernel') has shape [8, 2], got an array of shape "
      "[8, 3]"));
}

TEST(LayerErrors, Embedding) {
  EXPECT_TRUE(throws_with<ConfigError>([] { Embedding<float>({.input_dim = 0, .output_dim = 2}); },
                                       "Embedding 'embedding': input_dim must be > 0, got 0"));
  EXPECT_TRUE(throws_with<ConfigError>([] { Embedding<float>({.input_dim = 3, .output_dim = -1}); },
                                       "Embedding 'embedding': output_dim must be > 0, got -1"));
  Embedding<float> e({.input_dim = 5, .output_dim = 2}, "words");
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        e(Tensor<float>({1, 3}, {1, 2.5f, 3}));
      },
      "Embedding 'words': input holds 2.5 at flat index 1; ids must be integers in "
      "[0, 5) (input shape [1, 3])"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        e(Tensor<float>({2, 2}, {1, 2, 3, 5}));
      },
      "Embedding 'words': input holds 5 at flat index 3; ids must be integers in "
      "[0, 5) (input shape [2, 2])"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        e(Tensor<float>({1, 1}, {-1}));
      },
      "Embedding 'words': input holds -1 at flat index 0; ids must be integers in "
      "[0, 5) (input shape [1, 1])"));
  EXPECT_TRUE(throws_with<ShapeError>([&] { e.build({{}}); },
                                      "Embedding 'words': expected an input of rank >= 1 (batch, ...) of integer ids, "
                                      "got shape []"));
}

TEST(LayerErrors, MaskingAndActivation) {
  Masking<float> m({}, "mask");
  EXPECT_TRUE(throws_with<ShapeError>([&] { m(Tensor<float>({3})); },
                                      "Masking 'mask': expected an input of rank >= 2 (batch, ..., features), got "
                                      "shape [3]"));
  ActivationLayer<float> a(Activation::from_name("relu"), "act");
  EXPECT_TRUE(throws_with<ShapeError>([&] { a.build({}); }, "Activation 'act': expected 1 input, got 0"));
}

TEST(LayerErrors, Dropout) {
  EXPECT_TRUE(throws_with<ConfigError>([] { Dropout<float>({.rate = 1.5}); },
                                       "Dropout 'dropout': rate must be in [0, 1], got 1.500000"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [] {
        Dropout<float>({.rate = 0.5, .noise_shape = {-1, 0}});
      },
      "Dropout 'dropout': noise_shape entries must be > 0 or -1 (None), got [None, "
      "0]"));
  Dropout<float> d({.rate = 0.5, .noise_shape = {-1, 1}}, "drop");
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        d(Tensor<float>({2, 3, 4}), Mode::training);
      },
      "Dropout 'drop': noise_shape [None, 1] has rank 2, the input has rank 3 (input "
      "shape [2, 3, 4])"));
  Dropout<float> e({.rate = 0.5, .noise_shape = {2, 2}}, "drop");
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        e(Tensor<float>({2, 3}), Mode::training);
      },
      "Dropout 'drop': noise_shape [2, 2] does not broadcast to the input shape [2, 3] "
      "(axis 1)"));
}

TEST(LayerErrors, Pooling) {
  GlobalMaxPooling1D<float> pool({}, "pool");
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        pool(Tensor<float>({4, 8}));
      },
      "GlobalMaxPooling1D 'pool': expected a 3-D input (batch, steps, features), got "
      "shape [4, 8]"));
  GlobalAveragePooling1D<float> avg({.data_format = "channels_first"}, "avg");
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        avg(Tensor<float>({4, 8}));
      },
      "GlobalAveragePooling1D 'avg': expected a 3-D input (batch, features, steps), "
      "got shape [4, 8]"));
  GlobalAveragePooling1D<float> avg2({}, "avg");
  const Mask m = prefix_mask(2, 4, {1, 2});
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        call_with_mask<float>(avg2, Tensor<float>({2, 3, 1}), &m);
      },
      "GlobalAveragePooling1D 'avg': mask has shape [2, 4], expected [2, 3] (input "
      "shape [2, 3, 1])"));
  EXPECT_TRUE(throws_with<ConfigError>([] { GlobalMaxPooling1D<float>({.data_format = "NCW"}); },
                                       "GlobalMaxPooling1D 'global_max_pooling1d': data_format must be "
                                       "'channels_last' or 'channels_first', got 'NCW'"));
}

TEST(LayerErrors, Merge) {
  Concatenate<float> c({}, "cat");
  const Tensor<float> a({2, 3, 4}), b({2, 4, 2}), r2({2, 3});
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        call_merge<float>(c, {&a, &b});
      },
      "Concatenate 'cat': inputs must have equal dimensions except on the "
      "concatenation axis 2, got shapes [2, 3, 4], [2, 4, 2]"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        call_merge<float>(c, {&a, &r2});
      },
      "Concatenate 'cat': all inputs must have the same rank, got shapes [2, 3, 4], "
      "[2, 3]"));
  EXPECT_TRUE(throws_with<ShapeError>([&] { call_merge<float>(c, {}); },
                                      "Concatenate 'cat': expected a list of at least 1 input, got none"));
  Concatenate<float> c3({.axis = 3}, "cat");
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        c3.compute_output_shapes({{2, 3, 4}});
      },
      "Concatenate 'cat': axis 3 is out of range for inputs of rank 3 (input shapes "
      "[2, 3, 4])"));
  const Mask bad = prefix_mask(2, 2, {1, 1});
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        call_merge<float>(c, {&a, &a}, {&bad, nullptr});
      },
      "Concatenate 'cat': an input mask has shape [2, 2], expected [2, 3] for an "
      "input of shape [2, 3, 4]"));
  Add<float> add("sum");
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        call_merge<float>(add, {&a, &b});
      },
      "Add 'sum': all inputs must have the same shape, got shapes [2, 3, 4], [2, 4, "
      "2]"));
  const Mask m3 = prefix_mask(2, 3, {1, 1});
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        call_merge<float>(add, {&a, &a}, {&m3, &bad});
      },
      "Add 'sum': input masks have different shapes, [2, 3] and [2, 2]"));
}

TEST(LayerErrors, ReshapeAndFlatten) {
  EXPECT_TRUE(throws_with<ConfigError>(
      [] {
        Reshape<float>({.target_shape = {-1, -1}});
      },
      "Reshape 'reshape': target_shape [None, None] must hold positive sizes and at "
      "most one -1"));
  Reshape<float> r({.target_shape = {5, -1}}, "rs");
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        r(Tensor<float>({2, 3, 4}));
      },
      "Reshape 'rs': cannot reshape an input of shape [2, 3, 4] (12 values per "
      "sample) to target_shape [5, None]"));
  EXPECT_TRUE(throws_with<ConfigError>([] { Flatten<float>({.data_format = "x"}); },
                                       "Flatten 'flatten': data_format must be 'channels_last' or 'channels_first', "
                                       "got 'x'"));
}

TEST(LayerErrors, TimeDistributed) {
  EXPECT_TRUE(throws_with<ConfigError>([] { TimeDistributed<float>(nullptr); },
                                       "TimeDistributed 'time_distributed': the wrapped layer is null"));
  TimeDistributed<float> td(dense(2), "td");
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        td(Tensor<float>({2, 3}));
      },
      "TimeDistributed 'td': expected an input of rank >= 3 (batch, steps, ...), got "
      "shape [2, 3]"));
  const Mask m = prefix_mask(2, 2, {1, 2});
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        call_with_mask<float>(td, Tensor<float>({2, 3, 4}), &m);
      },
      "TimeDistributed 'td': mask has shape [2, 2], expected (batch, steps, ...) = "
      "[2, 3, ...] (input shape [2, 3, 4])"));
  TimeDistributed<float> multi(lstm_with_state(2), "td");
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] {
        multi(Tensor<float>({2, 3, 4, 5}));
      },
      "TimeDistributed 'td': the wrapped layer LSTM 'lstm' returns 3 tensors; "
      "TimeDistributed needs exactly 1"));
}

TEST(LayerErrors, InputLayer) {
  EXPECT_TRUE(throws_with<ConfigError>([] { InputLayer<float>(Shape{}); },
                                       "InputLayer 'input_layer': batch_shape must have a batch axis and dimensions "
                                       ">= 0 or -1 (None), got []"));
  InputLayer<float> in({-1, 3}, "x");
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        in(Tensor<float>({2, 4}));
      },
      "InputLayer 'x': expected shape [None, 3], got [2, 4]"));
}

// ---- models --------------------------------------------------------------------------------
TEST(ModelErrors, UnknownTensors) {
  Model<float> m("net"), other;
  auto x = m.input({-1, 3}, "x");
  auto y = other.input({-1, 3}, "y");
  EXPECT_TRUE(throws_with<ConfigError>([&] { m.call(dense(2), {y}); },
                                       "Functional 'net': Dense 'dense': unknown tensor (node 0, made by another "
                                       "model)"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] {
        m.call(dense(2), {ModelTensor{x.model, 0, 1}});
      },
      "Functional 'net': Dense 'dense': unknown tensor: InputLayer 'x' has 1 outputs, "
      "index 1 requested"));
  EXPECT_TRUE(throws_with<ConfigError>([&] { m.call(nullptr, {x}); }, "Functional 'net': cannot call a null layer"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] {
        m.tensor({"x", 0, 2});
      },
      "Functional 'net': unknown tensor ['x', 0, 2]: InputLayer 'x' has 1 outputs"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] {
        m.tensor({"nope", 0, 0});
      },
      "Functional 'net': unknown tensor ['nope', 0, 0]"));
  EXPECT_TRUE(
      throws_with<ConfigError>([&] { m.layer("nope"); }, "Functional 'net': no layer named 'nope' (layers: 'x')"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] {
        m.shape(ModelTensor{x.model, 5, 0});
      },
      "Functional 'net': shape: unknown tensor (node 5)"));
  EXPECT_TRUE(throws_with<ConfigError>([&] { m.set_outputs(std::vector<ModelTensor>{}); },
                                       "Functional 'net': set_outputs needs at least one tensor"));
  auto h = m.call(dense(2), {x});
  EXPECT_TRUE(throws_with<ConfigError>([&] { m.set_inputs({h[0]}); },
                                       "Functional 'net': set_inputs: tensor of dense is not a model input (make "
                                       "inputs with input())"));
}

TEST(ModelErrors, DeclaredNodes) {
  {
    Model<float> m("net");
    m.input({-1, 3}, "x");
    m.connect(dense(2, "a"), {{"b", 0, 0}});
    m.connect(dense(2, "b"), {{"a", 0, 0}});
    EXPECT_TRUE(throws_with<ConfigError>(
        [&] {
          m.set_outputs(std::vector<TensorKey>{{"b", 0, 0}});
        },
        "Functional 'net': the graph has a cycle: these nodes depend on each other: "
        "Dense 'a' (node 0), Dense 'b' (node 0)"));
  }
  {
    Model<float> m("net");
    m.input({-1, 3}, "x");
    m.connect(dense(2, "a"), {{"missing", 0, 0}});
    EXPECT_TRUE(throws_with<ConfigError>(
        [&] {
          m.tensor({"a", 0, 0});
        },
        "Functional 'net': Dense 'a' (node 0) refers to unknown tensor ['missing', 0, "
        "0]: no layer of that name"));
  }
  {
    Model<float> m("net");
    m.input({-1, 3}, "x");
    m.connect(dense(2, "a"), {{"x", 1, 0}});
    EXPECT_TRUE(throws_with<ConfigError>(
        [&] {
          m.tensor({"a", 0, 0});
        },
        "Functional 'net': Dense 'a' (node 0) refers to unknown tensor ['x', 1, 0]: "
        "that layer has no node 1"));
  }
}

TEST(ModelErrors, GraphDisconnectedAndNoOutputs) {
  Model<float> m("net");
  auto a = m.input({-1, 3}, "a");
  auto b = m.input({-1, 3}, "b");
  EXPECT_TRUE(throws_with<StateError>(
      [&] {
        m.predict({Tensor<float>({1, 3}), Tensor<float>({1, 3})});
      },
      "Functional 'net': the model has no outputs (call set_outputs first)"));
  m.set_outputs({m.call(std::make_shared<Add<float>>(), {a, b})[0]});
  m.set_inputs({a});
  EXPECT_TRUE(throws_with<ConfigError>([&] { m.layers(); },
                                       "Functional 'net': graph disconnected: the outputs depend on input 'b', which "
                                       "is not one of the model inputs ('a')"));
}

TEST(ModelErrors, PredictInputs) {
  Model<float> m("net");
  auto enc = m.input({-1, 5, 3}, "enc_in");
  auto dec = m.input({-1, 4, 2}, "dec_in");
  auto e = m.call(lstm_with_state(2), {enc});
  LSTMOptions o;
  o.units = 2;
  auto d = m.call(std::make_shared<LSTM<float>>(o), {dec}, {.initial_state = {e[1], e[2]}});
  m.set_outputs({d[0]});
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        m.predict({Tensor<float>({1, 5, 3})});
      },
      "Functional 'net': expected 2 inputs (enc_in, dec_in), got 1"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        m.predict({Tensor<float>({4, 5, 2}), Tensor<float>({4, 4, 2})});
      },
      "Functional 'net': input 'enc_in' expects shape [None, 5, 3], got [4, 5, 2]"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        const Mask mask;
        m.run({Tensor<float>({4, 5, 3}), Tensor<float>({4, 4, 2})}, Mode::inference, {&mask});
      },
      "Functional 'net': got 1 input masks for 2 inputs"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] {
        const Tensor<float> x({1, 5, 3}), y({1, 4, 2});
        LayerInputs<float> in;
        in.inputs = {&x, &y};
        in.initial_state = {&x};
        m.call(in);
      },
      "Functional 'net': a model takes no initial_state or constants"));
}

TEST(ModelErrors, NamesAndLayerShapes) {
  Model<float> m("net");
  auto x = m.input({-1, 3}, "x");
  m.call(dense(2, "proj"), {x});
  EXPECT_TRUE(throws_with<ConfigError>([&] { m.call(dense(2, "proj"), {x}); },
                                       "Functional 'net': two different layers are named 'proj'; layer names must be "
                                       "unique in a model"));
  EXPECT_TRUE(throws_with<ShapeError>([&] { m.call(std::make_shared<GlobalMaxPooling1D<float>>(), {x}); },
                                      "GlobalMaxPooling1D 'global_max_pooling1d': expected a 3-D input (batch, steps, "
                                      "features), got shape [None, 3]"));
  auto in = std::make_shared<InputLayer<float>>(Shape{-1, 2}, "x2");
  m.input(in);
  EXPECT_TRUE(throws_with<ConfigError>([&] { m.input(in); },
                                       "Functional 'net': InputLayer 'x2' is already an input of this model"));
  EXPECT_TRUE(
      throws_with<ShapeError>([&] { m.set_weights({}); }, "Functional 'net': set_weights expected 2 arrays, got 0"));
}

// A broken layer: promises two outputs, returns one.
class TwoPromisedOneGiven : public Layer<float> {
 public:
  TwoPromisedOneGiven() : Layer<float>("liar") {}
  std::string class_name() const override { return "Liar"; }
  void build(const std::vector<Shape>&) override { set_built(); }
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& s) const override { return {s[0], s[0]}; }
  LayerOutputs<float> call(const LayerInputs<float>& in) override {
    LayerOutputs<float> out;
    out.outputs.push_back(*in.inputs[0]);
    return out;
  }
};

TEST(ModelErrors, InternalConsistency) {
  auto m = std::make_shared<Model<float>>("net");
  auto x = m->input({-1, 3}, "x");
  EXPECT_TRUE(
      throws_with<ConfigError>([&] { m->call(m, {x}); }, "Functional 'net': a model cannot be a layer of itself"));
  EXPECT_TRUE(throws_with<ConfigError>([&] { m->call(dense(2), {}); },
                                       "Functional 'net': Dense 'dense' is called on no tensors"));
  auto y = m->call(std::make_shared<TwoPromisedOneGiven>(), {x});
  m->set_outputs({y[0]});
  EXPECT_TRUE(throws_with<StateError>(
      [&] {
        m->predict({Tensor<float>({1, 3})});
      },
      "Functional 'net': Liar 'liar' returned 1 tensors, but its compute_output_shapes "
      "gives 2"));
  m->connect(dense(2, "later"), {{"x", 0, 0}});
  EXPECT_TRUE(throws_with<StateError>([&] { m->layers(); },
                                      "Functional 'net': 1 declared node(s) are not connected yet (resolve them with "
                                      "tensor(), set_inputs or set_outputs)"));
}

TEST(SequentialErrors, Structure) {
  Sequential<float> s("seq");
  EXPECT_TRUE(throws_with<ConfigError>([&] { s.add(nullptr); }, "Sequential 'seq': cannot add a null layer"));
  s.add(dense(2));
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] {
        s.add(std::make_shared<InputLayer<float>>(Shape{-1, 3}));
      },
      "Sequential 'seq': an InputLayer can only be the first layer of a Sequential "
      "model"));
  s.build(Shape{-1, 5, 3});
  EXPECT_TRUE(throws_with<StateError>(
      [&] {
        s.build(Shape{-1, 5, 4});
      },
      "Sequential 'seq': already built for input shape [None, 5, 3], got [None, 5, 4]"));
  EXPECT_TRUE(throws_with<ConfigError>([&] { s.add(lstm_with_state(2)); },
                                       "Sequential 'seq': LSTM 'lstm' returns 3 tensors; every layer of a Sequential "
                                       "model must return one (use a functional Model)"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        s.predict(Tensor<float>({2, 5, 4}));
      },
      "Sequential 'seq': input 'input_layer' expects shape [None, 5, 3], got [2, 5, "
      "4]"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        s.build(std::vector<Shape>{{1, 5, 3}, {1, 5, 3}});
      },
      "Sequential 'seq': expected 1 input, got 2"));
}

// ---- backward ------------------------------------------------------------------------------
const std::string kNoTrainingCall =
    ": backward without a training-mode call to undo (call it with Mode::training first; inference calls keep "
    "nothing)";

TEST(BackwardErrors, LayersNeedATrainingCallAndMatchingGradients) {
  Dense<float> d({.units = 3}, "head");
  const Tensor<float> x({2, 4});
  EXPECT_TRUE(throws_with<StateError>([&] { d.backward({Tensor<float>({2, 3})}); }, "Dense 'head'" + kNoTrainingCall));
  d(x);  // inference keeps nothing
  EXPECT_TRUE(throws_with<StateError>([&] { d.backward({Tensor<float>({2, 3})}); }, "Dense 'head'" + kNoTrainingCall));
  d(x, Mode::training);
  EXPECT_TRUE(throws_with<ShapeError>([&] { d.backward({}); },
                                      "Dense 'head': backward got 0 output gradients, expected 1 (one per output of "
                                      "the call)"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        d.backward({Tensor<float>({2, 3}), Tensor<float>({2, 3})});
      },
      "Dense 'head': backward got 2 output gradients, expected 1 (one per output of "
      "the call)"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        d.backward({Tensor<float>({2, 4})});
      },
      "Dense 'head': the gradient of output 0 has shape [2, 4], expected [2, 3] (the "
      "shape of that output)"));
  EXPECT_EQ(d.backward({Tensor<float>({2, 3})}).inputs.at(0).shape(), x.shape())
      << "a rejected gradient undoes nothing";

  // Every other layer reports the same way.
  Concatenate<float> concat({}, "join");
  const Tensor<float> a({2, 3}), b({2, 1});
  LayerInputs<float> in;
  in.inputs = {&a, &b};
  in.mode = Mode::training;
  concat.call(in);
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        concat.backward({Tensor<float>({2, 3})});
      },
      "Concatenate 'join': the gradient of output 0 has shape [2, 3], expected [2, 4] "
      "(the shape of that output)"));
  GlobalMaxPooling1D<float> pool({}, "pool");
  EXPECT_TRUE(throws_with<StateError>(
      [&] {
        pool.backward({Tensor<float>({2, 3})});
      },
      "GlobalMaxPooling1D 'pool'" + kNoTrainingCall));
  TimeDistributed<float> td(dense(2, "inner"), "td");
  td(Tensor<float>({2, 3, 4}), Mode::training);
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        td.backward({Tensor<float>({6, 2})});
      },
      "TimeDistributed 'td': the gradient of output 0 has shape [6, 2], expected [2, "
      "3, 2] (the shape of that output)"));
}

TEST(BackwardErrors, DropoutFixedMaskShape) {
  Dropout<float> d({.rate = 0.5, .noise_shape = {-1, 1}}, "drop");
  d.set_fixed_mask(Tensor<float>({2, 3}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        d(Tensor<float>({2, 3}), Mode::training);
      },
      "Dropout 'drop': the fixed dropout mask has shape [2, 3], expected the noise "
      "shape [2, 1] (input shape [2, 3])"));
}

// A layer that only does inference (the default backward).
class InferenceOnly : public Layer<float> {
 public:
  InferenceOnly() : Layer<float>("frozen") {}
  std::string class_name() const override { return "InferenceOnly"; }
  void build(const std::vector<Shape>&) override {}
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& s) const override { return s; }
  LayerOutputs<float> call(const LayerInputs<float>& in) override { return {{*in.inputs[0]}, {}}; }
};

TEST(BackwardErrors, Models) {
  Model<float> m("net");
  auto x = m.input({-1, 3}, "x");
  m.set_outputs({m.call(dense(2, "out"), {x})[0], x});
  const Tensor<float> in({4, 3});
  EXPECT_TRUE(throws_with<StateError>(
      [&] {
        m.backward({Tensor<float>({4, 2}), Tensor<float>({4, 3})});
      },
      "Functional 'net'" + kNoTrainingCall));
  m.predict({in});
  EXPECT_TRUE(throws_with<StateError>(
      [&] {
        m.backward({Tensor<float>({4, 2}), Tensor<float>({4, 3})});
      },
      "Functional 'net'" + kNoTrainingCall));
  m.call({in}, Mode::training);
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        m.backward({Tensor<float>({4, 2})});
      },
      "Functional 'net': backward got 1 output gradient, expected 2 (one per output "
      "of the call)"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        m.backward({Tensor<float>({4, 2}), Tensor<float>({4, 2})});
      },
      "Functional 'net': the gradient of output 1 has shape [4, 2], expected [4, 3] "
      "(the shape of that output)"));
  EXPECT_NO_THROW(m.backward({Tensor<float>({4, 2}), Tensor<float>()}));

  Sequential<float> s("seq");
  s.add(std::make_shared<InferenceOnly>());
  s.call(Tensor<float>({2, 3}), Mode::training);
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] {
        s.backward(Tensor<float>({2, 3}));
      },
      "InferenceOnly 'frozen': this layer does not implement backward, so it cannot be trained"));
}

}  // namespace
}  // namespace rnnx
